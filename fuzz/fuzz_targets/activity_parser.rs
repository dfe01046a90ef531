//! Fuzz target `activity_parser`: see `fulmar_federation::fuzzing::activity`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fulmar_federation::fuzzing::activity(data);
});
