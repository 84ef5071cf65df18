//! The messages of the rules and of the relay as codes with parameters, for the app to word in
//! the person's language.
//!
//! Validation issues carry their code already. A relay's refusal arrives as the protocol's
//! `error` text (`document <id>: change refused: <path>: <message>`), which other
//! automerge-repo clients read as it is; its message is one of the directory's stable English
//! messages, so the code and parameters are recovered from it here.

use std::collections::BTreeMap;

use contactpoint_directory::validate::recognise;
use serde::Serialize;

/// A refusal from the relay as the app shows it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Explained {
    /// The rule's code, when the message is one the app can word (`null` otherwise).
    pub code: Option<&'static str>,
    /// The values the message names, by name.
    pub params: BTreeMap<String, String>,
    /// The message without the document id and the internal path, in English.
    pub message: String,
    /// How many more problems the refusal counted beyond the first.
    pub more: u32,
}

/// The code, parameters and bare message of a refusal's text.
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
            code: Some(code),
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

    #[test]
    fn refusals_are_recognised_with_their_parameters_and_count() {
        let e = explain_refusal(&format!(
            "document 4NMNnkMhL8jXrdJ9jmxrtAKR4o8r: change refused: contact_points.c1.phones[0].number: {} (and 2 more problems)",
            msg::PHONE_FORMAT
        ));
        assert_eq!((e.code, e.message.as_str(), e.more), (Some("phone_format"), msg::PHONE_FORMAT, 2));
        let e = explain_refusal("you may read but not change document 4NMN; your changes were not accepted");
        assert_eq!(e.code, Some("read_only"));
        assert_eq!(e.params.get("doc").map(String::as_str), Some("4NMN"));
        let e = explain_refusal(
            "document x: change refused: cards.k: the locked step \"s\" of the national card \"c\" must be kept in a local override",
        );
        assert_eq!(e.code, Some("override_locked_step"));
        let e = explain_refusal("document x: sync message over the limits: too many heads");
        assert_eq!((e.code, e.message.as_str()), (None, "sync message over the limits: too many heads"));
    }
}
