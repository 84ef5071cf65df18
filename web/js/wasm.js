// @ts-check
// The one wrapper around the wasm client: the only module that calls its exports and parses the
// JSON they return. The shapes of that JSON are declared below, so that the type check holds
// every screen to what the Rust views (client-wasm/src/views.rs and friends) serialise.

import init, { Client } from "./contactpoint.js";

// The shapes are generated from the Rust types (client-wasm/src/types.rs) into
// types/wasm-types.d.ts, which a Rust test keeps equal to what the types generate: renaming a
// field in Rust changes the declarations, and the type check then fails at every caller here and
// in the screens. The names below are the app's names for them.

/** @typedef {import("./types/wasm-types.js").Text} Text A text in the language it was found in. */
/** @typedef {import("./types/wasm-types.js").PhoneView} Phone */
/** @typedef {import("./types/wasm-types.js").ContactForm} ContactForm */
/** @typedef {import("./types/wasm-types.js").ScheduleForm} ScheduleForm A stored row of opening hours. */
/** @typedef {import("./types/wasm-types.js").ScheduleEdit} ScheduleEdit A row of opening hours as the edit form sends it. */
/** @typedef {import("./types/wasm-types.js").ContactView} Contact A contact point in a list or on its own page (`form` only there). */
/** @typedef {import("./types/wasm-types.js").AnswerView} Answer */
/** @typedef {import("./types/wasm-types.js").StepView} Step */
/** @typedef {Extract<import("./types/wasm-types.js").NodeView, { type: "question" }>} QuestionNode */
/** @typedef {Extract<import("./types/wasm-types.js").NodeView, { type: "steps" }>} StepsNode */
/** @typedef {import("./types/wasm-types.js").CardView} Card A guidance card ready to walk. */
/** @typedef {import("./types/wasm-types.js").Topic} Topic */
/** @typedef {import("./types/wasm-types.js").HitView} Hit */
/** @typedef {import("./types/wasm-types.js").Group} Group */
/** @typedef {import("./types/wasm-types.js").MunicipalityView} Municipality */
/** @typedef {import("./types/wasm-types.js").ReviewItem} ReviewItem */
/** @typedef {import("./types/wasm-types.js").RetiredItem} RetiredItem */
/** @typedef {import("./types/wasm-types.js").Unreadable} Unreadable A document the app could not read, and why. */
/** @typedef {import("./types/wasm-types.js").DocumentItem} AreaDocument An area key (`national`, `municipality:092`, `restricted:…`) and its title. */
/** @typedef {import("./types/wasm-types.js").RoleView} Role */
/** @typedef {import("./types/wasm-types.js").FieldLabel} FieldLabel How the app names a field: its word, the list position from 1, the rest of the path. */
/** @typedef {import("./types/wasm-types.js").FieldValue} FieldValue A field's value: text, or a nested map or list. */
/** @typedef {import("./types/wasm-types.js").ConflictView} Conflict */
/** @typedef {import("./types/wasm-types.js").ChangeView} FieldChange */
/** @typedef {import("./types/wasm-types.js").EntryView} HistoryEntry One change set of a contact point's history. */
/** @typedef {import("./types/wasm-types.js").LocalStep} LocalStep */
/** @typedef {import("./types/wasm-types.js").LocalNode} LocalNode */
/** @typedef {import("./types/wasm-types.js").LocalView} LocalView The local guidance editor's view of a national card in an area. */
/** @typedef {import("./types/wasm-types.js").FieldIssue} Issue A broken rule, with its code. */
/** @typedef {import("./types/wasm-types.js").Explained} Explained A refusal in words the app translates. */
/** @typedef {import("./types/wasm-types.js").Discarded} Discarded A refused value kept to be entered again. */
/** @typedef {import("./types/wasm-types.js").Areas} Areas Whose entries an editor's lists show: all, or those of some area keys. */
/** @typedef {import("./types/wasm-types.js").NewContact} NewContact The add form's contact. */
/** @typedef {import("./types/wasm-types.js").ContactEdit} ContactEdit The edit form's changes. */
/** @typedef {import("./types/wasm-types.js").LocalOp} LocalOp A change to an area's local version of a card. */

/** @typedef {Uint8Array<ArrayBuffer>} Bytes */

/**
 * What the app does for the client (session.rs `Effect`): send or store bytes, redraw, report.
 * The bytes of `send`, `store` and `replace` are not JSON: the bindings attach them to the
 * effect (bindings.rs `to_js`).
 * @typedef {import("./types/wasm-types.js").Effect} EffectData
 * @typedef {EffectData extends infer E ? (E extends { kind: "send" | "store" | "replace" } ? E & { bytes: Bytes } : E) : never} Effect
 */

/** @typedef {{ ok: true, id?: string, effects: Effect[] } | { ok: false, issues: Issue[] }} FormResult */

/**
 * @template T
 * @param {string} json
 * @returns {T}
 */
function parse(json) {
  return JSON.parse(json);
}

/** Loads the wasm module from its URL (rewritten to the hashed name by the build). */
export async function loadWasm() {
  await init({ module_or_path: new URL("./contactpoint_bg.wasm", import.meta.url) });
}

/** The wasm client with typed results. */
export class Wasm {
  /**
   * A fresh peer id per running instance and the browser's storage id.
   * @param {string} peerId
   * @param {string} storageId
   */
  constructor(peerId, storageId) {
    this.raw = new Client(peerId, storageId);
  }

  // Syncing: effects in, effects out.

  /** @param {string} id @param {Uint8Array} bytes @param {Uint8Array | undefined} state @returns {Effect[]} */
  openDoc(id, bytes, state) {
    return this.raw.openDoc(id, bytes, state);
  }
  /** @returns {Effect[]} */
  connect() {
    return this.raw.connect();
  }
  disconnected() {
    this.raw.disconnected();
  }
  /** @param {Uint8Array} frame @returns {Effect[]} */
  receive(frame) {
    return this.raw.receive(frame);
  }
  /** @param {string} id */
  syncState(id) {
    return this.raw.syncState(id);
  }
  /** @param {string} id */
  isAcknowledged(id) {
    return this.raw.isAcknowledged(id);
  }
  /** @param {string} id */
  save(id) {
    return this.raw.save(id);
  }
  isConnected() {
    return this.raw.isConnected();
  }
  /** @param {string} name */
  setAuthor(name) {
    this.raw.setAuthor(name);
  }

  // Views.

  /** @param {string} index @returns {string[]} */
  documentIds(index) {
    return parse(this.raw.documentIds(index));
  }
  /** @param {string} index @returns {string[]} */
  nationalDocumentIds(index) {
    return parse(this.raw.nationalDocumentIds(index));
  }
  /** @param {string} lang @param {string} today @returns {Topic[]} */
  topics(lang, today) {
    return parse(this.raw.topics(lang, today));
  }
  /** @param {string} slug @param {string} muni @param {string} lang @param {string} today @param {string} now @returns {Card | null} */
  card(slug, muni, lang, today, now) {
    return parse(this.raw.card(slug, muni, lang, today, now));
  }
  /** @param {string} id @param {string} muni @param {string} lang @param {string} today @param {string} now @returns {Contact | null} */
  contact(id, muni, lang, today, now) {
    return parse(this.raw.contact(id, muni, lang, today, now));
  }
  /** @param {string} query @param {string} muni @param {string} lang @returns {Hit[]} */
  search(query, muni, lang) {
    return parse(this.raw.search(query, muni, lang));
  }
  /** @param {string} muni @param {string} lang @param {string} today @param {string} now @returns {Group[]} */
  browse(muni, lang, today, now) {
    return parse(this.raw.browse(muni, lang, today, now));
  }
  /** @param {string} query @param {string} lang @returns {Municipality[]} */
  municipalities(query, lang) {
    return parse(this.raw.municipalities(query, lang));
  }
  /** @param {string} code @param {string} lang @returns {Municipality} */
  municipality(code, lang) {
    return parse(this.raw.municipality(code, lang));
  }
  /** `[documentId, area]` of the document holding a contact, or undefined. @param {string} id */
  contactScope(id) {
    return this.raw.contactScope(id);
  }
  /** @param {Areas} areas @param {string} today @param {string} lang @returns {ReviewItem[]} */
  reviewQueue(areas, today, lang) {
    return parse(this.raw.reviewQueue(JSON.stringify(areas), today, lang));
  }
  /** @param {string} id @returns {HistoryEntry[] | null} */
  contactHistory(id) {
    return parse(this.raw.contactHistory(id));
  }
  /** @param {string} id @returns {Conflict[]} */
  contactConflicts(id) {
    return parse(this.raw.contactConflicts(id));
  }
  /** @param {string} slug @param {string} area @param {string} lang @returns {LocalView | null} */
  localGuidance(slug, area, lang) {
    return parse(this.raw.localGuidance(slug, area, lang));
  }
  /** @param {string} muni @param {string} lang @returns {AreaDocument[]} */
  areasCovering(muni, lang) {
    return parse(this.raw.areasCovering(muni, lang));
  }
  /** @returns {Unreadable[]} */
  unreadableDocs() {
    return parse(this.raw.unreadableDocs());
  }
  /** @returns {string[]} */
  heldDocs() {
    return parse(this.raw.heldDocs());
  }
  /** @param {Areas} areas @param {string} lang @returns {RetiredItem[]} */
  retired(areas, lang) {
    return parse(this.raw.retired(JSON.stringify(areas), lang));
  }
  /** @param {string} lang @returns {Role[]} */
  roles(lang) {
    return parse(this.raw.roles(lang));
  }
  /** @param {string} lang @returns {AreaDocument[]} */
  areaDocuments(lang) {
    return parse(this.raw.areaDocuments(lang));
  }

  // Changes: each validated by the rules before it is applied.

  /** @param {string} id @param {ContactEdit} edit @param {string} today @param {string} by @returns {FormResult} */
  editContact(id, edit, today, by) {
    return this.raw.editContact(id, JSON.stringify(edit), today, by);
  }
  /** @param {string} area @param {NewContact} contact @param {string} today @param {string} by @returns {FormResult} */
  addContact(area, contact, today, by) {
    return this.raw.addContact(area, JSON.stringify(contact), today, by);
  }
  /** Writes one field; `undefined` removes it. @param {string} id @param {string} field @param {string | undefined} value @returns {FormResult} */
  setContactField(id, field, value) {
    return this.raw.setContactField(id, field, value);
  }
  /** @param {string} slug @param {string} area @param {LocalOp} op @returns {FormResult} */
  changeLocal(slug, area, op) {
    return this.raw.changeLocal(slug, area, JSON.stringify(op));
  }
  /** Throws an error with `issues` when the rules refuse. @param {string} id @param {string} today @returns {Effect[]} */
  retireContact(id, today) {
    return this.raw.retireContact(id, today);
  }
  /** Throws like `retireContact`. @param {string} id @returns {Effect[]} */
  restoreContact(id) {
    return this.raw.restoreContact(id);
  }
  /** @param {string} id @returns {{ discarded: Discarded[], effects: Effect[] }} */
  resetDoc(id) {
    return this.raw.resetDoc(id);
  }
}
