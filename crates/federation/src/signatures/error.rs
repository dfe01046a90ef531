//! The one error type of the signature layer.
//!
//! The inbox answers a request that fails verification with `401 Unauthorized` and the
//! `Display` text of this error, so every variant reads as a sentence a remote admin can
//! act on. The texts never include private material; they may include the key id, the
//! header names and the digests the sender provided, which the sender already knows.

use std::borrow::Cow;

/// Why a request could not be signed, or why an incoming signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// Neither `Signature-Input`, `Signature` nor `Authorization: Signature` is present.
    #[error("request is not signed: it has no Signature header")]
    NotSigned,

    /// A signature header could not be parsed at all.
    #[error("malformed {header} header: {reason}")]
    MalformedHeader {
        header: &'static str,
        reason: Cow<'static, str>,
    },

    /// A required signature parameter (`keyId`, `signature`, `created`…) is absent.
    #[error("the signature has no {0} parameter")]
    MissingParameter(&'static str),

    /// The same parameter appears twice, which draft-cavage-12 §2.1 forbids.
    #[error("the signature parameter {0} appears more than once")]
    DuplicateParameter(String),

    /// A parameter is present but its value has the wrong shape (e.g. `created="abc"`).
    #[error("the signature parameter {name} is invalid: {reason}")]
    InvalidParameter {
        name: &'static str,
        reason: Cow<'static, str>,
    },

    /// The signature names an algorithm Fulmar does not verify.
    #[error(
        "unsupported signature algorithm \"{0}\" (Fulmar accepts rsa-sha256 and hs2019 with \
         RSA keys for draft-cavage signatures, rsa-v1_5-sha256 and rsa-pss-sha512 for RFC 9421)"
    )]
    UnsupportedAlgorithm(String),

    /// The `alg` parameter contradicts the algorithm the key is known to be for (RFC 9421
    /// §3.2 step 6.4 says the verifier must then fail).
    #[error("the signature claims algorithm {claimed} but the key is for {key}")]
    AlgorithmMismatch {
        claimed: &'static str,
        key: &'static str,
    },

    /// A component or pseudo-header that Fulmar requires is not covered by the signature.
    #[error("the signature must cover {0}")]
    MissingCoverage(&'static str),

    /// A header (or RFC 9421 `@query-param`) listed as signed is not in the request.
    #[error("{0} is listed as signed but is absent from the request")]
    MissingHeader(String),

    /// An RFC 9421 component that Fulmar does not derive (e.g. `@status` on a request).
    #[error("the signed component {0} is not supported on a request")]
    UnsupportedComponent(String),

    /// An RFC 9421 component parameter such as `;sf`, `;key`, `;bs` or `;req`.
    #[error(
        "the component parameter ;{parameter} on {component} is not supported; \
         sign the plain field instead"
    )]
    UnsupportedComponentParameter {
        component: String,
        parameter: String,
    },

    /// The same component is listed twice (RFC 9421 §2.5 step 2.0).
    #[error("the component {0} is covered more than once")]
    DuplicateComponent(String),

    /// A draft-cavage pseudo-header used with an algorithm that forbids it, or without
    /// the parameter that gives it its value.
    #[error("invalid pseudo-header {name}: {reason}")]
    InvalidPseudoHeader {
        name: &'static str,
        reason: &'static str,
    },

    /// The `Date` header is not an HTTP date.
    #[error("invalid Date header: not an RFC 9110 HTTP date: {0:?}")]
    InvalidDate(String),

    /// The signature was made too long ago (Date or `created` older than the window).
    #[error(
        "signed request date outside the acceptable time window: signed at {signed_at} \
         (unix time), {age_secs} s ago"
    )]
    Stale { signed_at: i64, age_secs: i64 },

    /// The signature claims to be made in the future, beyond the allowed clock skew.
    #[error(
        "signed request date outside the acceptable time window: signed at {signed_at} \
         (unix time), {ahead_secs} s in the future"
    )]
    FromTheFuture { signed_at: i64, ahead_secs: i64 },

    /// The signature's `expires` time has passed.
    #[error("the signature expired at {expires} (unix time), {ago_secs} s ago")]
    Expired { expires: i64, ago_secs: i64 },

    /// A request with a body must carry a digest of it.
    #[error("a request with a body must carry a signed {0} header")]
    MissingDigest(&'static str),

    /// The digest header only offers algorithms Fulmar does not compute.
    #[error(
        "the {header} header offers no supported algorithm (sha-256 or sha-512); offered: {offered}"
    )]
    UnsupportedDigest {
        header: &'static str,
        offered: String,
    },

    /// The body does not match the digest the sender signed.
    #[error("invalid {header} value: computed {algorithm} digest {computed}, given {given}")]
    DigestMismatch {
        header: &'static str,
        algorithm: &'static str,
        computed: String,
        given: String,
    },

    /// The signature bytes do not verify with the key. The caller may refetch the key once
    /// and retry: see [`SignatureError::may_be_stale_key`].
    #[error("signature verification failed for key {key_id}")]
    BadSignature { key_id: String },

    /// The key material could not be parsed or is unacceptable.
    #[error("unusable public key: {0}")]
    InvalidKey(Cow<'static, str>),

    /// The request to sign has no authority (host) in its URI, so Host cannot be set.
    #[error("cannot sign a request whose URI has no host: {0}")]
    NoAuthority(String),

    /// The value to sign into a header is not allowed there (e.g. a `"` in a key id).
    #[error("cannot sign: {0}")]
    Unsignable(Cow<'static, str>),
}

impl SignatureError {
    /// Whether refetching the signer's key could turn this failure into a success.
    ///
    /// Only a cryptographic mismatch qualifies: the actor may have rotated its key since we
    /// cached it. Mastodon refetches exactly in this case (`account.possibly_stale?` in
    /// `signature_verification.rb`); every other failure is about the request itself and a
    /// new key would not change the answer.
    pub fn may_be_stale_key(&self) -> bool {
        matches!(self, SignatureError::BadSignature { .. })
    }

    pub(crate) fn malformed(header: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        SignatureError::MalformedHeader {
            header,
            reason: reason.into(),
        }
    }
}
