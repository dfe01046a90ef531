//! Acting on received activities (the `inbox` queue's jobs): each activity type's
//! meaning for the rows here. Objects (Create, Update and Delete of statuses, polls and
//! the non-Note types) are handled in [`objects`]; relations between accounts and
//! interactions (Follow, Accept, Reject, Undo, Like, Announce, Block, EmojiReact, and
//! Update or Delete of actors) in [`social`]; the consent of quote posts
//! (QuoteRequest, its Accept or Reject, Delete of a QuoteAuthorization) in [`quotes`].
//!
//! Every handler is idempotent: the queue delivers at least once, and peers resend.

pub mod batch;
pub mod objects;
pub mod quotes;
pub mod social;

use fulmar_federation::from_activitypub::{parse_activity, RemoteActivity, ACTOR_TYPES};
use fulmar_store::accounts::AccountRow;
use fulmar_store::StoreError;

use crate::core::resolve::{self, ResolveError};
use crate::core::CoreError;
use crate::state::App;
use crate::worker::inbox::InboxJob;

/// Why an activity was not (or not yet) acted on.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// Worth another try later: a store failure, or a fetch that may succeed then.
    #[error("{0}")]
    Retry(String),
    /// The activity is wrong or not allowed: drop it.
    #[error("{0}")]
    Invalid(String),
    /// Understood but not acted on (an unknown type, an object we do not have).
    #[error("ignored: {0}")]
    Ignored(String),
}

pub type ReceiveResult<T> = Result<T, ReceiveError>;

pub(crate) fn invalid(text: impl Into<String>) -> ReceiveError {
    ReceiveError::Invalid(text.into())
}

pub(crate) fn ignored(text: impl Into<String>) -> ReceiveError {
    ReceiveError::Ignored(text.into())
}

impl From<StoreError> for ReceiveError {
    fn from(e: StoreError) -> Self {
        ReceiveError::Retry(format!("store: {e}"))
    }
}

impl From<CoreError> for ReceiveError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::NotFound => ReceiveError::Ignored("not found".into()),
            CoreError::Forbidden => ReceiveError::Invalid("not allowed".into()),
            CoreError::Invalid(m) | CoreError::Conflict(m) => ReceiveError::Invalid(m.into()),
            CoreError::Internal(e) => ReceiveError::Retry(format!("{e:#}")),
        }
    }
}

impl From<ResolveError> for ReceiveError {
    fn from(e: ResolveError) -> Self {
        match e {
            ResolveError::NotFound => ReceiveError::Ignored("not found".into()),
            ResolveError::Fetch(ref f) if !f.is_permanent() => ReceiveError::Retry(e.to_string()),
            ResolveError::Fetch(_) | ResolveError::Parse(_) | ResolveError::Invalid(_) => {
                ReceiveError::Invalid(e.to_string())
            }
            ResolveError::Store(e) => e.into(),
        }
    }
}

/// One received activity with what the handlers need around it.
pub struct Received<'a> {
    pub app: &'a App,
    pub activity: RemoteActivity,
    /// The activity's actor, as stored here (fetched when the key was).
    pub actor: AccountRow,
    /// The signer was another server forwarding this: trust only what is fetched from
    /// the object's origin.
    pub forwarded: bool,
    /// The local account whose personal inbox received it, if any.
    pub recipient: Option<String>,
}

/// Acts on one stored inbox job.
pub async fn process(app: &App, job: &InboxJob) -> ReceiveResult<()> {
    let activity = parse_activity(&job.activity).map_err(|e| invalid(e.to_string()))?;
    let actor = resolve::resolve_actor_url(app, &activity.actor).await?;
    if actor.is_local() {
        return Err(invalid("an activity by a local actor from outside"));
    }
    if actor.suspended_at.is_some() {
        return Err(ignored("the actor is suspended"));
    }
    let received = Received {
        app,
        activity,
        actor,
        forwarded: job.forwarded,
        recipient: job.recipient.clone(),
    };
    dispatch(&received).await
}

/// Whether the activity's object is an actor (Update or Delete of an account).
fn object_is_actor(a: &RemoteActivity) -> bool {
    a.object_id.as_deref() == Some(a.actor.as_str())
        || a.object_type
            .as_deref()
            .is_some_and(|t| ACTOR_TYPES.contains(&t))
}

async fn dispatch(r: &Received<'_>) -> ReceiveResult<()> {
    let a = &r.activity;
    match a.kind.as_str() {
        "Create" => objects::create(r).await,
        "Update" if object_is_actor(a) => social::update_actor(r).await,
        "Update" => objects::update(r).await,
        "Delete" if object_is_actor(a) => social::delete_actor(r).await,
        "Delete" => {
            if quotes::delete_authorization(r).await? {
                return Ok(());
            }
            objects::delete(r).await
        }
        "Follow" => social::follow(r).await,
        "Accept" => match quotes::answered(r).await? {
            Some(quoting) => quotes::accept(r, quoting).await,
            None => social::accept(r).await,
        },
        "Reject" => match quotes::answered(r).await? {
            Some(quoting) => quotes::reject(r, quoting).await,
            None => social::reject(r).await,
        },
        "QuoteRequest" => quotes::request(r).await,
        "Undo" => social::undo(r).await,
        "Like" | "EmojiReact" => social::like(r).await,
        "Announce" => social::announce(r).await,
        "Block" => social::block(r).await,
        other => Err(ignored(format!("{other} activities are not handled"))),
    }
}
