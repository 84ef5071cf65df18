//! Administrative operations shared by the `contactpoint admin …` commands and the relay's
//! first start. Each works on the database file directly, also while the relay runs.

use crate::sql::Conn;
use contactpoint_directory::Area;
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::Automerge;

use crate::auth::{self, InviteError, InviteSpec, Role};
use crate::storage::{self, AuditEntry, Scope, StorageError};

/// Default validity of an invite: 14 days.
pub const DEFAULT_INVITE_DAYS: i64 = 14;

/// Why a signed-in user may not do an administrative action; shown to the person as it is.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Forbidden {
    /// Readers administer nothing.
    #[error("only administrators, and editors for reader invites, may do this")]
    Reader,
    /// Editors create reader invites and nothing else.
    #[error("only administrators may do this; editors may create reader invites for their own areas")]
    AdminsOnly,
    /// An editor asked for an invite with another role.
    #[error("editors may invite readers only; ask an administrator for an invite with the {0} role")]
    EditorRole(&'static str),
    /// An editor's reader invite must name an area of theirs.
    #[error("choose at least one of your own areas for the invite")]
    EditorNoArea,
    /// An editor asked for an invite for an area they are no member of.
    #[error("you may invite readers only for your own areas ({mine}), not for {asked}")]
    EditorOtherArea {
        /// The editor's areas.
        mine: String,
        /// The area asked for.
        asked: String,
    },
}

/// Who does an administrative action: an administrator on the command line (who holds the
/// database file and may do everything), or a signed-in user through the relay's admin
/// endpoints, whose role decides. Every action records `by=` this in the audit log.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    /// `contactpoint admin …`.
    Cli,
    /// A signed-in device.
    User(&'a auth::Identity),
}

impl Actor<'_> {
    /// How the audit log names the actor: `cli` or `user:ID`.
    pub fn by(&self) -> String {
        match self {
            Actor::Cli => "cli".to_owned(),
            Actor::User(i) => format!("user:{}", i.user_id),
        }
    }

    /// Whether the actor may create this invite: administrators (and the command line) any,
    /// editors reader invites for one or more areas each covered by one of their own areas,
    /// readers none.
    pub fn may_invite(&self, spec: &InviteSpec) -> Result<(), Forbidden> {
        let identity = match self {
            Actor::Cli => return Ok(()),
            Actor::User(i) => i,
        };
        match identity.role {
            Role::Admin => Ok(()),
            Role::Reader => Err(Forbidden::Reader),
            Role::Editor => {
                if spec.role != Role::Reader {
                    return Err(Forbidden::EditorRole(spec.role.as_str()));
                }
                if spec.areas.is_empty() {
                    return Err(Forbidden::EditorNoArea);
                }
                match spec.areas.iter().find(|a| !identity.is_member_of(&a.to_string())) {
                    Some(other) => {
                        Err(Forbidden::EditorOtherArea { mine: identity.areas.join(", "), asked: other.to_string() })
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// Whether the actor may list users, devices and the audit log, revoke devices and disable
    /// users: administrators (and the command line) only.
    pub fn may_administer(&self) -> Result<(), Forbidden> {
        match self {
            Actor::Cli => Ok(()),
            Actor::User(i) if i.role == Role::Admin => Ok(()),
            Actor::User(i) if i.role == Role::Editor => Err(Forbidden::AdminsOnly),
            Actor::User(_) => Err(Forbidden::Reader),
        }
    }
}

/// An administrative action that was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The actor may not do it.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// The invite, user or device is not right, or storage failed.
    #[error(transparent)]
    Invalid(#[from] InviteError),
}

impl From<StorageError> for ActionError {
    fn from(e: StorageError) -> Self {
        ActionError::Invalid(InviteError::Storage(e))
    }
}

/// Creates an invite for a new user, if the actor may ([`Actor::may_invite`]), and returns its
/// code; audited with who.
pub fn invite(conn: &mut Conn, actor: Actor<'_>, spec: &InviteSpec) -> Result<String, ActionError> {
    actor.may_invite(spec)?;
    Ok(auth::create_invite(conn, spec, Some(&actor.by()))?)
}

/// Revokes a device, if the actor may ([`Actor::may_administer`]); false when there is no such
/// active device. The relay closes its connections ([`crate::watch::watch_database`] for other
/// processes; the admin endpoint at once).
pub fn revoke(conn: &Conn, actor: Actor<'_>, device_id: i64) -> Result<bool, ActionError> {
    actor.may_administer()?;
    Ok(auth::revoke_device(conn, device_id, &actor.by())?)
}

/// Disables a user, if the actor may ([`Actor::may_administer`]); false when there is no such
/// active user.
pub fn disable(conn: &Conn, actor: Actor<'_>, user_id: i64) -> Result<bool, ActionError> {
    actor.may_administer()?;
    Ok(disable_user(conn, user_id, &actor.by())?)
}

/// Whether the database has no users yet (a fresh installation).
pub fn has_no_users(conn: &Conn) -> Result<bool, StorageError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", &[], |r| r.get::<i64>(0))? == 0)
}

/// Creates an invite for the first administrator.
pub fn first_admin_invite(conn: &mut Conn) -> Result<String, InviteError> {
    auth::create_invite(
        conn,
        &InviteSpec {
            role: Role::Admin,
            areas: vec![],
            user_name: Some("Administrator".into()),
            valid_for_ms: DEFAULT_INVITE_DAYS * crate::calendar::MS_PER_DAY,
            uses: 1,
        },
        Some("first start"),
    )
}

/// Parses the scope of a document as written on the command line:
/// `index`, `national`, an area (`municipality:091`, `091`, `county:90`, `police:oulu`), or an
/// area's members-only document (`restricted:municipality:091`).
pub fn parse_scope(s: &str) -> Result<Scope, String> {
    match s {
        "index" => Ok(Scope::Index),
        "national" => Ok(Scope::National),
        other if other.starts_with("restricted:") => {
            let a: Area = other["restricted:".len()..].parse().map_err(|e| format!("{e}"))?;
            Ok(Scope::Restricted(a.to_string()))
        }
        other => {
            let a: Area = other.strip_prefix("area:").unwrap_or(other).parse().map_err(|e| format!("{e}"))?;
            Ok(Scope::Area(a.to_string()))
        }
    }
}

/// The initial contents of a new document of a scope: a directory that declares its kind (and
/// area), so that every later write to it is validated as directory content.
pub fn empty_document(scope: &Scope) -> Result<Automerge, String> {
    use contactpoint_directory::model::{Directory, Index};
    use contactpoint_directory::store::{write_directory, write_index};
    use contactpoint_directory::text::LocalizedText;
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    let written = match scope {
        Scope::Index => write_index(&mut tx, &Index::default()),
        Scope::National => write_directory(
            &mut tx,
            &Directory::national(LocalizedText::fi_sv_en(
                "Valtakunnalliset palvelut",
                "Riksomfattande tjänster",
                "National services",
            )),
        ),
        Scope::Area(a) => {
            let area: Area = a.parse().map_err(|e| format!("{e}"))?;
            let title = LocalizedText::fi_sv_en(&area.name("fi"), &area.name("sv"), &area.name("en"));
            write_directory(&mut tx, &Directory::for_area(area, title))
        }
        Scope::Restricted(a) => {
            let area: Area = a.parse().map_err(|e| format!("{e}"))?;
            write_directory(&mut tx, &Directory::restricted_for(area))
        }
        Scope::Unlisted => Ok(()),
    };
    written.map_err(|e| e.to_string())?;
    tx.commit();
    Ok(doc)
}

/// Registers a new document with the given scope and initial contents; returns its id.
pub fn create_document(conn: &mut Conn, scope: &Scope, doc: &Automerge) -> Result<DocumentId, StorageError> {
    let id = DocumentId::from_random_bytes(crate::random::random_bytes::<16>());
    let tx = conn.transaction()?;
    storage::create_doc(&tx, &id, scope, &doc.save())?;
    if *scope == Scope::Index {
        storage::meta_set(&tx, "index_document_id", &id.to_string())?;
    }
    storage::insert_audit(
        &tx,
        &AuditEntry {
            user_id: None,
            device_id: None,
            doc_id: Some(id.to_string()),
            action: "document.create".into(),
            detail: scope.as_db(),
        },
    )?;
    // A directory document is listed in the index, or no client would ever find it.
    if let Ok(d) = contactpoint_directory::store::read_directory(doc)
        && matches!(scope, Scope::National | Scope::Area(_))
    {
        let kind = if *scope == Scope::National {
            contactpoint_directory::model::DocumentKind::National
        } else {
            contactpoint_directory::model::DocumentKind::Area
        };
        let entry =
            contactpoint_directory::model::IndexEntry { id: id.to_string(), kind, area: d.area, title: d.title };
        crate::content::catalogue(&tx, vec![entry])?;
    }
    tx.commit()?;
    Ok(id)
}

/// Changes the scope of a known document (for example to catalogue one created through sync).
pub fn set_scope(conn: &Conn, doc: &DocumentId, scope: &Scope) -> Result<bool, StorageError> {
    let n =
        conn.execute("UPDATE documents SET scope = ?1 WHERE id = ?2", crate::args![scope.as_db(), doc.to_string()])?;
    Ok(n == 1)
}

/// A user as the administration listings show it.
#[derive(Debug, serde::Serialize)]
pub struct UserRow {
    /// User id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// reader, editor or admin.
    pub role: String,
    /// Areas edited.
    pub areas: Vec<String>,
    /// Devices not revoked.
    pub active_devices: i64,
    /// Created, milliseconds since the epoch.
    pub created_at: i64,
    /// Disabled, if so.
    pub disabled_at: Option<i64>,
}

/// Every user, oldest first.
pub fn users(conn: &Conn) -> Result<Vec<UserRow>, StorageError> {
    let rows = conn.query_map(
        "SELECT u.id, u.name, u.role, u.created_at, u.disabled_at,
                (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL)
         FROM users u ORDER BY u.id",
        &[],
        |r| {
            Ok(UserRow {
                id: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
                areas: Vec::new(),
                created_at: r.get(3)?,
                disabled_at: r.get(4)?,
                active_devices: r.get(5)?,
            })
        },
    )?;
    let mut out: Vec<UserRow> = rows;
    for u in &mut out {
        u.areas = storage::user_areas(conn, u.id)?;
    }
    Ok(out)
}

/// The link that opens the app at `base` (its public address) with the invite filled in.
pub fn invite_link(base: &str, code: &str) -> String {
    format!("{}/?invite={code}", base.trim_end_matches('/'))
}

/// Creates the document of each area that has none yet, so that an editor given the area can edit
/// at once; returns the documents created. Called wherever an editor is made (invites, users).
pub fn ensure_area_documents(conn: &mut Conn, areas: &[Area]) -> Result<Vec<(Area, DocumentId)>, StorageError> {
    let existing: Vec<Scope> =
        storage::list_docs(conn)?.into_iter().filter(|(_, _, gone)| !gone).map(|(_, s, _)| s).collect();
    let mut created = Vec::new();
    for area in areas {
        let scope = Scope::Area(area.to_string());
        if existing.contains(&scope) || created.iter().any(|(a, _): &(Area, DocumentId)| a == area) {
            continue;
        }
        let doc = empty_document(&scope).map_err(StorageError::Invalid)?;
        created.push((area.clone(), create_document(conn, &scope, &doc)?));
    }
    Ok(created)
}

/// Creates a user without an invite, for an administrator on the command line, and returns the
/// new user's id. The user has no device yet: give them one with an invite for the user
/// ([`auth::create_device_invite`], `admin invite --user ID`). Editors need at least one area.
pub fn create_user(
    conn: &mut Conn,
    name: &str,
    role: Role,
    areas: &[Area],
    by: Option<&str>,
) -> Result<i64, InviteError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(InviteError::UserName);
    }
    if role == Role::Editor && areas.is_empty() {
        return Err(InviteError::EditorWithoutArea);
    }
    if role == Role::Editor {
        ensure_area_documents(conn, areas)?;
    }
    let areas = auth::area_keys(areas);
    let tx = conn.transaction()?;
    let user_id = storage::insert_user(&tx, name, role, &areas, storage::now_ms())?;
    storage::insert_audit(
        &tx,
        &AuditEntry {
            user_id: Some(user_id),
            device_id: None,
            doc_id: None,
            action: "user.create".into(),
            detail: format!("role={} areas=[{}] by={}", role.as_str(), areas.join(" "), by.unwrap_or("cli")),
        },
    )?;
    tx.commit()?;
    Ok(user_id)
}

/// Disables a user: every device's token stops working and the relay closes their connections.
/// Returns false when there is no such active user. `by` says who for the audit log (`cli`, or
/// `user:ID` for an administrator in the app).
pub fn disable_user(conn: &Conn, user_id: i64, by: &str) -> Result<bool, StorageError> {
    let n = conn.execute(
        "UPDATE users SET disabled_at = ?1 WHERE id = ?2 AND disabled_at IS NULL",
        crate::args![storage::now_ms(), user_id],
    )?;
    if n > 0 {
        storage::insert_audit(
            conn,
            &AuditEntry {
                user_id: Some(user_id),
                device_id: None,
                doc_id: None,
                action: "user.disable".into(),
                detail: format!("by={by}"),
            },
        )?;
        conn.notify(&crate::notice::Notice::Access)?;
    }
    Ok(n > 0)
}

/// A device as the listings show it.
#[derive(Debug, serde::Serialize)]
pub struct DeviceRow {
    /// Device id (what `admin revoke` takes).
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Owner's name.
    pub user_name: String,
    /// The name given when the invite was redeemed.
    pub name: String,
    /// Created, milliseconds since the epoch.
    pub created_at: i64,
    /// Revoked, if so.
    pub revoked_at: Option<i64>,
}

/// Every device, oldest first.
pub fn devices(conn: &Conn) -> Result<Vec<DeviceRow>, StorageError> {
    let rows = conn.query_map(
        "SELECT d.id, d.user_id, u.name, d.name, d.created_at, d.revoked_at
         FROM devices d JOIN users u ON u.id = d.user_id ORDER BY d.id",
        &[],
        |r| {
            Ok(DeviceRow {
                id: r.get(0)?,
                user_id: r.get(1)?,
                user_name: r.get(2)?,
                name: r.get(3)?,
                created_at: r.get(4)?,
                revoked_at: r.get(5)?,
            })
        },
    )?;
    Ok(rows)
}

/// An area with its documents and editors.
#[derive(Debug, serde::Serialize)]
pub struct AreaRow {
    /// The area (`municipality:091`).
    pub area: String,
    /// Its name in Finnish.
    pub name: String,
    /// Its documents' ids (its own and, if it has one, its members-only document).
    pub documents: Vec<String>,
    /// Active editors: (user id, name).
    pub editors: Vec<(i64, String)>,
}

/// Every area that has a document or an editor.
pub fn areas(conn: &Conn) -> Result<Vec<AreaRow>, StorageError> {
    let mut by_area: std::collections::BTreeMap<String, AreaRow> = std::collections::BTreeMap::new();
    let row = |area: &str| -> AreaRow {
        AreaRow {
            area: area.to_owned(),
            name: area.parse::<Area>().map(|a| a.name("fi")).unwrap_or_else(|_| area.to_owned()),
            documents: Vec::new(),
            editors: Vec::new(),
        }
    };
    for (id, scope, tombstoned) in storage::list_docs(conn)? {
        if let (Scope::Area(a) | Scope::Restricted(a), false) = (scope, tombstoned) {
            by_area.entry(a.clone()).or_insert_with(|| row(&a)).documents.push(id);
        }
    }
    let editors = conn.query_map(
        "SELECT ua.area, u.id, u.name FROM user_areas ua JOIN users u ON u.id = ua.user_id
         WHERE u.disabled_at IS NULL ORDER BY ua.area, u.id",
        &[],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?)),
    )?;
    for e in editors {
        let (area, id, name) = e;
        by_area.entry(area.clone()).or_insert_with(|| row(&area)).editors.push((id, name));
    }
    Ok(by_area.into_values().collect())
}

/// One audit entry as listed.
#[derive(Debug, serde::Serialize)]
pub struct AuditRow {
    /// When, milliseconds since the epoch.
    pub at: i64,
    /// Who.
    pub user_id: Option<i64>,
    /// Their name, if known.
    pub user_name: Option<String>,
    /// From which device.
    pub device_id: Option<i64>,
    /// Which document.
    pub doc_id: Option<String>,
    /// What.
    pub action: String,
    /// Detail.
    pub detail: Option<String>,
}

/// What to select from the audit log.
#[derive(Debug, Default)]
pub struct AuditQuery {
    /// Only this user's entries.
    pub user_id: Option<i64>,
    /// Only entries about this area's documents.
    pub area: Option<String>,
    /// Only this action (`device.revoke`) or family of actions (`invite`, `sync`).
    pub action: Option<String>,
    /// From this time (milliseconds since the epoch), inclusive.
    pub since: Option<i64>,
    /// Until this time, exclusive.
    pub until: Option<i64>,
    /// At most this many entries, newest first.
    pub limit: i64,
}

/// Audit entries matching the query, newest first. A user's entries are those about the user
/// (`user_id`) and those the user did as an administrator in the app (`by=user:ID`).
///
/// Every parameter is cast to its type: PostgreSQL cannot tell a parameter's type from `? IS NULL`.
pub fn audit(conn: &Conn, q: &AuditQuery) -> Result<Vec<AuditRow>, StorageError> {
    let rows = conn.query_map(
        "SELECT a.at, a.user_id, u.name, a.device_id, a.doc_id, a.action, a.detail
         FROM audit a LEFT JOIN users u ON u.id = a.user_id
         LEFT JOIN documents d ON d.id = a.doc_id
         WHERE (CAST(?1 AS BIGINT) IS NULL OR a.user_id = CAST(?1 AS BIGINT)
                OR (a.detail || ' ') LIKE ('%by=user:' || CAST(CAST(?1 AS BIGINT) AS TEXT) || ' %'))
           AND (CAST(?2 AS TEXT) IS NULL OR d.scope = 'area:' || CAST(?2 AS TEXT))
           AND (CAST(?3 AS BIGINT) IS NULL OR a.at >= CAST(?3 AS BIGINT))
           AND (CAST(?4 AS BIGINT) IS NULL OR a.at < CAST(?4 AS BIGINT))
           AND (CAST(?6 AS TEXT) IS NULL OR a.action = CAST(?6 AS TEXT)
                OR substr(a.action, 1, length(CAST(?6 AS TEXT)) + 1) = CAST(?6 AS TEXT) || '.')
         ORDER BY a.at DESC, a.id DESC LIMIT ?5",
        crate::args![q.user_id, q.area, q.since, q.until, q.limit, q.action],
        |r| {
            Ok(AuditRow {
                at: r.get(0)?,
                user_id: r.get(1)?,
                user_name: r.get(2)?,
                device_id: r.get(3)?,
                doc_id: r.get(4)?,
                action: r.get(5)?,
                detail: r.get(6)?,
            })
        },
    )?;
    Ok(rows)
}

/// A contact point found for erasure.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ErasureMatch {
    /// The document holding it.
    pub doc: String,
    /// The document's scope, as stored (`area:municipality:091`).
    pub scope: String,
    /// The contact point's id.
    pub contact_id: String,
    /// Its name, for the administrator to recognise it (in the first language it has).
    pub name: String,
    /// The fields that name the person (`name.fi`, `email`, `phones.0.description.fi`).
    pub fields: Vec<String>,
}

/// Every string of an Automerge object with its path, lists by position.
fn strings_of(
    doc: &Automerge,
    obj: &contactpoint_protocol::automerge::ObjId,
    path: &str,
    out: &mut Vec<(String, String)>,
) {
    use contactpoint_protocol::automerge::{ObjType, ReadDoc, ScalarValue, Value};
    let mut visit = |key: String, value: Option<(Value<'_>, contactpoint_protocol::automerge::ObjId)>| {
        let path = if path.is_empty() { key } else { format!("{path}.{key}") };
        match value {
            Some((Value::Scalar(s), _)) => {
                if let ScalarValue::Str(t) = s.as_ref() {
                    out.push((path, t.to_string()));
                }
            }
            Some((Value::Object(ObjType::Text), id)) => {
                if let Ok(t) = doc.text(&id) {
                    out.push((path, t));
                }
            }
            Some((Value::Object(_), id)) => strings_of(doc, &id, &path, out),
            None => {}
        }
    };
    match doc.object_type(obj) {
        Ok(ObjType::List) => {
            for i in 0..doc.length(obj) {
                visit(i.to_string(), doc.get(obj, i).ok().flatten());
            }
        }
        Ok(ObjType::Map | ObjType::Table) => {
            for k in doc.keys(obj).collect::<Vec<_>>() {
                let v = doc.get(obj, &k).ok().flatten();
                visit(k, v);
            }
        }
        _ => {}
    }
}

/// Whether `text` names the person whose name folds to `words` (every word of the name among the
/// text's words, in any order) or `compact` (the name's letters run together, as in
/// `mattimeikalainen@…`). Case and the common accents do not count.
fn names_person(text: &str, words: &[String], compact: &str) -> bool {
    use contactpoint_directory::text::words as fold_words;
    let have: std::collections::HashSet<String> = fold_words(text).collect();
    if !words.is_empty() && words.iter().all(|w| have.contains(w)) {
        return true;
    }
    let joined: String = fold_words(text).collect();
    compact.chars().count() >= 4 && joined.contains(compact)
}

/// Finds every contact point, in every document that is not tombstoned, whose text (name,
/// description, e-mail, the named person, any other string it holds) names `person`,
/// accent- and case-insensitively.
pub fn find_person(conn: &Conn, person: &str) -> Result<Vec<ErasureMatch>, StorageError> {
    let words: Vec<String> = contactpoint_directory::text::words(person).collect();
    let compact: String = words.concat();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    find_contacts(conn, |_, strings| {
        strings.iter().filter(|(_, text)| names_person(text, &words, &compact)).map(|(path, _)| path.clone()).collect()
    })
}

/// Finds the contact point with this id, wherever it is.
pub fn find_contact(conn: &Conn, contact_id: &str) -> Result<Vec<ErasureMatch>, StorageError> {
    find_contacts(conn, |id, _| if id == contact_id { vec!["id".to_owned()] } else { Vec::new() })
}

fn find_contacts(
    conn: &Conn,
    matches: impl Fn(&str, &[(String, String)]) -> Vec<String>,
) -> Result<Vec<ErasureMatch>, StorageError> {
    use contactpoint_protocol::automerge::{ObjType, ROOT, ReadDoc, Value};
    let mut out = Vec::new();
    for (id, scope) in crate::rotate::live_documents(conn)? {
        if scope == Scope::Index {
            continue;
        }
        let Some(stored) = storage::load_doc(conn, &id)? else { continue };
        let Ok(doc) = Automerge::load(&stored.bytes) else {
            tracing::warn!(doc = %id, "a stored document does not load; it was not searched");
            continue;
        };
        let Ok(Some((Value::Object(ObjType::Map), cps))) = doc.get(ROOT, "contact_points") else { continue };
        for contact_id in doc.keys(&cps).collect::<Vec<_>>() {
            let Ok(Some((Value::Object(_), obj))) = doc.get(&cps, &contact_id) else { continue };
            let mut strings = Vec::new();
            strings_of(&doc, &obj, "", &mut strings);
            let fields = matches(&contact_id, &strings);
            if fields.is_empty() {
                continue;
            }
            let name = contactpoint_directory::store::read_contact_point(&doc, &contact_id)
                .and_then(|c| {
                    ["fi", "sv", "en"]
                        .iter()
                        .find_map(|l| c.name.0.get(*l).cloned())
                        .or_else(|| c.name.0.values().next().cloned())
                })
                .unwrap_or_default();
            out.push(ErasureMatch { doc: id.to_string(), scope: scope.as_db(), contact_id, name, fields });
        }
    }
    Ok(out)
}

/// Erases the matched contact points: each affected document is rotated once without them
/// ([`crate::rotate::rotate`] with [`crate::rotate::Purpose::Erase`]), which also records who
/// erased which id (`admin.erase`) and makes the database forget the old pages.
pub fn erase(
    conn: &mut Conn,
    matches: &[ErasureMatch],
    by: &str,
) -> Result<Vec<crate::rotate::Rotation>, crate::rotate::RotateError> {
    let mut by_doc: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> = Default::default();
    for m in matches {
        by_doc.entry(&m.doc).or_default().insert(&m.contact_id);
    }
    let mut done = Vec::new();
    for (doc, ids) in by_doc {
        let doc = StorageError::parse_id("document id", doc)?;
        done.push(crate::rotate::rotate(
            conn,
            &doc,
            |cp| !ids.contains(cp.id.as_str()),
            crate::rotate::Purpose::Erase,
            by,
        )?);
    }
    Ok(done)
}

/// Text from the database as it may be shown on an administrator's terminal: control characters
/// (escape sequences, bells, line breaks) and the invisible marks that reorder text are written
/// as escapes (`\x1b`, `\u{202e}`), so a name chosen by whoever redeemed an invite can neither
/// drive the terminal nor disguise a table row. Letters of every script are kept as they are.
pub fn terminal_safe(s: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !unsafe_char(c) => out.push(c),
            c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{names_person, terminal_safe};

    #[test]
    fn a_person_is_named_in_any_case_accent_order_or_address() {
        let words: Vec<String> = contactpoint_directory::text::words("Päivi Öhman").collect();
        let compact = words.concat();
        for text in [
            "Contact person Päivi Öhman",
            "PAIVI OHMAN",
            "Öhman, Päivi (social worker)",
            "paivi.ohman@example.invalid",
            "paiviohman@example.invalid",
        ] {
            assert!(names_person(text, &words, &compact), "{text}");
        }
        for text in ["Päivi Virtanen", "Ohmanni Paivikki", "Anchor team"] {
            assert!(!names_person(text, &words, &compact), "{text}");
        }
    }

    #[test]
    fn terminal_safe_escapes_controls_and_keeps_letters() {
        assert_eq!(terminal_safe("Päivi's phone (Åbo)"), "Päivi's phone (Åbo)");
        assert!(matches!(terminal_safe("ääkkönen"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(terminal_safe("x\u{1b}[2J\u{7}y"), "x\\x1b[2J\\x07y");
        assert_eq!(terminal_safe("a\nb\tc\rd\u{7f}"), "a\\x0ab\\x09c\\x0dd\\x7f");
        assert_eq!(terminal_safe("\u{9b}31m"), "\\u{9b}31m", "the one-byte CSI of C1");
        assert_eq!(terminal_safe("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(terminal_safe("مرحبا עולם 日本"), "مرحبا עולם 日本");
        assert!(!terminal_safe("\u{1b}]0;title\u{7}").chars().any(char::is_control));
    }
}
