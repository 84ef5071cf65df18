//! Where a value sits in a document: [`FieldPath`], map keys and list positions in order, as
//! validation reports a problem's place and as an entry's history names a field.
//!
//! A path is written one way everywhere, map keys joined by dots and list positions in brackets
//! (`contact_points.<id>.phones[0].number`); that text is what the relay's refusals carry and
//! what the app shows and hands back. A key holding a dot, a bracket, a quote or a backslash (an
//! imported id can) is written quoted in brackets, `["v1.2"]`, so that no two paths share a
//! text. Whether a step is a key or a position is part of the path,
//! so nothing has to guess it from the text.

use std::fmt;

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A map key.
    Key(String),
    /// A position in a list.
    Index(usize),
}

/// A path from a document's root (or from a record, for an entry's fields) to a value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
pub struct FieldPath(Vec<Segment>);

/// Why a text is not a path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a field path (keys joined by dots, list positions in brackets)")]
pub struct PathError(pub String);

impl FieldPath {
    /// The empty path: the root itself.
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// The path of one map key below the root.
    pub fn of(key: impl Into<String>) -> Self {
        FieldPath(vec![Segment::Key(key.into())])
    }

    /// This path followed by the map key `key`.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Key(key.into()));
        p
    }

    /// This path followed by the list position `i`.
    #[must_use]
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Segment::Index(i));
        p
    }

    /// This path followed by every step of `rest`.
    #[must_use]
    pub fn join(&self, rest: &FieldPath) -> Self {
        let mut p = self.clone();
        p.0.extend(rest.0.iter().cloned());
        p
    }

    /// Adds a step at the end (for walks that go down and back up).
    pub(crate) fn push(&mut self, s: Segment) {
        self.0.push(s);
    }

    /// Removes the last step.
    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }

    /// The path without its first `n` steps (the root when it has no more).
    #[must_use]
    pub fn after(&self, n: usize) -> FieldPath {
        FieldPath(self.0.get(n..).unwrap_or_default().to_vec())
    }

    /// The steps, root first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether the path has no steps.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first step when it is a map key (`phones` in `phones[0].number`).
    pub fn first_key(&self) -> Option<&str> {
        match self.0.first() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// Whether this path is `prefix` or lies under it, step by step (`phones[0].number` is under
    /// `phones` and `phones[0]`, not under `phone`).
    pub fn is_under(&self, prefix: &FieldPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The rest of this path below `prefix`, or `None` when it is not under it.
    pub fn strip_prefix(&self, prefix: &FieldPath) -> Option<FieldPath> {
        self.0.strip_prefix(prefix.0.as_slice()).map(|rest| FieldPath(rest.to_vec()))
    }

    /// Reads a path written as [`Display`](fmt::Display) writes it; the empty text is the root.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let bad = || PathError(text.to_owned());
        let mut out = Vec::new();
        if text.is_empty() {
            return Ok(FieldPath(out));
        }
        let mut rest = text;
        // A plain key is due at the start (unless the first key is quoted) and after every dot.
        let mut plain_due = !rest.starts_with("[\"");
        loop {
            if plain_due {
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                let key = &rest[..end];
                if key.is_empty() || !is_plain(key) {
                    return Err(bad());
                }
                out.push(Segment::Key(key.to_owned()));
                rest = &rest[end..];
            }
            plain_due = false;
            if rest.is_empty() {
                return Ok(FieldPath(out));
            }
            if let Some(r) = rest.strip_prefix('.') {
                rest = r;
                plain_due = true;
            } else if let Some(r) = rest.strip_prefix("[\"") {
                let (key, after) = read_quoted(r).ok_or_else(bad)?;
                out.push(Segment::Key(key));
                rest = after.strip_prefix(']').ok_or_else(bad)?;
            } else if let Some(r) = rest.strip_prefix('[') {
                let (i, after) = r.split_once(']').ok_or_else(bad)?;
                if out.is_empty() || i.is_empty() || !i.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                out.push(Segment::Index(i.parse().map_err(|_| bad())?));
                rest = after;
            } else {
                return Err(bad());
            }
        }
    }
}

/// Whether a key is written as it is: not empty, and none of the characters that separate steps
/// or quote a key. Other keys are written quoted in brackets, `["a.b"]`.
fn is_plain(key: &str) -> bool {
    !key.is_empty() && !key.contains(['.', '[', ']', '"', '\\'])
}

/// Reads a quoted key's text up to its closing quote, where `\"` and `\\` stand for `"` and `\`;
/// returns the key and what follows the quote.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let mut key = String::new();
    let mut chars = text.char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '"' => return Some((key, &text[i + 1..])),
            '\\' => key.push(chars.next().map(|(_, c)| c).filter(|c| matches!(c, '"' | '\\'))?),
            c => key.push(c),
        }
    }
    None
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) if is_plain(k) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Key(k) => {
                    f.write_str("[\"")?;
                    for ch in k.chars() {
                        if matches!(ch, '"' | '\\') {
                            f.write_str("\\")?;
                        }
                        write!(f, "{ch}")?;
                    }
                    f.write_str("\"]")?;
                }
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

impl From<&FieldPath> for FieldPath {
    fn from(p: &FieldPath) -> Self {
        p.clone()
    }
}

impl std::str::FromStr for FieldPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, PathError> {
        FieldPath::parse(s)
    }
}

/// Paths order as their text does, the order problems were listed in when paths were text.
impl Ord for FieldPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_string().cmp(&other.to_string())
    }
}

impl PartialOrd for FieldPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether `p` is written as `text`, without writing it out.
fn written_as(p: &FieldPath, text: &str) -> bool {
    struct Rest<'a>(&'a str);
    impl fmt::Write for Rest<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 = self.0.strip_prefix(s).ok_or(fmt::Error)?;
            Ok(())
        }
    }
    let mut rest = Rest(text);
    fmt::write(&mut rest, format_args!("{p}")).is_ok() && rest.0.is_empty()
}

impl PartialEq<str> for FieldPath {
    fn eq(&self, other: &str) -> bool {
        written_as(self, other)
    }
}

impl PartialEq<&str> for FieldPath {
    fn eq(&self, other: &&str) -> bool {
        written_as(self, other)
    }
}

impl serde::Serialize for FieldPath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> FieldPath {
        FieldPath::parse(s).unwrap()
    }

    #[test]
    fn paths_are_built_rendered_and_read_back() {
        let built = FieldPath::root().key("contact_points").key("c1").key("phones").index(0).key("number");
        assert_eq!(built.to_string(), "contact_points.c1.phones[0].number");
        assert_eq!(p("contact_points.c1.phones[0].number"), built);
        assert_eq!(p("schedules[1].byday[3]").segments().len(), 4);
        assert_eq!(p("a[0][2].b").to_string(), "a[0][2].b");
        assert_eq!(p(""), FieldPath::root());
        assert_eq!(FieldPath::root().to_string(), "");
        // A position is a position, a key made of digits a key.
        assert_eq!(p("phones[0]").segments()[1], Segment::Index(0));
        assert_eq!(p("nodes.0").segments()[1], Segment::Key("0".into()));
        for bad in [".a", "a.", "a..b", "a[", "a[x]", "a[0", "a[0]b", "[0]", "a[-1]", "a[+1]"] {
            assert!(FieldPath::parse(bad).is_err(), "{bad} should not read as a path");
        }
    }

    #[test]
    fn keys_that_hold_separators_are_quoted_and_read_back() {
        let odd = FieldPath::root().key("contact_points").key("v1.2[a]").key("say \"hi\" \\ bye").index(3).key("");
        let text = odd.to_string();
        assert_eq!(text, r#"contact_points["v1.2[a]"]["say \"hi\" \\ bye"][3][""]"#);
        assert_eq!(p(&text), odd, "{text} reads back as the path it was written from");
        assert!(odd == text.as_str());
        assert_eq!(p(r#"["a.b"].c"#), FieldPath::of("a.b").key("c"));
        // Two different paths never share one text.
        assert_ne!(FieldPath::of("a.b").to_string(), FieldPath::of("a").key("b").to_string());
        for bad in [r#"a["b"#, r#"a["b\x"]"#, r#"a["b"]c"#, r#"a."b""#, "a]b", r#"a"b"#] {
            assert!(FieldPath::parse(bad).is_err(), "{bad} should not read as a path");
        }
    }

    #[test]
    fn a_path_is_under_its_prefixes_step_by_step() {
        let number = p("contact_points.c1.phones[0].number");
        assert!(number.is_under(&p("contact_points.c1")));
        assert!(number.is_under(&p("contact_points.c1.phones[0]")));
        assert!(number.is_under(&number));
        assert!(number.is_under(&FieldPath::root()));
        assert!(!number.is_under(&p("contact_points.c")), "a key's beginning is not its prefix");
        assert!(!number.is_under(&p("contact_points.c1.phones[1]")));
        assert!(!p("contact_points.c1").is_under(&number));
        assert_eq!(number.strip_prefix(&p("contact_points.c1")), Some(p("phones[0].number")));
        assert_eq!(number.strip_prefix(&p("contact_points.c2")), None);
        assert_eq!(p("contact_points.c1").join(&p("phones[0]")).to_string(), "contact_points.c1.phones[0]");
    }

    #[test]
    fn paths_order_and_compare_as_their_text() {
        let mut v = [p("a.b[10]"), p("a.b[2]"), p("a.b.c"), p("a")];
        v.sort();
        let text: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["a", "a.b.c", "a.b[10]", "a.b[2]"]);
        assert!(p("phones[0].number") == "phones[0].number");
        assert!(p("phones[0].number") != "phones[0].numbers");
        assert!(p("phones[0].number") != "phones[0]");
        assert_eq!(serde_json::to_string(&p("name.fi")).unwrap(), "\"name.fi\"");
    }
}
