//! Quote posts (FEP-044f, Mastodon 4.5): linking a received status to the status it
//! quotes. Servers name the quoted object in one of several properties (`quote`,
//! `quoteUrl`, `quoteUri`, `_misskey_quote`); the federation parser reads them into
//! `RemoteObject::quote`, and this module resolves it.
//!
//! Resolving is bounded to one level: the quoted status is fetched and stored, but a
//! quote *it* carries is only linked when that status is already known, so that a
//! chain of quotes cannot make one delivery fetch an unbounded number of documents.

use std::future::Future;
use std::pin::Pin;

use fulmar_store::remote;
use fulmar_store::statuses::StatusRow;

use super::resolve;
use crate::state::App;

/// The state a received quote is stored with. Fulmar does not check quote
/// authorizations yet (the consent model of FEP-044f), so a quote it could resolve is
/// shown as accepted, as Misskey and older servers never ask for consent anyway.
pub const RECEIVED_STATE: &str = "accepted";

tokio::task_local! {
    /// Set while the status a received quote points at is being resolved: storing
    /// that status must not fetch what it quotes in turn.
    static RESOLVING_QUOTE: ();
}

/// Links a just-stored remote status to the status its object quotes, if any. A
/// quoted status that cannot be resolved (gone, refused, unreachable) leaves the
/// status unquoted: the quote is an addition to the post, never a reason to drop it.
/// Returns the id of the quoted status when the link was stored.
///
/// The future is boxed (and declared `Send`) because resolving stores the quoted
/// status, which comes back here: the compiler needs the cycle broken by a named type.
pub fn link_received<'a>(
    app: &'a App,
    row: &'a StatusRow,
    quote_uri: Option<&'a str>,
) -> Pin<Box<dyn Future<Output = Option<i64>> + Send + 'a>> {
    Box::pin(link(app, row, quote_uri))
}

async fn link(app: &App, row: &StatusRow, quote_uri: Option<&str>) -> Option<i64> {
    let uri = quote_uri.filter(|u| *u != row.uri)?;
    let quoted = if RESOLVING_QUOTE.try_with(|_| ()).is_ok() {
        // Already one level down: only a status that is known links.
        remote::status_by_uri(&app.db, uri).await.ok().flatten()
    } else {
        match RESOLVING_QUOTE
            .scope((), resolve::resolve_status(app, uri))
            .await
        {
            Ok(quoted) => Some(quoted),
            Err(e) => {
                tracing::info!(status = row.id, quote = uri, error = %e, "quoted status not resolved");
                None
            }
        }
    };
    let quoted = quoted.filter(|q| q.id != row.id && q.reblog_of_id.is_none())?;
    match fulmar_store::statuses::set_quote(&app.db, row.id, quoted.id, RECEIVED_STATE).await {
        Ok(()) => Some(quoted.id),
        Err(e) => {
            tracing::warn!(status = row.id, error = %e, "storing a quote failed");
            None
        }
    }
}
