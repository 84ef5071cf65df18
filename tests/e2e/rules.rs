//! Every validation rule, enforced by the relay: for each rule a writer breaks it in a real
//! document over a real connection, and the relay refuses the write with that rule's message,
//! stores nothing, and passes nothing to a reader connected the whole time.

use contactpoint_directory::model::{ContactPoint, GuidanceCard, Node, Schedule, ScheduleKind};
use contactpoint_directory::store::{read_contact_point, read_directory, write_card, write_contact_point};
use contactpoint_directory::validate::msg;
use contactpoint_protocol::DocumentId;
use contactpoint_protocol::automerge::{Automerge, ChangeHash};
use contactpoint_server::auth::Role;
use contactpoint_server::content;
use contactpoint_server::storage::{self, Scope};
use contactpoint_tests::{NativeClient, TestRelay, stored_doc};

fn doc_of(relay: &TestRelay, scope: Scope) -> anyhow::Result<DocumentId> {
    Ok(relay
        .db
        .with(|c| storage::list_docs(c))?
        .into_iter()
        .find(|(_, s, _)| *s == scope)
        .map(|(id, _, _)| id)
        .ok_or_else(|| anyhow::anyhow!("no document for {scope:?}"))?
        .parse()?)
}

fn stored_heads(relay: &TestRelay, doc: DocumentId) -> anyhow::Result<Vec<ChangeHash>> {
    Ok(stored_doc(&relay.db, doc)?.get_heads())
}

/// Connects a fresh client with `token`, waits until it holds the relay's copy of `doc`, makes
/// one change with `f`, and returns what the relay said when it closed the connection.
async fn refusal(
    relay: &TestRelay,
    name: &str,
    token: &str,
    doc: DocumentId,
    f: impl FnOnce(&mut Automerge),
) -> anyhow::Result<String> {
    let heads = stored_heads(relay, doc)?;
    let mut c = NativeClient::new(name);
    c.open(doc);
    c.connect(&relay.url(token)).await?;
    c.wait_until(|c| c.session.doc(&doc).is_some_and(|d| d.get_heads() == heads)).await?;
    c.change(doc, f).await?;
    anyhow::ensure!(!c.session.is_acknowledged(&doc) || c.closed.is_some(), "{name}: the change changed nothing");
    c.wait_until(|c| c.closed.is_some() || c.session.is_acknowledged(&doc))
        .await
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    anyhow::ensure!(c.closed.is_some(), "{name}: the relay accepted the write");
    anyhow::ensure!(c.session.is_held(&doc), "{name}: the refused document is not held");
    Ok(c.errors.join(" | "))
}

fn contact_change(id: &str, f: impl FnOnce(&mut ContactPoint)) -> impl FnOnce(&mut Automerge) {
    move |d: &mut Automerge| {
        let mut c = read_contact_point(&*d, id).expect("the contact is in the document");
        f(&mut c);
        let mut tx = d.transaction();
        write_contact_point(&mut tx, &c).expect("write");
        tx.commit();
    }
}

fn card_change(id: &str, f: impl FnOnce(&mut GuidanceCard)) -> impl FnOnce(&mut Automerge) {
    move |d: &mut Automerge| {
        let mut c = read_directory(&*d).expect("directory").cards.remove(id).expect("the card is in the document");
        f(&mut c);
        let mut tx = d.transaction();
        write_card(&mut tx, &c).expect("write");
        tx.commit();
    }
}

type ContactRule = (&'static str, &'static str, fn(&mut ContactPoint));
type CardRule = (&'static str, &'static str, fn(&mut GuidanceCard));

/// Rules about contact points, broken in Helsinki's document by an editor of Helsinki.
const CONTACT_RULES: &[ContactRule] = &[
    ("phone", msg::PHONE_FORMAT, |c| c.phones[0].number = "call me".into()),
    ("placeholder phone outside sample data", msg::PHONE_PLACEHOLDER, |c| {
        c.example = false;
        c.phones[0].number = "+358 0 000 0001".into();
    }),
    ("e-mail", msg::EMAIL, |c| c.email = Some("not an address".into())),
    ("web address", msg::URL, |c| c.url = Some("www.example.fi".into())),
    ("no way to reach", msg::REACH_REQUIRED, |c| {
        c.phones.clear();
        c.email = None;
        c.url = None;
        c.chat_url = None;
    }),
    ("no roles", msg::ROLE_REQUIRED, |c| c.roles.clear()),
    ("no name", msg::TEXT_REQUIRED, |c| c.name = Default::default()),
    ("language code", msg::LANGUAGE, |c| c.languages = vec!["finnish".into()]),
    ("date", msg::DATE, |c| c.verified_at = Some("yesterday".into())),
    ("time", msg::TIME, |c| {
        c.schedules = vec![Schedule {
            kind: ScheduleKind::Regular,
            byday: Vec::new(),
            opens_at: Some("8am".into()),
            closes_at: Some("16:00".into()),
            description: Default::default(),
        }]
    }),
    ("time pair", msg::TIME_PAIR, |c| {
        c.schedules = vec![Schedule {
            kind: ScheduleKind::Regular,
            byday: Vec::new(),
            opens_at: Some("08:00".into()),
            closes_at: None,
            description: Default::default(),
        }]
    }),
    ("no areas", msg::AREAS_REQUIRED, |c| c.areas.clear()),
    ("named person without review", msg::PERSON_REVIEW, |c| {
        c.contact_person = Some("Matti Meikäläinen".into());
        c.review_by = None;
    }),
    ("identity code", msg::PERSONAL_ID, |c| c.description.set("fi", "Oppilas 010190-123M")),
    ("short Finnish number", msg::PHONE_FORMAT, |c| c.phones[0].number = "+358 40 123".into()),
    ("long name", msg::NAME_TOO_LONG, |c| c.name.set("fi", &"Nimi ".repeat(41))),
    ("long description", msg::TEXT_TOO_LONG, |c| c.description.set("en", &"x".repeat(140 * 1024))),
    ("members only in an open document", msg::MEMBERS_ONLY_IN_OPEN, |c| {
        c.visibility = Some(contactpoint_directory::model::Visibility::AreaMembers)
    }),
];

/// Rules about guidance cards, broken in the national document by an administrator.
const CARD_RULES: &[CardRule] = &[
    ("slug", msg::SLUG, |c| c.slug = "Not A Slug!".into()),
    ("no title", msg::TEXT_REQUIRED, |c| c.title = Default::default()),
    ("notify without legal basis", msg::LEGAL_BASIS, |c| {
        for n in c.nodes.values_mut() {
            if let Node::Steps { steps, .. } = n {
                for s in steps.iter_mut().filter(|s| s.kind.as_str() == "notify") {
                    s.legal_basis = None;
                }
            }
        }
    }),
    ("step without roles", msg::STEP_ROLES, |c| {
        for n in c.nodes.values_mut() {
            if let Node::Steps { steps, .. } = n {
                for s in steps.iter_mut() {
                    s.roles.clear();
                }
            }
        }
    }),
    ("empty steps", msg::NO_STEPS, |c| {
        for n in c.nodes.values_mut() {
            if let Node::Steps { steps, .. } = n {
                steps.clear();
            }
        }
    }),
    ("duplicate step ids", msg::STEP_ID, |c| {
        for n in c.nodes.values_mut() {
            if let Node::Steps { steps, .. } = n
                && steps.len() > 1
            {
                let first = steps[0].id.clone();
                steps[1].id = first;
            }
        }
    }),
    ("loop", msg::CYCLE, |c| {
        let start = c.start.clone();
        for n in c.nodes.values_mut() {
            if let Node::Question { answers, .. } = n {
                for a in answers.iter_mut() {
                    a.next = start.clone();
                }
            }
        }
    }),
    ("override in the national document", msg::OVERRIDE_NATIONAL, |c| c.overrides = Some("another-card".into())),
];

/// Each rule in turn: refused with its message, nothing stored, the reader sees nothing. Then a
/// valid write still flows to the reader, so the reader was listening all along.
#[tokio::test]
async fn every_rule_is_enforced_by_the_relay() -> anyhow::Result<()> {
    let relay = TestRelay::start().await?;
    relay.db.with(|c| content::seed_if_empty(c, "2026-11-24"))?;
    let helsinki = doc_of(&relay, Scope::Area("municipality:091".into()))?;
    let national = doc_of(&relay, Scope::National)?;
    let stored = read_directory(&stored_doc(&relay.db, helsinki)?)?;
    // A contact with a phone number, serving an area (so every rule above can be broken on it).
    let contact = stored
        .contact_points
        .values()
        .find(|c| !c.phones.is_empty() && !c.areas.is_empty() && !c.roles.is_empty())
        .expect("a Helsinki contact with a phone")
        .id
        .clone();
    let card = read_directory(&stored_doc(&relay.db, national)?)?
        .cards
        .values()
        .find(|c| c.steps().any(|(_, s)| s.kind.as_str() == "notify"))
        .expect("a national card with a notify step")
        .id
        .clone();

    let mut reader = NativeClient::new("reader");
    reader.open(helsinki);
    reader.open(national);
    reader.connect(&relay.url(&relay.token(Role::Reader, &[]))).await?;
    let (h0, n0) = (stored_heads(&relay, helsinki)?, stored_heads(&relay, national)?);
    reader
        .wait_until(|c| {
            c.session.doc(&helsinki).is_some_and(|d| d.get_heads() == h0)
                && c.session.doc(&national).is_some_and(|d| d.get_heads() == n0)
        })
        .await?;

    let editor = relay.token(Role::Editor, &["091"]);
    let admin = relay.token(Role::Admin, &[]);
    let mut failures = Vec::new();
    for (i, (what, message, f)) in CONTACT_RULES.iter().enumerate() {
        let said =
            refusal(&relay, &format!("contact-rule-{i}"), &editor, helsinki, contact_change(&contact, *f)).await?;
        if !said.contains(message) {
            failures.push(format!("{what}: expected {message:?}, the relay said {said:?}"));
        }
    }
    for (i, (what, message, f)) in CARD_RULES.iter().enumerate() {
        let said = refusal(&relay, &format!("card-rule-{i}"), &admin, national, card_change(&card, *f)).await?;
        if !said.contains(message) {
            failures.push(format!("{what}: expected {message:?}, the relay said {said:?}"));
        }
    }
    assert!(failures.is_empty(), "rules not enforced as expected:\n{}", failures.join("\n"));
    assert_eq!(stored_heads(&relay, helsinki)?, h0, "a refused write was stored");
    assert_eq!(stored_heads(&relay, national)?, n0, "a refused write was stored");
    let refusals: i64 = relay
        .db
        .with(|c| c.query_row("SELECT COUNT(*) FROM audit WHERE action = 'sync.rejected'", &[], |r| r.get(0)))?;
    assert_eq!(refusals as usize, CONTACT_RULES.len() + CARD_RULES.len(), "each refusal is audited");

    // The reader received none of it, and still receives a valid write.
    let mut last = NativeClient::new("valid-writer");
    last.open(helsinki);
    last.connect(&relay.url(&editor)).await?;
    last.wait_until(|c| c.session.doc(&helsinki).is_some_and(|d| d.get_heads() == h0)).await?;
    last.change(helsinki, contact_change(&contact, |c| c.phones[0].number = "+358 9 000 0999".into())).await?;
    last.wait_until(|c| c.session.is_acknowledged(&helsinki)).await?;
    reader
        .wait_until(|c| {
            c.session
                .doc(&helsinki)
                .and_then(|d| read_contact_point(d, &contact))
                .is_some_and(|c| c.phones[0].number == "+358 9 000 0999")
        })
        .await?;
    // Every change the reader holds is one the relay stored.
    let reader_doc = reader.session.doc(&helsinki).expect("doc");
    assert_eq!(reader_doc.get_heads(), stored_heads(&relay, helsinki)?);
    assert_eq!(reader.session.doc(&national).expect("doc").get_heads(), n0);
    Ok(())
}
