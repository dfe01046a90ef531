//! RSA keys for HTTP signatures, generated and encoded with aws-lc-rs.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;

/// A freshly generated key pair in PEM: PKCS#8 for the private key (what we keep) and
/// SubjectPublicKeyInfo for the public key (what `publicKeyPem` carries; Mastodon and
/// every other server parse that form).
#[derive(Clone, Debug)]
pub struct PemKeyPair {
    pub private_key_pem: String,
    pub public_key_pem: String,
}

#[derive(Debug, thiserror::Error)]
#[error("RSA key generation failed")]
pub struct KeyGenError;

/// Generates an RSA-2048 key pair, the size every fediverse server accepts.
pub fn generate_rsa_2048() -> Result<PemKeyPair, KeyGenError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyGenError)?;
    let private = pair.as_der().map_err(|_| KeyGenError)?;
    let public = pair.public_key().as_der().map_err(|_| KeyGenError)?;
    Ok(PemKeyPair {
        private_key_pem: pem_encode("PRIVATE KEY", private.as_ref()),
        public_key_pem: pem_encode("PUBLIC KEY", public.as_ref()),
    })
}

/// Encodes DER as PEM with 64-character lines (RFC 7468).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Decodes the first PEM block with the given label.
pub fn pem_decode(label: &str, pem: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// A P-256 key pair for Web Push (VAPID, RFC 8292): the private key in PKCS#8 PEM, and
/// the public key as the uncompressed curve point (65 bytes) that browsers take as
/// `applicationServerKey` and Mastodon publishes as `vapid_key`.
#[derive(Clone, Debug)]
pub struct P256KeyPair {
    pub private_key_pem: String,
    pub public_key_point: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[error("P-256 key generation failed")]
pub struct P256KeyGenError;

/// Generates a P-256 key pair.
pub fn generate_p256() -> Result<P256KeyPair, P256KeyGenError> {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let pair =
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| P256KeyGenError)?;
    let private = pair.to_pkcs8v1().map_err(|_| P256KeyGenError)?;
    Ok(P256KeyPair {
        private_key_pem: pem_encode("PRIVATE KEY", private.as_ref()),
        public_key_point: pair.public_key().as_ref().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_through_pem() {
        let pair = generate_rsa_2048().unwrap();
        assert!(pair
            .public_key_pem
            .starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pair
            .private_key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----\n"));
        for line in pair.public_key_pem.lines() {
            assert!(line.len() <= 64, "PEM line too long: {line}");
        }
        let der = pem_decode("PRIVATE KEY", &pair.private_key_pem).unwrap();
        let parsed = KeyPair::from_pkcs8(&der).unwrap();
        assert_eq!(
            parsed.public_modulus_len(),
            256,
            "RSA-2048 has a 256-byte modulus"
        );
        let public = pem_decode("PUBLIC KEY", &pair.public_key_pem).unwrap();
        assert_eq!(
            parsed.public_key().as_der().unwrap().as_ref(),
            public.as_slice()
        );
    }

    #[test]
    fn pem_decode_rejects_other_labels_and_garbage() {
        assert!(pem_decode(
            "PUBLIC KEY",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
        )
        .is_none());
        assert!(pem_decode(
            "PUBLIC KEY",
            "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----"
        )
        .is_none());
        assert!(pem_decode("PUBLIC KEY", "").is_none());
    }
}
