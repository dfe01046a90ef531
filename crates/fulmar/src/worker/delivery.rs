//! The `deliver` queue: one signed POST of one activity to one inbox.
//!
//! The request is signed when it is sent, never when it is queued: Mastodon refuses a
//! `Date` more than about an hour off, and a delivery may be retried for days. Outcomes:
//! 2xx is done; 4xx other than 408 and 429 is permanent (given up); anything else is
//! retried with exponential backoff (see [`super::Settings`]). Each host's health is
//! kept in `instances`: a host that keeps failing is marked unreachable, and its
//! deliveries are then given up at once, except one probe per interval, until it
//! answers again.
//!
//! A fan-out to a thousand servers is a thousand deliveries within a second, so their
//! bookkeeping is kept off the database where it can be: a host this process last
//! saw answer is not looked up again before each delivery, and the outcomes of
//! successful deliveries (the job leaves the queue, the host answered) are written
//! together, in one transaction for every delivery that finished while the previous
//! one was being written (group commit). A job still leaves the queue only after its
//! delivery; a process killed before the write sends it again (at least once).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use fulmar_federation::signatures::SigningKey;
use fulmar_store::jobs::{self, JobRow};
use fulmar_store::Db;
use serde::{Deserialize, Serialize};

use super::hosts::HostLimits;
use super::{Outcome, Shared};
use crate::core::time::now_ms;

pub const QUEUE: &str = "deliver";

/// A `deliver` job's payload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub inbox: String,
    /// The activity, serialized once: every inbox gets the same bytes.
    pub activity: String,
    /// The local account whose key signs; `None` for the instance actor.
    pub signer: Option<i64>,
}

/// Who signs a request: the federation client's signer.
pub use fulmar_federation::client::Signer;

/// Why a POST did not get an answer.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub message: String,
    /// True when retrying cannot help (a refused address, an invalid URL).
    pub permanent: bool,
}

pub type PostFuture<'a> = Pin<Box<dyn Future<Output = Result<u16, DeliveryError>> + Send + 'a>>;

/// Sends one signed activity and reports the HTTP status.
pub trait Transport: Send + Sync + 'static {
    fn post<'a>(&'a self, inbox: &'a str, body: &'a [u8], signer: &'a Signer) -> PostFuture<'a>;
}

/// Deliveries go through THE outgoing client (`fulmar_federation::client`), which
/// refuses private and loopback addresses outside development mode (checking the
/// resolved address, not the name), bounds time and size, and signs the request when
/// it is sent: Mastodon rejects a `Date` more than an hour off, so a signature made
/// when the job was queued could be stale by the time a retry goes out.
pub struct ClientTransport {
    client: fulmar_federation::client::Client,
}

impl ClientTransport {
    pub fn new(client: fulmar_federation::client::Client) -> ClientTransport {
        ClientTransport { client }
    }
}

impl Transport for ClientTransport {
    fn post<'a>(&'a self, inbox: &'a str, body: &'a [u8], signer: &'a Signer) -> PostFuture<'a> {
        Box::pin(async move {
            match self.client.post_activity(inbox, body, signer).await {
                Ok(status) => Ok(status),
                // An answer is an answer: the worker decides what each status means.
                Err(fulmar_federation::client::ClientError::BadStatus(status)) => Ok(status),
                Err(e) => Err(DeliveryError {
                    message: format!("{inbox}: {e}"),
                    permanent: e.is_permanent(),
                }),
            }
        })
    }
}

/// Runs `deliver` jobs: per-host limits, key cache, host health.
pub struct Deliverer {
    transport: Arc<dyn Transport>,
    hosts: HostLimits,
    keys: Mutex<HashMap<Option<i64>, Signer>>,
    /// Hosts whose latest request from this process got an answer: their health
    /// need not be read before delivering to them, since only failures (which remove
    /// a host from here) can make a host unreachable.
    answering: Mutex<HashSet<String>>,
    /// Outcomes waiting to be written.
    pending: Mutex<Pending>,
}

/// Successful deliveries not yet recorded in the database.
#[derive(Default)]
struct Pending {
    /// Jobs to delete.
    done: Vec<i64>,
    /// Hosts that answered.
    answered: HashSet<String>,
    /// Whether a task is writing outcomes now (and will write these too).
    writing: bool,
}

/// Hosts remembered as answering, at most; past that the set starts over (the
/// health of a forgotten host is read from the database again).
const MAX_ANSWERING: usize = 100_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Deliverer {
    pub fn new(transport: Arc<dyn Transport>, per_host: usize) -> Deliverer {
        Deliverer {
            transport,
            hosts: HostLimits::new(per_host),
            keys: Mutex::new(HashMap::new()),
            answering: Mutex::new(HashSet::new()),
            pending: Mutex::new(Pending::default()),
        }
    }

    /// Notes that `host` answered and, when given, that job `done` was delivered, and
    /// writes both to the database, together with whatever other deliveries finish
    /// meanwhile. If another task is already writing, it leaves them to that task,
    /// which writes until nothing is left.
    async fn answered(&self, db: &Db, host: String, done: Option<i64>) {
        {
            let mut answering = lock(&self.answering);
            if answering.len() >= MAX_ANSWERING {
                answering.clear();
            }
            answering.insert(host.clone());
        }
        {
            let mut pending = lock(&self.pending);
            pending.done.extend(done);
            pending.answered.insert(host);
            if pending.writing {
                return;
            }
            pending.writing = true;
        }
        // Lets another task take over the writing if this one is dropped mid-way.
        struct Writing<'a>(&'a Mutex<Pending>);
        impl Drop for Writing<'_> {
            fn drop(&mut self) {
                lock(self.0).writing = false;
            }
        }
        let _writing = Writing(&self.pending);
        loop {
            let (done, answered) = {
                let mut pending = lock(&self.pending);
                if pending.done.is_empty() && pending.answered.is_empty() {
                    pending.writing = false;
                    return;
                }
                (
                    std::mem::take(&mut pending.done),
                    std::mem::take(&mut pending.answered),
                )
            };
            let answered: Vec<String> = answered.into_iter().collect();
            if let Err(e) = jobs::finish_deliveries(db, &done, &answered, now_ms()).await {
                // The jobs stay leased; once the lease passes they are delivered again.
                tracing::warn!("recording {} deliveries: {e}", done.len());
            }
        }
    }

    async fn signer(&self, shared: &Shared, account: Option<i64>) -> Result<Signer, String> {
        if let Some(s) = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&account)
        {
            return Ok(s.clone());
        }
        let app = &shared.app;
        let (key_id, pem) = match account {
            None => return Ok(app.instance_signer().await.clone()),
            Some(id) => {
                let account = fulmar_store::accounts::by_id(&app.db, id)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("the signing account is gone")?;
                let key = fulmar_store::keys::main_key_of(&app.db, id)
                    .await
                    .map_err(|e| e.to_string())?
                    .and_then(|k| k.private_key_pem)
                    .ok_or("the signing account has no private key")?;
                (app.urls.key_id(&account.username), key)
            }
        };
        let key = SigningKey::from_pem(&pem).map_err(|e| format!("signing key: {e}"))?;
        let signer = Signer {
            key_id,
            key: Arc::new(key),
        };
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account, signer.clone());
        Ok(signer)
    }

    pub(crate) async fn run(&self, shared: &Shared, job: &JobRow) -> Outcome {
        let delivery: Delivery = match serde_json::from_str(&job.payload) {
            Ok(d) => d,
            Err(e) => return Outcome::GiveUp(format!("bad payload: {e}")),
        };
        let Some(host) = url::Url::parse(&delivery.inbox).ok().and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_owned(),
            })
        }) else {
            return Outcome::GiveUp(format!("invalid inbox URL {}", delivery.inbox));
        };
        let db = &shared.app.db;
        let settings = &shared.settings;
        let now = now_ms();
        let answering = lock(&self.answering).contains(&host);
        match if answering {
            Ok(None)
        } else {
            jobs::host_health(db, &host).await
        } {
            Ok(Some(h)) if h.unreachable_since.is_some() => {
                let probed_recently = h
                    .last_failure_at
                    .is_some_and(|t| t > now - settings.probe_interval_ms);
                if probed_recently {
                    return Outcome::GiveUp(format!("{host} is unreachable"));
                }
            }
            Ok(_) => {}
            Err(e) => return Outcome::Retry(format!("reading host health: {e}")),
        }
        let signer = match self.signer(shared, delivery.signer).await {
            Ok(s) => s,
            Err(e) => return Outcome::GiveUp(e),
        };
        let limit = self.hosts.of(&host);
        let Ok(host_slot) = limit.acquire().await else {
            return Outcome::Retry("shutting down".into());
        };
        let result = self
            .transport
            .post(&delivery.inbox, delivery.activity.as_bytes(), &signer)
            .await;
        let now = now_ms();
        match result {
            Ok(status) if (200..300).contains(&status) => {
                drop(host_slot);
                self.answered(db, host, Some(job.id)).await;
                Outcome::Handled
            }
            Ok(status) if (400..500).contains(&status) && status != 408 && status != 429 => {
                // The host answered: it is up, the request is what it refuses.
                drop(host_slot);
                self.answered(db, host, None).await;
                Outcome::GiveUp(format!("{}: HTTP {status}", delivery.inbox))
            }
            Ok(status) => {
                self.failed(shared, &host, now).await;
                Outcome::Retry(format!("{}: HTTP {status}", delivery.inbox))
            }
            Err(e) if e.permanent => Outcome::GiveUp(e.message),
            Err(e) => {
                self.failed(shared, &host, now).await;
                Outcome::Retry(e.message)
            }
        }
    }

    async fn failed(&self, shared: &Shared, host: &str, now: i64) {
        lock(&self.answering).remove(host);
        match jobs::host_failed(
            &shared.app.db,
            host,
            now,
            shared.settings.unreachable_after_ms,
        )
        .await
        {
            Ok(h) if h.unreachable_since == Some(now) => {
                tracing::warn!(
                    "{host} has been failing since {:?}: marked unreachable",
                    h.failing_since
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("recording {host}'s failure: {e}"),
        }
    }
}
