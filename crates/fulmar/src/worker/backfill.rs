//! The `backfill` queue: fetching a remote account's recent posts (`core::backfill`)
//! after a follow is accepted or when its profile is opened.
//!
//! Politeness: a backfill holds one of a few slots of its host (a `HostLimits` of its
//! own, apart from deliveries') and one of a small global budget; a job that finds
//! either full goes back to the queue for a little while instead of waiting, so that
//! it holds none of the worker's general slots meanwhile. Each run has a time limit,
//! the client has its timeouts and a body size limit, and an answer that is not an
//! outbox gives the job up at once: a slow or broken server costs its own slots only.

use std::sync::Arc;
use std::time::Duration;

use fulmar_store::accounts::AccountRow;
use fulmar_store::jobs::{self, JobRow};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::hosts::HostLimits;
use super::{Outcome, Shared};
use crate::core::backfill::{self, BackfillError};
use crate::core::error::CoreResult;
use crate::core::resolve::authority;
use crate::core::time::now_ms;
use crate::state::App;

pub const QUEUE: &str = "backfill";

/// How long a job that found no free slot waits before it is tried again.
const BUSY_DELAY_MS: i64 = 2_000;

/// Why a backfill was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A local user's follow was accepted: their home feed gets the posts too.
    Follow,
    /// The profile or its statuses were opened through the API.
    Profile,
}

/// The payload of a `backfill` job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackfillJob {
    pub account_id: i64,
    pub reason: Reason,
    /// The local follower whose home feed gets the posts (for `Follow`).
    #[serde(default)]
    pub reader_id: Option<i64>,
}

/// The limits backfill jobs share.
pub(crate) struct Limits {
    hosts: HostLimits,
    budget: Arc<Semaphore>,
}

impl Limits {
    pub fn new(settings: &crate::config::Backfill) -> Limits {
        Limits {
            hosts: HostLimits::new(settings.per_host as usize),
            budget: Arc::new(Semaphore::new(settings.in_flight.max(1) as usize)),
        }
    }
}

/// Queues a backfill of `account` because of `reason`. A profile view only queues one
/// when the account's cooldown has passed; a follow always does (the follower's feed
/// needs the posts), and restarts the cooldown. Returns whether a job was queued.
pub async fn request(
    app: &App,
    account: &AccountRow,
    reason: Reason,
    reader_id: Option<i64>,
) -> CoreResult<bool> {
    let settings = &app.config.backfill;
    if account.is_local() || account.suspended_at.is_some() || settings.count == 0 {
        return Ok(false);
    }
    let now = now_ms();
    let cooldown = match reason {
        Reason::Follow => 0,
        Reason::Profile => i64::from(settings.cooldown_hours) * 60 * 60 * 1000,
    };
    if !fulmar_store::backfill::claim(&app.db, account.id, now, cooldown).await? {
        return Ok(false);
    }
    let job = BackfillJob {
        account_id: account.id,
        reason,
        reader_id,
    };
    // A server that is down now may answer later; beyond that it is not worth
    // insisting for posts that are a nicety: 3 attempts.
    super::enqueue_now(&app.db, QUEUE, &job, authority(&account.uri), 3).await?;
    super::wake();
    Ok(true)
}

/// Puts a job back for later without counting an attempt.
async fn later(shared: &Shared, job: &JobRow) -> Outcome {
    match jobs::release(&shared.app.db, job.id, now_ms() + BUSY_DELAY_MS).await {
        Ok(()) => Outcome::Handled,
        Err(e) => Outcome::Retry(format!("releasing a busy backfill: {e}")),
    }
}

pub(crate) async fn run(shared: &Shared, job: &JobRow) -> Outcome {
    let app = &shared.app;
    let payload: BackfillJob = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::GiveUp(format!("bad backfill payload: {e}")),
    };
    let account = match fulmar_store::accounts::by_id(&app.db, payload.account_id).await {
        Ok(Some(a)) => a,
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let Some(host) = authority(&account.uri) else {
        return Outcome::GiveUp("the account has no host".into());
    };
    let Ok(_budget) = shared.backfill.budget.clone().try_acquire_owned() else {
        return later(shared, job).await;
    };
    let Ok(_slot) = shared.backfill.hosts.of(&host).try_acquire_owned() else {
        return later(shared, job).await;
    };
    let settings = &app.config.backfill;
    let limit = Duration::from_secs(u64::from(settings.timeout_secs));
    let outcome = match tokio::time::timeout(limit, backfill::run(app, &account, settings)).await {
        Ok(Ok(summary)) => {
            tracing::info!(account = %account.uri, ?summary, "backfilled");
            Outcome::Done
        }
        // Recorded on the account by `run`; nothing to retry.
        Ok(Err(BackfillError::Private)) => Outcome::Done,
        Ok(Err(BackfillError::Garbage(e))) => Outcome::GiveUp(e),
        Ok(Err(BackfillError::Transient(e))) => Outcome::Retry(e),
        // What was stored before the limit stays; the rest waits for another time.
        Err(_) => {
            tracing::info!(account = %account.uri, "backfill stopped after {limit:?}");
            Outcome::Done
        }
    };
    if let (Reason::Follow, Some(reader)) = (payload.reason, payload.reader_id) {
        if let Err(e) = backfill::fill_home(app, reader, &account, settings).await {
            return Outcome::Retry(format!("filling the home feed: {e}"));
        }
    }
    outcome
}
