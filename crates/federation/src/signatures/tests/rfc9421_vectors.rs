//! RFC 9421 Appendix B: the `test-key-rsa-pss` key (B.1.2), the test request (B.2), the
//! signatures of B.2.1, B.2.2 and B.2.3, and the example of §3.1/§3.2.
//!
//! RSA-PSS is randomised, so these signatures can only be verified, not re-created; the
//! signature bases Fulmar rebuilds are compared with the RFC's text byte for byte (after
//! undoing the RFC 8792 line wrapping the RFC prints them with).

use super::{at, unwrap_rfc8792, Req};
use crate::signatures::{Algorithm, Policy, PublicKey, SignatureError, Standard};

/// B.1.2 `test-key-rsa-pss`, public half (SubjectPublicKeyInfo, rsaEncryption OID).
const TEST_KEY_RSA_PSS: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
";

/// The `created` of every B.2 signature; verification happens a minute later.
const NOW: u64 = 1_618_884_473 + 60;

/// The key, marked as an RSA-PSS key: the B.2 signatures carry no `alg`, because "the
/// verifier is known by the application to use the RSA PSS algorithm based on the
/// identified key" (§2.5).
fn pss_key() -> PublicKey {
    PublicKey::from_pem(TEST_KEY_RSA_PSS)
        .unwrap()
        .with_algorithm(Algorithm::RsaPssSha512)
}

/// B.2 `test-request`.
fn test_request() -> Req {
    Req::new("POST", "/foo?param=Value&Pet=dog")
        .header("host", "example.com")
        .header("date", "Tue, 20 Apr 2021 02:07:55 GMT")
        .header("content-type", "application/json")
        .header(
            "content-digest",
            &unwrap_rfc8792(
                "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+T\\
                   aPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            ),
        )
        .header("content-length", "18")
        .body(br#"{"hello": "world"}"#)
}

fn signed(input: &str, signature: &str) -> Req {
    test_request()
        .header("signature-input", &unwrap_rfc8792(input))
        .header("signature", &unwrap_rfc8792(signature))
}

fn relaxed() -> Policy {
    Policy {
        require_coverage: false,
        ..Policy::default()
    }
}

#[test]
fn b_2_1_minimal_signature() {
    let req = signed(
        r#"sig-b21=();created=1618884473\
  ;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#,
        r#"sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopem\
  LJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG\
  52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx\
  2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6\
  UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3\
  +7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:"#,
    );
    let signed = req.parse_with(&relaxed(), at(NOW)).unwrap();
    assert_eq!(signed.standard(), Standard::Rfc9421);
    assert_eq!(signed.label(), Some("sig-b21"));
    assert_eq!(signed.key_id(), "test-key-rsa-pss");
    assert_eq!(
        std::str::from_utf8(signed.signature_base()).unwrap(),
        unwrap_rfc8792(
            r#""@signature-params": ();created=1618884473;keyid="test-key-rsa-pss"\
  ;nonce="b3k2pp5k7z-50gnwp.yemd""#
        )
    );
    signed.verify(&pss_key()).unwrap();
    // Without knowing the key is for PSS, an RSA key means rsa-v1_5-sha256: no match.
    let plain = PublicKey::from_pem(TEST_KEY_RSA_PSS).unwrap();
    assert!(matches!(
        signed.verify(&plain),
        Err(SignatureError::BadSignature { .. })
    ));
    // Covering nothing is far too little for an inbox (RFC 9421 §7.2.1).
    assert_eq!(
        req.parse(at(NOW)).unwrap_err(),
        SignatureError::MissingCoverage("@method")
    );
}

#[test]
fn b_2_2_selective_covered_components() {
    let req = signed(
        r#"sig-b22=("@authority" "content-digest" \
  "@query-param";name="Pet");created=1618884473\
  ;keyid="test-key-rsa-pss";tag="header-example""#,
        r#"sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQ\
  EdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT\
  8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SA\
  RYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd\
  4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoK\
  UqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:"#,
    );
    let signed = req.parse_with(&relaxed(), at(NOW)).unwrap();
    assert_eq!(
        std::str::from_utf8(signed.signature_base()).unwrap(),
        unwrap_rfc8792(
            r#""@authority": example.com
"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX\
  +TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:
"@query-param";name="Pet": dog
"@signature-params": ("@authority" "content-digest" \
  "@query-param";name="Pet")\
  ;created=1618884473;keyid="test-key-rsa-pss"\
  ;tag="header-example""#
        )
    );
    signed.verify(&pss_key()).unwrap();
}

#[test]
fn b_2_3_full_coverage() {
    let req = signed(
        r#"sig-b23=("date" "@method" "@path" "@query" \
  "@authority" "content-type" "content-digest" "content-length")\
  ;created=1618884473;keyid="test-key-rsa-pss""#,
        r#"sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yB\
  iMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fU\
  xN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1\
  pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9\
  bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5Z\
  JzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:"#,
    );
    // Full coverage meets Fulmar's own policy: @method, @authority + @path, and a
    // Content-Digest (SHA-512 here) that matches the body.
    let signed = req.parse(at(NOW)).unwrap();
    assert_eq!(
        std::str::from_utf8(signed.signature_base()).unwrap(),
        unwrap_rfc8792(
            r#""date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@query": ?param=Value&Pet=dog
"@authority": example.com
"content-type": application/json
"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX\
  +TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@query" \
  "@authority" "content-type" "content-digest" "content-length")\
  ;created=1618884473;keyid="test-key-rsa-pss""#
        )
    );
    signed.verify(&pss_key()).unwrap();

    // The same signature over a changed request fails, and a changed body is caught by
    // the digest before any key is needed.
    let mut tampered = req.clone();
    tampered.set("content-type", "text/plain");
    let err = tampered
        .parse(at(NOW))
        .unwrap()
        .verify(&pss_key())
        .unwrap_err();
    assert!(matches!(err, SignatureError::BadSignature { .. }));
    let tampered = req.clone().body(br#"{"hello": "World"}"#);
    assert!(matches!(
        tampered.parse(at(NOW)).unwrap_err(),
        SignatureError::DigestMismatch {
            algorithm: "SHA-512",
            ..
        }
    ));
    // The signature is from 2021: it is stale today.
    assert!(matches!(
        req.parse(std::time::SystemTime::now()).unwrap_err(),
        SignatureError::Stale { .. }
    ));
}

#[test]
fn section_3_example_signature() {
    // §3.1 signs the §2.5 example base; §3.2 verifies it.
    let req = signed(
        r#"sig1=("@method" "@authority" "@path" \
  "content-digest" "content-length" "content-type")\
  ;created=1618884473;keyid="test-key-rsa-pss""#,
        r#"sig1=:HIbjHC5rS0BYaa9v4QfD4193TORw7u9edguPh0AW3dMq9WImrl\
  FrCGUDih47vAxi4L2YRZ3XMJc1uOKk/J0ZmZ+wcta4nKIgBkKq0rM9hs3CQyxXGxH\
  LMCy8uqK488o+9jrptQ+xFPHK7a9sRL1IXNaagCNN3ZxJsYapFj+JXbmaI5rtAdSf\
  SvzPuBCh+ARHBmWuNo1UzVVdHXrl8ePL4cccqlazIJdC4QEjrF+Sn4IxBQzTZsL9y\
  9TP5FsZYzHvDqbInkTNigBcE9cKOYNFCn4D/WM7F6TNuZO9EgtzepLWcjTymlHzK7\
  aXq6Am6sfOrpIC49yXjj3ae6HRalVc/g==:"#,
    );
    let signed = req.parse(at(NOW)).unwrap();
    assert_eq!(
        std::str::from_utf8(signed.signature_base()).unwrap(),
        unwrap_rfc8792(
            r#""@method": POST
"@authority": example.com
"@path": /foo
"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX\
  +TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:
"content-length": 18
"content-type": application/json
"@signature-params": ("@method" "@authority" "@path" \
  "content-digest" "content-length" "content-type")\
  ;created=1618884473;keyid="test-key-rsa-pss""#
        )
    );
    signed.verify(&pss_key()).unwrap();
}

#[test]
fn several_signatures_pick_the_first_or_the_preferred_label() {
    let b21_input =
        r#"sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd""#;
    let b21_sig = "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:";
    let other_input = r#"proxy=("@method");created=1618884473;keyid="someone-else""#;
    let other_sig = "proxy=:AAAA:";
    // Two field lines for each header, combined as RFC 9110 §5.3 says.
    let req = test_request()
        .header("signature-input", b21_input)
        .header("signature-input", other_input)
        .header("signature", other_sig)
        .header("signature", b21_sig);
    let first = req.parse_with(&relaxed(), at(NOW)).unwrap();
    assert_eq!(first.label(), Some("sig-b21"));
    first.verify(&pss_key()).unwrap();
    let policy = Policy {
        preferred_label: Some("proxy".into()),
        ..relaxed()
    };
    let proxy = req.parse_with(&policy, at(NOW)).unwrap();
    assert_eq!(proxy.key_id(), "someone-else");
}
