#![no_main]

use allowly_core::fuzzing::Fixture;

/// The public vectors, compiled in so the binary runs from any directory.
const VECTORS: &[u8] = include_bytes!("../../tests/conformance/receipt-format-v4/test-vectors.json");

libfuzzer_sys::fuzz_target!(|data: &[u8]| allowly_core::fuzzing::verify_bytes(
    Fixture::cached(|| VECTORS.to_vec()),
    data
));
