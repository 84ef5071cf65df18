//! The Contact Point domain, free of I/O: localities, the directory and guidance schemas, their
//! Automerge layout, validation, "who do I contact here?" resolution, search, HSDS import and
//! export, and seed data.
//!
//! The reference tables in `data/` (Statistics Finland classifications, CC BY 4.0) are compiled
//! into the binary so that lookups work with no network and no files at run time. Nothing in this
//! crate reads the clock or draws randomness: dates and ids are passed in by callers.

pub mod area;
pub mod dates;
pub mod history;
pub mod hsds;
pub mod ids;
pub mod localities;
pub mod model;
pub mod path;
pub mod resolve;
pub mod search;
pub mod seed;
pub mod store;
pub mod text;
pub mod validate;

pub use area::{Area, AreaError};
pub use localities::{Localities, Municipality, PoliceDepartment, SOURCE_CREDIT, WellbeingCounty};
pub use model::{ContactPoint, Directory, DocumentKind, GuidanceCard, Index, IndexEntry, Organisation};
pub use path::{FieldPath, Segment};
pub use resolve::{MatchedBy, Resolved, resolve, resolve_any, unverified_police_mappings};
pub use search::{Hit, SearchIndex, search_municipalities};
pub use text::LocalizedText;
pub use validate::{
    Place, ValidationIssue, new_issues, validate_directory, validate_document, validate_document_against,
    validate_document_at,
};
