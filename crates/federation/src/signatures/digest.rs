//! Body digests: the RFC 3230 `Digest` header that draft-cavage signatures cover, and the
//! RFC 9530 `Content-Digest` header that RFC 9421 signatures cover.
//!
//! A signature covers headers, not the body, so a signed request proves its body only
//! through a signed digest header that this module checks against the bytes received.
//! Digests are public values, so they are compared with plain equality; constant-time
//! comparison buys nothing here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest as _, Sha256, Sha512};

use super::SignatureError;

/// The `Digest` header value for a body: `SHA-256=<base64>`.
///
/// The algorithm name is written in uppercase as RFC 3230 §4.3.2 and Mastodon write it.
/// Lowercase `sha-256=` is equally valid by the RFC (names are case-insensitive), but
/// Threads refused it in practice, so every sender should keep the uppercase spelling.
pub fn digest_header(body: &[u8]) -> String {
    let mut out = String::with_capacity(8 + 44);
    out.push_str("SHA-256=");
    STANDARD.encode_string(Sha256::digest(body), &mut out);
    out
}

/// The RFC 9530 `Content-Digest` header value for a body: `sha-256=:<base64>:`.
///
/// RFC 9530 makes the field a Structured Fields dictionary (RFC 8941) whose keys are the
/// lowercase names from the IANA Hash Algorithms registry and whose values are byte
/// sequences, which is what the colons delimit.
pub fn content_digest_header(body: &[u8]) -> String {
    let mut out = String::with_capacity(10 + 44 + 1);
    out.push_str("sha-256=:");
    STANDARD.encode_string(Sha256::digest(body), &mut out);
    out.push(':');
    out
}

/// A digest algorithm Fulmar computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    /// Looks up a digest algorithm by its case-insensitive name (RFC 3230 §4.1.1 says
    /// names are case-insensitive; RFC 9530 registers them in lowercase).
    fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("sha-256") {
            Some(Algorithm::Sha256)
        } else if name.eq_ignore_ascii_case("sha-512") {
            Some(Algorithm::Sha512)
        } else {
            None
        }
    }

    fn label(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512 => "SHA-512",
        }
    }
}

/// Computes each digest at most once, however many times the header repeats it.
#[derive(Default)]
struct Hashes<'a> {
    body: &'a [u8],
    sha256: Option<[u8; 32]>,
    sha512: Option<[u8; 64]>,
}

impl<'a> Hashes<'a> {
    fn new(body: &'a [u8]) -> Self {
        Hashes {
            body,
            sha256: None,
            sha512: None,
        }
    }

    fn get(&mut self, algorithm: Algorithm) -> &[u8] {
        match algorithm {
            Algorithm::Sha256 => self
                .sha256
                .get_or_insert_with(|| Sha256::digest(self.body).into()),
            Algorithm::Sha512 => self
                .sha512
                .get_or_insert_with(|| Sha512::digest(self.body).into()),
        }
    }

    /// Compares a received digest with the body's and explains a mismatch.
    fn check(
        &mut self,
        header: &'static str,
        algorithm: Algorithm,
        given: &[u8],
    ) -> Result<(), SignatureError> {
        let computed = self.get(algorithm);
        if computed == given {
            return Ok(());
        }
        Err(SignatureError::DigestMismatch {
            header,
            algorithm: algorithm.label(),
            computed: STANDARD.encode(computed),
            given: STANDARD.encode(given),
        })
    }
}

/// Checks an RFC 3230 `Digest` header (`SHA-256=<base64>[, SHA-512=<base64>]…`) against
/// the body.
///
/// Every supported algorithm that the header offers must match; algorithms Fulmar does not
/// compute (MD5, SHA…) are skipped, as RFC 3230 §4.3.2 lets a recipient ignore the ones it
/// does not know. At least one supported algorithm must be offered.
pub fn verify_digest_header(value: &[u8], body: &[u8]) -> Result<(), SignatureError> {
    const HEADER: &str = "Digest";
    let value =
        std::str::from_utf8(value).map_err(|_| SignatureError::malformed(HEADER, "not ASCII"))?;
    let mut hashes = Hashes::new(body);
    let mut checked = false;
    for entry in value.split(',') {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let Some((name, encoded)) = entry.split_once('=') else {
            return Err(SignatureError::malformed(
                HEADER,
                "each entry must read algorithm=base64",
            ));
        };
        let Some(algorithm) = Algorithm::from_name(name.trim()) else {
            continue;
        };
        let given = STANDARD.decode(encoded.trim()).map_err(|_| {
            SignatureError::malformed(
                HEADER,
                format!("the {} value is not base64", algorithm.label()),
            )
        })?;
        hashes.check(HEADER, algorithm, &given)?;
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(SignatureError::UnsupportedDigest {
            header: HEADER,
            offered: offered_names(value.split(',').map(|e| e.split('=').next().unwrap_or(""))),
        })
    }
}

/// Checks an RFC 9530 `Content-Digest` header (`sha-256=:<base64>:`) against the body.
///
/// The field is parsed as an RFC 8941 dictionary, so malformed values are refused rather
/// than guessed at. As with [`verify_digest_header`], every supported algorithm present
/// must match and unknown ones are ignored (RFC 9530 §2).
pub fn verify_content_digest(value: &[u8], body: &[u8]) -> Result<(), SignatureError> {
    const HEADER: &str = "Content-Digest";
    let dict: sfv::Dictionary = sfv::Parser::new(value)
        .with_version(sfv::Version::Rfc8941)
        .parse()
        .map_err(|e| SignatureError::malformed(HEADER, e.to_string()))?;
    let mut hashes = Hashes::new(body);
    let mut checked = false;
    for (name, entry) in &dict {
        let Some(algorithm) = Algorithm::from_name(name.as_str()) else {
            continue;
        };
        let given = match entry {
            sfv::ListEntry::Item(sfv::Item {
                bare_item: sfv::BareItem::ByteSequence(bytes),
                ..
            }) => bytes,
            _ => {
                return Err(SignatureError::malformed(
                    HEADER,
                    format!(
                        "the {name} value is not a byte sequence (:base64:)",
                        name = name.as_str()
                    ),
                ))
            }
        };
        hashes.check(HEADER, algorithm, given)?;
        checked = true;
    }
    if checked {
        Ok(())
    } else {
        Err(SignatureError::UnsupportedDigest {
            header: HEADER,
            offered: offered_names(dict.keys().map(|k| k.as_str())),
        })
    }
}

fn offered_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = names.map(str::trim).filter(|n| !n.is_empty()).collect();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_hello_world_matches_mastodon_spec() {
        // From Mastodon's spec/requests/signature_verification_spec.rb.
        assert_eq!(
            digest_header(b"Hello world"),
            "SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="
        );
        verify_digest_header(
            b"SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=",
            b"Hello world",
        )
        .unwrap();
        // Lowercase names are accepted on receipt: RFC 3230 names are case-insensitive.
        verify_digest_header(
            b"sha-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=",
            b"Hello world",
        )
        .unwrap();
    }

    #[test]
    fn tampered_body_reports_both_digests() {
        // Mastodon's spec gives the computed digest of "Hello world!" in its error text.
        let err = verify_digest_header(
            b"SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=",
            b"Hello world!",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid Digest value: computed SHA-256 digest \
             wFNeS+K3n/2TKRMFQ2v4iTFOSj+uwF7P/Lt98xrZ5Ro=, given \
             ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="
        );
    }

    #[test]
    fn rfc_9530_and_9421_example_sha512() {
        // RFC 9421 Appendix B.2's test request body and its Content-Digest (RFC 9530 uses
        // the same body in its examples).
        let body = br#"{"hello": "world"}"#;
        verify_content_digest(
            b"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
            body,
        )
        .unwrap();
        // The draft-cavage test request carries the SHA-256 of the same body.
        verify_digest_header(
            b"SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            body,
        )
        .unwrap();
        verify_content_digest(content_digest_header(body).as_bytes(), body).unwrap();
        assert_eq!(
            content_digest_header(body),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
    }

    #[test]
    fn unsupported_and_malformed_digests_are_errors() {
        let err = verify_digest_header(b"MD5=HUXZLQLMuI/KZ5KDcJPcOA==", b"x").unwrap_err();
        assert!(
            matches!(err, SignatureError::UnsupportedDigest { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("MD5"));
        // An unknown algorithm next to a good one is ignored.
        let mut value = b"MD5=abc, ".to_vec();
        value.extend_from_slice(digest_header(b"x").as_bytes());
        verify_digest_header(&value, b"x").unwrap();
        assert!(verify_digest_header(b"SHA-256", b"x").is_err());
        assert!(verify_digest_header(b"SHA-256=!!!", b"x").is_err());
        assert!(verify_digest_header(b"", b"x").is_err());
        assert!(verify_content_digest(b"sha-256=abc", b"x").is_err());
        assert!(verify_content_digest(b"sha-256=:AAAA:", b"x").is_err());
        assert!(verify_content_digest(b"md5=:AAAA:", b"x").is_err());
        assert!(verify_content_digest(b"(((", b"x").is_err());
    }

    #[test]
    fn every_supported_algorithm_offered_must_match() {
        let good256 = digest_header(b"body");
        let bad512 = "SHA-512=AAAA";
        let value = format!("{good256},{bad512}");
        assert!(verify_digest_header(value.as_bytes(), b"body").is_err());
    }
}
