//! Areas: the scopes that area documents and editor rights are tied to.
//!
//! Written `municipality:091`, `county:90` or `police:helsinki`; a bare three-digit code is read
//! as a municipality because that is how people type it.

use core::fmt;
use core::str::FromStr;

use crate::localities::Localities;

/// A municipality, wellbeing county or police-department area.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    /// A municipality by three-digit code.
    Municipality(String),
    /// A wellbeing services county by code.
    County(String),
    /// A police department by id.
    Police(String),
}

/// Why a text is not a known area.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AreaError {
    /// The text has none of the accepted shapes.
    #[error("\"{}\" is not an area; write municipality:091, county:90 or police:helsinki", .0.escape_debug())]
    Shape(String),
    /// The shape is right but no such municipality, county or police department exists.
    #[error("unknown {kind} code \"{}\"", code.escape_debug())]
    Unknown {
        /// `municipality`, `county` or `police`.
        kind: &'static str,
        /// The code given.
        code: String,
    },
}

impl FromStr for Area {
    type Err = AreaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let l = Localities::get();
        let s = s.trim();
        let (kind, code) = match s.split_once(':') {
            Some((k, c)) => (k, c),
            None if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) => ("municipality", s),
            None => return Err(AreaError::Shape(s.to_owned())),
        };
        match kind {
            "municipality" if l.municipality(code).is_some() => Ok(Area::Municipality(code.to_owned())),
            "municipality" => Err(AreaError::Unknown { kind: "municipality", code: code.to_owned() }),
            "county" if l.county(code).is_some() => Ok(Area::County(code.to_owned())),
            "county" => Err(AreaError::Unknown { kind: "county", code: code.to_owned() }),
            "police" if l.police_department(code).is_some() => Ok(Area::Police(code.to_owned())),
            "police" => Err(AreaError::Unknown { kind: "police", code: code.to_owned() }),
            _ => Err(AreaError::Shape(s.to_owned())),
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Area::Municipality(c) => write!(f, "municipality:{c}"),
            Area::County(c) => write!(f, "county:{c}"),
            Area::Police(c) => write!(f, "police:{c}"),
        }
    }
}

impl Area {
    /// The area's name in Finnish, Swedish or English (`lang` = `fi`, `sv`, anything else `en`).
    pub fn name(&self, lang: &str) -> String {
        let l = Localities::get();
        let pick = |fi: &str, sv: &str, en: &str| match lang {
            "fi" => fi.to_owned(),
            "sv" => sv.to_owned(),
            _ => en.to_owned(),
        };
        match self {
            Area::Municipality(c) => l.municipality(c).map(|m| pick(&m.name_fi, &m.name_sv, &m.name_en)),
            Area::County(c) => l.county(c).map(|m| pick(&m.name_fi, &m.name_sv, &m.name_en)),
            Area::Police(c) => l.police_department(c).map(|m| pick(&m.name_fi, &m.name_sv, &m.name_en)),
        }
        .unwrap_or_else(|| self.to_string())
    }
}

impl Area {
    /// Whether this area includes `other`: the same area, or a municipality inside this wellbeing
    /// county or police department. An area's editors may list only such places.
    pub fn covers(&self, other: &Area) -> bool {
        if self == other {
            return true;
        }
        let Area::Municipality(code) = other else { return false };
        let Some(m) = Localities::get().municipality(code) else { return false };
        match self {
            Area::County(c) => m.wellbeing_county == *c,
            Area::Police(p) => m.police_department == *p,
            Area::Municipality(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_accepted_shapes() {
        assert_eq!("091".parse(), Ok(Area::Municipality("091".into())));
        assert_eq!("municipality:853".parse::<Area>().map(|a| a.to_string()), Ok("municipality:853".into()));
        assert_eq!("county:90".parse(), Ok(Area::County("90".into())));
        assert_eq!("police:helsinki".parse(), Ok(Area::Police("helsinki".into())));
        assert_eq!(Area::Municipality("091".into()).name("sv"), "Helsingfors");
    }

    #[test]
    fn an_area_covers_itself_and_its_municipalities_only() {
        let helsinki = Area::Municipality("091".into());
        let turku = Area::Municipality("853".into());
        let county: Area = "county:90".parse().unwrap();
        assert!(helsinki.covers(&helsinki));
        assert!(!helsinki.covers(&turku));
        assert!(county.covers(&helsinki));
        assert!(!county.covers(&turku));
        assert!(!helsinki.covers(&county));
        assert!(Area::Police("helsinki".into()).covers(&helsinki));
        assert!(!Area::Police("helsinki".into()).covers(&turku));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!("999".parse::<Area>(), Err(AreaError::Unknown { kind: "municipality", code: "999".into() }));
        assert_eq!(
            "Helsinki".parse::<Area>().unwrap_err().to_string(),
            "\"Helsinki\" is not an area; write municipality:091, county:90 or police:helsinki"
        );
        assert!(matches!("county:99".parse::<Area>(), Err(AreaError::Unknown { kind: "county", .. })));
    }
}
