//! The Contact Point relay library.
