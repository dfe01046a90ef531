//! The `inbox` queue: activities that arrived, verified and stored by
//! `activitypub::inbox`, processed by `activitypub::receive`.

use fulmar_store::jobs::JobRow;
use fulmar_store::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Outcome, Shared};
use crate::activitypub::receive::{self, ReceiveError};
use crate::core::error::CoreResult;

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

/// Stores a received activity and wakes this process's pollers.
pub async fn enqueue(db: &Db, job: &InboxJob) -> CoreResult<()> {
    let origin = job
        .activity
        .get("actor")
        .and_then(fulmar_federation::from_activitypub::id_of)
        .and_then(|a| crate::core::resolve::authority(&a));
    super::enqueue_now(db, QUEUE, job, origin, 8).await?;
    super::wake();
    Ok(())
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
