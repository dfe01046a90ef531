//! Round trips with fresh keys, tampering, wrong keys, odd algorithms, and garbage.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{HeaderMap, Method, Uri};

use super::{at, Req};
use crate::signatures::{
    cavage, rfc9421, sign_request, Algorithm, Policy, PublicKey, SignatureError, SigningKey,
    Standard,
};

/// 2024-01-01T00:00:00Z.
const NOW: u64 = 1_704_067_200;
const KEY_ID: &str = "https://fulmar.example/users/alice#main-key";

/// Two generated key pairs, shared by the tests: RSA key generation is slow.
fn keys() -> &'static [(SigningKey, PublicKey); 2] {
    static KEYS: OnceLock<[(SigningKey, PublicKey); 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        let make = || {
            let pem = crate::keys::generate_rsa_2048().unwrap();
            (
                SigningKey::from_pem(&pem.private_key_pem).unwrap(),
                PublicKey::from_pem(&pem.public_key_pem).unwrap(),
            )
        };
        [make(), make()]
    })
}

/// Signs a request to `url` as Fulmar sends it, and returns it as the receiver sees it:
/// an origin-form target and the same headers.
fn sent(method: &str, url: &str, body: Option<&[u8]>, extra: &[(&str, &str)]) -> Req {
    let method: Method = method.parse().unwrap();
    let uri: Uri = url.parse().unwrap();
    let mut headers = HeaderMap::new();
    for (name, value) in extra {
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    sign_request(
        &method,
        &uri,
        &mut headers,
        body,
        KEY_ID,
        &keys()[0].0,
        at(NOW),
    )
    .unwrap();
    received(method, &uri, headers, body)
}

fn received(method: Method, uri: &Uri, headers: HeaderMap, body: Option<&[u8]>) -> Req {
    Req {
        method,
        uri: uri.path_and_query().unwrap().as_str().parse().unwrap(),
        headers,
        body: body.unwrap_or_default().to_vec(),
        scheme: if uri.scheme_str() == Some("http") {
            "http"
        } else {
            "https"
        },
    }
}

#[test]
fn outgoing_post_has_the_expected_headers_and_verifies() {
    let body = br#"{"type":"Follow"}"#;
    let req = sent(
        "POST",
        "https://peer.example:8443/users/bob/inbox?x=1",
        Some(body),
        &[("content-type", "application/activity+json")],
    );
    assert_eq!(req.headers["host"], "peer.example:8443");
    assert_eq!(req.headers["date"], "Mon, 01 Jan 2024 00:00:00 GMT");
    assert!(req.headers["digest"]
        .to_str()
        .unwrap()
        .starts_with("SHA-256="));
    let signature = req.headers["signature"].to_str().unwrap();
    assert!(signature.starts_with(&format!(
        r#"keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date digest content-type",signature=""#
    )));
    let signed = req.parse(at(NOW + 30)).unwrap();
    assert_eq!(
        std::str::from_utf8(signed.signature_base()).unwrap(),
        format!(
            "(request-target): post /users/bob/inbox?x=1\nhost: peer.example:8443\n\
             date: Mon, 01 Jan 2024 00:00:00 GMT\ndigest: {}\n\
             content-type: application/activity+json",
            crate::signatures::digest_header(body)
        )
    );
    signed.verify(&keys()[0].1).unwrap();
}

#[test]
fn outgoing_get_signs_request_target_host_and_date() {
    let req = sent(
        "GET",
        "https://peer.example/users/bob",
        None,
        &[("accept", "application/activity+json")],
    );
    assert_eq!(req.headers["host"], "peer.example");
    assert!(req.headers.get("digest").is_none());
    assert!(req.headers["signature"]
        .to_str()
        .unwrap()
        .contains(r#"headers="(request-target) host date""#));
    req.parse(at(NOW)).unwrap().verify(&keys()[0].1).unwrap();
}

#[test]
fn tampering_and_wrong_keys_fail() {
    let body = br#"{"type":"Create"}"#;
    let good = sent(
        "POST",
        "https://peer.example/inbox",
        Some(body),
        &[("content-type", "application/activity+json")],
    );
    good.parse(at(NOW)).unwrap().verify(&keys()[0].1).unwrap();

    // A different body: caught by the digest, before the key is needed.
    let err = good
        .clone()
        .body(br#"{"type":"Delete"}"#)
        .parse(at(NOW))
        .unwrap_err();
    assert!(
        matches!(err, SignatureError::DigestMismatch { .. }),
        "{err}"
    );
    assert!(!err.may_be_stale_key());

    // A different signed header, path, host or method.
    let mut changed = good.clone();
    changed.set("content-type", "text/html");
    let mut other_host = good.clone();
    other_host.set("host", "evil.example");
    let mut other_path = good.clone();
    other_path.uri = "/users/carol/inbox".parse().unwrap();
    let mut other_method = good.clone();
    other_method.method = Method::PUT;
    for req in [changed, other_host, other_path, other_method] {
        let err = req
            .parse(at(NOW))
            .unwrap()
            .verify(&keys()[0].1)
            .unwrap_err();
        assert!(err.may_be_stale_key(), "{err}");
    }

    // The wrong key fails; the caller refetches and the same parsed request verifies.
    let signed = good.parse(at(NOW)).unwrap();
    let err = signed.verify(&keys()[1].1).unwrap_err();
    assert_eq!(
        err,
        SignatureError::BadSignature {
            key_id: KEY_ID.into()
        }
    );
    assert!(err.may_be_stale_key());
    signed.verify(&keys()[0].1).unwrap();

    // An unsigned header may change freely.
    let mut unsigned = good.clone();
    unsigned.set("user-agent", "something else");
    unsigned
        .parse(at(NOW))
        .unwrap()
        .verify(&keys()[0].1)
        .unwrap();
}

#[test]
fn algorithm_names() {
    let good = sent("GET", "https://peer.example/users/bob", None, &[]);
    let signature = good.headers["signature"].to_str().unwrap().to_owned();
    let with = |alg: &str| {
        let mut req = good.clone();
        req.set("signature", &signature.replace("rsa-sha256", alg));
        req
    };
    // hs2019 with an RSA key means RSASSA-PKCS1-v1_5 SHA-256, as GoToSocial sends it.
    with("hs2019")
        .parse(at(NOW))
        .unwrap()
        .verify(&keys()[0].1)
        .unwrap();
    // A key known to be for PSS contradicts an explicit rsa-sha256.
    let pss = PublicKey::from_der(keys()[0].1.der())
        .unwrap()
        .with_algorithm(Algorithm::RsaPssSha512);
    assert_eq!(
        good.parse(at(NOW)).unwrap().verify(&pss).unwrap_err(),
        SignatureError::AlgorithmMismatch {
            claimed: "rsa-sha256",
            key: "rsa-pss-sha512"
        }
    );
    for alg in ["ed25519", "hmac-sha256", "rsa-sha1", "ecdsa-sha256", ""] {
        let err = with(alg).parse(at(NOW)).unwrap_err();
        assert_eq!(
            err,
            SignatureError::UnsupportedAlgorithm(alg.into()),
            "{alg}"
        );
        assert!(err.to_string().contains("unsupported signature algorithm"));
    }
    // Without an algorithm parameter Mastodon assumes hs2019, and so does Fulmar.
    let mut none = good.clone();
    none.set(
        "signature",
        &signature.replace(r#"algorithm="rsa-sha256","#, ""),
    );
    none.parse(at(NOW)).unwrap().verify(&keys()[0].1).unwrap();
}

#[test]
fn hs2019_with_created_and_expires() {
    // What GoToSocial-style senders do: (created) instead of Date, and an expiry.
    let (key, public) = &keys()[0];
    let created = NOW - 10;
    let expires = NOW + 290;
    let mut req = Req::new("POST", "/inbox")
        .header("host", "fulmar.example")
        .body(b"{}");
    req.set("digest", &crate::signatures::digest_header(b"{}"));
    let base = format!(
        "(request-target): post /inbox\n(created): {created}\n(expires): {expires}\nhost: fulmar.example\ndigest: {}",
        req.headers["digest"].to_str().unwrap()
    );
    let sig = STANDARD.encode(
        key.sign(Algorithm::RsaPkcs1Sha256, base.as_bytes())
            .unwrap(),
    );
    req.set(
        "signature",
        &format!(
            r#"keyId="{KEY_ID}",algorithm="hs2019",created={created},expires={expires},headers="(request-target) (created) (expires) host digest",signature="{sig}""#
        ),
    );
    let signed = req.parse(at(NOW)).unwrap();
    assert_eq!(signed.signature_base(), base.as_bytes());
    signed.verify(public).unwrap();
    assert!(matches!(
        req.parse(at(expires + 1)).unwrap_err(),
        SignatureError::Expired { .. }
    ));
    assert!(matches!(
        req.parse(at(created - 3601)).unwrap_err(),
        SignatureError::FromTheFuture { .. }
    ));
    // An `expires` that is not signed cannot lengthen a Date-based signature's life.
    let get = sent("GET", "https://peer.example/users/bob", None, &[]);
    let mut stretched = get.clone();
    let value = get.headers["signature"].to_str().unwrap().replace(
        "algorithm=",
        &format!("expires={},algorithm=", NOW + 86_400),
    );
    stretched.set("signature", &value);
    stretched
        .parse(at(NOW + 60))
        .unwrap()
        .verify(public)
        .unwrap();
    assert!(matches!(
        stretched.parse(at(NOW + 2 * 3600)).unwrap_err(),
        SignatureError::Stale { .. }
    ));
    // But it can shorten it.
    let mut shortened = get.clone();
    let value = get.headers["signature"]
        .to_str()
        .unwrap()
        .replace("algorithm=", &format!("expires={},algorithm=", NOW + 30));
    shortened.set("signature", &value);
    assert!(matches!(
        shortened.parse(at(NOW + 60)).unwrap_err(),
        SignatureError::Expired { .. }
    ));

    // The same pseudo-headers under rsa-sha256 are refused (draft-cavage-12 §2.3).
    let mut rsa = req.clone();
    let value = req.headers["signature"]
        .to_str()
        .unwrap()
        .replace("hs2019", "rsa-sha256");
    rsa.set("signature", &value);
    assert!(matches!(
        rsa.parse(at(NOW)).unwrap_err(),
        SignatureError::InvalidPseudoHeader {
            name: "(created)",
            ..
        }
    ));
    // Signing (created) without its parameter is refused too.
    let mut missing = req.clone();
    let value = req.headers["signature"]
        .to_str()
        .unwrap()
        .replace(&format!("created={created},"), "");
    missing.set("signature", &value);
    assert!(matches!(
        missing.parse(at(NOW)).unwrap_err(),
        SignatureError::InvalidPseudoHeader {
            name: "(created)",
            ..
        }
    ));
}

#[test]
fn rfc9421_round_trips_with_both_algorithms() {
    for algorithm in [Algorithm::RsaPkcs1Sha256, Algorithm::RsaPssSha512] {
        let method = Method::POST;
        let uri: Uri = "https://peer.example/users/bob/inbox".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/activity+json".parse().unwrap());
        let body = br#"{"type":"Like"}"#;
        rfc9421::sign_request(
            &method,
            &uri,
            &mut headers,
            Some(body),
            KEY_ID,
            &keys()[0].0,
            algorithm,
            at(NOW),
        )
        .unwrap();
        assert_eq!(
            headers["signature-input"].to_str().unwrap(),
            format!(
                r#"sig1=("@method" "@target-uri" "content-digest" "content-type");created={NOW};keyid="{KEY_ID}";alg="{}""#,
                algorithm.rfc9421_name()
            )
        );
        let req = received(method, &uri, headers, Some(body));
        let signed = req.parse(at(NOW + 5)).unwrap();
        assert_eq!(signed.standard(), Standard::Rfc9421);
        assert_eq!(signed.key_id(), KEY_ID);
        assert!(std::str::from_utf8(signed.signature_base())
            .unwrap()
            .starts_with(
                "\"@method\": POST\n\"@target-uri\": https://peer.example/users/bob/inbox\n"
            ));
        signed.verify(&keys()[0].1).unwrap();
        assert!(signed.verify(&keys()[1].1).unwrap_err().may_be_stale_key());
        // A key pinned to the other algorithm contradicts `alg`.
        let other = match algorithm {
            Algorithm::RsaPkcs1Sha256 => Algorithm::RsaPssSha512,
            Algorithm::RsaPssSha512 => Algorithm::RsaPkcs1Sha256,
        };
        let pinned = PublicKey::from_der(keys()[0].1.der())
            .unwrap()
            .with_algorithm(other);
        assert!(matches!(
            signed.verify(&pinned),
            Err(SignatureError::AlgorithmMismatch { .. })
        ));
        // The target URI covers the scheme: the same request seen over http fails.
        let mut plain = req.clone();
        plain.scheme = "http";
        assert!(plain.parse(at(NOW)).unwrap().verify(&keys()[0].1).is_err());
        // And the body is bound through Content-Digest.
        assert!(matches!(
            req.clone().body(b"{}").parse(at(NOW)).unwrap_err(),
            SignatureError::DigestMismatch {
                header: "Content-Digest",
                ..
            }
        ));
    }
}

#[test]
fn rfc9421_get_round_trip_and_coverage_rules() {
    let method = Method::GET;
    let uri: Uri = "https://peer.example/users/bob?page=2".parse().unwrap();
    let mut headers = HeaderMap::new();
    rfc9421::sign_request(
        &method,
        &uri,
        &mut headers,
        None,
        KEY_ID,
        &keys()[0].0,
        Algorithm::RsaPkcs1Sha256,
        at(NOW),
    )
    .unwrap();
    let req = received(method, &uri, headers, None);
    req.parse(at(NOW)).unwrap().verify(&keys()[0].1).unwrap();

    let with_input = |input: &str| {
        let mut r = req.clone();
        r.set("signature-input", input);
        r.set("signature", "sig1=:AAAA:");
        r
    };
    let cases: [(&str, SignatureError); 9] = [
        (
            r#"sig1=("@target-uri");created=1704067200;keyid="k""#,
            SignatureError::MissingCoverage("@method"),
        ),
        (
            r#"sig1=("@method" "@path");created=1704067200;keyid="k""#,
            SignatureError::MissingCoverage("@target-uri (or @authority with @path)"),
        ),
        (
            r#"sig1=("@method" "@target-uri");keyid="k""#,
            SignatureError::MissingParameter("created"),
        ),
        (
            r#"sig1=("@method" "@target-uri");created=1704067200"#,
            SignatureError::MissingParameter("keyid"),
        ),
        (
            r#"sig1=("@method" "@target-uri" "@method");created=1704067200;keyid="k""#,
            SignatureError::DuplicateComponent("\"@method\"".into()),
        ),
        (
            r#"sig1=("@method" "@target-uri" "@status");created=1704067200;keyid="k""#,
            SignatureError::UnsupportedComponent("@status".into()),
        ),
        (
            r#"sig1=("@method" "@target-uri" "accept";sf);created=1704067200;keyid="k""#,
            SignatureError::UnsupportedComponentParameter {
                component: "accept".into(),
                parameter: "sf".into(),
            },
        ),
        (
            r#"sig1=("@method" "@target-uri");created=1704067200;keyid="k";alg="ed25519""#,
            SignatureError::UnsupportedAlgorithm("ed25519".into()),
        ),
        (
            r#"sig1=("@method" "@target-uri");created=1704067200;expires=1704067100;keyid="k""#,
            SignatureError::Expired {
                expires: 1_704_067_100,
                ago_secs: 100,
            },
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            with_input(input).parse(at(NOW)).unwrap_err(),
            expected,
            "{input}"
        );
    }
    for bad in [
        r#"sig1=("@method" "@target-uri" "Accept");created=1704067200;keyid="k""#,
        r#"sig1=("@method" "@target-uri" "@signature-params");created=1704067200;keyid="k""#,
        r#"sig1="@method";created=1704067200;keyid="k""#,
        r#"sig1=(@method);created=1704067200;keyid="k""#,
        r#"sig1=("@method" "@target-uri" "@query-param");created=1704067200;keyid="k""#,
        r#"sig1=("@method" "@target-uri");created="1704067200";keyid="k""#,
    ] {
        assert!(with_input(bad).parse(at(NOW)).is_err(), "{bad}");
    }
    // Key material aside, a POST without Content-Digest coverage is refused.
    let post = Req::new("POST", "/inbox")
        .header("host", "peer.example")
        .header(
            "signature-input",
            r#"sig1=("@method" "@target-uri");created=1704067200;keyid="k""#,
        )
        .header("signature", "sig1=:AAAA:")
        .body(b"{}");
    assert_eq!(
        post.parse(at(NOW)).unwrap_err(),
        SignatureError::MissingDigest("Content-Digest")
    );
}

#[test]
fn error_messages_read_as_sentences() {
    let samples = [
        SignatureError::MissingCoverage("(request-target)"),
        SignatureError::MissingHeader("digest".into()),
        SignatureError::UnsupportedAlgorithm("ed25519".into()),
        SignatureError::Stale {
            signed_at: 1,
            age_secs: 2,
        },
        SignatureError::BadSignature {
            key_id: KEY_ID.into(),
        },
        SignatureError::malformed("Signature", "expected = after parameter keyId"),
    ];
    let texts: Vec<String> = samples.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "the signature must cover (request-target)",
            "digest is listed as signed but is absent from the request",
            "unsupported signature algorithm \"ed25519\" (Fulmar accepts rsa-sha256 and hs2019 with RSA keys for draft-cavage signatures, rsa-v1_5-sha256 and rsa-pss-sha512 for RFC 9421)",
            "signed request date outside the acceptable time window: signed at 1 (unix time), 2 s ago",
            "signature verification failed for key https://fulmar.example/users/alice#main-key",
            "malformed Signature header: expected = after parameter keyId",
        ]
    );
}

#[test]
fn signing_refuses_what_it_cannot_express() {
    let (key, _) = &keys()[0];
    let mut headers = HeaderMap::new();
    let uri: Uri = "https://peer.example/inbox".parse().unwrap();
    for bad in ["", "with\"quote", "back\\slash", "new\nline"] {
        assert!(
            sign_request(&Method::GET, &uri, &mut headers, None, bad, key, at(NOW)).is_err(),
            "{bad:?}"
        );
    }
    let relative: Uri = "/inbox".parse().unwrap();
    assert!(matches!(
        sign_request(
            &Method::GET,
            &relative,
            &mut headers,
            None,
            KEY_ID,
            key,
            at(NOW)
        ),
        Err(SignatureError::NoAuthority(_))
    ));
    assert!(sign_request(
        &Method::GET,
        &uri,
        &mut headers,
        None,
        KEY_ID,
        key,
        std::time::UNIX_EPOCH - std::time::Duration::from_secs(1)
    )
    .is_err());
    assert!(
        cavage::sign_covering(&Method::GET, &uri, &mut headers, KEY_ID, key, &["Host"]).is_err()
    );
    assert!(cavage::sign_covering(
        &Method::GET,
        &uri,
        &mut headers,
        KEY_ID,
        key,
        &["x-missing"]
    )
    .is_err());
}

/// A small deterministic generator, so failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Everything that can appear in these headers, and then some.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t\"\\,;=:()@?*-_./+<>[]{}#%&'!^`|~\xc3\xa9\x80\xff";

fn garbage(rng: &mut XorShift, max: usize) -> Vec<u8> {
    let len = rng.below(max);
    (0..len)
        .map(|_| ALPHABET[rng.below(ALPHABET.len())])
        .collect()
}

/// Every outcome must be a value, never a panic. A mangled request may still verify when
/// the mangling touched nothing signed (an unsigned header, spacing between parameters),
/// but then what was verified must be exactly what the sender signed.
fn verifies_only_unchanged(req: &Req, policy: &Policy, original_base: &[u8]) {
    if let Ok(signed) = req.parse_with(policy, at(NOW)) {
        for (i, (_, public)) in keys().iter().enumerate() {
            if signed.verify(public).is_ok() {
                assert_eq!(i, 0, "verified with the wrong key");
                assert_eq!(
                    String::from_utf8_lossy(signed.signature_base()),
                    String::from_utf8_lossy(original_base),
                    "{req:?}"
                );
            }
        }
    }
}

#[test]
fn garbage_and_truncated_headers_are_errors_not_panics() {
    let relaxed = Policy {
        require_coverage: false,
        ..Policy::default()
    };
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let cavage_sample = sent(
        "POST",
        "https://peer.example/inbox?a=b",
        Some(b"{}"),
        &[("content-type", "application/json")],
    );
    let mut rfc_headers = HeaderMap::new();
    let uri: Uri = "https://peer.example/inbox?a=b".parse().unwrap();
    rfc_headers.insert("content-type", "application/json".parse().unwrap());
    rfc9421::sign_request(
        &Method::POST,
        &uri,
        &mut rfc_headers,
        Some(b"{}"),
        KEY_ID,
        &keys()[0].0,
        Algorithm::RsaPkcs1Sha256,
        at(NOW),
    )
    .unwrap();
    let rfc_sample = received(Method::POST, &uri, rfc_headers, Some(b"{}"));
    let cavage_base = cavage_sample
        .parse(at(NOW))
        .unwrap()
        .signature_base()
        .to_vec();
    let rfc_base = rfc_sample.parse(at(NOW)).unwrap().signature_base().to_vec();

    // Every prefix of every signature header of both standards (a truncated valid header
    // is the most plausible malformed input).
    for (sample, base, name) in [
        (&cavage_sample, &cavage_base, "signature"),
        (&cavage_sample, &cavage_base, "digest"),
        (&rfc_sample, &rfc_base, "signature-input"),
        (&rfc_sample, &rfc_base, "signature"),
        (&rfc_sample, &rfc_base, "content-digest"),
    ] {
        let full = sample.headers[name].as_bytes().to_vec();
        for cut in 0..full.len() {
            let mut req = sample.clone();
            req.headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_bytes(&full[..cut]).unwrap(),
            );
            for policy in [&Policy::default(), &relaxed] {
                verifies_only_unchanged(&req, policy, base);
            }
        }
    }

    // Random values, and valid values with random bytes spliced in.
    let targets = [
        "signature",
        "signature-input",
        "authorization",
        "digest",
        "content-digest",
        "date",
        "host",
    ];
    for round in 0..3000 {
        let (mut req, base) = if round % 2 == 0 {
            (cavage_sample.clone(), &cavage_base)
        } else {
            (rfc_sample.clone(), &rfc_base)
        };
        let name = targets[rng.below(targets.len())];
        let value = match (rng.below(3), req.headers.get(name)) {
            (0, Some(existing)) => {
                let mut v = existing.as_bytes().to_vec();
                let at = rng.below(v.len() + 1);
                let noise = garbage(&mut rng, 8);
                v.splice(at..at, noise);
                v
            }
            (1, _) => {
                let mut v = b"keyId=\"k\",headers=\"".to_vec();
                v.extend(garbage(&mut rng, 40));
                v.extend_from_slice(b"\",signature=\"AAAA\"");
                v
            }
            _ => garbage(&mut rng, 80),
        };
        let Ok(value) = http::HeaderValue::from_bytes(&value) else {
            continue;
        };
        req.headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value,
        );
        if rng.below(4) == 0 {
            req.body = garbage(&mut rng, 16);
        }
        for policy in [&Policy::default(), &relaxed] {
            verifies_only_unchanged(&req, policy, base);
        }
    }
}
