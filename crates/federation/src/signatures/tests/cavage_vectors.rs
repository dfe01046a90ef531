//! draft-cavage-http-signatures-12 Appendix C: the test key, request and signatures.
//!
//! The draft's key is 1024 bits (its text says 2048, but the modulus is 1024). aws-lc-rs
//! only signs with 2048-bit keys or larger, so Fulmar cannot re-create these signatures by
//! signing; instead the tests check that Fulmar's signing string equals the draft's text
//! byte for byte and that the draft's signatures verify over it. RSASSA-PKCS1-v1_5 being
//! deterministic, a verifying signature over our string means a signature over our string
//! would be exactly the draft's. Byte-exact signing is covered by the Mastodon vectors.
//!
//! Appendix C.3 is inconsistent in the published draft: its header lists
//! `(created) (expires)` with `rsa-sha256`, which §2.3 forbids, while its signing string
//! and signature leave them out. The signature verifies over the string without them.

use super::{at, Req};
use crate::signatures::{Policy, PublicKey, SignatureError, Standard};

const TEST_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----
";

/// Sun, 05 Jan 2014 21:31:40 GMT, the Date of the test request.
const NOW: u64 = 1_388_957_500;

const C1_SIGNATURE: &str = "SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25WqS+lavg7T8hc0GppauB6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM=";
const C2_SIGNATURE: &str = "qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBskLu6kd9Fswtemr3lgdDEmn04swr2Os0=";
const C3_SIGNATURE: &str = "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=";

fn key() -> PublicKey {
    PublicKey::from_pem_allowing_1024_bits(TEST_PUBLIC_KEY).unwrap()
}

/// The request of Appendix C.
fn request() -> Req {
    Req::new("POST", "/foo?param=value&pet=dog")
        .header("host", "example.com")
        .header("date", "Sun, 05 Jan 2014 21:31:40 GMT")
        .header("content-type", "application/json")
        .header(
            "digest",
            "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
        )
        .header("content-length", "18")
        .body(br#"{"hello": "world"}"#)
}

fn relaxed() -> Policy {
    Policy {
        require_coverage: false,
        ..Policy::default()
    }
}

#[test]
fn the_test_key_is_1024_bits_and_refused_by_default() {
    assert_eq!(key().bits(), 1024);
    let err = PublicKey::from_pem(TEST_PUBLIC_KEY).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unusable public key: a 1024-bit RSA key is too small (at least 2048 bits)"
    );
}

#[test]
fn c1_default_test() {
    for (name, prefix) in [("authorization", "Signature "), ("signature", "")] {
        let req = request().header(
            name,
            &format!(r#"{prefix}keyId="Test",algorithm="rsa-sha256",signature="{C1_SIGNATURE}""#),
        );
        // Without `headers`, rsa-sha256 signs only the date (§2.1.6 and C.1).
        let signed = req.parse_with(&relaxed(), at(NOW)).unwrap();
        assert_eq!(signed.key_id(), "Test");
        assert_eq!(signed.standard(), Standard::DraftCavage);
        assert_eq!(
            signed.signature_base(),
            b"date: Sun, 05 Jan 2014 21:31:40 GMT"
        );
        signed.verify(&key()).unwrap();
        // Fulmar's own policy wants more than the date covered.
        assert_eq!(
            req.parse(at(NOW)).unwrap_err(),
            SignatureError::MissingCoverage("(request-target)")
        );
    }
}

#[test]
fn c2_basic_test() {
    let req = request().header(
        "authorization",
        &format!(
            r#"Signature keyId="Test",algorithm="rsa-sha256", headers="(request-target) host date", signature="{C2_SIGNATURE}""#
        ),
    );
    let signed = req.parse_with(&relaxed(), at(NOW)).unwrap();
    assert_eq!(
        signed.signature_base(),
        b"(request-target): post /foo?param=value&pet=dog\nhost: example.com\ndate: Sun, 05 Jan 2014 21:31:40 GMT"
    );
    signed.verify(&key()).unwrap();
    // A POST whose digest is not signed is not enough for Fulmar.
    assert_eq!(
        req.parse(at(NOW)).unwrap_err(),
        SignatureError::MissingDigest("Digest")
    );
}

#[test]
fn c3_all_headers_test() {
    let headers = "(request-target) host date content-type digest content-length";
    let req = request().header(
        "signature",
        &format!(
            r#"keyId="Test",algorithm="rsa-sha256",headers="{headers}",signature="{C3_SIGNATURE}""#
        ),
    );
    // This one meets Fulmar's own policy, digest checked against the body.
    let signed = req.parse(at(NOW)).unwrap();
    assert_eq!(
        signed.signature_base(),
        b"(request-target): post /foo?param=value&pet=dog\n\
host: example.com\n\
date: Sun, 05 Jan 2014 21:31:40 GMT\n\
content-type: application/json\n\
digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\n\
content-length: 18"
    );
    signed.verify(&key()).unwrap();
}

#[test]
fn c3_as_printed_is_refused_for_using_created_with_rsa_sha256() {
    let req = request().header(
        "signature",
        &format!(
            r#"keyId="Test",algorithm="rsa-sha256", created=1402170695, expires=1402170699, headers="(request-target) (created) (expires) host date content-type digest content-length", signature="{C3_SIGNATURE}""#
        ),
    );
    let err = req.parse_with(&relaxed(), at(NOW)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid pseudo-header (created): it may not be used with algorithm rsa-sha256"
    );
}

#[test]
fn c_vectors_fail_on_a_tampered_request() {
    let mut req = request().header(
        "signature",
        &format!(
            r#"keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date content-type digest content-length",signature="{C3_SIGNATURE}""#
        ),
    );
    req.set("content-type", "application/activity+json");
    let err = req.parse(at(NOW)).unwrap().verify(&key()).unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature { .. }));
}
