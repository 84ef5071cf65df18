//! Reading one imported record's fields (`Fields`): text, required text, flags, lists of codes and
//! multilingual texts, each problem recorded with the record's location and the field.

use serde_json::Value;

use super::tables::Row;
use super::{EXT, ImportIssue};
use crate::text::LocalizedText;

/// Field access with issue collection.
pub(super) struct Fields<'r> {
    pub(super) loc: &'r str,
    pub(super) row: &'r Row,
    pub(super) issues: &'r mut Vec<ImportIssue>,
}

impl Fields<'_> {
    pub(super) fn problem(&mut self, field: &str, message: impl Into<String>) {
        self.issues.push(ImportIssue {
            location: self.loc.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub(super) fn str(&mut self, key: &str) -> Option<String> {
        match self.row.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                self.problem(key, "must be text");
                None
            }
        }
    }

    pub(super) fn required(&mut self, key: &str) -> Option<String> {
        let v = self.str(key);
        if v.is_none() {
            self.problem(key, "is required");
        }
        v
    }

    pub(super) fn bool(&mut self, key: &str) -> bool {
        match self.row.get(key) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" => true,
            Some(Value::String(s)) if s == "false" || s.is_empty() => false,
            Some(_) => {
                self.problem(key, "must be true or false");
                false
            }
        }
    }

    pub(super) fn list(&mut self, key: &str) -> Vec<String> {
        match self.row.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => {
                s.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
            }
            Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
                a.iter().filter_map(Value::as_str).map(str::to_owned).collect()
            }
            Some(_) => {
                self.problem(key, "must be a list of codes");
                Vec::new()
            }
        }
    }

    /// A multilingual text from `x_contactpoint_<ext>`, else the plain HSDS field read as Finnish.
    pub(super) fn text(&mut self, plain: Option<&str>, ext: &str) -> LocalizedText {
        let key = format!("{EXT}{ext}");
        let parsed = match self.row.get(&key) {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(Value::Object(m.clone())),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(v @ Value::Object(_)) => Some(v),
                _ => {
                    self.problem(&key, "must be an object of language codes and texts");
                    return LocalizedText::new();
                }
            },
            Some(_) => {
                self.problem(&key, "must be an object of language codes and texts");
                return LocalizedText::new();
            }
        };
        if let Some(Value::Object(m)) = parsed {
            let mut t = LocalizedText::new();
            for (lang, v) in m {
                match v {
                    Value::String(s) => t.set(&lang, &s),
                    _ => self.problem(&key, format!("the {lang} text must be text")),
                }
            }
            return t;
        }
        let mut t = LocalizedText::new();
        if let Some(p) = plain.and_then(|p| self.str(p)) {
            t.set("fi", &p);
        }
        t
    }
}
