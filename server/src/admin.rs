//! Administrative operations shared by the `contactpoint admin …` commands and the relay's
//! first start. Each works on the database file directly, also while the relay runs.

use contactpoint_directory::Area;
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::Automerge;
use rusqlite::Connection;

use crate::auth::{self, InviteError, InviteSpec, Role};
use crate::storage::{self, AuditEntry, Scope, StorageError};

/// Default validity of an invite: 14 days.
pub const DEFAULT_INVITE_DAYS: i64 = 14;

/// Whether the database has no users yet (a fresh installation).
pub fn has_no_users(conn: &Connection) -> Result<bool, StorageError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get::<_, i64>(0))? == 0)
}

/// Creates an invite for the first administrator.
pub fn first_admin_invite(conn: &mut Connection) -> Result<String, InviteError> {
    auth::create_invite(
        conn,
        &InviteSpec {
            role: Role::Admin,
            areas: vec![],
            user_name: Some("Administrator".into()),
            valid_for_ms: DEFAULT_INVITE_DAYS * 86_400_000,
            uses: 1,
        },
        Some("first start"),
    )
}

/// Parses the scope of a document as written on the command line:
/// `index`, `national`, or an area (`municipality:091`, `091`, `county:90`, `police:oulu`).
pub fn parse_scope(s: &str) -> Result<Scope, String> {
    match s {
        "index" => Ok(Scope::Index),
        "national" => Ok(Scope::National),
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
        Scope::Unlisted => Ok(()),
    };
    written.map_err(|e| e.to_string())?;
    tx.commit();
    Ok(doc)
}

/// Registers a new document with the given scope and initial contents; returns its id.
pub fn create_document(conn: &mut Connection, scope: &Scope, doc: &Automerge) -> Result<DocumentId, StorageError> {
    let id = DocumentId::from_random_bytes(auth::random_bytes::<16>());
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
pub fn set_scope(conn: &Connection, doc: &DocumentId, scope: &Scope) -> Result<bool, StorageError> {
    let n = conn.execute("UPDATE documents SET scope = ?1 WHERE id = ?2", [scope.as_db(), doc.to_string()])?;
    Ok(n == 1)
}
