//! Verification of incoming requests in two steps, so that the key fetch sits between them.
//!
//! 1. [`SignedRequest::from_request`] parses whichever standard the request uses, checks the
//!    time window, the required coverage and the body digest, and builds the signature base.
//!    Everything that can be refused without a network round trip is refused here.
//! 2. The caller fetches (or finds cached) the key named by [`SignedRequest::key_id`] and
//!    calls [`SignedRequest::verify`]. If that fails with an error for which
//!    [`SignatureError::may_be_stale_key`] is true, the caller refetches the key once,
//!    since the actor may have rotated it, and calls `verify` again: the signature base is
//!    kept, so the retry costs only the RSA operation.
//!
//! Checking that the key's owner is the activity's actor is the caller's job: this layer
//! only knows the key id.

use std::time::SystemTime;

use http::header;

use super::key::{Algorithm, PublicKey};
use super::request::IncomingRequest;
use super::{cavage, rfc9421, Policy, SignatureError};

/// Which standard an incoming signature follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standard {
    /// draft-cavage-http-signatures-12: `Signature` or `Authorization: Signature`.
    DraftCavage,
    /// RFC 9421 HTTP Message Signatures: `Signature-Input` and `Signature`.
    Rfc9421,
}

/// What the signature says about its algorithm, resolved against the key in
/// [`SignedRequest::verify`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AlgorithmClaim {
    /// draft-cavage `algorithm="rsa-sha256"`.
    CavageRsaSha256,
    /// draft-cavage `algorithm="hs2019"` or no algorithm: whatever the key is for.
    CavageHs2019,
    /// RFC 9421 `alg`, if present.
    Rfc9421(Option<Algorithm>),
}

/// A parsed, pre-checked incoming signature waiting for its key.
#[derive(Clone, Debug)]
pub struct SignedRequest {
    pub(crate) standard: Standard,
    pub(crate) key_id: String,
    pub(crate) label: Option<String>,
    pub(crate) claim: AlgorithmClaim,
    pub(crate) signature: Vec<u8>,
    pub(crate) base: Vec<u8>,
    /// draft-cavage only: the signing string with `(request-target)` stripped of its query,
    /// tried when the first fails (see `cavage::parse`).
    pub(crate) alternate_base: Option<Vec<u8>>,
}

impl SignedRequest {
    /// Parses and pre-checks the signature of `req`, with `now` as the current time.
    ///
    /// RFC 9421 is used when `Signature-Input` is present: the `Signature` header is then a
    /// Structured Fields dictionary and cannot be a draft-cavage one (RFC 9421 Appendix A
    /// recommends detecting it this way). Otherwise `Signature`, then
    /// `Authorization: Signature`, is read as draft-cavage.
    pub fn from_request(
        req: &IncomingRequest<'_>,
        policy: &Policy,
        now: SystemTime,
    ) -> Result<Self, SignatureError> {
        if req.headers.contains_key(rfc9421::SIGNATURE_INPUT) {
            return rfc9421::parse(req, policy, now);
        }
        if let Some(value) = req.headers.get(cavage::SIGNATURE) {
            return cavage::parse(req, "Signature", value, policy, now);
        }
        if let Some(value) = req.headers.get(header::AUTHORIZATION) {
            return cavage::parse(req, "Authorization", value, policy, now);
        }
        Err(SignatureError::NotSigned)
    }

    /// The key to fetch: an actor's key URL (`https://host/users/alice#main-key`) in the
    /// fediverse, or an `acct:` URI from some old servers.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Which standard the signature follows.
    pub fn standard(&self) -> Standard {
        self.standard
    }

    /// The RFC 9421 label of the verified signature (`sig1`…); `None` for draft-cavage.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The exact bytes the signature is checked over: the draft-cavage signing string or
    /// the RFC 9421 signature base. Worth logging when a peer's signatures fail.
    pub fn signature_base(&self) -> &[u8] {
        &self.base
    }

    /// Checks the signature with `key`. May be called again with a refetched key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), SignatureError> {
        let algorithm = self.resolve_algorithm(key)?;
        if key.verify(algorithm, &self.base, &self.signature) {
            return Ok(());
        }
        if let Some(alternate) = &self.alternate_base {
            if key.verify(algorithm, alternate, &self.signature) {
                return Ok(());
            }
        }
        Err(SignatureError::BadSignature {
            key_id: self.key_id.clone(),
        })
    }

    /// Picks the algorithm as RFC 9421 §3.2 step 6 orders: the key's own algorithm and the
    /// signature's claim must agree when both exist; an RSA key with neither means
    /// RSASSA-PKCS1-v1_5 with SHA-256, which is what fediverse keys are used for.
    fn resolve_algorithm(&self, key: &PublicKey) -> Result<Algorithm, SignatureError> {
        let from_key = key.algorithm();
        let claimed = match self.claim {
            AlgorithmClaim::CavageRsaSha256 => Some((Algorithm::RsaPkcs1Sha256, "rsa-sha256")),
            AlgorithmClaim::CavageHs2019 => None,
            AlgorithmClaim::Rfc9421(alg) => alg.map(|a| (a, a.rfc9421_name())),
        };
        match (claimed, from_key) {
            (Some((claimed, name)), Some(from_key)) if claimed != from_key => {
                Err(SignatureError::AlgorithmMismatch {
                    claimed: name,
                    key: from_key.rfc9421_name(),
                })
            }
            (Some((claimed, _)), _) => Ok(claimed),
            (None, Some(from_key)) => Ok(from_key),
            (None, None) => Ok(Algorithm::RsaPkcs1Sha256),
        }
    }
}
