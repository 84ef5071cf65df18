//! The messages of the rules and of the relay as codes with parameters, for the app to word in
//! the person's language.
//!
//! Validation issues carry their code already. A relay's refusal arrives as the protocol's
//! `error`: its text (`document <id>: change refused: <path>: <message>`), which other
//! automerge-repo clients show as it is, and the same as fields (a reason, the document, each
//! broken rule's code and parameters), which [`explain`] turns into what the app shows. Only a
//! relay from before those fields has its text read back into a code ([`explain_refusal`]).

use std::collections::BTreeMap;

use contactpoint_directory::validate::{MESSAGES, code, recognise};
use contactpoint_protocol::{Reason, Refusal};
use serde::Serialize;

/// A refusal from the relay as the app shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Explained {
    /// The rule's or the relay's code, by which the app words the message (`null` when there is
    /// none).
    pub code: Option<String>,
    /// The values the message names, by name.
    pub params: BTreeMap<String, String>,
    /// The message without the document id and the internal path, in English.
    pub message: String,
    /// How many more problems the refusal counted beyond the first.
    pub more: u32,
}

/// What the app shows for a refusal: from its fields when the relay sent them, else from its text.
pub fn explain(text: &str, refusal: Option<&Refusal>) -> Explained {
    let Some(r) = refusal else { return explain_refusal(text) };
    // The relay's words without the document they name, for the English page and for codes the
    // app has no words for.
    let prefix = r.document_id.map(|id| format!("document {id}: "));
    let bare = prefix.as_deref().and_then(|p| text.strip_prefix(p)).unwrap_or(text).to_owned();
    let plain =
        |code: &str| Explained { code: Some(code.to_owned()), params: BTreeMap::new(), message: bare.clone(), more: 0 };
    match r.reason {
        Reason::Invalid => match r.issues.first() {
            Some(first) => Explained {
                code: Some(first.code.clone()),
                params: first.params.clone(),
                message: english(&first.code, &first.params).unwrap_or_else(|| bare.clone()),
                more: u32::try_from(r.problems.saturating_sub(1)).unwrap_or(u32::MAX),
            },
            None => plain(Reason::Invalid.as_str()),
        },
        Reason::ReadOnly => Explained {
            params: r.document_id.map(|id| ("doc".to_owned(), id.to_string())).into_iter().collect(),
            ..plain(code::READ_ONLY)
        },
        Reason::CreationLimit => plain(code::TOO_MANY_DOCUMENTS),
        Reason::EngineFailure => plain(code::RELAY_FAILED),
        Reason::Other => Explained { code: None, ..plain("") },
        other => plain(other.as_str()),
    }
}

/// A rule's English message with its parameters filled in.
fn english(code: &str, params: &BTreeMap<String, String>) -> Option<String> {
    let (_, template) = MESSAGES.iter().find(|(c, _)| *c == code)?;
    Some(params.iter().fold((*template).to_owned(), |m, (k, v)| m.replace(&format!("{{{k}}}"), v)))
}

/// The code, parameters and bare message of a refusal's text, from a relay that sent text alone.
pub fn explain_refusal(text: &str) -> Explained {
    let mut rest = text.trim();
    if let Some(r) = rest.strip_prefix("document ").and_then(|r| r.split_once(": ").map(|(_, m)| m)) {
        rest = r;
    }
    rest = rest.strip_prefix("change refused: ").unwrap_or(rest);
    let mut more = 0;
    if let Some((head, tail)) = rest.rsplit_once(" (and ")
        && let Some(n) = tail.strip_suffix(" more problems)").and_then(|n| n.parse().ok())
    {
        more = n;
        rest = head;
    }
    // The path is a dotted run of ids, positions and keys up to the first ": ".
    let bare = match rest.split_once(": ") {
        Some((path, message))
            if !path.is_empty() && path.chars().all(|c| c.is_alphanumeric() || "._-[]".contains(c)) =>
        {
            message
        }
        _ => rest,
    };
    match recognise(bare) {
        Some((code, params)) => Explained {
            code: Some(code.to_owned()),
            params: params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            message: bare.to_owned(),
            more,
        },
        None => Explained { code: None, params: BTreeMap::new(), message: bare.to_owned(), more },
    }
}

#[cfg(test)]
mod tests {
    use contactpoint_directory::validate::msg;

    use super::*;

    /// A refusal's fields give the same code, parameters, English message and count as its text
    /// gave before; where the text says nothing the app can word, the reason is the code.
    #[test]
    fn refusals_are_explained_from_their_fields() {
        use contactpoint_protocol::{DocumentId, RefusedIssue};
        let id = DocumentId::from_random_bytes([3; 16]);
        let issue = |code: &str, params: &[(&str, &str)]| RefusedIssue {
            path: "cards.k".into(),
            code: code.into(),
            params: params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        };
        let r = Refusal::new(Reason::Invalid).about(id).with_issues([
            issue("override_locked_step", &[("card", "c"), ("step", "s")]),
            issue("email", &[]),
            issue("email", &[]),
        ]);
        // The text says something else: the fields are what counts.
        let e = explain(&format!("document {id}: change refused: x: {}", msg::EMAIL), Some(&r));
        assert_eq!(e.code.as_deref(), Some("override_locked_step"));
        assert_eq!((e.params["card"].as_str(), e.params["step"].as_str(), e.more), ("c", "s", 2));
        assert_eq!(e.message, "the locked step \"s\" of the national card \"c\" must be kept in a local override");

        let text = msg::READ_ONLY.replace("{doc}", &id.to_string());
        let e = explain(&text, Some(&Refusal::new(Reason::ReadOnly).about(id)));
        assert_eq!(e, explain_refusal(&text));

        let text = format!("document {id}: sync message over the limits: too many heads");
        let e = explain(&text, Some(&Refusal::new(Reason::OverLimits).about(id)));
        assert_eq!(
            (e.code.as_deref(), e.message.as_str()),
            (Some("over_limits"), "sync message over the limits: too many heads")
        );
        let e = explain("connection too slow; reconnect", Some(&Refusal::new(Reason::TooSlow)));
        assert_eq!((e.code.as_deref(), e.message.as_str()), (Some("too_slow"), "connection too slow; reconnect"));
        let e = explain("something new", Some(&Refusal::new(Reason::Other)));
        assert_eq!((e.code, e.message.as_str()), (None, "something new"));
    }

    #[test]
    fn refusals_are_recognised_with_their_parameters_and_count() {
        let e = explain_refusal(&format!(
            "document 4NMNnkMhL8jXrdJ9jmxrtAKR4o8r: change refused: contact_points.c1.phones[0].number: {} (and 2 more problems)",
            msg::PHONE_FORMAT
        ));
        assert_eq!((e.code, e.message.as_str(), e.more), (Some("phone_format".to_owned()), msg::PHONE_FORMAT, 2));
        let e = explain_refusal("you may read but not change document 4NMN; your changes were not accepted");
        assert_eq!(e.code.as_deref(), Some("read_only"));
        assert_eq!(e.params.get("doc").map(String::as_str), Some("4NMN"));
        let e = explain_refusal(
            "document x: change refused: cards.k: the locked step \"s\" of the national card \"c\" must be kept in a local override",
        );
        assert_eq!(e.code.as_deref(), Some("override_locked_step"));
        let e = explain_refusal("document x: sync message over the limits: too many heads");
        assert_eq!((e.code, e.message.as_str()), (None, "sync message over the limits: too many heads"));
    }
}
