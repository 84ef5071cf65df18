//! Fuzz target `automerge_load`: see `contactpoint_fuzz::automerge_load`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| contactpoint_fuzz::automerge_load(data));
