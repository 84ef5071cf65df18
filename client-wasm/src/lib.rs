//! The browser client's boundary: JavaScript owns the WebSocket and IndexedDB, this crate owns
//! the documents, the sync protocol and the directory logic.
//!
//! Everything that can be tested without a browser lives in [`session`] as plain Rust; the
//! `#[wasm_bindgen]` wrappers in `bindings` (built for wasm32 only) convert values at the boundary.

pub mod commit;
pub mod edit;
pub mod history;
pub mod issues;
pub mod local;
pub mod messages;
pub mod session;
#[cfg(test)]
mod types;
pub mod views;

#[cfg(target_arch = "wasm32")]
mod bindings;
