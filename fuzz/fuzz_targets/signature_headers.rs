//! Fuzz target `signature_headers`: see `fulmar_federation::fuzzing::signature_headers`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fulmar_federation::fuzzing::signature_headers(data);
});
