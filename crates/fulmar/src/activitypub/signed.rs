//! Who signed an incoming request: parses the signature (either standard), finds the
//! key (cached, or fetched through `core::resolve::fetch_key`), verifies, and refetches
//! the key once when the signature does not match it, since the actor may have rotated
//! its key. Used by the inbox and by fetches of non-public objects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::http::{HeaderMap, Method, StatusCode, Uri};
use fulmar_federation::from_activitypub::RemoteKey;
use fulmar_federation::signatures::{IncomingRequest, Policy, PublicKey, SignedRequest};
use fulmar_store::accounts::AccountRow;

use crate::core::resolve::{self, ResolveError};
use crate::http::ApiError;
use crate::state::App;

/// How long a delivery waits for one of its key host's fetch slots.
const SLOT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

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
    let host = key_host(signed)
        .ok_or_else(|| unauthorized(format!("Signature: the key id {key_id:?} is not a URL")))?;
    if let Some(hit) = app.key_cache.get(&key_id) {
        if signed.verify(&hit.public).is_ok() {
            return Ok(hit.signer);
        }
        // A rotated key, or a forgery: either way the full path below decides, from
        // the stored key and at most one refetch, as without the cache.
        app.key_cache.remove(&key_id);
    }
    let mut refreshed = false;
    loop {
        let key = bounded_fetch_key(app, &host, &key_id, refreshed).await?;
        let public = PublicKey::from_pem_allowing_1024_bits(&key.public_key_pem)
            .map_err(|e| unauthorized(format!("Signature: unusable key {key_id}: {e}")))?;
        match signed.verify(&public) {
            Ok(()) => {
                let account = fulmar_store::accounts::by_uri(&app.db, &key.owner)
                    .await?
                    .ok_or_else(|| unauthorized("Signature: the key's owner is unknown"))?;
                let signer = Signer {
                    key_id,
                    owner: key.owner,
                    account,
                };
                app.key_cache.insert(signer.clone(), Arc::new(public));
                return Ok(signer);
            }
            Err(e) if e.may_be_stale_key() && !refreshed => refreshed = true,
            Err(e) => return Err(unauthorized(format!("Signature: {e}"))),
        }
    }
}

/// How long a verified key is used without looking at the database again. A key is
/// refreshed from its actor at most once a day anyway (`resolve::fetch_key`), and a
/// signature the cached key does not verify goes the full way (stored key, then one
/// refetch), so a rotation is seen at once; what the cache saves is the four queries
/// and the PEM parsing that every delivery of a busy peer used to cost.
const KEY_CACHE_TTL: Duration = Duration::from_secs(60);

/// Most keys the cache holds; past that it starts over (a flood of distinct keys must
/// not grow memory).
const KEY_CACHE_MAX: usize = 10_000;

/// Keys that recently verified a signature, with their owner ([`verify`]).
#[derive(Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<String, CachedKey>>,
}

#[derive(Clone)]
pub struct CachedKey {
    signer: Signer,
    public: Arc<PublicKey>,
    at: Instant,
}

impl KeyCache {
    fn get(&self, key_id: &str) -> Option<CachedKey> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(key_id)
            .filter(|c| c.at.elapsed() < KEY_CACHE_TTL)
            .cloned()
    }

    fn insert(&self, signer: Signer, public: Arc<PublicKey>) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() >= KEY_CACHE_MAX {
            keys.clear();
        }
        keys.insert(
            signer.key_id.clone(),
            CachedKey {
                signer,
                public,
                at: Instant::now(),
            },
        );
    }

    /// Forgets a key (its signature failed, or it was refetched).
    pub fn remove(&self, key_id: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.remove(key_id);
    }
}

/// `resolve::fetch_key`, bounded twice: in time (the sender is waiting for our
/// answer, and a key server that answers slowly must not hold the request for the
/// client's whole timeout), and in number (a key that has to be fetched takes one of
/// a few slots of its host, so deliveries naming made-up key ids cannot make Fulmar
/// fetch without bound; a stored key, refreshed at most once a day, needs no slot).
async fn bounded_fetch_key(
    app: &App,
    host: &str,
    key_id: &str,
    refresh: bool,
) -> Result<RemoteKey, ApiError> {
    let timeout = app.config.key_fetch_timeout;
    let stored = !refresh
        && fulmar_store::keys::by_key_id(&app.db, key_id)
            .await?
            .is_some();
    let _slot = if stored {
        None
    } else {
        Some(
            // A short wait for a slot: the sender is already waiting for the answer,
            // and a host whose slots are all busy is being slow or flooding.
            app.inbox_limits
                .key_fetch_slot(host, timeout.min(SLOT_WAIT))
                .await
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "Signature: too many key fetches from {host} in flight; retry later"
                        ),
                    )
                })?,
        )
    };
    match tokio::time::timeout(timeout, resolve::fetch_key(app, key_id, refresh)).await {
        Ok(Ok(key)) => Ok(key),
        Ok(Err(ResolveError::Store(e))) => Err(ApiError::from(e)),
        Ok(Err(other)) => Err(unauthorized(format!(
            "Signature: could not get key {key_id}: {other}"
        ))),
        Err(_) => Err(unauthorized(format!(
            "Signature: could not get key {key_id}: no answer within {} seconds",
            timeout.as_secs_f32()
        ))),
    }
}

/// The verified signer of a request that may be signed (authorized fetch): `None`
/// when it carries no signature at all; an error when it carries a bad one, or one
/// from a blocked domain.
pub async fn optional_signer(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<Signer>, ApiError> {
    let signed = match parse(app, method, uri, headers, &[]) {
        Ok(s) => s,
        Err(_) if !is_signed(headers) => return Ok(None),
        Err(e) => return Err(e),
    };
    if let Some(host) = key_host(&signed) {
        if crate::core::domains::host_blocked(&app.db, &host).await? {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("{host} is blocked by this server"),
            ));
        }
    }
    verify(app, &signed).await.map(Some)
}

/// Whether a request carries a signature of either standard.
fn is_signed(headers: &HeaderMap) -> bool {
    headers.contains_key("signature")
        || headers.contains_key("signature-input")
        || headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("Signature "))
}
