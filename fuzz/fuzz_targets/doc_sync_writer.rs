//! Fuzz target `doc_sync_writer`: sync messages from a peer with `Access::Write`, received as the relay
//! receives them; see `contactpoint_fuzz::doc_sync`.
#![no_main]

use contactpoint_fuzz::Access;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    contactpoint_fuzz::doc_sync(Access::Write, data, cfg!(feature = "skip-known-doc-sync-crashes"))
});
