//! Entry points for the fuzz targets in `fuzz/` and for the test that replays their seed
//! corpora (`tests/fuzz_corpus.rs`).
//!
//! The targets are thin wrappers around these functions so that the code the fuzzer
//! drives is compiled and run by every `cargo test`, not only where cargo-fuzz is
//! installed: a change to a parser's signature breaks the build here instead of silently
//! breaking the fuzz crate, which is outside the workspace. Each function accepts any
//! bytes at all and must return without panicking; a panic is a bug in the parser it
//! reached, not in the harness.
//!
//! Nothing here is meant for production use.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde_json::Value;

use crate::from_activitypub::{id_of, parse_activity, parse_actor, parse_object, visibility};
use crate::signatures::{
    verify_content_digest, verify_digest_header, IncomingRequest, Policy, PublicKey, SignedRequest,
};

/// The verification clock when the input names none and has no usable `Date`:
/// 2023-11-14T22:13:20Z.
const DEFAULT_NOW: u64 = 1_700_000_000;
/// Clocks are taken modulo this (2100-01-01T00:00:00Z): Fulmar's own clock is not
/// attacker-controlled, so exploring absurd values of it would only find harness bugs.
const LATEST_NOW: u64 = 4_102_444_800;

/// RFC 9421 Appendix B.1.2 `test-key-rsa-pss`, public half: a published 2048-bit RSA key,
/// so that fuzzed signatures reach the RSA verification with a real key.
const TEST_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
";

fn test_key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| PublicKey::from_pem(TEST_KEY).expect("the RFC 9421 test key parses"))
}

/// An HTTP request decoded from fuzz input, owning what [`IncomingRequest`] borrows.
#[derive(Debug)]
pub struct FuzzRequest {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub scheme: String,
    pub now: SystemTime,
}

impl FuzzRequest {
    /// Decodes a request written like an HTTP/1.1 message, so that seeds stay readable
    /// and editable by hand:
    ///
    /// ```text
    /// POST /users/alice/inbox https 1618884533
    /// host: example.com
    /// signature: keyId="…",headers="(request-target) host date digest",signature="…"
    ///
    /// {"body": "anything after the first empty line"}
    /// ```
    ///
    /// The first line is `METHOD TARGET [SCHEME [NOW]]`, `NOW` being the verifier's clock
    /// in unix seconds; without it the clock is the `Date` header's time, so that seeds
    /// copied from dated test vectors pass the time window and reach the code behind it.
    /// Lines may end in CRLF or LF. Whatever does not decode (a bad method, a header
    /// line without a colon, a forbidden byte in a value) falls back to a default or is
    /// skipped, so that every input still reaches the parser.
    pub fn decode(data: &[u8]) -> FuzzRequest {
        let (head, body) = match find(data, b"\r\n\r\n") {
            Some(i) => (&data[..i], &data[i + 4..]),
            None => match find(data, b"\n\n") {
                Some(i) => (&data[..i], &data[i + 2..]),
                None => (data, &[][..]),
            },
        };
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let mut words = lines
            .next()
            .unwrap_or_default()
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty());
        let method = words
            .next()
            .and_then(|m| Method::from_bytes(m).ok())
            .unwrap_or(Method::POST);
        let uri = words
            .next()
            .and_then(|t| Uri::try_from(t).ok())
            .unwrap_or_else(|| Uri::from_static("/inbox"));
        let scheme = words
            .next()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_else(|| "https".to_owned());
        let explicit_now = words
            .next()
            .and_then(|n| std::str::from_utf8(n).ok()?.parse::<u64>().ok());

        let mut headers = HeaderMap::new();
        for line in lines {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim_ascii()),
                HeaderValue::from_bytes(value.trim_ascii_start()),
            ) else {
                continue;
            };
            headers.append(name, value);
        }

        let now = explicit_now
            .or_else(|| {
                let date = headers.get(http::header::DATE)?.to_str().ok()?;
                // The verifier's parser, which accepts what it accepts (a wrong day name).
                u64::try_from(crate::signatures::parse_http_date(date)?).ok()
            })
            .unwrap_or(DEFAULT_NOW)
            % LATEST_NOW;
        FuzzRequest {
            method,
            uri,
            headers,
            body: body.to_vec(),
            scheme,
            now: UNIX_EPOCH + Duration::from_secs(now),
        }
    }

    /// The view the verifier reads.
    pub fn view(&self) -> IncomingRequest<'_> {
        IncomingRequest::new(&self.method, &self.uri, &self.headers, &self.body)
            .with_scheme(&self.scheme)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Target `signature_headers`: decodes a request (see [`FuzzRequest::decode`]) and runs
/// it through [`SignedRequest::from_request`] under the production policy and under one
/// without the coverage rules (which reaches the signature base builders with fewer
/// covered components), then verifies whatever parsed against a real RSA key.
pub fn signature_headers(data: &[u8]) {
    let request = FuzzRequest::decode(data);
    let view = request.view();
    let relaxed = Policy {
        require_coverage: false,
        ..Policy::default()
    };
    for policy in [Policy::default(), relaxed] {
        match SignedRequest::from_request(&view, &policy, request.now) {
            Ok(signed) => {
                let _ = (signed.key_id(), signed.label(), signed.standard());
                let _ = signed.signature_base().len();
                if let Err(e) = signed.verify(test_key()) {
                    let _ = (e.to_string(), e.may_be_stale_key());
                }
            }
            // Error messages are logged and sent back to peers: rendering them is part
            // of handling bad input.
            Err(e) => {
                let _ = (e.to_string(), e.may_be_stale_key());
            }
        }
    }
}

/// Target `activity_parser`: reads the bytes as JSON and, if they are JSON, runs every
/// tolerant reader of `from_activitypub` over the document and over the activity's
/// embedded object, as the inbox and the resolver do.
pub fn activity(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    activity_value(&value);
}

/// [`activity`] on a parsed document.
pub fn activity_value(value: &Value) {
    let _ = id_of(value);
    if let Ok(activity) = parse_activity(value) {
        inspect_object(&activity.object);
    }
    inspect_object(value);
    if let Ok(actor) = parse_actor(value) {
        let _ = actor.is_bot();
        let _ = actor.key(None);
        let _ = actor.key(Some(&actor.id));
    }
}

fn inspect_object(value: &Value) {
    let _ = id_of(value);
    if let Ok(object) = parse_object(value) {
        let _ = (object.language(), object.html());
        let _ = visibility(&object, None);
        let followers = format!("{}/followers", object.attributed_to);
        let _ = visibility(&object, Some(&followers));
    }
    if let Ok(actor) = parse_actor(value) {
        let _ = actor.key(None);
    }
}

/// Target `digest`: the first line is a `Digest` or `Content-Digest` value (both parsers
/// get it) and the rest is the body it is checked against.
pub fn digest(data: &[u8]) {
    let (value, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    if let Err(e) = verify_digest_header(value, body) {
        let _ = e.to_string();
    }
    if let Err(e) = verify_content_digest(value, body) {
        let _ = e.to_string();
    }
}

/// Target `public_key_pem`: an actor's `publicKeyPem`, which any remote server chooses.
pub fn public_key_pem(data: &[u8]) {
    let Ok(pem) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in [
        PublicKey::from_pem(pem),
        PublicKey::from_pem_allowing_1024_bits(pem),
    ] {
        match parsed {
            Ok(key) => {
                let _ = key.bits();
                let _ = key.verify(
                    crate::signatures::Algorithm::RsaPkcs1Sha256,
                    b"message",
                    &[0; 256],
                );
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_decode_like_http_messages() {
        let r = FuzzRequest::decode(
            b"GET /a?b=c http 42\r\nHost: example.com\r\nX:  y \r\nbad line\r\n\r\nbody\r\n\r\nmore",
        );
        assert_eq!(r.method, Method::GET);
        assert_eq!(r.uri, "/a?b=c");
        assert_eq!(r.scheme, "http");
        assert_eq!(r.now, UNIX_EPOCH + Duration::from_secs(42));
        assert_eq!(r.headers["host"], "example.com");
        // Trailing whitespace is kept: trimming it is the verifier's job.
        assert_eq!(r.headers["x"], "y ");
        assert_eq!(r.headers.len(), 2);
        assert_eq!(r.body, b"body\r\n\r\nmore");
    }

    #[test]
    fn anything_decodes_with_defaults() {
        for input in [&b""[..], b"\xff\xfe", b"\n\n", b"\0 \0 \0 \0", b"POST"] {
            let r = FuzzRequest::decode(input);
            assert!(!r.scheme.is_empty());
            signature_headers(input);
        }
        let r = FuzzRequest::decode(b"");
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.uri, "/inbox");
        assert_eq!(r.now, UNIX_EPOCH + Duration::from_secs(DEFAULT_NOW));
    }

    #[test]
    fn the_clock_follows_the_date_header() {
        let r = FuzzRequest::decode(b"POST /inbox\ndate: Sun, 05 Jan 2014 21:31:40 GMT\n");
        assert_eq!(r.now, UNIX_EPOCH + Duration::from_secs(1_388_957_500));
    }

    #[test]
    fn the_test_key_parses() {
        assert_eq!(test_key().bits(), 2048);
    }
}
