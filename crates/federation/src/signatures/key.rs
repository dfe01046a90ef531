//! RSA keys for signing and verifying, parsed once and reused.
//!
//! Parsing a public key costs about as much as verifying a signature with it, so the inbox
//! keeps [`PublicKey`] values in its key cache instead of PEM strings. A `PublicKey` is
//! `Send + Sync` and verification takes `&self`, so one `Arc<PublicKey>` serves every
//! worker thread at once.

use std::fmt;
use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey};

use super::SignatureError;
use crate::keys::pem_decode;

/// A signature algorithm Fulmar signs or verifies with, whatever its name on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256: draft-cavage `rsa-sha256` (and `hs2019` with an RSA
    /// key, in practice), RFC 9421 `rsa-v1_5-sha256`. Deterministic.
    RsaPkcs1Sha256,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512 and a 64-byte salt: RFC 9421 `rsa-pss-sha512`
    /// (§3.3.1). Randomised, so signatures never repeat.
    RsaPssSha512,
}

impl Algorithm {
    /// The name in the RFC 9421 HTTP Signature Algorithms registry (§6.2.2).
    pub fn rfc9421_name(self) -> &'static str {
        match self {
            Algorithm::RsaPkcs1Sha256 => "rsa-v1_5-sha256",
            Algorithm::RsaPssSha512 => "rsa-pss-sha512",
        }
    }

    /// Looks up an RFC 9421 `alg` value. Only the RSA algorithms are known: fediverse actor
    /// keys are RSA (`publicKeyPem`), so HMAC, ECDSA and Ed25519 have no key to check with.
    pub fn from_rfc9421_name(name: &str) -> Option<Self> {
        match name {
            "rsa-v1_5-sha256" => Some(Algorithm::RsaPkcs1Sha256),
            "rsa-pss-sha512" => Some(Algorithm::RsaPssSha512),
            _ => None,
        }
    }
}

/// The smallest RSA modulus accepted by default. 2048 bits is what every fediverse server
/// generates and the floor aws-lc-rs enforces for its non-legacy algorithms.
const DEFAULT_MIN_BITS: usize = 2048;

/// An RSA public key, parsed once, ready to verify signatures from any thread.
pub struct PublicKey {
    pkcs1_sha256: ParsedPublicKey,
    /// Parsed on first use: RSA-PSS only appears in RFC 9421 signatures, which are rare.
    pss_sha512: OnceLock<Option<ParsedPublicKey>>,
    bits: usize,
    algorithm: Option<Algorithm>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// Parses a DER RSA public key, either SubjectPublicKeyInfo (what `publicKeyPem` holds
    /// as `BEGIN PUBLIC KEY`) or PKCS#1 `RSAPublicKey` (`BEGIN RSA PUBLIC KEY`, which some
    /// older servers publish). Keys below 2048 bits are refused.
    pub fn from_der(der: &[u8]) -> Result<Self, SignatureError> {
        Self::parse(der, DEFAULT_MIN_BITS)
    }

    /// Like [`PublicKey::from_der`] but also accepts 1024-bit keys, checked with aws-lc-rs's
    /// `RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY`. The draft-cavage-12 Appendix C test
    /// key is 1024 bits; a peer still on such a key can be let in deliberately this way.
    pub fn from_der_allowing_1024_bits(der: &[u8]) -> Result<Self, SignatureError> {
        Self::parse(der, 1024)
    }

    /// Parses the first PEM block labelled `PUBLIC KEY` or `RSA PUBLIC KEY`.
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        Self::from_der(&pem_public_der(pem)?)
    }

    /// [`PublicKey::from_pem`] with the 1024-bit allowance of
    /// [`PublicKey::from_der_allowing_1024_bits`].
    pub fn from_pem_allowing_1024_bits(pem: &str) -> Result<Self, SignatureError> {
        Self::from_der_allowing_1024_bits(&pem_public_der(pem)?)
    }

    fn parse(der: &[u8], min_bits: usize) -> Result<Self, SignatureError> {
        let info = aws_lc_rs::rsa::PublicKey::from_der(der).map_err(|e| {
            SignatureError::InvalidKey(format!("not an RSA public key ({e})").into())
        })?;
        let modulus = info.modulus();
        let n = modulus.big_endian_without_leading_zero();
        let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
        if bits < min_bits {
            return Err(SignatureError::InvalidKey(
                format!("a {bits}-bit RSA key is too small (at least {min_bits} bits)").into(),
            ));
        }
        if bits > 8192 {
            return Err(SignatureError::InvalidKey(
                format!("a {bits}-bit RSA key is too large (at most 8192 bits)").into(),
            ));
        }
        let params = if bits < DEFAULT_MIN_BITS {
            &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
        } else {
            &signature::RSA_PKCS1_2048_8192_SHA256
        };
        let pkcs1_sha256 = ParsedPublicKey::new(params, der).map_err(|e| {
            SignatureError::InvalidKey(format!("not an RSA public key ({e})").into())
        })?;
        Ok(PublicKey {
            pkcs1_sha256,
            pss_sha512: OnceLock::new(),
            bits,
            algorithm: None,
        })
    }

    /// Records the one algorithm this key is meant for, as RFC 9421 §3.2 step 6.2 lets
    /// key material decide. A signature whose `alg` says otherwise is then refused, and one
    /// without `alg` uses this algorithm. Actor keys from `publicKeyPem` carry no algorithm,
    /// so the inbox leaves this unset and RSA keys default to `rsa-v1_5-sha256`.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// The algorithm set with [`PublicKey::with_algorithm`], if any.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.algorithm
    }

    /// The size of the RSA modulus in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The key as SubjectPublicKeyInfo or PKCS#1 DER, exactly as it was given.
    pub fn der(&self) -> &[u8] {
        self.pkcs1_sha256.as_ref()
    }

    /// Checks `signature` over `message`. Returns `false` for any failure, including a
    /// signature of the wrong length: callers turn that into one "bad signature" answer.
    pub fn verify(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match algorithm {
            Algorithm::RsaPkcs1Sha256 => self.pkcs1_sha256.verify_sig(message, signature).is_ok(),
            Algorithm::RsaPssSha512 => self
                .pss_sha512
                .get_or_init(|| {
                    ParsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA512, self.der()).ok()
                })
                .as_ref()
                .is_some_and(|key| key.verify_sig(message, signature).is_ok()),
        }
    }
}

fn pem_public_der(pem: &str) -> Result<Vec<u8>, SignatureError> {
    pem_decode("PUBLIC KEY", pem)
        .or_else(|| pem_decode("RSA PUBLIC KEY", pem))
        .ok_or_else(|| {
            SignatureError::InvalidKey("no PUBLIC KEY or RSA PUBLIC KEY PEM block".into())
        })
}

/// An RSA private key for signing outgoing requests.
pub struct SigningKey {
    pair: KeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("bits", &(self.pair.public_modulus_len() * 8))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses an unencrypted PKCS#8 DER private key, the form [`crate::keys`] generates.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, SignatureError> {
        KeyPair::from_pkcs8(der)
            .map(|pair| SigningKey { pair })
            .map_err(|e| SignatureError::InvalidKey(format!("not an RSA private key ({e})").into()))
    }

    /// Parses a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`, what Mastodon stores and its test suite uses).
    /// aws-lc-rs signs with 2048- to 8192-bit keys only.
    pub fn from_pem(pem: &str) -> Result<Self, SignatureError> {
        let bad = |e: aws_lc_rs::error::KeyRejected| {
            SignatureError::InvalidKey(format!("not a usable RSA private key ({e})").into())
        };
        if let Some(der) = pem_decode("PRIVATE KEY", pem) {
            return KeyPair::from_pkcs8(&der)
                .map(|pair| SigningKey { pair })
                .map_err(bad);
        }
        if let Some(der) = pem_decode("RSA PRIVATE KEY", pem) {
            return KeyPair::from_der(&der)
                .map(|pair| SigningKey { pair })
                .map_err(bad);
        }
        Err(SignatureError::InvalidKey(
            "no PRIVATE KEY or RSA PRIVATE KEY PEM block".into(),
        ))
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<PublicKey, SignatureError> {
        let der = self
            .pair
            .public_key()
            .as_der()
            .map_err(|_| SignatureError::InvalidKey("cannot encode the public key".into()))?;
        PublicKey::from_der(der.as_ref())
    }

    /// Signs `message`.
    pub fn sign(&self, algorithm: Algorithm, message: &[u8]) -> Result<Vec<u8>, SignatureError> {
        let padding: &'static dyn signature::RsaEncoding = match algorithm {
            Algorithm::RsaPkcs1Sha256 => &signature::RSA_PKCS1_SHA256,
            Algorithm::RsaPssSha512 => &signature::RSA_PSS_SHA512,
        };
        let mut out = vec![0; self.pair.public_modulus_len()];
        // aws-lc-rs draws PSS salt from its own generator and ignores this argument.
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(padding, &rng, message, &mut out)
            .map_err(|_| SignatureError::Unsignable("the RSA signing operation failed".into()))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_key_is_shareable_across_threads() {
        assert_send_sync::<PublicKey>();
        assert_send_sync::<SigningKey>();
    }

    #[test]
    fn generated_key_signs_and_verifies_both_algorithms() {
        let pair = crate::keys::generate_rsa_2048().unwrap();
        let signer = SigningKey::from_pem(&pair.private_key_pem).unwrap();
        let public = PublicKey::from_pem(&pair.public_key_pem).unwrap();
        assert_eq!(public.bits(), 2048);
        assert_eq!(signer.public_key().unwrap().der(), public.der());
        for alg in [Algorithm::RsaPkcs1Sha256, Algorithm::RsaPssSha512] {
            let sig = signer.sign(alg, b"message").unwrap();
            assert!(public.verify(alg, b"message", &sig));
            assert!(!public.verify(alg, b"massage", &sig));
            assert!(!public.verify(alg, b"message", &sig[1..]));
        }
        let pkcs1 = signer.sign(Algorithm::RsaPkcs1Sha256, b"m").unwrap();
        assert!(!public.verify(Algorithm::RsaPssSha512, b"m", &pkcs1));
    }

    #[test]
    fn garbage_keys_are_errors() {
        assert!(PublicKey::from_der(b"").is_err());
        assert!(PublicKey::from_der(b"\x30\x03\x02\x01\x01").is_err());
        assert!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .is_err()
        );
        assert!(PublicKey::from_pem("nothing").is_err());
        assert!(SigningKey::from_pem("nothing").is_err());
        assert!(SigningKey::from_pkcs8_der(b"\x00").is_err());
    }
}
