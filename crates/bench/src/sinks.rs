//! Remote servers for the fan-out figure: one listener per remote server on its own
//! loopback port, each checking the HTTP signature of every delivery (draft-cavage
//! or RFC 9421, with fulmar-federation's verifier) against the sender's key, fetched
//! once from Fulmar before the deliveries start, and counting the good ones.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use fulmar_federation::signatures::{IncomingRequest, Policy, PublicKey, SignedRequest};
use tokio::sync::{Notify, OnceCell};

/// What every sink shares.
#[derive(Default)]
pub struct Counters {
    /// Deliveries whose signature verified.
    pub verified: AtomicUsize,
    /// Deliveries refused (bad or missing signature).
    pub refused: AtomicUsize,
    /// Signalled after each verified delivery.
    pub delivered: Notify,
    /// The sender's public key.
    pub key: OnceCell<PublicKey>,
}

/// The sink servers, running until dropped.
pub struct Sinks {
    pub ports: Vec<u16>,
    pub counters: Arc<Counters>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Sinks {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts `n` sinks on free loopback ports.
pub async fn start(n: usize) -> Result<Sinks> {
    let counters = Arc::new(Counters::default());
    let mut ports = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a sink")?;
        ports.push(listener.local_addr()?.port());
        let app = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(counters.clone());
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }
    Ok(Sinks {
        ports,
        counters,
        tasks,
    })
}

/// Fetches the actor document at `actor_url` and keeps its public key for the sinks.
pub async fn fetch_key(
    counters: &Counters,
    client: &reqwest::Client,
    actor_url: &str,
) -> Result<()> {
    let doc: serde_json::Value = client
        .get(actor_url)
        .header("Accept", "application/activity+json")
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let pem = doc
        .pointer("/publicKey/publicKeyPem")
        .and_then(|v| v.as_str())
        .context("the actor has no publicKey.publicKeyPem")?;
    let key = PublicKey::from_pem(pem)?;
    let _ = counters.key.set(key);
    Ok(())
}

async fn receive(
    State(counters): State<Arc<Counters>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let verified = counters.key.get().is_some_and(|key| {
        let req = IncomingRequest::new(&method, &uri, &headers, &body).with_scheme("http");
        SignedRequest::from_request(&req, &Policy::default(), SystemTime::now())
            .and_then(|s| s.verify(key))
            .is_ok()
    });
    if verified {
        counters.verified.fetch_add(1, Ordering::SeqCst);
        counters.delivered.notify_waiters();
        StatusCode::ACCEPTED
    } else {
        counters.refused.fetch_add(1, Ordering::SeqCst);
        StatusCode::UNAUTHORIZED
    }
}
