//! Writes that break the directory's rules are refused by the relay: nothing is stored, no other
//! peer sees them, and the writer is told what is wrong. Local overrides of national guidance
//! cards must keep the national card's locked steps. Only problems that a write adds are refused,
//! so a document with older problems stays editable.

use std::time::Duration;

use contactpoint_directory::model::{CardStatus, GuidanceCard, Node, Step, StepKind};
use contactpoint_directory::store::{read_contact_point, read_directory, write_card, write_contact_point};
use contactpoint_directory::validate::{check_phone, validate_overrides};
use contactpoint_directory::{Directory, LocalizedText, validate_document};
use contactpoint_protocol::automerge::{Automerge, ChangeHash, ReadDoc};
use contactpoint_protocol::{DocumentId, Reason};
use contactpoint_server::admin;
use contactpoint_server::auth::Role;
use contactpoint_server::content;
use contactpoint_server::storage::{self, Append, AuditEntry, Scope};
use contactpoint_tests::{Engine, NativeClient, TestRelay, stored_doc};

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

on_both_engines!(#[tokio::test] async fn invalid_writes_are_refused_and_valid_ones_flow);
/// The story:
/// 1. A reader and an editor of Helsinki sync the Helsinki document.
/// 2. The editor writes a phone number that is not one: refused with the rule's message.
/// 3. A second editor session writes an identity code into a description: refused likewise.
/// 4. A third writes a valid number: accepted, stored, and the reader receives it.
/// 5. The reader never held either refused value, and storage never did.
/// 6. The first editor's document is held (reconnecting does not send it again) until reset,
///    which returns it to the relay's state and keeps the refused copy.
async fn invalid_writes_are_refused_and_valid_ones_flow(engine: Engine) -> anyhow::Result<()> {
    let relay = TestRelay::start_on(engine).await?;
    let (doc, contact) = helsinki(&relay).await?;
    let original = stored_phone(&relay, doc, &contact)?;
    let editor = relay.token(Role::Editor, &["091"]);
    let mut reader = synced(&relay, "reader", &relay.token(Role::Reader, &[]), doc, &contact).await?;

    let mut e1 = synced(&relay, "editor-1", &editor, doc, &contact).await?;
    edit(&mut e1, doc, &contact, |c| c.phones[0].number = "call me maybe".into()).await?;
    e1.wait_until(|c| c.closed.is_some()).await?;
    assert!(e1.errors.iter().any(|e| e.contains("not a phone number")), "{:?}", e1.errors);
    // The same refusal as data: its document, its reason and the rule with its place.
    let [(held, refusal)] = e1.refusals.as_slice() else { panic!("one refusal with fields: {:?}", e1.refusals) };
    assert_eq!((refusal.reason, refusal.document_id, *held), (Reason::Invalid, Some(doc), Some(doc)));
    let codes: Vec<_> = refusal.issues.iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
    assert_eq!(codes, [(format!("contact_points.{contact}.phones[0].number").as_str(), "phone_format")]);
    assert_eq!(refusal.problems, 1);
    assert_eq!(stored_phone(&relay, doc, &contact)?, original);
    assert!(e1.session.is_held(&doc), "the refused document is held");

    // Reconnecting does not offer the refused change again: the document stays held. The client
    // sends nothing about it, while another document syncs over the same connection.
    e1.sent_docs.clear();
    e1.connect(&relay.url(&editor)).await?;
    let national = national_id(&relay)?;
    e1.open_now(national).await?;
    e1.wait_until(|c| c.session.doc(&national).is_some_and(|d| !d.get_heads().is_empty())).await?;
    assert!(e1.sent_docs.contains(&national), "the other document was never asked for");
    assert!(!e1.sent_docs.contains(&doc), "the held document was offered again: {:?}", e1.sent_docs);
    assert!(e1.closed.is_none() && e1.session.is_held(&doc), "{:?}", e1.closed);
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
        .with(|c| c.query_row("SELECT COUNT(*) FROM audit WHERE action = 'sync.rejected'", &[], |r| r.get(0)))?;
    assert_eq!(audit, 2, "both refusals are recorded");
    Ok(())
}

on_both_engines!(#[tokio::test] async fn numbers_no_numbering_plan_has_are_refused);
/// The app checks only a phone number's shape; the relay checks it against the numbering plans
/// too. A number of the right shape with no Finnish area code 12 is refused with the same code
/// as a number of the wrong shape, which the app words in the user's language, and not stored.
async fn numbers_no_numbering_plan_has_are_refused(engine: Engine) -> anyhow::Result<()> {
    const NO_SUCH_NUMBER: &str = "+358 12 345 678";
    assert!(check_phone(NO_SUCH_NUMBER).is_ok(), "the app's own check lets it through");
    let relay = TestRelay::start_on(engine).await?;
    let (doc, contact) = helsinki(&relay).await?;
    let original = stored_phone(&relay, doc, &contact)?;
    let editor = relay.token(Role::Editor, &["091"]);
    let mut e1 = synced(&relay, "editor-1", &editor, doc, &contact).await?;
    edit(&mut e1, doc, &contact, |c| c.phones[0].number = NO_SUCH_NUMBER.into()).await?;
    e1.wait_until(|c| c.closed.is_some()).await?;
    let [(_, refusal)] = e1.refusals.as_slice() else { panic!("one refusal with fields: {:?}", e1.refusals) };
    assert_eq!(refusal.reason, Reason::Invalid);
    let codes: Vec<_> = refusal.issues.iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
    assert_eq!(codes, [(format!("contact_points.{contact}.phones[0].number").as_str(), "phone_format")]);
    assert_eq!(stored_phone(&relay, doc, &contact)?, original);

    // The next write, with a number the relay accepts, is stored.
    let mut e2 = synced(&relay, "editor-2", &editor, doc, &contact).await?;
    edit(&mut e2, doc, &contact, |c| c.phones[0].number = "+358 0 000 0996".into()).await?;
    e2.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    assert_eq!(stored_phone(&relay, doc, &contact)?, "+358 0 000 0996");
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

// ---------------------------------------------------------------------------------------------
// Local overrides of national guidance cards, and problems a document already had

fn national_id(relay: &TestRelay) -> anyhow::Result<DocumentId> {
    let id = relay
        .db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .find(|(_, s, _)| *s == Scope::National)
        .expect("a national document")
        .0;
    Ok(id.parse()?)
}

fn stored_dir(relay: &TestRelay, doc: DocumentId) -> anyhow::Result<Directory> {
    Ok(read_directory(&stored_doc(&relay.db, doc)?)?)
}

/// The steps of every steps node of a card that has more than one step.
fn droppable_steps(card: &GuidanceCard) -> impl Iterator<Item = &Step> {
    card.nodes.values().flat_map(|n| match n {
        Node::Steps { steps, .. } if steps.len() > 1 => steps.iter().collect(),
        _ => Vec::new(),
    })
}

/// A national card with a locked notify step (the statutory child-welfare notification) that a
/// local copy can leave out without breaking any rule other than the override rule.
fn card_with_locked_notify(national: &Directory) -> (GuidanceCard, String) {
    national
        .cards
        .values()
        .find_map(|c| {
            let step = droppable_steps(c).find(|s| s.locked && s.kind == StepKind::Notify)?;
            Some((c.clone(), step.id.clone()))
        })
        .expect("a seeded national card with a locked notification step")
}

/// A national card with an unlocked step that is not a call: a local copy may leave it out.
fn card_with_unlocked_step(national: &Directory) -> (GuidanceCard, String) {
    national
        .cards
        .values()
        .find_map(|c| {
            let step = droppable_steps(c).find(|s| !s.locked && s.kind != StepKind::Call)?;
            Some((c.clone(), step.id.clone()))
        })
        .expect("a seeded national card with an unlocked step")
}

/// A published local override of a national card: a copy under a new id.
fn local_copy(card: &GuidanceCard, id: &str) -> GuidanceCard {
    GuidanceCard { id: id.into(), overrides: Some(card.id.clone()), status: CardStatus::Published, ..card.clone() }
}

fn without_step(mut card: GuidanceCard, step: &str) -> GuidanceCard {
    for node in card.nodes.values_mut() {
        if let Node::Steps { steps, .. } = node {
            steps.retain(|s| s.id != step);
        }
    }
    card
}

fn step_mut<'a>(card: &'a mut GuidanceCard, step: &str) -> &'a mut Step {
    card.nodes
        .values_mut()
        .find_map(|n| match n {
            Node::Steps { steps, .. } => steps.iter_mut().find(|s| s.id == step),
            Node::Question { .. } => None,
        })
        .expect("the step")
}

async fn put_card(c: &mut NativeClient, doc: DocumentId, card: &GuidanceCard) -> anyhow::Result<()> {
    let card = card.clone();
    c.change(doc, move |d| {
        let mut tx = d.transaction();
        write_card(&mut tx, &card).expect("write");
        tx.commit();
    })
    .await
}

fn card_in(c: &NativeClient, doc: DocumentId, id: &str) -> Option<GuidanceCard> {
    read_directory(c.session.doc(&doc)?).ok()?.cards.remove(id)
}

fn heads(c: &NativeClient, doc: DocumentId) -> Vec<ChangeHash> {
    c.session.doc(&doc).expect("doc").get_heads()
}

on_both_engines!(#[tokio::test] async fn local_overrides_keep_the_national_locked_steps);
/// The story:
/// 1. A reader and an editor of Helsinki sync the Helsinki document.
/// 2. The editor publishes a local override of a national card that leaves out the card's locked
///    child-welfare notification: refused with a message naming the step; nothing is stored and
///    the reader never receives the change.
/// 3. A second editor session publishes the same override keeping every locked step, with one
///    unlocked step reworded and a local step added: accepted, stored, and the reader receives it.
async fn local_overrides_keep_the_national_locked_steps(engine: Engine) -> anyhow::Result<()> {
    let relay = TestRelay::start_on(engine).await?;
    let (doc, contact) = helsinki(&relay).await?;
    let national = stored_dir(&relay, national_id(&relay)?)?;
    let (card, locked) = card_with_locked_notify(&national);
    let editor = relay.token(Role::Editor, &["091"]);
    let mut reader = synced(&relay, "reader", &relay.token(Role::Reader, &[]), doc, &contact).await?;
    let local = "helsinki-local-guidance";

    let mut e1 = synced(&relay, "editor-1", &editor, doc, &contact).await?;
    put_card(&mut e1, doc, &without_step(local_copy(&card, local), &locked)).await?;
    let refused = heads(&e1, doc);
    e1.wait_until(|c| c.closed.is_some()).await?;
    let expected = format!(
        "cards.{local}: the locked step \"{locked}\" of the national card \"{}\" must be kept in a local override",
        card.slug
    );
    assert!(e1.errors.iter().any(|e| e.contains(&expected)), "{:?}", e1.errors);
    assert!(e1.session.is_held(&doc));
    let stored = stored_doc(&relay.db, doc)?;
    assert!(refused.iter().all(|h| stored.get_change_by_hash(h).is_none()), "the refused change is not stored");
    assert!(!read_directory(&stored)?.cards.contains_key(local));
    reader.settle(Duration::from_millis(300)).await?;
    assert!(card_in(&reader, doc, local).is_none());

    let mut e2 = synced(&relay, "editor-2", &editor, doc, &contact).await?;
    let mut kept = local_copy(&card, local);
    let reworded = card.steps().find(|(_, s)| !s.locked).expect("an unlocked step").1.id.clone();
    step_mut(&mut kept, &reworded).text = LocalizedText::fi_sv_en(
        "Soita kaupungin ankkuritiimille.",
        "Ring stadens ankarteam.",
        "Call the city's Anchor team.",
    );
    let notify = step_mut(&mut kept, &locked).clone();
    if let Some(Node::Steps { steps, .. }) = kept.nodes.values_mut().find(|n| match n {
        Node::Steps { steps, .. } => steps.iter().any(|s| s.id == locked),
        Node::Question { .. } => false,
    }) {
        steps.push(Step {
            id: "helsinki-extra".into(),
            text: LocalizedText::fi_sv_en("Kerro rehtorille.", "Berätta för rektorn.", "Tell the head teacher."),
            kind: StepKind::Consult,
            roles: Vec::new(),
            legal_basis: None,
            locked: false,
        });
    }
    put_card(&mut e2, doc, &kept).await?;
    e2.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    assert!(e2.closed.is_none(), "{:?} {:?}", e2.closed, e2.errors);
    assert_eq!(stored_dir(&relay, doc)?.cards.get(local), Some(&kept));
    reader.wait_until(|c| card_in(c, doc, local).is_some()).await?;
    let seen = card_in(&reader, doc, local).expect("the override");
    assert_eq!(seen, kept);
    assert!(seen.steps().any(|(_, s)| *s == notify), "the reader's copy keeps the notification");
    let held = reader.session.doc(&doc).expect("doc");
    assert!(refused.iter().all(|h| held.get_change_by_hash(h).is_none()), "the reader never held the refused change");
    Ok(())
}

on_both_engines!(#[tokio::test] async fn older_problems_do_not_block_unrelated_writes);
/// The story:
/// 1. An override that leaves out a locked step reaches the Helsinki document through storage, as
///    an import made before the rule existed would have.
/// 2. An editor's unrelated, valid edit of a contact point is accepted: the older problem does not
///    block it.
/// 3. A write that adds a problem of its own is still refused, naming only that problem.
async fn older_problems_do_not_block_unrelated_writes(engine: Engine) -> anyhow::Result<()> {
    let relay = TestRelay::start_on(engine).await?;
    let (doc, contact) = helsinki(&relay).await?;
    let national = stored_dir(&relay, national_id(&relay)?)?;
    let (card, locked) = card_with_locked_notify(&national);
    let mut stored = stored_doc(&relay.db, doc)?;
    let before = stored.get_heads();
    let mut tx = stored.transaction();
    write_card(&mut tx, &without_step(local_copy(&card, "imported-override"), &locked))?;
    tx.commit();
    let audit = AuditEntry {
        user_id: None,
        device_id: None,
        doc_id: Some(doc.to_string()),
        action: "import".into(),
        detail: "an override from before the rule".into(),
    };
    relay.db.with(|c| {
        storage::append_batch(c, &[Append { doc, bytes: stored.save_after(&before), audit, authors: None }], None)
    })?;
    assert_eq!(validate_overrides(&stored_dir(&relay, doc)?, &national).len(), 1, "the document has a problem");

    let editor = relay.token(Role::Editor, &["091"]);
    let mut e1 = synced(&relay, "editor-1", &editor, doc, &contact).await?;
    edit(&mut e1, doc, &contact, |c| c.phones[0].number = "+358 0 000 0998".into()).await?;
    e1.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    assert!(e1.closed.is_none(), "{:?} {:?}", e1.closed, e1.errors);
    assert_eq!(stored_phone(&relay, doc, &contact)?, "+358 0 000 0998");

    edit(&mut e1, doc, &contact, |c| c.phones[0].number = "call me maybe".into()).await?;
    e1.wait_until(|c| c.closed.is_some()).await?;
    assert_eq!(e1.errors.len(), 1, "{:?}", e1.errors);
    assert!(e1.errors[0].contains("phones[0].number: this is not a phone number"), "{:?}", e1.errors);
    assert!(!e1.errors[0].contains("more problems") && !e1.errors[0].contains("locked step"), "{:?}", e1.errors);
    assert_eq!(stored_phone(&relay, doc, &contact)?, "+358 0 000 0998");
    Ok(())
}

on_both_engines!(#[tokio::test] async fn a_newly_locked_national_step_does_not_lock_out_area_editors);
/// The story:
/// 1. A Helsinki editor publishes a local override that leaves out an unlocked step: accepted.
/// 2. An administrator locks that step in the national card, so the override lacks a locked step.
/// 3. The editor's unrelated edit of a contact point is still accepted.
/// 4. A second override that leaves out the newly locked step is refused: the relay checks against
///    the national document as it is now, not as it was when it first read it.
async fn a_newly_locked_national_step_does_not_lock_out_area_editors(engine: Engine) -> anyhow::Result<()> {
    let relay = TestRelay::start_on(engine).await?;
    let (doc, contact) = helsinki(&relay).await?;
    let national_doc = national_id(&relay)?;
    let national = stored_dir(&relay, national_doc)?;
    let (card, step) = card_with_unlocked_step(&national);
    let editor = relay.token(Role::Editor, &["091"]);
    let mut e1 = synced(&relay, "editor", &editor, doc, &contact).await?;
    put_card(&mut e1, doc, &without_step(local_copy(&card, "first-override"), &step)).await?;
    e1.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    assert!(stored_dir(&relay, doc)?.cards.contains_key("first-override"), "{:?}", e1.errors);

    let mut admin = NativeClient::new("admin");
    admin.open(national_doc);
    admin.connect(&relay.url(&relay.token(Role::Admin, &[]))).await?;
    admin.wait_until(|c| card_in(c, national_doc, &card.id).is_some()).await?;
    let mut locked = card.clone();
    step_mut(&mut locked, &step).locked = true;
    put_card(&mut admin, national_doc, &locked).await?;
    admin.wait_until(|c| c.session.is_acknowledged(&national_doc)).await?;
    assert_eq!(stored_dir(&relay, national_doc)?.cards.get(&card.id), Some(&locked));
    let now = stored_dir(&relay, national_doc)?;
    assert_eq!(validate_overrides(&stored_dir(&relay, doc)?, &now).len(), 1, "the override now lacks a locked step");

    edit(&mut e1, doc, &contact, |c| c.phones[0].number = "+358 0 000 0997".into()).await?;
    e1.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    assert!(e1.closed.is_none(), "{:?} {:?}", e1.closed, e1.errors);
    assert_eq!(stored_phone(&relay, doc, &contact)?, "+358 0 000 0997");

    put_card(&mut e1, doc, &without_step(local_copy(&card, "second-override"), &step)).await?;
    e1.wait_until(|c| c.closed.is_some()).await?;
    let expected = format!("cards.second-override: the locked step \"{step}\"");
    assert!(e1.errors.iter().any(|e| e.contains(&expected)), "{:?}", e1.errors);
    assert!(!stored_dir(&relay, doc)?.cards.contains_key("second-override"));
    Ok(())
}

on_both_engines!(#[tokio::test] async fn a_document_becoming_a_directory_is_checked_against_what_it_was);
/// A registered area document that holds no directory yet is not checked; the write that makes it
/// one is, against what it held before (read back from its history).
/// 1. An editor writes a note with an identity code into the empty Helsinki-area document:
///    accepted, as it is not a directory.
/// 2. A write that makes it a directory with a phone number that is not one is refused, naming
///    that number only: the note's code is an older problem.
/// 3. The same directory with valid numbers is accepted and stored, the older note kept.
async fn a_document_becoming_a_directory_is_checked_against_what_it_was(engine: Engine) -> anyhow::Result<()> {
    use contactpoint_directory::store::write_directory;
    use contactpoint_protocol::automerge::ROOT;
    use contactpoint_protocol::automerge::transaction::Transactable;

    let relay = TestRelay::start_on(engine).await?;
    let (helsinki_doc, _) = helsinki(&relay).await?;
    let mut dir = stored_dir(&relay, helsinki_doc)?;
    // Its own contact ids (another document's are refused) and no cards.
    dir.contact_points = std::mem::take(&mut dir.contact_points)
        .into_values()
        .map(|mut c| {
            c.id = format!("second-{}", c.id);
            (c.id.clone(), c)
        })
        .collect();
    dir.cards.clear();
    let contact = dir.contact_points.keys().next().expect("a contact").clone();
    let doc = DocumentId::from_random_bytes([91; 16]);
    relay.db.with(|c| storage::create_doc(c, &doc, &Scope::Area("municipality:091".into()), &[]))?;
    let editor = relay.token(Role::Editor, &["091"]);
    let has_note = |c: &NativeClient| c.session.doc(&doc).is_some_and(|d| d.get(ROOT, "note").ok().flatten().is_some());

    let mut e1 = NativeClient::new("editor-1");
    e1.open(doc);
    e1.connect(&relay.url(&editor)).await?;
    e1.change(doc, |d| {
        let mut tx = d.transaction();
        tx.put(ROOT, "note", "Oppilas 010190-123M").expect("put");
        tx.commit();
    })
    .await?;
    e1.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    assert!(e1.closed.is_none(), "{:?} {:?}", e1.closed, e1.errors);

    let mut broken = dir.clone();
    broken.contact_points.get_mut(&contact).expect("contact").phones[0].number = "call me maybe".into();
    e1.change(doc, |d| {
        let mut tx = d.transaction();
        write_directory(&mut tx, &broken).expect("write");
        tx.commit();
    })
    .await?;
    e1.wait_until(|c| c.closed.is_some()).await?;
    assert_eq!(e1.errors.len(), 1, "{:?}", e1.errors);
    assert!(e1.errors[0].contains("phones[0].number: this is not a phone number"), "{:?}", e1.errors);
    assert!(!e1.errors[0].contains("more problems"), "the older note blocked the write: {:?}", e1.errors);
    assert!(stored_doc(&relay.db, doc)?.get(ROOT, "kind")?.is_none(), "the refused directory was stored");

    let mut e2 = NativeClient::new("editor-2");
    e2.open(doc);
    e2.connect(&relay.url(&editor)).await?;
    e2.wait_until(has_note).await?;
    e2.change(doc, |d| {
        let mut tx = d.transaction();
        write_directory(&mut tx, &dir).expect("write");
        tx.commit();
    })
    .await?;
    e2.wait_until(|c| c.session.is_acknowledged(&doc)).await?;
    assert!(e2.closed.is_none(), "{:?} {:?}", e2.closed, e2.errors);
    let stored = stored_dir(&relay, doc)?;
    assert_eq!(stored.contact_points.keys().collect::<Vec<_>>(), dir.contact_points.keys().collect::<Vec<_>>());
    assert!(stored_doc(&relay.db, doc)?.get(ROOT, "note")?.is_some(), "the older note is kept");
    Ok(())
}
