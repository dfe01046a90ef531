//! Who signed an incoming request: parses the signature (either standard), finds the
//! key (cached, or fetched through `core::resolve::fetch_key`), verifies, and refetches
//! the key once when the signature does not match it, since the actor may have rotated
//! its key. Used by the inbox and by fetches of non-public objects.

use std::time::SystemTime;

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use fulmar_federation::signatures::{IncomingRequest, Policy, PublicKey, SignedRequest};
use fulmar_store::accounts::AccountRow;

use crate::core::resolve::{self, ResolveError};
use crate::http::ApiError;
use crate::state::App;

/// A request whose signature checked out: the key and its owner's account.
#[derive(Clone, Debug)]
pub struct Signer {
    pub key_id: String,
    /// The key owner's actor id.
    pub owner: String,
    pub account: AccountRow,
}

fn unauthorized(reason: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, reason.into())
}

/// The host part of a key id, for per-origin accounting before anything is fetched.
pub fn key_host(signed: &SignedRequest) -> Option<String> {
    resolve::authority(signed.key_id())
}

/// Parses and pre-checks the signature of a request (no network).
pub fn parse(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<SignedRequest, ApiError> {
    let scheme = if app.config.dev_insecure {
        "http"
    } else {
        "https"
    };
    let req = IncomingRequest::new(method, uri, headers, body).with_scheme(scheme);
    SignedRequest::from_request(&req, &Policy::default(), SystemTime::now())
        .map_err(|e| unauthorized(format!("Signature: {e}")))
}

/// Fetches the key of a parsed signature and verifies it, refetching once on a
/// mismatch.
pub async fn verify(app: &App, signed: &SignedRequest) -> Result<Signer, ApiError> {
    let key_id = signed.key_id().to_owned();
    let mut refreshed = false;
    loop {
        let key = resolve::fetch_key(app, &key_id, refreshed)
            .await
            .map_err(|e| match e {
                ResolveError::Store(e) => ApiError::from(e),
                other => unauthorized(format!("Signature: could not get key {key_id}: {other}")),
            })?;
        let public = PublicKey::from_pem_allowing_1024_bits(&key.public_key_pem)
            .map_err(|e| unauthorized(format!("Signature: unusable key {key_id}: {e}")))?;
        match signed.verify(&public) {
            Ok(()) => {
                let account = fulmar_store::accounts::by_uri(&app.db, &key.owner)
                    .await?
                    .ok_or_else(|| unauthorized("Signature: the key's owner is unknown"))?;
                return Ok(Signer {
                    key_id,
                    owner: key.owner,
                    account,
                });
            }
            Err(e) if e.may_be_stale_key() && !refreshed => refreshed = true,
            Err(e) => return Err(unauthorized(format!("Signature: {e}"))),
        }
    }
}
