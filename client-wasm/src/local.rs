//! Local guidance: an area's editors adapt a national guidance card for their area (a local
//! override kept in the area's document). They change the wording of steps, add local steps and
//! remove steps the national card does not lock; the national card's locked steps (the 112 call,
//! the statutory notification) always stay. Each change is validated against the national card
//! the way the relay validates it, and written as one commit.

use contactpoint_directory::model::{CardStatus, Directory, GuidanceCard, Node, Step, StepKind, role_label};
use contactpoint_directory::store::write_card;
use contactpoint_directory::{FieldPath, ids, validate::validate_overrides, validate_directory};
use contactpoint_protocol::automerge::Automerge;
use serde::{Deserialize, Serialize};

use crate::commit::{Author, apply_write, commit_as};
use crate::issues::{EditError, FieldIssue, issues_under};

/// One change to an area's local version of a national card.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub enum LocalOp {
    /// Creates the local version as a copy of the national card (or brings a withdrawn one back).
    Adapt,
    /// Rewrites a step's text in one language.
    SetText {
        /// The steps node.
        node: String,
        /// The step.
        step: String,
        /// Language code.
        lang: String,
        /// The new text.
        text: String,
    },
    /// Adds a local step to a steps node, after `after` (or at the end).
    AddStep {
        /// The steps node.
        node: String,
        /// The step to insert after; `None` appends.
        #[serde(default)]
        #[cfg_attr(test, ts(optional))]
        after: Option<String>,
        /// The step's kind (`info`, `consult`, `refer`, `support`, `follow_up`, …).
        kind: String,
        /// Language code of `text`.
        lang: String,
        /// What to do.
        text: String,
        /// Contact roles resolved at the user's municipality.
        #[serde(default)]
        roles: Vec<String>,
    },
    /// Removes a step the national card does not lock.
    RemoveStep {
        /// The steps node.
        node: String,
        /// The step.
        step: String,
    },
    /// Withdraws the local version: readers see the national card again. It stays in the
    /// document, so adapting again brings it back with its wording.
    Withdraw,
}

/// The id of an area's local version of a national card: the same on every device, so two
/// editors adapting the same card at once write one card, not two.
pub fn local_card_id(area_key: &str, national_card_id: &str) -> String {
    ids::stable_id("local-guidance", &format!("{area_key}/{national_card_id}"))
}

fn new_step_id() -> Result<String, EditError> {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b)
        .map_err(|_| issue("card", "no_random_id", "this device could not create an id for the new step; try again"))?;
    Ok(format!("local-{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>()))
}

fn issue(field: &str, code: &str, message: &str) -> EditError {
    EditError::Invalid(vec![FieldIssue::new(field, code, message)])
}

fn steps_mut<'a>(card: &'a mut GuidanceCard, node: &str) -> Result<&'a mut Vec<Step>, EditError> {
    match card.nodes.get_mut(node) {
        Some(Node::Steps { steps, .. }) => Ok(steps),
        _ => Err(EditError::NotFound),
    }
}

/// Applies `op` to `area`'s local version of `national_card` (created by `Adapt`), checks the
/// area document with the directory's rules and against the national document, and on success
/// writes the card through `apply` as one commit.
pub fn change_local<R>(
    mut area: Directory,
    national: &Directory,
    national_card_id: &str,
    op: &LocalOp,
    author: &Author,
    apply: impl FnOnce(&dyn Fn(&mut Automerge)) -> R,
) -> Result<R, EditError> {
    let base = national.cards.get(national_card_id).ok_or(EditError::NotFound)?;
    let area_key = contactpoint_directory::hsds::document_key(&area);
    if area.area.is_none() {
        return Err(issue("card", "local_in_national", "local versions of guidance belong in an area's document"));
    }
    let id = local_card_id(&area_key, national_card_id);
    let existing = area.cards.get(&id).cloned();
    let mut card = match (op, existing) {
        (LocalOp::Adapt, Some(mut c)) => {
            c.status = CardStatus::Published;
            c
        }
        (LocalOp::Adapt, None) => GuidanceCard {
            id: id.clone(),
            status: CardStatus::Published,
            overrides: Some(national_card_id.to_owned()),
            ..base.clone()
        },
        (_, Some(c)) => c,
        (_, None) => return Err(EditError::NotFound),
    };
    match op {
        LocalOp::Adapt => {}
        LocalOp::Withdraw => card.status = CardStatus::Retired,
        LocalOp::SetText { node, step, lang, text } => {
            let s = steps_mut(&mut card, node)?.iter_mut().find(|s| s.id == *step).ok_or(EditError::NotFound)?;
            s.text.set(lang, text.trim());
        }
        LocalOp::AddStep { node, after, kind, lang, text, roles } => {
            let kind = StepKind::parse(kind);
            if !kind.is_known() {
                return Err(issue("kind", "step_kind_required", "choose what the step asks the professional to do"));
            }
            if text.trim().is_empty() {
                return Err(issue("text", "step_text_required", "write what to do in this step"));
            }
            let mut t = contactpoint_directory::LocalizedText::new();
            t.set(lang, text.trim());
            let new =
                Step { id: new_step_id()?, kind, text: t, roles: roles.clone(), legal_basis: None, locked: false };
            let steps = steps_mut(&mut card, node)?;
            let at = match after {
                Some(a) => steps.iter().position(|s| s.id == *a).map(|i| i + 1).ok_or(EditError::NotFound)?,
                None => steps.len(),
            };
            steps.insert(at, new);
        }
        LocalOp::RemoveStep { node, step } => {
            let locked = base.steps().any(|(_, s)| s.id == *step && s.locked);
            if locked {
                return Err(issue(
                    step,
                    "step_required_nationally",
                    "this step is required by the national guidance and cannot be removed",
                ));
            }
            let steps = steps_mut(&mut card, node)?;
            let before = steps.len();
            steps.retain(|s| s.id != *step);
            if steps.len() == before {
                return Err(EditError::NotFound);
            }
        }
    }
    area.cards.insert(id.clone(), card.clone());
    let mut found = validate_directory(&area);
    found.extend(validate_overrides(&area, national));
    // The card's form has no fields of its own: an issue is shown with its path in the card.
    let issues = issues_under(found, &FieldPath::of("cards").key(id.as_str()), ToString::to_string);
    if !issues.is_empty() {
        return Err(EditError::Invalid(issues));
    }
    apply_write(apply, |d| commit_as(d, author, |tx| write_card(tx, &card)))
}

/// One step as the local guidance editor shows it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "LocalStep"))]
pub struct StepView {
    id: String,
    kind: String,
    text: String,
    /// The language `text` is in (the requested one when present).
    lang: String,
    locked: bool,
    /// Added locally: not in the national card.
    local: bool,
    /// The national wording, where this step comes from the national card and reads differently.
    national_text: Option<String>,
    roles: Vec<String>,
}

/// One steps node.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(rename = "LocalNode"))]
pub struct NodeView {
    id: String,
    heading: String,
    urgency: String,
    steps: Vec<StepView>,
}

/// The local guidance editor's view of one national card in one area.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LocalView {
    national_id: String,
    title: String,
    area: String,
    /// Whether the area has a local version readers see.
    active: bool,
    /// Whether a withdrawn local version exists (adapting brings it back).
    withdrawn: bool,
    nodes: Vec<NodeView>,
}

/// The editor's view: the local version's steps nodes when there is one, else the national card's.
pub fn local_view(area: &Directory, national: &Directory, slug: &str, lang: &str) -> Option<LocalView> {
    let base = national.cards.values().find(|c| c.slug == slug)?;
    let area_key = contactpoint_directory::hsds::document_key(area);
    let local = area.cards.get(&local_card_id(&area_key, &base.id));
    let active = local.is_some_and(|c| c.status == CardStatus::Published);
    let shown = local.filter(|_| active).unwrap_or(base);
    let text_of = |t: &contactpoint_directory::LocalizedText| {
        t.pick(lang).map(|p| (p.text.to_owned(), p.lang.to_owned())).unwrap_or_default()
    };
    let national_steps: Vec<&Step> = base.steps().map(|(_, s)| s).collect();
    let nodes = shown
        .nodes
        .iter()
        .filter_map(|(id, n)| match n {
            Node::Steps { urgency, heading, steps } => Some(NodeView {
                id: id.clone(),
                heading: text_of(heading).0,
                urgency: urgency.as_str().to_owned(),
                steps: steps
                    .iter()
                    .map(|s| {
                        let (text, text_lang) = text_of(&s.text);
                        let national = national_steps.iter().find(|n| n.id == s.id);
                        StepView {
                            id: s.id.clone(),
                            kind: s.kind.as_str().to_owned(),
                            national_text: national.map(|n| text_of(&n.text).0).filter(|t| *t != text),
                            text,
                            lang: text_lang,
                            locked: national.is_some_and(|n| n.locked),
                            local: national.is_none(),
                            roles: s.roles.iter().map(|r| role_label(r, lang).unwrap_or(r).to_owned()).collect(),
                        }
                    })
                    .collect(),
            }),
            Node::Question { .. } => None,
        })
        .collect();
    Some(LocalView {
        national_id: base.id.clone(),
        title: text_of(&base.title).0,
        area: area_key,
        active,
        withdrawn: local.is_some() && !active,
        nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use contactpoint_directory::seed;
    use contactpoint_directory::store::{read_directory, write_directory};

    fn docs() -> (Directory, Automerge, Directory) {
        let dirs = seed::directories("2026-11-24").unwrap();
        let national = dirs.iter().find(|d| d.is_national()).unwrap().clone();
        let area =
            dirs.into_iter().find(|d| d.area.as_ref().is_some_and(|a| a.to_string() == "municipality:091")).unwrap();
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        write_directory(&mut tx, &area).unwrap();
        tx.commit();
        (national, doc, area)
    }

    /// A national card with a locked step and an unlocked one in the same steps node.
    fn card_with_locked(national: &Directory) -> (String, String, String, String) {
        for c in national.cards.values() {
            for (node, n) in &c.nodes {
                if let Node::Steps { steps, .. } = n
                    && let (Some(l), Some(u)) = (steps.iter().find(|s| s.locked), steps.iter().find(|s| !s.locked))
                {
                    return (c.id.clone(), node.clone(), l.id.clone(), u.id.clone());
                }
            }
        }
        panic!("the sample data has no card with a locked and an unlocked step in one node");
    }

    fn run(doc: &mut Automerge, national: &Directory, card: &str, op: LocalOp) -> Result<(), EditError> {
        let area = read_directory(&*doc).unwrap();
        change_local(area, national, card, &op, &Author::default(), |f| f(doc))
    }

    #[test]
    fn an_area_adapts_a_card_and_keeps_its_locked_steps() {
        let (national, mut doc, _) = docs();
        let (card, node, locked, unlocked) = card_with_locked(&national);
        let slug = national.cards[&card].slug.clone();
        assert!(!local_view(&read_directory(&doc).unwrap(), &national, &slug, "fi").unwrap().active);

        run(&mut doc, &national, &card, LocalOp::Adapt).unwrap();
        let set = LocalOp::SetText {
            node: node.clone(),
            step: unlocked.clone(),
            lang: "fi".into(),
            text: "Soita koulukuraattorille.".into(),
        };
        run(&mut doc, &national, &card, set).unwrap();
        let add = LocalOp::AddStep {
            node: node.clone(),
            after: None,
            kind: "info".into(),
            lang: "fi".into(),
            text: "Helsingissä ankkuritiimi päivystää arkisin.".into(),
            roles: vec![],
        };
        run(&mut doc, &national, &card, add).unwrap();

        let v = local_view(&read_directory(&doc).unwrap(), &national, &slug, "fi").unwrap();
        assert!(v.active);
        let n = v.nodes.iter().find(|n| n.id == node).unwrap();
        let s = n.steps.iter().find(|s| s.id == unlocked).unwrap();
        assert_eq!(s.text, "Soita koulukuraattorille.");
        assert!(s.national_text.is_some(), "the national wording is shown next to the local one");
        assert!(n.steps.last().unwrap().local);

        // A locked step cannot be removed; an unlocked one can.
        let err = run(&mut doc, &national, &card, LocalOp::RemoveStep { node: node.clone(), step: locked.clone() })
            .unwrap_err();
        assert!(
            matches!(err, EditError::Invalid(ref i) if i[0].message.contains("required by the national guidance")),
            "{err:?}"
        );
        run(&mut doc, &national, &card, LocalOp::RemoveStep { node: node.clone(), step: unlocked.clone() }).unwrap();
        let area = read_directory(&doc).unwrap();
        assert!(validate_overrides(&area, &national).is_empty());
        assert!(validate_directory(&area).is_empty());

        // Withdrawing shows the national card again; adapting again brings the local wording back.
        run(&mut doc, &national, &card, LocalOp::Withdraw).unwrap();
        let v = local_view(&read_directory(&doc).unwrap(), &national, &slug, "fi").unwrap();
        assert!(!v.active && v.withdrawn);
        run(&mut doc, &national, &card, LocalOp::Adapt).unwrap();
        let v = local_view(&read_directory(&doc).unwrap(), &national, &slug, "fi").unwrap();
        assert!(v.active && v.nodes.iter().find(|n| n.id == node).unwrap().steps.iter().all(|s| s.id != unlocked));
    }

    #[test]
    fn invalid_local_steps_change_nothing() {
        let (national, mut doc, _) = docs();
        let (card, node, _, _) = card_with_locked(&national);
        let heads = doc.get_heads();
        let before_adapt = run(
            &mut doc,
            &national,
            &card,
            LocalOp::SetText { node: node.clone(), step: "x".into(), lang: "fi".into(), text: "x".into() },
        );
        assert!(
            matches!(before_adapt.unwrap_err(), EditError::NotFound),
            "nothing to change before the card is adapted"
        );
        run(&mut doc, &national, &card, LocalOp::Adapt).unwrap();
        let heads_after_adapt = doc.get_heads();
        assert_ne!(heads, heads_after_adapt);
        let bad = LocalOp::AddStep {
            node: node.clone(),
            after: None,
            kind: "notify".into(),
            lang: "fi".into(),
            text: "Tee lastensuojeluilmoitus.".into(),
            roles: vec!["child_welfare".into()],
        };
        let err = run(&mut doc, &national, &card, bad).unwrap_err();
        assert!(matches!(err, EditError::Invalid(_)), "a notify step needs its legal basis: {err:?}");
        let pid = LocalOp::SetText {
            node,
            step: card_with_locked(&national).3,
            lang: "fi".into(),
            text: "Oppilas 010190-123M".into(),
        };
        assert!(matches!(run(&mut doc, &national, &card, pid), Err(EditError::Invalid(_))));
        assert_eq!(doc.get_heads(), heads_after_adapt);
        let mut national_area = national.clone();
        national_area.cards.clear();
        let err =
            change_local(national_area, &national, &card, &LocalOp::Adapt, &Author::default(), |_| ()).unwrap_err();
        assert!(matches!(err, EditError::Invalid(_)), "{err:?}");
    }
}
