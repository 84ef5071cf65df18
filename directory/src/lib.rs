//! The Contact Point domain, free of I/O: Finnish localities and the areas documents belong to.
//!
//! The reference tables in `data/` (Statistics Finland classifications, CC BY 4.0) are compiled
//! into the binary so that lookups work with no network and no files at run time.

pub mod area;
pub mod localities;

pub use area::{Area, AreaError};
pub use localities::{Localities, Municipality, PoliceDepartment, WellbeingCounty};
