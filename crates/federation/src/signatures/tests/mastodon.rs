//! The cases of Mastodon's `spec/requests/signature_verification_spec.rb`, re-derived.
//!
//! Mastodon's spec fixes an RSA key and the time 2023-12-20T10:00:00Z and lists the exact
//! `Signature` headers its signer produces. RSASSA-PKCS1-v1_5 is deterministic, so Fulmar's
//! signer must produce the same bytes, and Fulmar's verifier must reach the same verdicts.

use super::{at, Req};
use crate::signatures::cavage::{sign_covering, signing_string};
use crate::signatures::{digest_header, SignatureError, SigningKey, Standard};

/// The fixed key from the spec (`actor_keypair`), PKCS#1 as Mastodon stores keys.
const ACTOR_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAqIAYvNFGbZ5g4iiK6feSdXD4bDStFM58A7tHycYXaYtzZQpI
eHXAmaXuZzXIwtrP4N0gIk8JNwZvXj2UPS+S07t0V9wNK94he01LV5EMz/GN4eNn
FmDL64HIEuKLvV8TvgjbUPRD6Y5X0UpKi2ZIFLSb96Q5w0Z/k7ntpVKV52y8kz5F
jr/O/0JuHryZe0yItzJh8kzFfeMf0EXzfSnaKvT7P9jhgC6uTre+jXyvVZjiHDrn
qvvucdI3I7DRfXo1OqARBrLjy+TdseUAjNYJ+OuPRI1URIWQI01DCHqcohVu9+Ar
+BiCjFp3ua+XMuJvrvbD61d1Fvig/9nbBRR+8QIDAQABAoIBAAgySHnFWI6gItR3
fkfiqIm80cHCN3Xk1C6iiVu+3oBOZbHpW9R7vl9e/WOA/9O+LPjiSsQOegtWnVvd
RRjrl7Hj20VDlZKv5Mssm6zOGAxksrcVbqwdj+fUJaNJCL0AyyseH0x/IE9T8rDC
I1GH+3tB3JkhkIN/qjipdX5ab8MswEPu8IC4ViTpdBgWYY/xBcAHPw4xuL0tcwzh
FBlf4DqoEVQo8GdK5GAJ2Ny0S4xbXHUURzx/R4y4CCts7niAiLGqd9jmLU1kUTMk
QcXfQYK6l+unLc7wDYAz7sFEHh04M48VjWwiIZJnlCqmQbLda7uhhu8zkF1DqZTu
ulWDGQECgYEA0TIAc8BQBVab979DHEEmMdgqBwxLY3OIAk0b+r50h7VBGWCDPRsC
STD73fQY3lNet/7/jgSGwwAlAJ5PpMXxXiZAE3bUwPmHzgF7pvIOOLhA8O07tHSO
L2mvQe6NPzjZ+6iAO2U9PkClxcvGvPx2OBvisfHqZLmxC9PIVxzruQECgYEAzjM6
BTUXa6T/qHvLFbN699BXsUOGmHBGaLRapFDBfVvgZrwqYQcZpBBhesLdGTGSqwE7
gWsITPIJ+Ldo+38oGYyVys+w/V67q6ud7hgSDTW3hSvm+GboCjk6gzxlt9hQ0t9X
8vfDOYhEXvVUJNv3mYO60ENqQhILO4bQ0zi+VfECgYBb/nUccfG+pzunU0Cb6Dp3
qOuydcGhVmj1OhuXxLFSDG84Tazo7juvHA9mp7VX76mzmDuhpHPuxN2AzB2SBEoE
cSW0aYld413JRfWukLuYTc6hJHIhBTCRwRQFFnae2s1hUdQySm8INT2xIc+fxBXo
zrp+Ljg5Wz90SAnN5TX0AQKBgDaatDOq0o/r+tPYLHiLtfWoE4Dau+rkWJDjqdk3
lXWn/e3WyHY3Vh/vQpEqxzgju45TXjmwaVtPATr+/usSykCxzP0PMPR3wMT+Rm1F
rIoY/odij+CaB7qlWwxj0x/zRbwB7x1lZSp4HnrzBpxYL+JUUwVRxPLIKndSBTza
GvVRAoGBAIVBcNcRQYF4fvZjDKAb4fdBsEuHmycqtRCsnkGOz6ebbEQznSaZ0tZE
+JuouZaGjyp8uPjNGD5D7mIGbyoZ3KyG4mTXNxDAGBso1hrNDKGBOrGaPhZx8LgO
4VXJ+ybXrATf4jr8ccZYsZdFpOphPzz+j55Mqg5vac5P1XjmsGTb
-----END RSA PRIVATE KEY-----
";

const KEY_ID: &str = "https://remote.domain/users/bob#main-key";
/// 2023-12-20T10:00:00Z, where the spec travels to.
const NOW: u64 = 1_703_066_400;
const DATE: &str = "Wed, 20 Dec 2023 10:00:00 GMT";
const HOST: &str = "www.example.com";
/// `digest_value('Hello world')` in the spec.
const HELLO_DIGEST: &str = "SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=";

/// `get /activitypub/success`, headers `date host (request-target)`.
const SIG_GET: &str = "Z8ilar3J7bOwqZkMp7sL8sRs4B1FT+UorbmvWoE+A5UeoOJ3KBcUmbsh+k3wQwbP5gMNUrra9rEWabpasZGphLsbDxfbsWL3Cf0PllAc7c1c7AFEwnewtExI83/qqgEkfWc2z7UDutXc2NfgAx89Ox8DXU/fA2GG0jILjB6UpFyNugkY9rg6oI31UnvfVi3R7sr3/x8Ea3I9thPvqI2byF6cojknSpDAwYzeKdngX3TAQEGzFHz3SDWwyp3jeMWfwvVVbM38FxhvAnSumw7YwWW4L7M7h4M68isLimoT3yfCn2ucBVL5Dz8koBpYf/40w7QidClAwCafZQFC29yDOg==";
/// `get /activitypub/success?foo=42`, same headers.
const SIG_GET_QUERY: &str = "SDMa4r/DQYMXYxVgYO2yEqGWWUXugKjVuz0I8dniQAk+aunzBaF2aPu+4grBfawAshlx1Xytl8lhb0H2MllEz16/tKY7rUrb70MK0w8ohXgpb0qs3YvQgdj4X24L1x2MnkFfKHR/J+7TBlnivq0HZqXm8EIkPWLv+eQxu8fbowLwHIVvRd/3t6FzvcfsE0UZKkoMEX02542MhwSif6cu7Ec/clsY9qgKahb9JVGOGS1op9Lvg/9y1mc8KCgD83U5IxVygYeYXaVQ6gixA9NgZiTCwEWzHM5ELm7w5hpdLFYxYOHg/3G3fiqJzpzNQAcCD4S4JxfE7hMI0IzVlNLT6A==";
/// `get /activitypub/success` with `Date: wrong date`.
const SIG_WRONG_DATE: &str = "d4B7nfx8RJcfdJDu1J//5WzPzK/hgtPkdzZx49lu5QhnE7qdV3lgyVimmhCFrO16bwvzIp9iRMyRLkNFxLiEeVaa1gqeKbldGSnU0B0OMjx7rFBa65vLuzWQOATDitVGiBEYqoK4v0DMuFCz2DtFaA/DIUZ3sty8bZ/Ea3U1nByLOO6MacARA3zhMSI0GNxGqsSmZmG0hPLavB3jIXoE3IDoQabMnC39jrlcO/a8h1iaxBm2WD8TejrImJullgqlJIFpKhIHI3ipQkvTGPlm9dx0y+beM06qBvWaWQcmT09eRIUefVsOAzIhUtS/7FVb/URhZvircIJDa7vtiFcmZQ==";
/// `get /activitypub/success` with `Date: Wed, 18 Dec 2023 10:00:00 GMT`.
const SIG_OLD_DATE: &str = "G1NuJv4zgoZ3B/ZIjzDWZHK4RC+5pYee74q8/LJEMCWXhcnAomcb9YHaqk1QYfQvcBUIXw3UZ3Q9xO8F9y0i8G5mzJHfQ+OgHqCoJk8EmGwsUXJMh5s1S5YFCRt8TT12TmJZz0VMqLq85ubueSYBM7QtUE/FzFIVLvz4RysgXxaXQKzdnM6+gbUEEKdCURpXdQt2NXQhp4MAmZH3+0lQoR6VxdsK0hx0Ji2PNp1nuqFTlYqNWZazVdLBN+9rETLRmvGXknvg9jOxTTppBVWnkAIl26HtLS3wwFVvz4pJzi9OQDOvLziehVyLNbU61hky+oJ215e2HuKSe2hxHNl1MA==";
/// `post /activitypub/success`, headers `host date digest (request-target)`.
const SIG_POST: &str = "gmhMjgMROGElJU3fpehV2acD5kMHeELi8EFP2UPHOdQ54H0r55AxIpji+J3lPe+N2qSb/4H1KXIh6f0lRu8TGSsu12OQmg5hiO8VA9flcA/mh9Lpk+qwlQZIPRqKP9xUEfqD+Z7ti5wPzDKrWAUK/7FIqWgcT/mlqB1R1MGkpMFc/q4CIs2OSNiWgA4K+Kp21oQxzC2kUuYob04gAZ7cyE/FTia5t08uv6lVYFdRsn4XNPn1MsHgFBwBMRG79ng3SyhoG4PrqBEi5q2IdLq3zfre/M6He3wlCpyO2VJNdGVoTIzeZ0Zz8jUscPV3XtWUchpGclLGSaKaq/JyNZeiYQ==";
/// `post /activitypub/success`, headers `host date (request-target)`: digest unsigned.
const SIG_POST_NO_DIGEST: &str = "CPD704CG8aCm8X8qIP8kkkiGp1qwFLk/wMVQHOGP0Txxan8c2DZtg/KK7eN8RG8tHx8br/yS2hJs51x4kXImYukGzNJd7ihE3T8lp+9RI1tCcdobTzr/VcVJHDFySdQkg266GCMijRQRZfNvqlJLiisr817PI+gNVBI5qV+vnVd1XhWCEZ+YSmMe8UqYARXAYNqMykTheojqGpTeTFGPUpTQA2Fmt2BipwIjcFDm2Hpihl2kB0MUS0x3zPmHDuadvzoBbN6m3usPDLgYrpALlh+wDs1dYMntcwdwawRKY1oE1XNtgOSum12wntDq3uYL4gya2iPdcw3c929b4koUzw==";

fn key() -> SigningKey {
    SigningKey::from_pem(ACTOR_KEY).unwrap()
}

/// Mastodon's `build_signature_string` output for the given headers and signature.
fn header(covered: &str, signature: &str) -> String {
    format!(
        r#"keyId="{KEY_ID}",algorithm="rsa-sha256",headers="{covered}",signature="{signature}""#
    )
}

/// Signs `req` over `covered` with Fulmar's signer and returns the Signature header.
fn fulmar_signature(req: &Req, covered: &[&str]) -> String {
    let mut headers = req.headers.clone();
    sign_covering(&req.method, &req.uri, &mut headers, KEY_ID, &key(), covered).unwrap();
    headers["signature"].to_str().unwrap().to_owned()
}

fn get(target: &str, date: &str) -> Req {
    Req::new("GET", target)
        .header("host", HOST)
        .header("date", date)
}

fn post(target: &str, body: &[u8]) -> Req {
    Req::new("POST", target)
        .header("host", HOST)
        .header("date", DATE)
        .header("digest", HELLO_DIGEST)
        .body(body)
}

const GET_COVERED: [&str; 3] = ["date", "host", "(request-target)"];
const POST_COVERED: [&str; 4] = ["host", "date", "digest", "(request-target)"];

#[test]
fn fulmar_reproduces_every_signature_in_the_spec() {
    let cases: [(Req, &[&str], &str); 6] = [
        (get("/activitypub/success", DATE), &GET_COVERED, SIG_GET),
        (
            get("/activitypub/success?foo=42", DATE),
            &GET_COVERED,
            SIG_GET_QUERY,
        ),
        (
            get("/activitypub/success", "wrong date"),
            &GET_COVERED,
            SIG_WRONG_DATE,
        ),
        (
            get("/activitypub/success", "Wed, 18 Dec 2023 10:00:00 GMT"),
            &GET_COVERED,
            SIG_OLD_DATE,
        ),
        (
            post("/activitypub/success", b"Hello world"),
            &POST_COVERED,
            SIG_POST,
        ),
        (
            post("/activitypub/success", b"Hello world"),
            &["host", "date", "(request-target)"],
            SIG_POST_NO_DIGEST,
        ),
    ];
    for (req, covered, expected) in cases {
        assert_eq!(
            fulmar_signature(&req, covered),
            header(&covered.join(" "), expected),
            "{} {}",
            req.method,
            req.uri
        );
    }
}

#[test]
fn the_spec_digest_of_hello_world() {
    assert_eq!(digest_header(b"Hello world"), HELLO_DIGEST);
}

#[test]
fn valid_get_verifies() {
    let req = get("/activitypub/success", DATE)
        .header("signature", &header("date host (request-target)", SIG_GET));
    let signed = req.parse(at(NOW)).unwrap();
    assert_eq!(signed.key_id(), KEY_ID);
    assert_eq!(signed.standard(), Standard::DraftCavage);
    assert_eq!(
        signed.signature_base(),
        b"date: Wed, 20 Dec 2023 10:00:00 GMT\nhost: www.example.com\n(request-target): get /activitypub/success"
    );
    signed.verify(&key().public_key().unwrap()).unwrap();
}

#[test]
fn valid_get_with_query_string_verifies() {
    let req = get("/activitypub/success?foo=42", DATE).header(
        "signature",
        &header("date host (request-target)", SIG_GET_QUERY),
    );
    req.parse(at(NOW))
        .unwrap()
        .verify(&key().public_key().unwrap())
        .unwrap();
}

#[test]
fn signature_without_the_query_string_still_verifies() {
    // "when the query string is missing from the signature verification (compatibility
    // quirk)": signed over the bare path, requested with ?foo=42.
    let req = get("/activitypub/success?foo=42", DATE)
        .header("signature", &header("date host (request-target)", SIG_GET));
    req.parse(at(NOW))
        .unwrap()
        .verify(&key().public_key().unwrap())
        .unwrap();
}

#[test]
fn mismatching_query_string_fails() {
    let req = get("/activitypub/success?foo=43", DATE).header(
        "signature",
        &header("date host (request-target)", SIG_GET_QUERY),
    );
    let err = req
        .parse(at(NOW))
        .unwrap()
        .verify(&key().public_key().unwrap())
        .unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature { .. }), "{err}");
    assert!(err.may_be_stale_key());
}

#[test]
fn mismatching_path_fails() {
    let req = get("/activitypub/alternative-path", DATE)
        .header("signature", &header("date host (request-target)", SIG_GET));
    let err = req
        .parse(at(NOW))
        .unwrap()
        .verify(&key().public_key().unwrap())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("signature verification failed for key {KEY_ID}")
    );
}

#[test]
fn mismatching_method_fails() {
    // A GET signature replayed as a POST: Fulmar refuses it before any key fetch, since a
    // POST must sign its digest, and the signature would not verify anyway.
    let req = Req::new("POST", "/activitypub/success")
        .header("host", HOST)
        .header("date", DATE)
        .header("signature", &header("date host (request-target)", SIG_GET));
    let err = req.parse(at(NOW)).unwrap_err();
    assert_eq!(err, SignatureError::MissingDigest("Digest"));
    let relaxed = crate::signatures::Policy {
        require_coverage: false,
        ..Default::default()
    };
    let err = req
        .parse_with(&relaxed, at(NOW))
        .unwrap()
        .verify(&key().public_key().unwrap())
        .unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature { .. }));
}

#[test]
fn unparsable_date_fails() {
    let req = get("/activitypub/success", "wrong date").header(
        "signature",
        &header("date host (request-target)", SIG_WRONG_DATE),
    );
    let err = req.parse(at(NOW)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid Date header: not an RFC 9110 HTTP date: \"wrong date\""
    );
}

#[test]
fn request_older_than_a_day_fails() {
    let req = get("/activitypub/success", "Wed, 18 Dec 2023 10:00:00 GMT").header(
        "signature",
        &header("date host (request-target)", SIG_OLD_DATE),
    );
    let err = req.parse(at(NOW)).unwrap_err();
    assert!(matches!(err, SignatureError::Stale { .. }), "{err}");
    assert!(err
        .to_string()
        .starts_with("signed request date outside the acceptable time window"));
    // The same request is fine when it is fresh: the only fault is the date.
    req.parse(at(NOW - 2 * 86_400))
        .unwrap()
        .verify(&key().public_key().unwrap())
        .unwrap();
}

#[test]
fn missing_date_fails() {
    // The spec's GET without a Date header: nothing to check the signature's age against.
    let req = Req::new("GET", "/activitypub/success")
        .header("host", HOST)
        .header("signature", &header("date host (request-target)", SIG_GET));
    assert_eq!(
        req.parse(at(NOW)).unwrap_err(),
        SignatureError::MissingHeader("date".into())
    );
    let req = Req::new("GET", "/activitypub/success")
        .header("host", HOST)
        .header("date", DATE)
        .header("signature", &header("host (request-target)", SIG_GET));
    assert_eq!(
        req.parse(at(NOW)).unwrap_err().to_string(),
        "the signature must cover the Date header or (created)"
    );
}

#[test]
fn valid_post_verifies() {
    let req = post("/activitypub/success", b"Hello world").header(
        "signature",
        &header("host date digest (request-target)", SIG_POST),
    );
    let signed = req.parse(at(NOW)).unwrap();
    signed.verify(&key().public_key().unwrap()).unwrap();
}

#[test]
fn post_without_signed_digest_fails() {
    let req = post("/activitypub/success", b"Hello world").header(
        "signature",
        &header("host date (request-target)", SIG_POST_NO_DIGEST),
    );
    let err = req.parse(at(NOW)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a request with a body must carry a signed Digest header"
    );
}

#[test]
fn tampered_body_fails_on_the_digest() {
    let req = post("/activitypub/success", b"Hello world!").header(
        "signature",
        &header("host date digest (request-target)", SIG_POST),
    );
    let err = req.parse(at(NOW)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid Digest value: computed SHA-256 digest wFNeS+K3n/2TKRMFQ2v4iTFOSj+uwF7P/Lt98xrZ5Ro=, \
         given ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="
    );
}

#[test]
fn tampered_path_in_post_fails() {
    let req = post("/activitypub/alternative-path", b"Hello world").header(
        "signature",
        &header("host date digest (request-target)", SIG_POST),
    );
    let err = req
        .parse(at(NOW))
        .unwrap()
        .verify(&key().public_key().unwrap())
        .unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature { .. }));
}

#[test]
fn unsigned_request_is_reported_as_such() {
    let err = get("/activitypub/success", DATE)
        .parse(at(NOW))
        .unwrap_err();
    assert_eq!(err, SignatureError::NotSigned);
    assert_eq!(
        err.to_string(),
        "request is not signed: it has no Signature header"
    );
}

#[test]
fn the_signing_string_matches_what_mastodon_builds() {
    let req = post("/activitypub/success", b"Hello world");
    assert_eq!(
        signing_string(&req.method, &req.uri, &req.headers, &POST_COVERED).unwrap(),
        format!(
            "host: www.example.com\ndate: {DATE}\ndigest: {HELLO_DIGEST}\n(request-target): post /activitypub/success"
        )
        .into_bytes()
    );
}
