//! Fuzz target `hsds_import`: see `contactpoint_fuzz::hsds_import`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| contactpoint_fuzz::hsds_import(data));
