//! The `inbox` queue: activities that arrived, verified and stored by
//! `activitypub::inbox`, processed by `activitypub::receive`.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use fulmar_store::jobs::{self, JobRow, NewJob};
use fulmar_store::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

use super::{Outcome, Shared};
use crate::activitypub::receive::{self, ReceiveError};
use crate::core::error::CoreResult;
use crate::state::App;

pub const QUEUE: &str = "inbox";

/// What an inbox stores for the worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InboxJob {
    /// The activity as received.
    pub activity: Value,
    /// The actor id that owns the key the delivery was signed with.
    pub signer: String,
    /// The signer is not the activity's actor: the object must be fetched from its
    /// origin instead of trusted.
    #[serde(default)]
    pub forwarded: bool,
    /// The local username whose personal inbox received it; `None` for the shared inbox.
    pub recipient: Option<String>,
}

/// Stores a received activity and wakes this process's pollers. Returns once the job
/// is committed (so the caller may answer 202), together with the other deliveries
/// that arrived while the previous commit was running ([`GroupCommit`]).
pub async fn enqueue(app: &App, job: &InboxJob) -> CoreResult<()> {
    let origin = job
        .activity
        .get("actor")
        .and_then(fulmar_federation::from_activitypub::id_of)
        .and_then(|a| crate::core::resolve::authority(&a));
    let row = super::new_job(QUEUE, job, origin, 8)?;
    app.inbox_commits.store(row).await
}

/// Most jobs one commit of [`GroupCommit`] stores.
const GROUP_MAX: usize = 512;

/// Group commit of inbox jobs: one task stores every job handed to it while its
/// previous commit was running in one transaction, then answers each caller. Under
/// load a burst of deliveries costs one commit (and one wake-up of the pollers)
/// instead of one each; a lone delivery is stored at once, with no added wait.
///
/// A caller hears `Ok` only after the commit that holds its job, so nothing answered
/// 202 can be lost. When a batch fails as a whole, its jobs are stored one by one, so
/// that one bad row fails alone (and a rolled-back batch stores nothing twice).
pub struct GroupCommit {
    db: Db,
    sender: OnceLock<mpsc::UnboundedSender<Pending>>,
}

struct Pending {
    job: NewJob,
    done: oneshot::Sender<Result<(), String>>,
}

impl GroupCommit {
    pub fn new(db: Db) -> GroupCommit {
        GroupCommit {
            db,
            sender: OnceLock::new(),
        }
    }

    /// Stores `job`, returning once it is committed.
    pub async fn store(&self, job: NewJob) -> CoreResult<()> {
        // The committing task starts on first use, inside the server's runtime; it
        // ends when this `GroupCommit` (and so its sender) is dropped.
        let sender = self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(commit_loop(self.db.clone(), rx));
            tx
        });
        let (done, answer) = oneshot::channel();
        sender
            .send(Pending { job, done })
            .map_err(|_| anyhow::anyhow!("the inbox's committing task has stopped"))?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::anyhow!("storing an inbox job: {e}").into()),
            Err(_) => Err(anyhow::anyhow!("the inbox's committing task has stopped").into()),
        }
    }
}

async fn commit_loop(db: Db, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(GROUP_MAX);
    while rx.recv_many(&mut batch, GROUP_MAX).await > 0 {
        let (jobs, dones): (Vec<NewJob>, Vec<_>) = batch.drain(..).map(|p| (p.job, p.done)).unzip();
        let results: Vec<Result<(), String>> = match jobs::enqueue_batch(&db, &jobs).await {
            Ok(()) => vec![Ok(()); jobs.len()],
            Err(e) if jobs.len() == 1 => vec![Err(e.to_string())],
            Err(e) => {
                tracing::warn!(
                    "storing {} inbox jobs at once: {e}; storing them one by one",
                    jobs.len()
                );
                let mut results = Vec::with_capacity(jobs.len());
                for job in &jobs {
                    results.push(jobs::enqueue(&db, job).await.map_err(|e| e.to_string()));
                }
                results
            }
        };
        if results.iter().any(Result::is_ok) {
            super::wake();
        }
        for (done, result) in dones.into_iter().zip(results) {
            // A caller that went away (its sender hung up) needs no answer: its job
            // is stored all the same.
            let _ = done.send(result);
        }
    }
}

/// Runs the inbox jobs of one claim: the plain `Create`s among them in one batch
/// (`receive::batch`), every other job (and any the batch left out, or all of them
/// when the batch failed) on its own, concurrently, as other queues' jobs run. The
/// batch holds `permit`, its one slot of the worker's budget, until every job of it
/// is finished (so that stopping the worker waits for them).
pub(crate) async fn run_batch(
    shared: Arc<Shared>,
    jobs: Vec<JobRow>,
    permit: OwnedSemaphorePermit,
) {
    let payloads: Vec<(i64, InboxJob)> = jobs
        .iter()
        .filter_map(|job| {
            serde_json::from_str::<InboxJob>(&job.payload)
                .ok()
                .map(|p| (job.id, p))
        })
        .collect();
    let done = match receive::batch::store_plain_creates(&shared.app, &payloads).await {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!(
                "storing {} received activities at once: {e}; processing them one by one",
                payloads.len()
            );
            HashSet::new()
        }
    };
    // The jobs stored by the batch were deleted with their statuses.
    let rest: Vec<_> = jobs
        .into_iter()
        .filter(|job| !done.contains(&job.id))
        .map(|job| {
            let shared = shared.clone();
            tokio::spawn(async move { super::run(&shared, job).await })
        })
        .collect();
    for task in rest {
        let _ = task.await;
    }
    drop(permit);
}

pub(crate) async fn run(shared: &Shared, job: &JobRow) -> Outcome {
    let payload: InboxJob = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::GiveUp(format!("bad inbox payload: {e}")),
    };
    match receive::process(&shared.app, &payload).await {
        Ok(()) => Outcome::Done,
        Err(ReceiveError::Retry(e)) => Outcome::Retry(e),
        Err(e) => {
            let id = payload.activity.get("id").and_then(Value::as_str);
            tracing::info!(activity = id, "inbox activity dropped: {e}");
            Outcome::Done
        }
    }
}
