//! Fuzz target `wire_decode`: see `contactpoint_fuzz::wire_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| contactpoint_fuzz::wire_decode(data));
