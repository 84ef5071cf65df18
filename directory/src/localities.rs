//! Finland's municipalities, wellbeing counties and police departments, parsed from the shipped
//! CSV tables.

use std::sync::OnceLock;

/// The credit the licence of the locality data requires wherever it is shown.
pub const SOURCE_CREDIT: &str = "Source: Statistics Finland";

const MUNICIPALITIES_CSV: &str = include_str!("../data/municipalities-fi-2025.csv");
const COUNTIES_CSV: &str = include_str!("../data/wellbeing-counties-fi-2025.csv");
const POLICE_CSV: &str = include_str!("../data/police-departments-fi.csv");

/// One municipality of the 2025 classification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Municipality {
    /// Three-digit code, zero-padded (`091` Helsinki).
    pub code: String,
    /// Finnish name.
    pub name_fi: String,
    /// Swedish name.
    pub name_sv: String,
    /// English name.
    pub name_en: String,
    /// Wellbeing services county code.
    pub wellbeing_county: String,
    /// 0 unilingual Finnish, 1 bilingual Finnish-majority, 2 bilingual Swedish-majority,
    /// 3 unilingual Swedish.
    pub language_status: u8,
    /// Police department id.
    pub police_department: String,
    /// Whether a public source confirmed the police mapping (`verified`), it follows the region
    /// rule (`derived`), or it is known to be uncertain (`unverified`).
    pub police_department_confidence: String,
}

/// One wellbeing services county (or Helsinki / Åland, which organise the same services).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WellbeingCounty {
    /// Code as in the classification (`1`–`23`, `90`, `91`).
    pub code: String,
    /// Finnish name.
    pub name_fi: String,
    /// Swedish name.
    pub name_sv: String,
    /// English name.
    pub name_en: String,
}

/// One police department.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoliceDepartment {
    /// Short id (`helsinki`, `ita-uusimaa`, …).
    pub id: String,
    /// Finnish name.
    pub name_fi: String,
    /// Swedish name.
    pub name_sv: String,
    /// English name.
    pub name_en: String,
}

/// All locality tables.
#[derive(Debug)]
pub struct Localities {
    /// Municipalities, sorted by code.
    pub municipalities: Vec<Municipality>,
    /// Wellbeing counties.
    pub counties: Vec<WellbeingCounty>,
    /// Police departments.
    pub police: Vec<PoliceDepartment>,
}

fn rows(csv: &str) -> impl Iterator<Item = Vec<&str>> {
    // The shipped tables contain no quoted fields; a test guards that assumption.
    csv.lines().skip(1).filter(|l| !l.trim().is_empty()).map(|l| l.split(',').map(str::trim).collect())
}

impl Localities {
    /// The tables compiled into this build.
    pub fn get() -> &'static Localities {
        static L: OnceLock<Localities> = OnceLock::new();
        L.get_or_init(Localities::parse)
    }

    fn parse() -> Localities {
        let mut municipalities: Vec<Municipality> = rows(MUNICIPALITIES_CSV)
            .map(|r| Municipality {
                code: r[0].to_owned(),
                name_fi: r[1].to_owned(),
                name_sv: r[2].to_owned(),
                name_en: r[3].to_owned(),
                wellbeing_county: r[6].to_owned(),
                language_status: r[7].parse().unwrap_or(0),
                police_department: r[8].to_owned(),
                police_department_confidence: r[9].to_owned(),
            })
            .collect();
        municipalities.sort_by(|a, b| a.code.cmp(&b.code));
        let counties = rows(COUNTIES_CSV)
            .map(|r| WellbeingCounty {
                code: r[0].to_owned(),
                name_fi: r[1].to_owned(),
                name_sv: r[2].to_owned(),
                name_en: r[3].to_owned(),
            })
            .collect();
        let police = rows(POLICE_CSV)
            .map(|r| PoliceDepartment {
                id: r[0].to_owned(),
                name_fi: r[1].to_owned(),
                name_sv: r[2].to_owned(),
                name_en: r[3].to_owned(),
            })
            .collect();
        Localities { municipalities, counties, police }
    }

    /// A municipality by its three-digit code.
    pub fn municipality(&self, code: &str) -> Option<&Municipality> {
        self.municipalities.binary_search_by(|m| m.code.as_str().cmp(code)).ok().map(|i| &self.municipalities[i])
    }

    /// A wellbeing county by code.
    pub fn county(&self, code: &str) -> Option<&WellbeingCounty> {
        self.counties.iter().find(|c| c.code == code)
    }

    /// A police department by id.
    pub fn police_department(&self, id: &str) -> Option<&PoliceDepartment> {
        self.police.iter().find(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_complete_and_consistent() {
        let l = Localities::get();
        assert_eq!(l.municipalities.len(), 308);
        assert_eq!(l.counties.len(), 23);
        assert_eq!(l.police.len(), 12);
        for csv in [MUNICIPALITIES_CSV, COUNTIES_CSV, POLICE_CSV] {
            assert!(!csv.contains('"'), "the simple CSV reader assumes no quoted fields");
        }
        for m in &l.municipalities {
            assert!(l.county(&m.wellbeing_county).is_some(), "{} has an unknown county", m.code);
            assert!(l.police_department(&m.police_department).is_some(), "{} has an unknown police area", m.code);
        }
        assert_eq!(l.municipality("091").map(|m| m.name_sv.as_str()), Some("Helsingfors"));
        assert_eq!(l.municipality("142").map(|m| m.police_department_confidence.as_str()), Some("unverified"));
    }
}
