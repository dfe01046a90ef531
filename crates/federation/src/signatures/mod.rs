//! HTTP signatures: signing outgoing requests and verifying incoming ones.
//!
//! Fediverse servers authenticate each other's requests by signing them with the actor's
//! RSA key, published as `publicKey.publicKeyPem` in the actor document. Two standards are
//! in use and Fulmar speaks both:
//!
//! - [draft-cavage-http-signatures-12](https://datatracker.ietf.org/doc/html/draft-cavage-http-signatures-12)
//!   ([`cavage`]): what every server sends today. Fulmar signs all outgoing requests this
//!   way ([`sign_request`]) and accepts `rsa-sha256` and `hs2019`.
//! - [RFC 9421](https://www.rfc-editor.org/rfc/rfc9421) HTTP Message Signatures
//!   ([`rfc9421`]): the standard that replaced the draft, verified by Mastodon 4.5 and
//!   accepted here with RFC 9530 `Content-Digest`.
//!
//! Verification happens in two steps around the key fetch; see [`SignedRequest`]:
//!
//! ```no_run
//! # use fulmar_federation::signatures::*;
//! # fn fetch_key(_: &str, _refresh: bool) -> PublicKey { unimplemented!() }
//! # fn check(req: &IncomingRequest<'_>) -> Result<(), SignatureError> {
//! let signed = SignedRequest::from_request(req, &Policy::default(), std::time::SystemTime::now())?;
//! let key = fetch_key(signed.key_id(), false);
//! match signed.verify(&key) {
//!     Err(e) if e.may_be_stale_key() => signed.verify(&fetch_key(signed.key_id(), true)),
//!     result => result,
//! }
//! # }
//! ```
//!
//! The crate holds no HTTP framework types: requests are seen through the `http` crate's
//! `Method`, `Uri` and `HeaderMap`, which every Rust HTTP stack uses.

pub mod cavage;
pub mod digest;
mod error;
mod key;
mod policy;
mod request;
pub mod rfc9421;
mod verify;

pub use cavage::sign_request;
pub use digest::{
    content_digest_header, digest_header, verify_content_digest, verify_digest_header,
};
pub use error::SignatureError;
pub use key::{Algorithm, PublicKey, SigningKey};
/// The verifier's own `Date` parser, for the fuzz harness's clock (`crate::fuzzing`).
pub(crate) use policy::parse_http_date;
pub use policy::Policy;
pub use request::IncomingRequest;
pub use verify::{SignedRequest, Standard};

#[cfg(test)]
mod tests;
