#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| allowly_core::fuzzing::json_canonical(data));
