//! Fuzz target `public_key_pem`: see `fulmar_federation::fuzzing::public_key_pem`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    fulmar_federation::fuzzing::public_key_pem(data);
});
