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
use crate::core::urls::Urls;
use crate::state::App;
use fulmar_store::inbound::{JobOf, LiteWriter, Received};

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

/// What became of a delivery handed to [`accept`].
#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Stored (as its status or as a job): the inbox may answer 202.
    Stored,
    /// Not stored: this host, one of the delivery's, is blocked.
    Blocked(String),
}

/// Accepts a delivery the inbox checked: on SQLite its status is stored at once when
/// it is a plain `Create` the group commit can store (`receive::batch`), and it is
/// stored as a job otherwise. Returns once either is committed, so that the caller may answer 202.
///
/// `hosts` are the delivery's origins (its actor's and its key's): the group commit
/// refuses the delivery when the database lists one of them as blocked, which the
/// inbox's first check, made on a copy of the block list, may not know yet.
///
/// `raw` is the body the activity was parsed from: the job's payload is written
/// around it rather than by serializing the parsed activity again.
pub async fn accept(
    app: &App,
    job: InboxJob,
    hosts: Vec<String>,
    raw: &[u8],
) -> CoreResult<Accepted> {
    let payload = match std::str::from_utf8(raw) {
        Ok(raw) => payload_around(raw, &job)?,
        // serde_json only parses UTF-8, so this is not reached; the serializer still
        // writes a valid payload if it ever is.
        Err(_) => serde_json::to_string(&job).map_err(anyhow::Error::from)?,
    };
    let row = super::new_job_with_payload(QUEUE, payload, origin(&job.activity), 8);
    // On PostgreSQL a group's reads and its transaction are about a dozen round
    // trips, made by the one committing task while the next group waits; that
    // measured 0.6 times the rate of storing jobs, which the two pollers then process
    // side by side (BENCHMARKS.md). There every delivery is a job.
    let received = (app.db.backend() == fulmar_store::Backend::Sqlite).then_some(job);
    app.inbox_commits.send(row, received, hosts).await
}

/// The host of the activity's actor: the job's concurrency key.
fn origin(activity: &Value) -> Option<String> {
    activity
        .get("actor")
        .and_then(fulmar_federation::from_activitypub::id_of)
        .and_then(|a| crate::core::resolve::authority(&a))
}

/// The JSON of `job` as [`InboxJob`]'s serialization writes it, with `raw_activity`
/// (the activity's JSON as received, which parsed into `job.activity`) spliced in as
/// `activity` instead of serializing the parsed value again: the worker parses it
/// into the same value.
fn payload_around(raw_activity: &str, job: &InboxJob) -> CoreResult<String> {
    let signer = serde_json::to_string(&job.signer).map_err(anyhow::Error::from)?;
    let recipient = serde_json::to_string(&job.recipient).map_err(anyhow::Error::from)?;
    let mut out = String::with_capacity(raw_activity.len() + signer.len() + recipient.len() + 64);
    out.push_str("{\"activity\":");
    out.push_str(raw_activity);
    out.push_str(",\"signer\":");
    out.push_str(&signer);
    out.push_str(",\"forwarded\":");
    out.push_str(if job.forwarded { "true" } else { "false" });
    out.push_str(",\"recipient\":");
    out.push_str(&recipient);
    out.push('}');
    Ok(out)
}

/// Most deliveries one commit of [`GroupCommit`] stores.
const GROUP_MAX: usize = 512;

/// Group commit of the inbox: one task stores every delivery handed to it while its
/// previous commit was running in one transaction, then answers each caller. Under
/// load a burst of deliveries costs one commit (and one wake-up of the pollers)
/// instead of one each; a lone delivery is stored at once, with no added wait.
///
/// The plain `Create`s among a group's deliveries ([`accept`]) are stored as
/// statuses, with their home-feed rows, in that same transaction
/// (`receive::batch::plain_creates`, the checks and rows of the worker's batch), so
/// that they never become jobs that a poller would claim, parse and delete; the
/// other deliveries, and any status the transaction leaves out (an id or URI taken),
/// are stored as jobs in it. A group whose reads or transaction fail is stored as
/// jobs only, as before.
///
/// A caller hears `Ok` only after the commit that holds its status or its job, so
/// nothing answered 202 can be lost. When a batch of jobs fails as a whole, its jobs
/// are stored one by one, so that one bad row fails alone (and a rolled-back batch
/// stores nothing twice).
///
/// On SQLite the committing task runs on a thread of its own ("fulmar-inbox"), with
/// a connection of its own that writes on that thread
/// (`fulmar_store::inbound::LiteWriter`): a group is then one call into SQLite rather
/// than a dozen hand-offs to the driver's thread, each of which queued the task behind
/// the requests on the runtime's threads (BENCHMARKS.md). On PostgreSQL it is a task
/// on the runtime, writing through the pool.
///
/// The committing task holds the database and the URLs, not the `App`: the `App`
/// owns this `GroupCommit`, whose sender keeps the task running, so a task holding
/// the `App` would keep both alive forever.
pub struct GroupCommit {
    db: Db,
    urls: Urls,
    sender: OnceLock<mpsc::UnboundedSender<Pending>>,
}

struct Pending {
    job: NewJob,
    /// The parsed delivery, when its status may be stored at once ([`accept`]).
    received: Option<InboxJob>,
    /// The hosts that must not be blocked for it to be stored ([`accept`]).
    hosts: Vec<String>,
    done: oneshot::Sender<Result<Accepted, String>>,
}

impl GroupCommit {
    pub fn new(db: Db, urls: Urls) -> GroupCommit {
        GroupCommit {
            db,
            urls,
            sender: OnceLock::new(),
        }
    }

    /// Stores `job`, returning once it is committed.
    pub async fn store(&self, job: NewJob) -> CoreResult<()> {
        self.send(job, None, Vec::new()).await.map(|_| ())
    }

    /// Stores the status of `received`, when there is one and it is a plain `Create`
    /// the batch can store, and `job` (its job) otherwise, returning once either is
    /// committed; or stores nothing when one of `hosts` is blocked.
    async fn send(
        &self,
        job: NewJob,
        received: Option<InboxJob>,
        hosts: Vec<String>,
    ) -> CoreResult<Accepted> {
        // The committing task starts on first use, inside the server's runtime; it
        // ends when this `GroupCommit` (and so its sender) is dropped.
        let sender = self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            start_committing(self.db.clone(), self.urls.clone(), rx);
            tx
        });
        let (done, answer) = oneshot::channel();
        sender
            .send(Pending {
                job,
                received,
                hosts,
                done,
            })
            .map_err(|_| anyhow::anyhow!("the inbox's committing task has stopped"))?;
        match answer.await {
            Ok(Ok(accepted)) => Ok(accepted),
            Ok(Err(e)) => Err(anyhow::anyhow!("storing an inbox job: {e}").into()),
            Err(_) => Err(anyhow::anyhow!("the inbox's committing task has stopped").into()),
        }
    }
}

/// Starts the committing task: on SQLite on its own thread with its own writer,
/// elsewhere (or when that writer cannot be opened) on the runtime.
fn start_committing(db: Db, urls: Urls, rx: mpsc::UnboundedReceiver<Pending>) {
    let writer = match LiteWriter::open(&db) {
        Ok(writer) => writer,
        Err(e) => {
            tracing::warn!("opening the inbox's SQLite writer: {e}; writing through the pool");
            None
        }
    };
    let Some(writer) = writer else {
        tokio::spawn(commit_loop(db, urls, None, rx));
        return;
    };
    // The loop's reads and the pool's jobs, should a group fall back to them, still
    // await; a runtime of one thread runs them, on the committing thread. The thread
    // ends with the loop, when the `GroupCommit` is dropped.
    let started = std::thread::Builder::new()
        .name("fulmar-inbox".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(commit_loop(db, urls, Some(writer), rx)),
                Err(e) => tracing::error!("the inbox's committing thread has no runtime: {e}"),
            }
        });
    if let Err(e) = started {
        // Without the thread every delivery would wait for an answer that never comes:
        // the callers hear that the task stopped, since `rx` was dropped with it.
        tracing::error!("starting the inbox's committing thread: {e}");
    }
}

async fn commit_loop(
    db: Db,
    urls: Urls,
    mut writer: Option<LiteWriter>,
    mut rx: mpsc::UnboundedReceiver<Pending>,
) {
    let mut batch: Vec<Pending> = Vec::with_capacity(GROUP_MAX);
    while rx.recv_many(&mut batch, GROUP_MAX).await > 0 {
        refuse_blocked(&db, &mut batch).await;
        if batch.is_empty() {
            continue;
        }
        let mut to = match writer.as_mut() {
            Some(w) => Writes::Lite(w),
            None => Writes::Pool(&db),
        };
        let results = match store_with_statuses(&db, &urls, &mut to, &batch).await {
            Some(results) => results,
            None => store_jobs(&mut to, &batch).await,
        };
        for (pending, result) in batch.drain(..).zip(results) {
            // A caller that went away (its sender hung up) needs no answer: its
            // delivery is stored all the same.
            let _ = pending.done.send(result.map(|()| Accepted::Stored));
        }
    }
}

/// Answers and removes the deliveries of `batch` that come from a blocked host, with
/// one query for the whole group: the inbox's own check read a copy of the block
/// list that may be a second old (`core::domains::BlockList`), and nothing from a
/// server blocked before this commit may be stored. When the query fails, the whole
/// group fails with it, and the senders retry.
async fn refuse_blocked(db: &Db, batch: &mut Vec<Pending>) {
    let mut hosts: Vec<String> = batch.iter().flat_map(|p| p.hosts.iter().cloned()).collect();
    if hosts.is_empty() {
        return;
    }
    hosts.sort_unstable();
    hosts.dedup();
    let blocked = match fulmar_store::domain_blocks::blocked_among(db, &hosts).await {
        Ok(blocked) if blocked.is_empty() => return,
        Ok(blocked) => blocked,
        Err(e) => {
            for pending in batch.drain(..) {
                let _ = pending
                    .done
                    .send(Err(format!("reading the domain blocks: {e}")));
            }
            return;
        }
    };
    let (refused, kept): (Vec<Pending>, Vec<Pending>) = batch
        .drain(..)
        .partition(|p| p.hosts.iter().any(|h| blocked.contains(h)));
    *batch = kept;
    for pending in refused {
        let host = pending
            .hosts
            .iter()
            .find(|h| blocked.contains(*h))
            .cloned()
            .unwrap_or_default();
        let _ = pending.done.send(Ok(Accepted::Blocked(host)));
    }
}

/// Where a group is written: the SQLite writer of the committing thread, or the pool.
enum Writes<'a> {
    Lite(&'a mut LiteWriter),
    Pool(&'a Db),
}

impl Writes<'_> {
    async fn store_statuses(
        &mut self,
        statuses: &[Received<'_>],
        jobs: &[&NewJob],
    ) -> fulmar_store::Result<Vec<i64>> {
        match self {
            Writes::Lite(w) => w.store_statuses(statuses, jobs),
            Writes::Pool(db) => fulmar_store::inbound::store_statuses(db, statuses, jobs).await,
        }
    }

    async fn enqueue_all(&mut self, jobs: &[&NewJob]) -> fulmar_store::Result<()> {
        match self {
            Writes::Lite(w) => w.enqueue_all(jobs),
            Writes::Pool(db) => jobs::enqueue_all(db, jobs).await,
        }
    }
}

/// Stores the statuses of the group's plain `Create`s and every other delivery's
/// job in one transaction. `None` when the group has no such `Create`, or when the
/// reads or the transaction failed (nothing was stored then): the caller stores
/// every delivery as a job.
async fn store_with_statuses(
    db: &Db,
    urls: &Urls,
    to: &mut Writes<'_>,
    batch: &[Pending],
) -> Option<Vec<Result<(), String>>> {
    let received: Vec<(usize, &InboxJob)> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.received.as_ref().map(|r| (i, r)))
        .collect();
    if received.is_empty() {
        return None;
    }
    let rows = match receive::batch::plain_creates(db, urls, received.iter().map(|(_, r)| *r)).await
    {
        Ok(rows) if rows.is_empty() => return None,
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(
                "reading for {} received activities: {e}; storing them as jobs",
                received.len()
            );
            return None;
        }
    };
    let mut as_status = vec![false; batch.len()];
    let statuses: Vec<Received<'_>> = rows
        .iter()
        .map(|(status, index)| {
            let at = received[*index].0;
            as_status[at] = true;
            Received {
                status,
                job: JobOf::Unstored(&batch[at].job),
            }
        })
        .collect();
    let jobs: Vec<&NewJob> = batch
        .iter()
        .zip(&as_status)
        .filter(|(_, s)| !**s)
        .map(|(p, _)| &p.job)
        .collect();
    match to.store_statuses(&statuses, &jobs).await {
        Ok(stored) => {
            // Wake the pollers when jobs were stored: the other deliveries, or the
            // statuses left out.
            if !jobs.is_empty() || stored.len() < statuses.len() {
                super::wake();
            }
            Some(vec![Ok(()); batch.len()])
        }
        Err(e) => {
            tracing::warn!(
                "storing {} received statuses with {} inbox jobs: {e}; storing them as jobs",
                statuses.len(),
                jobs.len()
            );
            None
        }
    }
}

/// Stores every delivery of the group as a job: all in one transaction, or, when
/// that fails, one by one.
async fn store_jobs(to: &mut Writes<'_>, batch: &[Pending]) -> Vec<Result<(), String>> {
    let jobs: Vec<&NewJob> = batch.iter().map(|p| &p.job).collect();
    let results: Vec<Result<(), String>> = match to.enqueue_all(&jobs).await {
        Ok(()) => vec![Ok(()); jobs.len()],
        Err(e) if jobs.len() == 1 => vec![Err(e.to_string())],
        Err(e) => {
            tracing::warn!(
                "storing {} inbox jobs at once: {e}; storing them one by one",
                jobs.len()
            );
            let mut results = Vec::with_capacity(jobs.len());
            for job in jobs {
                results.push(to.enqueue_all(&[job]).await.map_err(|e| e.to_string()));
            }
            results
        }
    };
    if results.iter().any(Result::is_ok) {
        super::wake();
    }
    results
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
