#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| allowly_server::fuzzing::server_body(data));
