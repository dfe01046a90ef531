//! Replays the fuzz targets' seed corpora (`fuzz/corpus/TARGET/*`) through the same entry
//! points the targets call (`fulmar_federation::fuzzing`), so that a plain `cargo test`
//! exercises them even where cargo-fuzz is not installed, and checks that the seeds still
//! reach the code behind the first checks: a seed that no longer parses teaches the fuzzer
//! nothing.

use std::path::PathBuf;

use fulmar_federation::from_activitypub::{parse_activity, parse_actor, parse_object};
use fulmar_federation::fuzzing::{self, FuzzRequest};
use fulmar_federation::signatures::{Policy, SignedRequest};

/// Every seed of a target, as (file name, bytes), sorted by name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "fuzz",
        "corpus",
        target,
    ]
    .iter()
    .collect();
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    seeds.sort();
    assert!(seeds.len() >= 3, "{}: too few seeds", dir.display());
    seeds
}

#[test]
fn signature_header_seeds() {
    for (name, bytes) in seeds("signature_headers") {
        fuzzing::signature_headers(&bytes);
        let request = FuzzRequest::decode(&bytes);
        let relaxed = Policy {
            require_coverage: false,
            ..Policy::default()
        };
        let parsed = SignedRequest::from_request(&request.view(), &relaxed, request.now);
        if name.starts_with("unsigned") {
            assert!(parsed.is_err(), "{name}");
        } else {
            let signed = parsed.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!signed.signature_base().is_empty(), "{name}");
        }
    }
}

#[test]
fn activity_seeds() {
    for (name, bytes) in seeds("activity_parser") {
        fuzzing::activity(&bytes);
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            parse_activity(&value).is_ok()
                || parse_object(&value).is_ok()
                || parse_actor(&value).is_ok()
                // A bare key document, which some servers serve at the key id.
                || name.contains("key_stub"),
            "{name} is neither an activity, an object nor an actor"
        );
    }
}

#[test]
fn digest_seeds() {
    for (_, bytes) in seeds("digest") {
        fuzzing::digest(&bytes);
    }
}

#[test]
fn public_key_pem_seeds() {
    for (_, bytes) in seeds("public_key_pem") {
        fuzzing::public_key_pem(&bytes);
    }
}
