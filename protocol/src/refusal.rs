//! What a relay's `error` says beyond its text: why, about which document, and which rules a
//! refused write broke, as fields a program reads rather than words it parses.
//!
//! On the wire these are extra keys of the `error` map (`reason`, `documentId`, `issues`,
//! `problems`). The automerge-repo JavaScript client reads only `message` and ignores the rest,
//! so other clients go on showing the text; a relay that sends text alone is still understood
//! (see [`crate::ClientSession`]).

use std::collections::BTreeMap;

use crate::doc_id::DocumentId;

/// The most issues one refusal carries; `problems` still counts them all.
pub const MAX_ISSUES: usize = 20;

/// Why the relay sent an `error`, as one fixed word (also the label it is counted under).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A reader sent changes (`read_only`).
    ReadOnly,
    /// A writer's changes broke a rule of the directory (`invalid`); the issues say which.
    Invalid,
    /// A message over the relay's bounds for one sync message (`over_limits`).
    OverLimits,
    /// A message or change that does not read (`corrupt`).
    Corrupt,
    /// The relay's sync engine failed on the message (`engine_failure`).
    EngineFailure,
    /// Too many documents created through sync lately (`creation_limit`).
    CreationLimit,
    /// The peer did not read what the relay had for it (`too_slow`).
    TooSlow,
    /// The relay could not load the document from its storage (`not_loaded`).
    NotLoaded,
    /// The relay could not read what it needs to check the write (`not_checked`).
    NotChecked,
    /// A frame over the relay's size limit (`too_large`).
    TooLarge,
    /// More messages than the relay's rate allows (`too_many_messages`).
    TooManyMessages,
    /// No `join` within the handshake timeout (`join_timeout`).
    JoinTimeout,
    /// A text frame where the protocol has binary ones (`text_frame`).
    TextFrame,
    /// A word this version does not know, from a newer relay (`other`).
    Other,
}

impl Reason {
    /// Every reason but [`Reason::Other`].
    pub const ALL: [Reason; 13] = [
        Reason::ReadOnly,
        Reason::Invalid,
        Reason::OverLimits,
        Reason::Corrupt,
        Reason::EngineFailure,
        Reason::CreationLimit,
        Reason::TooSlow,
        Reason::NotLoaded,
        Reason::NotChecked,
        Reason::TooLarge,
        Reason::TooManyMessages,
        Reason::JoinTimeout,
        Reason::TextFrame,
    ];

    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ReadOnly => "read_only",
            Reason::Invalid => "invalid",
            Reason::OverLimits => "over_limits",
            Reason::Corrupt => "corrupt",
            Reason::EngineFailure => "engine_failure",
            Reason::CreationLimit => "creation_limit",
            Reason::TooSlow => "too_slow",
            Reason::NotLoaded => "not_loaded",
            Reason::NotChecked => "not_checked",
            Reason::TooLarge => "too_large",
            Reason::TooManyMessages => "too_many_messages",
            Reason::JoinTimeout => "join_timeout",
            Reason::TextFrame => "text_frame",
            Reason::Other => "other",
        }
    }

    /// The reason a word names; [`Reason::Other`] for one this version does not know.
    pub fn parse(word: &str) -> Reason {
        Reason::ALL.into_iter().find(|r| r.as_str() == word).unwrap_or(Reason::Other)
    }
}

/// One rule a refused write broke.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefusedIssue {
    /// Where, in the document's layout (`contact_points.<id>.phones[0].number`).
    pub path: String,
    /// The rule's stable code (the directory's `validate::code`).
    pub code: String,
    /// The values the rule's message names, by name.
    pub params: BTreeMap<String, String>,
}

/// An `error`'s fields beyond its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub reason: Reason,
    /// The document whose changes were refused. A client holds it (sends it no more) until the
    /// person resets it; errors about the connection, or about a document only for now, name none.
    pub document_id: Option<DocumentId>,
    /// The rules the write broke, at most [`MAX_ISSUES`], first the one the text names.
    pub issues: Vec<RefusedIssue>,
    /// How many rules the write broke in all (at least `issues.len()`).
    pub problems: u64,
}

impl Refusal {
    /// A refusal for a reason alone.
    pub fn new(reason: Reason) -> Self {
        Refusal { reason, document_id: None, issues: Vec::new(), problems: 0 }
    }

    /// The same, about one document.
    pub fn about(mut self, document_id: DocumentId) -> Self {
        self.document_id = Some(document_id);
        self
    }

    /// The same, with the rules the write broke (kept to [`MAX_ISSUES`], all counted).
    pub fn with_issues(mut self, issues: impl IntoIterator<Item = RefusedIssue>) -> Self {
        let mut count = 0u64;
        for issue in issues {
            count += 1;
            if self.issues.len() < MAX_ISSUES {
                self.issues.push(issue);
            }
        }
        self.problems = count;
        self
    }
}
