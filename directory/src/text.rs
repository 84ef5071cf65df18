//! Multilingual text: a map from language code to string, read through a fallback chain.
//!
//! Content is written per language (`fi`, `sv`, `en`, and later others such as `ar` or `so`).
//! A reader asks for its UI language; when that is missing the text falls back to Finnish, then
//! Swedish, then English, and the caller learns which language it got so it can set `lang`/`dir`.

use std::collections::BTreeMap;

/// The languages tried, in order, after the requested one.
pub const FALLBACK_CHAIN: [&str; 3] = ["fi", "sv", "en"];

/// Text in several languages, keyed by language code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocalizedText(pub BTreeMap<String, String>);

/// A text picked from a [`LocalizedText`], with the language it is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Picked<'a> {
    /// The language code of `text`.
    pub lang: &'a str,
    /// The text itself.
    pub text: &'a str,
    /// Whether `lang` differs from the requested language (the UI may say "shown in Finnish").
    pub fallback: bool,
}

impl LocalizedText {
    /// An empty text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Text given as (language, string) pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(pairs.into_iter().map(|(l, t)| (l.to_owned(), t.to_owned())).collect())
    }

    /// Text given in Finnish, Swedish and English.
    pub fn fi_sv_en(fi: &str, sv: &str, en: &str) -> Self {
        Self::from_pairs([("fi", fi), ("sv", sv), ("en", en)])
    }

    /// Whether no language has non-blank text.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(|t| t.trim().is_empty())
    }

    /// The text in exactly this language, if present and not blank.
    pub fn get(&self, lang: &str) -> Option<&str> {
        self.0.get(lang).map(String::as_str).filter(|t| !t.trim().is_empty())
    }

    /// Sets the text of one language.
    pub fn set(&mut self, lang: &str, text: &str) {
        self.0.insert(lang.to_owned(), text.to_owned());
    }

    /// The text in `lang`, else in the first language of [`FALLBACK_CHAIN`] that has it, else in
    /// any language at all (so content written only in, say, Somali is still shown).
    pub fn pick(&self, lang: &str) -> Option<Picked<'_>> {
        let chain = std::iter::once(lang).chain(FALLBACK_CHAIN);
        for l in chain {
            if let Some((k, t)) = self.0.get_key_value(l).filter(|(_, t)| !t.trim().is_empty()) {
                return Some(Picked { lang: k, text: t, fallback: k != lang });
            }
        }
        self.0.iter().find(|(_, t)| !t.trim().is_empty()).map(|(k, t)| Picked { lang: k, text: t, fallback: k != lang })
    }

    /// The picked text, or an empty string when there is none.
    pub fn text(&self, lang: &str) -> &str {
        self.pick(lang).map(|p| p.text).unwrap_or("")
    }

    /// Every (language, text) pair.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(l, t)| (l.as_str(), t.as_str()))
    }
}

/// Whether a language is written right to left, so the UI sets `dir="rtl"` on the item.
pub fn is_rtl(lang: &str) -> bool {
    matches!(lang, "ar" | "fa" | "prs" | "ps" | "he" | "ur" | "ckb")
}

/// Folds text for matching: lower case, and the Nordic and other common accented letters mapped
/// to their base letter (`å`, `ä` → `a`, `ö` → `o`), so "hameenlinna" matches "Hämeenlinna".
pub fn fold_char(c: char) -> char {
    match c {
        'å' | 'ä' | 'á' | 'à' | 'â' | 'ã' | 'Å' | 'Ä' | 'Á' | 'À' | 'Â' | 'Ã' => 'a',
        'ö' | 'ø' | 'ó' | 'ò' | 'ô' | 'õ' | 'Ö' | 'Ø' | 'Ó' | 'Ò' | 'Ô' | 'Õ' => 'o',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'ü' | 'ú' | 'ù' | 'û' | 'Ü' | 'Ú' | 'Ù' | 'Û' => 'u',
        'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Ì' | 'Î' | 'Ï' => 'i',
        'š' | 'Š' => 's',
        'ž' | 'Ž' => 'z',
        'ç' | 'Ç' => 'c',
        'ñ' | 'Ñ' => 'n',
        c => c.to_lowercase().next().unwrap_or(c),
    }
}

/// Folds a whole string with [`fold_char`].
pub fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

/// Splits text into folded words: runs of letters and digits.
pub fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(fold)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fallback_chain_reports_the_language_used() {
        let t = LocalizedText::from_pairs([("sv", "Hej"), ("en", "Hello")]);
        assert_eq!(t.pick("sv"), Some(Picked { lang: "sv", text: "Hej", fallback: false }));
        // Finnish is missing, so a Finnish reader gets Swedish before English.
        assert_eq!(t.pick("fi"), Some(Picked { lang: "sv", text: "Hej", fallback: true }));
        let only_somali = LocalizedText::from_pairs([("so", "Soo dhawoow")]);
        assert_eq!(only_somali.pick("en").map(|p| p.lang), Some("so"));
        assert_eq!(LocalizedText::from_pairs([("fi", "  ")]).pick("fi"), None);
    }

    #[test]
    fn folding_matches_nordic_letters() {
        assert_eq!(fold("Hämeenlinna"), "hameenlinna");
        assert_eq!(fold("Åbo ÖSTRA"), "abo ostra");
        assert_eq!(words("Itä-Uusimaa, 116 006").collect::<Vec<_>>(), ["ita", "uusimaa", "116", "006"]);
        assert!(is_rtl("ar") && !is_rtl("fi"));
    }
}
