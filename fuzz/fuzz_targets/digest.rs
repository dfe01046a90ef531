//! Fuzz target `digest`: see `fulmar_federation::fuzzing::digest`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fulmar_federation::fuzzing::digest(data);
});
