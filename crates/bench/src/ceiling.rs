//! The HTTP ceiling of a figure: a stand-in server in this process that answers every
//! request with fixed bytes and does no other work. Loaded with the same client, the
//! same concurrency and the same requests as Fulmar, it gives the rate that HTTP over
//! loopback on these cores allows for exactly those requests and answers (the client's
//! own cost included), which no server can beat however little it does per request.

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::http::{header, StatusCode};

/// A running stand-in server, stopped when dropped.
pub struct Ceiling {
    pub base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Ceiling {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a server on a free loopback port that reads each request's body and answers
/// `status` with `body` as `content_type`.
pub async fn start(
    status: StatusCode,
    content_type: &'static str,
    body: Vec<u8>,
) -> Result<Ceiling> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the ceiling server")?;
    let base = format!("http://{}", listener.local_addr()?);
    let body = Bytes::from(body);
    let app = axum::Router::new().fallback(move |request: Bytes| {
        let body = body.clone();
        async move {
            // The request body is read in full, as Fulmar must, and then dropped.
            drop(request);
            (status, [(header::CONTENT_TYPE, content_type)], body)
        }
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Ceiling { base, task })
}
