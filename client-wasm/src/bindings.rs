//! The `#[wasm_bindgen]` surface: converts between JavaScript values and [`crate::session`].

use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::session::{Client, ClientError, Effect};

impl From<ClientError> for JsValue {
    fn from(e: ClientError) -> JsValue {
        js_sys::Error::new(&e.0).into()
    }
}

fn to_js(effects: Vec<Effect>) -> Array {
    let out = Array::new();
    for e in effects {
        let obj: JsValue = match serde_json::to_string(&e).ok().and_then(|s| js_sys::JSON::parse(&s).ok()) {
            Some(v) => v,
            None => Object::new().into(),
        };
        if let Some(b) = e.bytes() {
            let _ = Reflect::set(&obj, &"bytes".into(), &Uint8Array::from(b));
        }
        out.push(&obj);
    }
    out
}

/// A failed retire or restore as a JavaScript error, with the rules' messages, and the issues
/// themselves (with their codes) as its `issues`.
fn edit_error(e: crate::edit::EditError) -> JsValue {
    let issues = match &e {
        crate::edit::EditError::Invalid(issues) => serde_json::to_string(issues).ok(),
        _ => None,
    };
    let message = e.chain();
    let error = js_sys::Error::new(&message);
    if let Some(json) = issues {
        let _ = Reflect::set(&error, &"issues".into(), &js_sys::JSON::parse(&json).unwrap_or_default());
    }
    error.into()
}

/// A form's outcome for JavaScript: `{ok: true, id?, effects}`, or `{ok: false, issues}` for
/// values that break the rules; a missing target is thrown as an error with `not_found`, and a
/// document that does not read or a write that failed with its cause.
fn form_result(
    r: Result<(Option<String>, Vec<Effect>), crate::edit::EditError>,
    not_found: &str,
) -> Result<JsValue, JsValue> {
    let out = Object::new();
    match r {
        Ok((id, effects)) => {
            let _ = Reflect::set(&out, &"ok".into(), &true.into());
            if let Some(id) = id {
                let _ = Reflect::set(&out, &"id".into(), &id.into());
            }
            let _ = Reflect::set(&out, &"effects".into(), &to_js(effects));
        }
        Err(crate::edit::EditError::NotFound) => return Err(js_sys::Error::new(not_found).into()),
        Err(crate::edit::EditError::Invalid(issues)) => {
            let _ = Reflect::set(&out, &"ok".into(), &false.into());
            let json = serde_json::to_string(&issues).unwrap_or_else(|_| "[]".into());
            let _ = Reflect::set(&out, &"issues".into(), &js_sys::JSON::parse(&json).unwrap_or_default());
        }
        Err(e) => return Err(js_sys::Error::new(&e.chain()).into()),
    }
    Ok(out.into())
}

/// The areas of an editor's lists from their JSON.
fn areas(json: &str) -> Result<crate::views::Areas, JsValue> {
    serde_json::from_str(json).map_err(|e| js_sys::Error::new(&format!("bad areas: {e}")).into())
}

/// The client as JavaScript sees it.
#[wasm_bindgen(js_name = Client)]
pub struct JsClient(Client);

#[wasm_bindgen(js_class = Client)]
impl JsClient {
    /// A client with a per-tab peer id and a per-browser storage id.
    #[wasm_bindgen(constructor)]
    pub fn new(peer_id: String, storage_id: String) -> JsClient {
        JsClient(Client::new(peer_id, storage_id))
    }

    /// Opens a document from stored bytes (may be empty) and a saved sync state.
    #[wasm_bindgen(js_name = openDoc)]
    pub fn open_doc(&mut self, id: &str, stored: &[u8], sync_state: Option<Vec<u8>>) -> Result<Array, JsValue> {
        Ok(to_js(self.0.open_doc(id, stored, sync_state)?))
    }

    /// Starts a connection; the effects hold the `join` frame.
    pub fn connect(&mut self) -> Array {
        to_js(self.0.connect())
    }

    /// The socket closed.
    pub fn disconnected(&mut self) {
        self.0.disconnected();
    }

    /// A frame arrived.
    pub fn receive(&mut self, frame: &[u8]) -> Array {
        to_js(self.0.receive(frame))
    }

    /// The sync state to store for a document.
    #[wasm_bindgen(js_name = syncState)]
    pub fn sync_state(&self, id: &str) -> Option<Vec<u8>> {
        self.0.sync_state(id)
    }

    /// Whether the relay acknowledged every local change of the document.
    #[wasm_bindgen(js_name = isAcknowledged)]
    pub fn is_acknowledged(&self, id: &str) -> bool {
        self.0.is_acknowledged(id)
    }

    /// A snapshot of a document (to compact its stored chunks).
    pub fn save(&self, id: &str) -> Option<Vec<u8>> {
        self.0.save(id)
    }

    /// The ids listed in the index document, as JSON.
    #[wasm_bindgen(js_name = documentIds)]
    pub fn document_ids(&self, index: &str) -> String {
        serde_json::to_string(&self.0.document_ids(index)).unwrap_or_else(|_| "[]".into())
    }

    /// The ids of the national documents the index lists (what the home screen needs), as JSON.
    #[wasm_bindgen(js_name = nationalDocumentIds)]
    pub fn national_document_ids(&self, index: &str) -> String {
        serde_json::to_string(&self.0.national_document_ids(index)).unwrap_or_else(|_| "[]".into())
    }

    /// Guidance topics for the home screen, as JSON.
    pub fn topics(&mut self, lang: &str, today: &str) -> String {
        self.0.views().topics(lang, today)
    }

    /// A guidance card with contacts resolved for the municipality, as JSON.
    pub fn card(&mut self, slug: &str, municipality: &str, lang: &str, today: &str, now: &str) -> String {
        self.0.views().card(slug, municipality, lang, today, now)
    }

    /// One contact point, as JSON.
    pub fn contact(&mut self, id: &str, municipality: &str, lang: &str, today: &str, now: &str) -> String {
        self.0.views().contact(id, municipality, lang, today, now)
    }

    /// Type-ahead search, as JSON.
    pub fn search(&mut self, query: &str, municipality: &str, lang: &str) -> String {
        let m = (!municipality.is_empty()).then_some(municipality);
        self.0.views().search(query, m, lang)
    }

    /// Contacts for the municipality grouped by role, as JSON.
    pub fn browse(&mut self, municipality: &str, lang: &str, today: &str, now: &str) -> String {
        self.0.views().browse(municipality, lang, today, now)
    }

    /// Municipalities matching a query, as JSON.
    pub fn municipalities(&self, query: &str, lang: &str) -> String {
        crate::views::municipalities(query, lang)
    }

    /// One municipality, as JSON.
    pub fn municipality(&self, code: &str, lang: &str) -> String {
        crate::views::municipality(code, lang)
    }

    /// Edits a contact point from the form's JSON. Returns `{ok: true, effects}` or
    /// `{ok: false, issues: [{field, message}]}`.
    #[wasm_bindgen(js_name = editContact)]
    pub fn edit_contact(
        &mut self,
        contact_id: &str,
        edit_json: &str,
        today: &str,
        verified_by: &str,
    ) -> Result<JsValue, JsValue> {
        self.0.set_now(js_sys::Date::now() as i64);
        let edit: crate::edit::ContactEdit =
            serde_json::from_str(edit_json).map_err(|e| js_sys::Error::new(&format!("bad edit: {e}")))?;
        let r = self.0.edit_contact(contact_id, &edit, today, verified_by).map(|e| (None, e));
        form_result(r, "this contact is not in any open document")
    }

    /// `[documentId, area]` of the document holding a contact, or undefined.
    #[wasm_bindgen(js_name = contactScope)]
    pub fn contact_scope(&self, contact_id: &str) -> Option<Vec<String>> {
        self.0.contact_scope(contact_id).map(|(d, a)| vec![d, a])
    }

    /// The review queue for these areas (`Areas` as JSON: `{"kind": "all"}` or
    /// `{"kind": "only", "areas": [...]}`), as JSON.
    #[wasm_bindgen(js_name = reviewQueue)]
    pub fn review_queue(&mut self, areas_json: &str, today: &str, lang: &str) -> Result<String, JsValue> {
        let areas = areas(areas_json)?;
        Ok(serde_json::to_string(&self.0.views().review_queue(&areas, today, lang)).unwrap_or_else(|_| "[]".into()))
    }

    /// The editor's name, written into local commits (the relay records the authenticated author).
    #[wasm_bindgen(js_name = setAuthor)]
    pub fn set_author(&mut self, name: &str) {
        self.0.set_author(name, js_sys::Date::now() as i64);
    }

    /// A contact point's history, newest first, as JSON (`null` when not found).
    #[wasm_bindgen(js_name = contactHistory)]
    pub fn contact_history(&self, id: &str) -> String {
        serde_json::to_string(&self.0.contact_history(id)).unwrap_or_else(|_| "null".into())
    }

    /// A contact point's conflicting fields, as JSON `[{field, values}]`.
    #[wasm_bindgen(js_name = contactConflicts)]
    pub fn contact_conflicts(&self, id: &str) -> String {
        serde_json::to_string(&self.0.contact_conflicts(id)).unwrap_or_else(|_| "[]".into())
    }

    /// Writes one field (restore or conflict choice; `undefined` removes it). Returns
    /// `{ok: true, effects}` or `{ok: false, issues: [{field, message}]}`.
    #[wasm_bindgen(js_name = setContactField)]
    pub fn set_contact_field(&mut self, id: &str, field: &str, value: Option<String>) -> Result<JsValue, JsValue> {
        self.0.set_now(js_sys::Date::now() as i64);
        let r = self.0.set_contact_field(id, field, value.as_deref()).map(|e| (None, e));
        form_result(r, "this field of this contact is not in any open document")
    }

    /// Changes an area's local version of a national card from an operation's JSON
    /// (`{op: "adapt" | "withdraw" | "set_text" | "add_step" | "remove_step", …}`). Returns
    /// `{ok: true, effects}` or `{ok: false, issues}`.
    #[wasm_bindgen(js_name = changeLocal)]
    pub fn change_local(&mut self, slug: &str, area_key: &str, op_json: &str) -> Result<JsValue, JsValue> {
        self.0.set_now(js_sys::Date::now() as i64);
        let op: crate::local::LocalOp =
            serde_json::from_str(op_json).map_err(|e| js_sys::Error::new(&format!("bad change: {e}")))?;
        let r = self.0.change_local(slug, area_key, &op).map(|e| (None, e));
        form_result(r, "this card, step or area is not in any open document")
    }

    /// The local guidance editor's view of a national card in an area, as JSON (`null` if unknown).
    #[wasm_bindgen(js_name = localGuidance)]
    pub fn local_guidance(&mut self, slug: &str, area_key: &str, lang: &str) -> String {
        serde_json::to_string(&self.0.local_view(slug, area_key, lang)).unwrap_or_else(|_| "null".into())
    }

    /// The area documents covering a municipality, most specific first, as JSON `[{area, title}]`.
    #[wasm_bindgen(js_name = areasCovering)]
    pub fn areas_covering(&mut self, municipality: &str, lang: &str) -> String {
        serde_json::to_string(&self.0.views().areas_covering(municipality, lang)).unwrap_or_else(|_| "[]".into())
    }

    /// The ids of documents held after a refusal, as JSON.
    #[wasm_bindgen(js_name = heldDocs)]
    pub fn held_docs(&self) -> String {
        serde_json::to_string(&self.0.held_docs()).unwrap_or_else(|_| "[]".into())
    }

    /// The documents that could not be read, as JSON `Unreadable[]`.
    #[wasm_bindgen(js_name = unreadableDocs)]
    pub fn unreadable_docs(&self) -> String {
        serde_json::to_string(&self.0.unreadable_docs()).unwrap_or_else(|_| "[]".into())
    }

    /// Resets a held document to the relay's state: `{discarded: [...], effects}`.
    #[wasm_bindgen(js_name = resetDoc)]
    pub fn reset_doc(&mut self, id: &str) -> Result<JsValue, JsValue> {
        let (discarded, effects) = self.0.reset_doc(id)?;
        let out = Object::new();
        let json = serde_json::to_string(&discarded).unwrap_or_else(|_| "[]".into());
        let _ = Reflect::set(&out, &"discarded".into(), &js_sys::JSON::parse(&json).unwrap_or_default());
        let _ = Reflect::set(&out, &"effects".into(), &to_js(effects));
        Ok(out.into())
    }

    /// Adds a contact point to the document of an area (`national` for the national document)
    /// from the add form's JSON. Returns `{ok: true, id, effects}` or
    /// `{ok: false, issues: [{field, message}]}`.
    #[wasm_bindgen(js_name = addContact)]
    pub fn add_contact(
        &mut self,
        area_key: &str,
        new_json: &str,
        today: &str,
        verified_by: &str,
    ) -> Result<JsValue, JsValue> {
        self.0.set_now(js_sys::Date::now() as i64);
        let new: crate::edit::NewContact =
            serde_json::from_str(new_json).map_err(|e| js_sys::Error::new(&format!("bad contact: {e}")))?;
        let r = self.0.add_contact(area_key, &new, today, verified_by).map(|(id, e)| (Some(id), e));
        form_result(r, &format!("no open document belongs to {area_key}"))
    }

    /// Retires a contact point on `today`; returns the effects. Throws when the contact is in no
    /// open document or the document would not be valid.
    #[wasm_bindgen(js_name = retireContact)]
    pub fn retire_contact(&mut self, contact_id: &str, today: &str) -> Result<Array, JsValue> {
        self.0.set_now(js_sys::Date::now() as i64);
        self.0.retire_contact(contact_id, today).map(to_js).map_err(edit_error)
    }

    /// Puts a retired contact point back in use; returns the effects. Throws like `retireContact`.
    #[wasm_bindgen(js_name = restoreContact)]
    pub fn restore_contact(&mut self, contact_id: &str) -> Result<Array, JsValue> {
        self.0.set_now(js_sys::Date::now() as i64);
        self.0.restore_contact(contact_id).map(to_js).map_err(edit_error)
    }

    /// Retired contact points of these areas (`Areas` as JSON, as for `reviewQueue`), as JSON
    /// `[{id, name, retired, area}]`, most recently retired first.
    pub fn retired(&mut self, areas_json: &str, lang: &str) -> Result<String, JsValue> {
        let areas = areas(areas_json)?;
        Ok(serde_json::to_string(&self.0.views().retired(&areas, lang)).unwrap_or_else(|_| "[]".into()))
    }

    /// Every contact role with its name, as JSON `[{role, label}]`.
    pub fn roles(&self, lang: &str) -> String {
        crate::views::roles(lang)
    }

    /// The open directory documents, as JSON `[{area, title}]` (national first).
    #[wasm_bindgen(js_name = areaDocuments)]
    pub fn area_documents(&mut self, lang: &str) -> String {
        serde_json::to_string(&self.0.views().documents(lang)).unwrap_or_else(|_| "[]".into())
    }

    /// The organisations of an area's document, as JSON `[{id, name}]`.
    pub fn organisations(&mut self, area_key: &str, lang: &str) -> String {
        serde_json::to_string(&self.0.views().organisations(area_key, lang)).unwrap_or_else(|_| "[]".into())
    }

    /// Whether the handshake completed.
    #[wasm_bindgen(js_name = isConnected)]
    pub fn is_connected(&self) -> bool {
        self.0.is_connected()
    }
}
