//! Background workers: turn queued jobs (rows of `jobs`, see `fulmar_store::jobs`) into
//! side effects. Started by the server next to HTTP ([`Worker::start`]) and stopped with
//! it ([`Worker::stop`]).
//!
//! A few poller tasks claim ready jobs in batches, leasing them, and run each one in its
//! own task under a global concurrency limit; delivery adds a per-host limit. When
//! nothing is ready a poller sleeps briefly, or until [`wake`] says that something was
//! enqueued in this process. On shutdown pollers stop claiming and in-flight jobs get
//! the drain timeout to finish; any job still leased after that is reclaimed by the next
//! process once its lease passes (at-least-once delivery).
//!
//! Queues: `outbox` (one per local action: builds the activity, fans out into one
//! `deliver` job per inbox), `deliver` (signs at send time and POSTs), `inbox`
//! (received activities, acted on by `activitypub::receive`), `thread` (filling in a
//! thread someone opened) and `backfill` (a remote account's recent posts, fetched
//! from its outbox under limits of its own, see [`backfill`]).

pub mod backfill;
pub mod delivery;
pub mod hosts;
pub mod inbox;
pub mod outbox;
pub mod threads;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fulmar_store::jobs::{self, JobRow};
use tokio::sync::{Notify, Semaphore};

use crate::core::time::now_ms;
use crate::state::App;

/// Tuning knobs. Defaults suit production; tests shorten the times through environment
/// variables (`FULMAR_QUEUE_LEASE_MS`, `FULMAR_QUEUE_BACKOFF_MS`,
/// `FULMAR_QUEUE_BACKOFF_CAP_MS`, `FULMAR_QUEUE_UNREACHABLE_AFTER_MS`, `FULMAR_QUEUE_PROBE_MS`).
#[derive(Clone, Debug)]
pub struct Settings {
    pub pollers: usize,
    /// Jobs running at once in the whole process (and so outgoing requests).
    pub max_in_flight: usize,
    /// Outgoing requests at once to one host.
    pub per_host: usize,
    pub idle_sleep: Duration,
    /// How long a claimed job stays leased to this process.
    pub lease_ms: i64,
    /// First retry delay; doubles per attempt.
    pub backoff_base_ms: i64,
    /// Longest single retry delay.
    pub backoff_cap_ms: i64,
    pub deliver_max_attempts: i32,
    /// A host failing continuously this long is marked unreachable.
    pub unreachable_after_ms: i64,
    /// While unreachable, one delivery per this interval is tried as a probe; the others
    /// are given up at once.
    pub probe_interval_ms: i64,
}

impl Settings {
    pub fn from_env() -> Settings {
        fn env(name: &str, default: i64) -> i64 {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(default)
        }
        Settings {
            pollers: 2,
            max_in_flight: 32,
            per_host: 4,
            idle_sleep: Duration::from_millis(env("FULMAR_QUEUE_IDLE_MS", 1000) as u64),
            lease_ms: env("FULMAR_QUEUE_LEASE_MS", 5 * 60 * 1000),
            backoff_base_ms: env("FULMAR_QUEUE_BACKOFF_MS", 60 * 1000),
            backoff_cap_ms: env("FULMAR_QUEUE_BACKOFF_CAP_MS", 12 * 60 * 60 * 1000),
            // 60 s doubling, capped at 12 h: 17 retries span about 4.2 days (more than 3
            // even with the jitter at its lowest).
            deliver_max_attempts: 18,
            unreachable_after_ms: env("FULMAR_QUEUE_UNREACHABLE_AFTER_MS", 24 * 60 * 60 * 1000),
            probe_interval_ms: env("FULMAR_QUEUE_PROBE_MS", 60 * 60 * 1000),
        }
    }

    /// The delay before retry number `attempts + 1`: exponential, capped, with ±25 %
    /// jitter so that retries to one host spread out.
    pub fn backoff_ms(&self, attempts: i32) -> i64 {
        let exp = attempts.clamp(0, 30) as u32;
        let base = self
            .backoff_base_ms
            .saturating_mul(1i64 << exp)
            .min(self.backoff_cap_ms)
            .max(1);
        let jitter = rand::random::<f64>() * 0.5 - 0.25;
        (base as f64 * (1.0 + jitter)) as i64
    }
}

/// Queues one job of `queue` carrying `payload` as JSON, due now. Callers wake the
/// pollers ([`wake`]) when they want it picked up at once.
pub(crate) async fn enqueue_now<T: serde::Serialize>(
    db: &fulmar_store::Db,
    queue: &str,
    payload: &T,
    concurrency_key: Option<String>,
    max_attempts: i32,
) -> crate::core::error::CoreResult<()> {
    let job = new_job(queue, payload, concurrency_key, max_attempts)?;
    jobs::enqueue(db, &job).await?;
    Ok(())
}

/// The row [`enqueue_now`] would store, for callers that store it themselves (in
/// their own transaction, or in a batch).
pub(crate) fn new_job<T: serde::Serialize>(
    queue: &str,
    payload: &T,
    concurrency_key: Option<String>,
    max_attempts: i32,
) -> crate::core::error::CoreResult<jobs::NewJob> {
    let payload = serde_json::to_string(payload).map_err(anyhow::Error::from)?;
    Ok(new_job_with_payload(
        queue,
        payload,
        concurrency_key,
        max_attempts,
    ))
}

/// [`new_job`] with its payload already written as JSON.
pub(crate) fn new_job_with_payload(
    queue: &str,
    payload: String,
    concurrency_key: Option<String>,
    max_attempts: i32,
) -> jobs::NewJob {
    let now = now_ms();
    jobs::NewJob {
        id: crate::core::ids::next_id(),
        queue: queue.into(),
        payload,
        run_at: now,
        concurrency_key,
        max_attempts,
        created_at: now,
    }
}

fn wake_signal() -> &'static Notify {
    static WAKE: OnceLock<Notify> = OnceLock::new();
    WAKE.get_or_init(Notify::new)
}

/// Tells the pollers of this process that a job was enqueued.
pub fn wake() {
    wake_signal().notify_waiters();
}

/// The running workers of one server.
pub struct Worker {
    stopping: Arc<AtomicBool>,
    stop_signal: Arc<Notify>,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    pollers: Vec<tokio::task::JoinHandle<()>>,
}

/// Most finished jobs one statement of [`Completions`] deletes.
const COMPLETE_MAX: usize = 512;

/// Group completion: a finished job's row is deleted together with those of the jobs
/// that finished while the previous delete ran, in one statement, instead of one
/// write each. A job's task waits for the delete that holds its row, as before; a
/// process that dies first leaves the row to be run again (at least once).
pub(crate) struct Completions {
    sender: tokio::sync::mpsc::UnboundedSender<(i64, tokio::sync::oneshot::Sender<bool>)>,
}

impl Completions {
    fn start(db: fulmar_store::Db) -> Completions {
        let (sender, mut rx) =
            tokio::sync::mpsc::unbounded_channel::<(i64, tokio::sync::oneshot::Sender<bool>)>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(COMPLETE_MAX);
            while rx.recv_many(&mut batch, COMPLETE_MAX).await > 0 {
                let (ids, dones): (Vec<i64>, Vec<_>) = batch.drain(..).unzip();
                let ok = match jobs::complete_many(&db, &ids).await {
                    Ok(()) => true,
                    Err(e) => {
                        // The leases will pass and the jobs run again.
                        tracing::warn!("recording {} finished jobs: {e}", ids.len());
                        false
                    }
                };
                for done in dones {
                    let _ = done.send(ok);
                }
            }
        });
        Completions { sender }
    }

    /// Deletes a finished job's row; false when that failed (already logged).
    async fn complete(&self, id: i64) -> bool {
        let (done, answer) = tokio::sync::oneshot::channel();
        if self.sender.send((id, done)).is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

/// What every job task shares.
pub(crate) struct Shared {
    pub app: App,
    /// Deletes finished jobs in groups.
    pub completions: Completions,
    pub settings: Settings,
    pub delivery: delivery::Deliverer,
    /// Thread fetches running at once (`thread_jobs`).
    pub thread_budget: Arc<Semaphore>,
    /// Requests at once per host from thread fetches, apart from deliveries' slots.
    pub thread_hosts: hosts::HostLimits,
    /// Per-host slots and the global budget of backfill jobs.
    pub backfill: backfill::Limits,
}

impl Worker {
    /// Starts the pollers with the default transport.
    pub fn start(app: App) -> Worker {
        let settings = Settings::from_env();
        let transport = Arc::new(delivery::ClientTransport::new(app.client.clone()));
        Self::start_with(app, settings, transport)
    }

    pub fn start_with(
        app: App,
        settings: Settings,
        transport: Arc<dyn delivery::Transport>,
    ) -> Worker {
        let stopping = Arc::new(AtomicBool::new(false));
        let stop_signal = Arc::new(Notify::new());
        let in_flight = Arc::new(Semaphore::new(settings.max_in_flight));
        let shared = Arc::new(Shared {
            completions: Completions::start(app.db.clone()),
            delivery: delivery::Deliverer::new(transport, settings.per_host),
            thread_budget: Arc::new(Semaphore::new(app.config.threads.jobs.max(1) as usize)),
            thread_hosts: hosts::HostLimits::new(app.config.threads.per_host as usize),
            backfill: backfill::Limits::new(&app.config.backfill),
            app,
            settings: settings.clone(),
        });
        let pollers = (0..settings.pollers)
            .map(|i| {
                tokio::spawn(poll(
                    i,
                    shared.clone(),
                    stopping.clone(),
                    stop_signal.clone(),
                    in_flight.clone(),
                ))
            })
            .collect();
        Worker {
            stopping,
            stop_signal,
            in_flight,
            max_in_flight: settings.max_in_flight,
            pollers,
        }
    }

    /// Stops claiming, then waits up to `drain` for in-flight jobs to finish.
    pub async fn stop(self, drain: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop_signal.notify_waiters();
        for p in self.pollers {
            let _ = p.await;
        }
        let all = self.in_flight.acquire_many(self.max_in_flight as u32);
        if tokio::time::timeout(drain, all).await.is_err() {
            tracing::warn!("jobs still running after {drain:?}; their leases will expire");
        }
    }
}

async fn poll(
    index: usize,
    shared: Arc<Shared>,
    stopping: Arc<AtomicBool>,
    stop_signal: Arc<Notify>,
    in_flight: Arc<Semaphore>,
) {
    let mut last_prune = 0i64;
    while !stopping.load(Ordering::SeqCst) {
        // Register for wake-ups before looking, so an enqueue in between is not missed.
        let woken = wake_signal().notified();
        let stopped = stop_signal.notified();
        tokio::pin!(woken, stopped);
        woken.as_mut().enable();
        stopped.as_mut().enable();
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        // Wait for room before claiming: a claimed job should start at once, so that
        // its lease is spent running, not waiting.
        let first = tokio::select! {
            p = in_flight.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            () = &mut stopped => break,
        };
        let room = 1 + in_flight.available_permits().min(31);
        let now = now_ms();
        if index == 0 && now - last_prune > 60_000 {
            last_prune = now;
            let week = 7 * 24 * 60 * 60 * 1000;
            if let Err(e) = jobs::prune_dead(&shared.app.db, now - week, 10_000).await {
                tracing::warn!("pruning dead jobs: {e}");
            }
        }
        let claimed =
            match jobs::claim(&shared.app.db, room as i64, now, shared.settings.lease_ms).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!("claiming jobs: {e}");
                    drop(first);
                    tokio::time::sleep(shared.settings.idle_sleep).await;
                    continue;
                }
            };
        if claimed.is_empty() {
            drop(first);
            tokio::select! {
                () = tokio::time::sleep(shared.settings.idle_sleep) => {}
                () = &mut woken => {}
                () = &mut stopped => break,
            }
            continue;
        }
        let mut first = Some(first);
        // The inbox jobs of a claim go together to `inbox::run_batch`, which stores
        // the plain `Create`s among them in one transaction and runs the rest at once.
        // The batch holds one slot of the budget: taking one per job while the other
        // poller also waited for slots could leave both waiting for each other.
        let (received, claimed): (Vec<JobRow>, Vec<JobRow>) = claimed
            .into_iter()
            .partition(|job| job.queue == inbox::QUEUE);
        if !received.is_empty() {
            if let Some(permit) = first.take() {
                tokio::spawn(inbox::run_batch(shared.clone(), received, permit));
            }
        }
        for job in claimed {
            let permit = match first.take() {
                Some(p) => p,
                None => match in_flight.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                run(&shared, job).await;
                drop(permit);
            });
        }
    }
}

/// Runs one job and records the outcome.
pub(crate) async fn run(shared: &Shared, job: JobRow) {
    let db = &shared.app.db;
    let outcome = match job.queue.as_str() {
        outbox::QUEUE => outbox::run(shared, &job).await,
        delivery::QUEUE => shared.delivery.run(shared, &job).await,
        inbox::QUEUE => inbox::run(shared, &job).await,
        threads::QUEUE => threads::run(shared, &job).await,
        backfill::QUEUE => backfill::run(shared, &job).await,
        other => Outcome::GiveUp(format!("unknown queue {other:?}")),
    };
    let now = now_ms();
    let result = match outcome {
        Outcome::Done => {
            // Errors are logged by the completing task.
            shared.completions.complete(job.id).await;
            Ok(())
        }
        Outcome::Handled => Ok(()),
        Outcome::Retry(error) => {
            let at = now + shared.settings.backoff_ms(job.attempts);
            match jobs::fail(db, job.id, at, &error, now).await {
                Ok(true) => {
                    tracing::info!(
                        job = job.id,
                        "giving up after {} attempts: {error}",
                        job.attempts + 1
                    );
                    Ok(())
                }
                Ok(false) => Ok(()),
                Err(e) => Err(e),
            }
        }
        Outcome::GiveUp(error) => {
            tracing::info!(job = job.id, queue = %job.queue, "giving up: {error}");
            jobs::bury(db, job.id, &error, now).await
        }
    };
    if let Err(e) = result {
        // The lease will pass and the job run again.
        tracing::warn!(job = job.id, "recording a job's outcome: {e}");
    }
}

/// What became of a job.
pub(crate) enum Outcome {
    /// Finished: delete it.
    Done,
    /// The handler already removed or replaced the row itself.
    Handled,
    /// Try again later.
    Retry(String),
    /// Never try again.
    GiveUp(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_near_a_minute_and_spans_more_than_three_days() {
        // The defaults (no FULMAR_QUEUE_* variables in unit tests).
        let s = Settings::from_env();
        for _ in 0..100 {
            let first = s.backoff_ms(0);
            assert!((45_000..=75_000).contains(&first), "{first}");
            let last = s.backoff_ms(30);
            assert!(last <= s.backoff_cap_ms * 5 / 4, "{last}");
        }
        // The retries between the first and the last attempt, jitter at its lowest.
        let total: i64 = (0..s.deliver_max_attempts - 1)
            .map(|a| (s.backoff_base_ms << a).min(s.backoff_cap_ms) * 3 / 4)
            .sum();
        assert!(total > 3 * 24 * 60 * 60 * 1000, "{total}");
    }
}
