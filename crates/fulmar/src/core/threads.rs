//! Whole threads: deciding when a thread opened through the API is fetched in the
//! background (`worker::threads` does the fetching), and linking replies that
//! arrived before their parent.

use fulmar_store::statuses::StatusRow;
use fulmar_store::threads::{self as store, ThreadFetch};

use super::error::CoreResult;
use super::time::now_ms;
use crate::state::App;
use crate::worker::threads as job;

/// What the context endpoint says about a background fetch of its thread.
#[derive(Clone, Debug)]
pub struct Refresh {
    /// The root-most known status of the thread, which names the fetch.
    pub root_id: i64,
    pub state: ThreadFetch,
}

impl Refresh {
    pub fn running(&self) -> bool {
        self.state.finished_at.is_none()
    }
}

/// Queues a background fetch of the thread around `status` when it may be incomplete
/// (it has remote statuses, or its root-most known status answers one that is not
/// stored) and no fetch of it was queued within the cooldown. A local thread counts
/// when remote replies sit below its root: replies to those were delivered to their
/// authors' servers, not necessarily here. Returns the state of the thread's fetch,
/// queued now or earlier; `None` for a thread that is entirely local and complete.
pub async fn request_fetch(app: &App, status: &StatusRow) -> CoreResult<Option<Refresh>> {
    let limits = app.config.threads;
    let root_id = store::root_of(&app.db, status.id, i64::from(limits.max_depth)).await?;
    let root = match fulmar_store::statuses::by_id(&app.db, root_id).await? {
        Some(root) => root,
        None => return Ok(None),
    };
    let may_be_incomplete = !status.local
        || !root.local
        || (root.in_reply_to_uri.is_some() && root.in_reply_to_id.is_none())
        || !store::remote_below(&app.db, root_id, i64::from(limits.max_depth), 1)
            .await?
            .is_empty();
    if !may_be_incomplete || limits.max_objects == 0 {
        return Ok(None);
    }
    let now = now_ms();
    let cooldown_start = now - i64::from(limits.cooldown_seconds) * 1000;
    if store::claim_fetch(&app.db, root_id, now, cooldown_start).await? {
        job::enqueue(&app.db, root_id).await?;
    }
    Ok(store::fetch_state(&app.db, root_id)
        .await?
        .map(|state| Refresh { root_id, state }))
}

/// The id Mastodon's async-refresh header and endpoint use for a thread's fetch.
pub fn refresh_id(root_id: i64) -> String {
    format!("context-{root_id}")
}

/// The root id named by an async-refresh id.
pub fn parse_refresh_id(id: &str) -> Option<i64> {
    super::ids::parse_id(id.strip_prefix("context-")?)
}

/// Links the replies stored before `parent` arrived (a thread fetched from the
/// leaves up, or deliveries out of order) to it. A reply that is among the parent's
/// own ancestors (an `inReplyTo` loop) stays unlinked, so that threads stay trees.
pub async fn link_orphans(app: &App, parent: &StatusRow) -> fulmar_store::Result<()> {
    let orphans = store::orphans(&app.db, &parent.uri).await?;
    if orphans.is_empty() {
        return Ok(());
    }
    let above = store::ancestor_ids(&app.db, parent.id, 1000).await?;
    for (id, counts) in orphans {
        if id == parent.id || above.contains(&id) {
            continue;
        }
        store::link_orphan(&app.db, id, parent.id, parent.account_id, counts).await?;
    }
    Ok(())
}
