//! Writes that break the directory's rules are refused by the relay: nothing is stored, no other
//! peer sees them, and the writer is told what is wrong.

use contactpoint_directory::store::{read_contact_point, read_directory, write_contact_point};
use contactpoint_directory::validate_document;
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::Automerge;
use contactpoint_server::admin;
use contactpoint_server::auth::Role;
use contactpoint_server::content;
use contactpoint_server::storage::{self, Scope};
use contactpoint_tests::{NativeClient, TestRelay};

async fn helsinki(relay: &TestRelay) -> anyhow::Result<(DocumentId, String)> {
    relay.db.with(|c| content::seed_if_empty(c, "2026-11-24"))?;
    let id: DocumentId = relay
        .db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .find(|(_, s, _)| *s == Scope::Area("municipality:091".into()))
        .expect("Helsinki")
        .0
        .parse()?;
    let stored = relay.db.with(|c| storage::load_doc(c, &id))?.expect("stored");
    let contact =
        read_directory(&Automerge::load(&stored.bytes)?)?.contact_points.keys().next().expect("contact").clone();
    Ok((id, contact))
}

fn stored_phone(relay: &TestRelay, doc: DocumentId, contact: &str) -> anyhow::Result<String> {
    let stored = relay.db.with(|c| storage::load_doc(c, &doc))?.expect("stored");
    let d = Automerge::load(&stored.bytes)?;
    Ok(read_contact_point(&d, contact).expect("contact").phones[0].number.clone())
}

/// Connects a client to the document and waits until it has the contact.
async fn synced(
    relay: &TestRelay,
    name: &str,
    token: &str,
    doc: DocumentId,
    contact: &str,
) -> anyhow::Result<NativeClient> {
    let mut c = NativeClient::new(name);
    c.open(doc);
    c.connect(&relay.url(token)).await?;
    c.wait_until(|c| c.session.doc(&doc).and_then(|d| read_contact_point(d, contact)).is_some()).await?;
    Ok(c)
}

async fn edit(
    c: &mut NativeClient,
    doc: DocumentId,
    contact: &str,
    f: impl FnOnce(&mut contactpoint_directory::ContactPoint),
) -> anyhow::Result<()> {
    let mut cp = read_contact_point(c.session.doc(&doc).expect("doc"), contact).expect("contact");
    f(&mut cp);
    c.change(doc, |d| {
        let mut tx = d.transaction();
        write_contact_point(&mut tx, &cp).expect("write");
        tx.commit();
    })
    .await
}

/// The story:
/// 1. A reader and an editor of Helsinki sync the Helsinki document.
/// 2. The editor writes a phone number that is not one: refused with the rule's message.
/// 3. A second editor session writes an identity code into a description: refused likewise.
/// 4. A third writes a valid number: accepted, stored, and the reader receives it.
/// 5. The reader never held either refused value, and storage never did.
/// 6. The first editor's document is held (reconnecting does not send it again) until reset,
///    which returns it to the relay's state and keeps the refused copy.
#[tokio::test]
async fn invalid_writes_are_refused_and_valid_ones_flow() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
    let (doc, contact) = helsinki(&relay).await?;
    let original = stored_phone(&relay, doc, &contact)?;
    let editor = relay.token(Role::Editor, &["091"]);
    let mut reader = synced(&relay, "reader", &relay.token(Role::Reader, &[]), doc, &contact).await?;

    let mut e1 = synced(&relay, "editor-1", &editor, doc, &contact).await?;
    edit(&mut e1, doc, &contact, |c| c.phones[0].number = "call me maybe".into()).await?;
    e1.wait_until(|c| c.closed.is_some()).await?;
    assert!(e1.errors.iter().any(|e| e.contains("not a phone number")), "{:?}", e1.errors);
    assert_eq!(stored_phone(&relay, doc, &contact)?, original);
    assert!(e1.session.is_held(&doc), "the refused document is held");

    // Reconnecting does not offer the refused change again: the document stays held.
    e1.connect(&relay.url(&editor)).await?;
    e1.settle(std::time::Duration::from_millis(300)).await?;
    assert!(e1.closed.is_none(), "{:?}", e1.closed);
    // Resetting returns to what the relay stored, keeps the old copy for re-entry, and syncs.
    let before = e1.reset(doc).await?;
    assert_eq!(read_contact_point(&before, &contact).expect("contact").phones[0].number, "call me maybe");
    e1.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    let now = read_contact_point(e1.session.doc(&doc).expect("doc"), &contact).expect("contact");
    assert_eq!(now.phones[0].number, original);
    assert_eq!(Automerge::load(&e1.store[&doc])?.get_heads(), e1.session.doc(&doc).expect("doc").get_heads());
    e1.disconnect().await;

    let mut e2 = synced(&relay, "editor-2", &editor, doc, &contact).await?;
    edit(&mut e2, doc, &contact, |c| c.description.set("fi", "Oppilas 010190-123M")).await?;
    e2.wait_until(|c| c.closed.is_some()).await?;
    assert!(e2.errors.iter().any(|e| e.contains("personal identity code")), "{:?}", e2.errors);

    let mut e3 = synced(&relay, "editor-3", &editor, doc, &contact).await?;
    edit(&mut e3, doc, &contact, |c| c.phones[0].number = "+358 0 000 0999".into()).await?;
    e3.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    assert_eq!(stored_phone(&relay, doc, &contact)?, "+358 0 000 0999");
    reader
        .wait_until(|c| {
            c.session
                .doc(&doc)
                .and_then(|d| read_contact_point(d, &contact))
                .is_some_and(|cp| cp.phones[0].number == "+358 0 000 0999")
        })
        .await?;
    let seen = read_contact_point(reader.session.doc(&doc).expect("doc"), &contact).expect("contact");
    assert!(!seen.description.iter().any(|(_, t)| t.contains("010190")));
    let audit: i64 = relay
        .db
        .with(|c| Ok(c.query_row("SELECT COUNT(*) FROM audit WHERE action = 'sync.rejected'", [], |r| r.get(0))?))?;
    assert_eq!(audit, 2, "both refusals are recorded");
    Ok(())
}

/// Documents registered from the command line are directories from the start, so writes to
/// them are validated too.
#[test]
fn registered_documents_are_valid_directories() {
    for scope in [Scope::Index, Scope::National, Scope::Area("municipality:853".into())] {
        let doc = admin::empty_document(&scope).expect("document");
        assert!(contactpoint_directory::store::document_kind(&doc).is_some(), "{scope:?}");
        assert_eq!(validate_document(&doc), vec![], "{scope:?}");
    }
}
