//! The `outbox` queue: local actions become activities.
//!
//! Core services call [`emit`] where they make a change; the job carries only ids
//! (core builds no JSON-LD). The worker loads the rows, builds the activity in
//! `activitypub::to_activitypub`, works out the audience and replaces itself, in one
//! transaction, with one `deliver` job per distinct inbox (shared inboxes preferred and
//! deduplicated). Local-only audiences produce no deliveries.

use std::collections::BTreeSet;

use fulmar_store::accounts::AccountRow;
use fulmar_store::jobs::{self, JobRow, NewJob};
use fulmar_store::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::delivery::{self, Delivery};
use super::{Outcome, Shared};
use crate::activitypub::to_activitypub as ap;
use crate::core::error::CoreResult;
use crate::core::ids::next_id;
use crate::core::time::now_ms;

pub const QUEUE: &str = "outbox";

/// A local action that other servers must hear about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    CreateStatus {
        status_id: i64,
    },
    UpdateStatus {
        status_id: i64,
    },
    DeleteStatus {
        status_id: i64,
    },
    Like {
        account_id: i64,
        status_id: i64,
    },
    UndoLike {
        account_id: i64,
        status_id: i64,
    },
    Announce {
        account_id: i64,
        reblog_id: i64,
        status_id: i64,
    },
    UndoAnnounce {
        account_id: i64,
        reblog_id: i64,
        status_id: i64,
    },
    Follow {
        account_id: i64,
        target_id: i64,
    },
    UndoFollow {
        account_id: i64,
        target_id: i64,
    },
    Block {
        account_id: i64,
        target_id: i64,
    },
    UndoBlock {
        account_id: i64,
        target_id: i64,
    },
    Accept {
        account_id: i64,
        requester_id: i64,
        follow_uri: Option<String>,
    },
    Reject {
        account_id: i64,
        requester_id: i64,
        follow_uri: Option<String>,
    },
    UpdateProfile {
        account_id: i64,
    },
    /// A local status quotes a remote one: ask its author's server (FEP-044f).
    QuoteRequest {
        status_id: i64,
    },
    /// A remote quote of a local status was approved by this authorization.
    AcceptQuote {
        authorization_id: i64,
        request_uri: String,
    },
    /// A remote quote of a local status was refused.
    RejectQuote {
        account_id: i64,
        requester_id: i64,
        quoted_status_id: i64,
        request_uri: String,
        instrument: String,
    },
    /// The quoted author revoked this authorization.
    RevokeQuote {
        authorization_id: i64,
    },
}

/// Queues `event` for the outbox worker and wakes this process's pollers.
pub async fn emit(db: &Db, event: Event) -> CoreResult<()> {
    enqueue(db, &event).await?;
    super::wake();
    Ok(())
}

async fn enqueue(db: &Db, event: &Event) -> CoreResult<()> {
    super::enqueue_now(db, QUEUE, event, None, 10).await
}

/// The job [`emit`] would store, for a caller that commits it in its own transaction
/// (and then calls [`super::wake`]).
pub(crate) fn job_for(event: &Event) -> CoreResult<fulmar_store::jobs::NewJob> {
    super::new_job(QUEUE, event, None, 10)
}

/// `Accept`/`Reject` of `requester`'s follow of `me`, when `requester` is remote and
/// has asked; reads the Follow's id, so call it before the request row goes.
pub async fn emit_answer(
    db: &Db,
    me: &AccountRow,
    requester: &AccountRow,
    accept: bool,
) -> CoreResult<()> {
    if requester.is_local() {
        return Ok(());
    }
    let Some(follow_uri) = jobs::follow_uri(db, requester.id, me.id).await? else {
        return Ok(());
    };
    let (account_id, requester_id) = (me.id, requester.id);
    // Without waking the pollers: this runs just before the caller's read-then-write
    // transaction on the request, and an immediate claim (a write) racing with it makes
    // SQLite refuse that transaction (SQLITE_BUSY on the lock upgrade). The next poll,
    // within a second, sends it.
    enqueue(
        db,
        &if accept {
            Event::Accept {
                account_id,
                requester_id,
                follow_uri,
            }
        } else {
            Event::Reject {
                account_id,
                requester_id,
                follow_uri,
            }
        },
    )
    .await
}

/// FNV-1a, 64 bits: a short, deterministic digest for activity ids (not a security
/// measure).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What an event turns into.
struct Plan {
    activity: Value,
    signer: i64,
    inboxes: BTreeSet<String>,
}

pub(crate) async fn run(shared: &Shared, job: &JobRow) -> Outcome {
    let event: Event = match serde_json::from_str(&job.payload) {
        Ok(e) => e,
        Err(e) => return Outcome::GiveUp(format!("bad payload: {e}")),
    };
    let plan = match plan(shared, &event).await {
        Ok(Some(p)) => p,
        Ok(None) => return Outcome::Done,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let body = match serde_json::to_string(&plan.activity) {
        Ok(b) => b,
        Err(e) => return Outcome::GiveUp(e.to_string()),
    };
    // Nothing goes to a blocked domain (`core::domains`).
    let inboxes = match crate::core::domains::deliverable(&shared.app.db, plan.inboxes).await {
        Ok(i) => i,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let now = now_ms();
    let deliveries: Vec<NewJob> = inboxes
        .into_iter()
        .filter_map(|inbox| {
            let payload = serde_json::to_string(&Delivery {
                inbox: inbox.clone(),
                activity: body.clone(),
                signer: Some(plan.signer),
            })
            .ok()?;
            Some(NewJob {
                id: next_id(),
                queue: delivery::QUEUE.into(),
                payload,
                run_at: now,
                concurrency_key: Some(inbox),
                max_attempts: shared.settings.deliver_max_attempts,
                created_at: now,
            })
        })
        .collect();
    match jobs::complete_with(&shared.app.db, job.id, &deliveries).await {
        Ok(()) => {
            if !deliveries.is_empty() {
                super::wake();
            }
            Outcome::Handled
        }
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

async fn account(db: &Db, id: i64) -> anyhow::Result<Option<AccountRow>> {
    Ok(fulmar_store::accounts::by_id(db, id).await?)
}

/// A remote account's inbox, shared one preferred.
fn inbox_of(a: &AccountRow) -> Option<String> {
    if a.is_local() {
        return None;
    }
    a.shared_inbox_url.clone().or_else(|| a.inbox_url.clone())
}

/// The one inbox an activity for a single account goes to: its personal inbox, or,
/// when it has none, the shared one.
fn one_inbox(a: &AccountRow) -> BTreeSet<String> {
    a.inbox_url
        .clone()
        .or_else(|| inbox_of(a))
        .into_iter()
        .collect()
}

async fn plan(shared: &Shared, event: &Event) -> anyhow::Result<Option<Plan>> {
    let db = &shared.app.db;
    let urls = &shared.app.urls;
    // The acting local account, and the remote account an action targets.
    let pair = |a: Option<AccountRow>, b: Option<AccountRow>| match (a, b) {
        (Some(a), Some(b)) if a.is_local() && !b.is_local() => Some((a, b)),
        _ => None,
    };
    let plan = match event {
        Event::CreateStatus { status_id }
        | Event::UpdateStatus { status_id }
        | Event::DeleteStatus { status_id } => {
            // A `CreateStatus` job is stored in its status's own transaction
            // (`status_actions::publish_local`), so the status is there.
            let Some(status) = fulmar_store::statuses::by_id(db, *status_id).await? else {
                return Ok(None);
            };
            if !status.local || status.reblog_of_id.is_some() {
                return Ok(None);
            }
            // Deleted before its Create or Update went out: only the Delete is sent.
            if status.deleted_at.is_some() && !matches!(event, Event::DeleteStatus { .. }) {
                return Ok(None);
            }
            // The audience first: without anyone on another server to send it to,
            // there is no activity to build.
            let mut inboxes = BTreeSet::new();
            let direct = status.visibility == "direct";
            if !direct {
                inboxes.extend(jobs::follower_inboxes(db, status.account_id).await?);
            }
            for (inbox, shared_inbox) in jobs::mentioned_inboxes(db, status.id).await? {
                let chosen = if direct {
                    inbox.or(shared_inbox)
                } else {
                    shared_inbox.or(inbox)
                };
                inboxes.extend(chosen);
            }
            if inboxes.is_empty() {
                return Ok(None);
            }
            let Some(author) = account(db, status.account_id).await? else {
                return Ok(None);
            };
            if !author.is_local() {
                return Ok(None);
            }
            let mentions: Vec<ap::Mentioned> = jobs::mentioned_accounts(db, status.id)
                .await?
                .into_iter()
                .map(|(uri, username, domain)| match domain {
                    Some(d) => ap::Mentioned {
                        acct: format!("@{username}@{d}"),
                        uri,
                    },
                    None => ap::Mentioned {
                        uri: urls.actor(&username),
                        acct: format!("@{username}"),
                    },
                })
                .collect();
            let mut note = ap::note_with_mentions(&status, &author, &mentions, urls);
            let quote = crate::activitypub::statuses::quote_of(db, urls, &status).await?;
            ap::add_quote(&mut note, &quote, &author, urls);
            let mut activity = match event {
                Event::CreateStatus { .. } => ap::create_note(note),
                Event::UpdateStatus { .. } => ap::update_note(
                    note,
                    // A quote approved after posting, or a new quote policy, is news
                    // too: the Update then needs an id of its own.
                    status.edited_at.unwrap_or(status.created_at).max(now_ms()),
                ),
                _ => ap::delete_note(&note),
            };
            if !matches!(event, Event::DeleteStatus { .. }) {
                activity["@context"] = fulmar_federation::context::note();
            }
            Plan {
                activity,
                signer: author.id,
                inboxes,
            }
        }
        Event::Like {
            account_id,
            status_id,
        }
        | Event::UndoLike {
            account_id,
            status_id,
        } => {
            let Some(status) = fulmar_store::statuses::by_id(db, *status_id).await? else {
                return Ok(None);
            };
            let Some((actor, author)) = pair(
                account(db, *account_id).await?,
                account(db, status.account_id).await?,
            ) else {
                return Ok(None);
            };
            let like = ap::like(&urls.actor(&actor.username), status.id, &status.uri);
            let activity = if matches!(event, Event::Like { .. }) {
                like
            } else {
                ap::undo(like)
            };
            Plan {
                activity,
                signer: actor.id,
                inboxes: inbox_of(&author).into_iter().collect(),
            }
        }
        Event::Announce {
            account_id,
            reblog_id,
            status_id,
        }
        | Event::UndoAnnounce {
            account_id,
            reblog_id,
            status_id,
        } => {
            let Some(status) = fulmar_store::statuses::by_id(db, *status_id).await? else {
                return Ok(None);
            };
            let Some(actor) = account(db, *account_id).await?.filter(|a| a.is_local()) else {
                return Ok(None);
            };
            let Some(author) = account(db, status.account_id).await? else {
                return Ok(None);
            };
            let object = ap::status_id(&status, &author, urls);
            let reblog = fulmar_store::statuses::by_id(db, *reblog_id).await?;
            let created = reblog.as_ref().map_or(now_ms(), |r| r.created_at);
            let followers_only = reblog
                .as_ref()
                .map_or(&status.visibility, |r| &r.visibility)
                == "private";
            let announce = ap::announce(
                &urls.actor(&actor.username),
                &urls.status(&actor.username, *reblog_id),
                &object,
                &urls.followers(&actor.username),
                created,
                followers_only,
            );
            let activity = if matches!(event, Event::Announce { .. }) {
                announce
            } else {
                ap::undo(announce)
            };
            let mut inboxes: BTreeSet<String> = jobs::follower_inboxes(db, actor.id)
                .await?
                .into_iter()
                .collect();
            inboxes.extend(inbox_of(&author));
            Plan {
                activity,
                signer: actor.id,
                inboxes,
            }
        }
        Event::Follow {
            account_id,
            target_id,
        }
        | Event::UndoFollow {
            account_id,
            target_id,
        }
        | Event::Block {
            account_id,
            target_id,
        }
        | Event::UndoBlock {
            account_id,
            target_id,
        } => {
            let Some((actor, target)) = pair(
                account(db, *account_id).await?,
                account(db, *target_id).await?,
            ) else {
                return Ok(None);
            };
            let me = urls.actor(&actor.username);
            let activity = match event {
                Event::Follow { .. } => ap::follow(&me, target.id, &target.uri),
                Event::UndoFollow { .. } => ap::undo(ap::follow(&me, target.id, &target.uri)),
                Event::Block { .. } => ap::block(&me, target.id, &target.uri),
                _ => ap::undo(ap::block(&me, target.id, &target.uri)),
            };
            Plan {
                activity,
                signer: actor.id,
                inboxes: one_inbox(&target),
            }
        }
        Event::Accept {
            account_id,
            requester_id,
            follow_uri,
        }
        | Event::Reject {
            account_id,
            requester_id,
            follow_uri,
        } => {
            let Some((me, requester)) = pair(
                account(db, *account_id).await?,
                account(db, *requester_id).await?,
            ) else {
                return Ok(None);
            };
            let kind = if matches!(event, Event::Accept { .. }) {
                "Accept"
            } else {
                "Reject"
            };
            let mut activity = ap::answer_follow(
                kind,
                &urls.actor(&me.username),
                &requester.uri,
                requester.id,
                follow_uri.as_deref(),
            );
            if let Some(follow) = follow_uri {
                // One answer id per Follow, not per pair: a server that deduplicates
                // activities by id must not drop the Accept of a follow made again
                // after an unfollow. Stable for one Follow, so a resend is harmless.
                activity["id"] = serde_json::json!(format!(
                    "{}#{}s/{:016x}",
                    urls.actor(&me.username),
                    kind.to_ascii_lowercase(),
                    fnv1a(follow.as_bytes())
                ));
            }
            Plan {
                activity,
                signer: me.id,
                inboxes: one_inbox(&requester),
            }
        }
        Event::UpdateProfile { account_id } => {
            let Some(actor) = account(db, *account_id).await?.filter(|a| a.is_local()) else {
                return Ok(None);
            };
            let Some(key) = fulmar_store::keys::main_key_of(db, actor.id).await? else {
                return Ok(None);
            };
            let doc = ap::actor(&actor, &key.public_key_pem, urls);
            Plan {
                activity: ap::update_person(&doc, actor.updated_at),
                signer: actor.id,
                inboxes: jobs::follower_inboxes(db, actor.id)
                    .await?
                    .into_iter()
                    .collect(),
            }
        }
        Event::QuoteRequest { status_id } => {
            let Some(status) = fulmar_store::statuses::by_id(db, *status_id).await? else {
                return Ok(None);
            };
            let Some(facts) = fulmar_store::quotes::facts(db, status.id).await? else {
                return Ok(None);
            };
            let (Some(quoted_id), Some(request_uri)) = (facts.quote_of_id, facts.quote_request_uri)
            else {
                return Ok(None);
            };
            let Some(quoted) = fulmar_store::statuses::by_id(db, quoted_id).await? else {
                return Ok(None);
            };
            let Some((me, quoted_author)) = pair(
                account(db, status.account_id).await?,
                account(db, quoted.account_id).await?,
            ) else {
                return Ok(None);
            };
            if status.deleted_at.is_some() {
                return Ok(None);
            }
            let mut note = ap::note(&status, &me, urls);
            let quote = crate::activitypub::statuses::quote_of(db, urls, &status).await?;
            ap::add_quote(&mut note, &quote, &me, urls);
            Plan {
                activity: ap::quote_request(
                    &request_uri,
                    &urls.actor(&me.username),
                    &quoted.uri,
                    note,
                ),
                signer: me.id,
                inboxes: one_inbox(&quoted_author),
            }
        }
        Event::AcceptQuote {
            authorization_id,
            request_uri,
        } => {
            let Some(auth) = fulmar_store::quotes::authorization(db, *authorization_id).await?
            else {
                return Ok(None);
            };
            let Some((me, requester)) = pair(
                account(db, auth.account_id).await?,
                account(db, auth.quoting_account_id).await?,
            ) else {
                return Ok(None);
            };
            let auth_uri = urls.quote_authorization(&me.username, auth.id);
            Plan {
                activity: ap::answer_quote(
                    "Accept",
                    &urls.actor(&me.username),
                    &requester.uri,
                    request_uri,
                    &urls.status(&me.username, auth.quoted_status_id),
                    &auth.quoting_uri,
                    Some(&auth_uri),
                ),
                signer: me.id,
                inboxes: one_inbox(&requester),
            }
        }
        Event::RejectQuote {
            account_id,
            requester_id,
            quoted_status_id,
            request_uri,
            instrument,
        } => {
            let Some((me, requester)) = pair(
                account(db, *account_id).await?,
                account(db, *requester_id).await?,
            ) else {
                return Ok(None);
            };
            Plan {
                activity: ap::answer_quote(
                    "Reject",
                    &urls.actor(&me.username),
                    &requester.uri,
                    request_uri,
                    &urls.status(&me.username, *quoted_status_id),
                    instrument,
                    None,
                ),
                signer: me.id,
                inboxes: one_inbox(&requester),
            }
        }
        Event::RevokeQuote { authorization_id } => {
            let Some(auth) = fulmar_store::quotes::authorization(db, *authorization_id).await?
            else {
                return Ok(None);
            };
            let Some((me, requester)) = pair(
                account(db, auth.account_id).await?,
                account(db, auth.quoting_account_id).await?,
            ) else {
                return Ok(None);
            };
            Plan {
                activity: ap::delete_authorization(
                    &urls.actor(&me.username),
                    &urls.quote_authorization(&me.username, auth.id),
                    &requester.uri,
                ),
                signer: me.id,
                inboxes: one_inbox(&requester),
            }
        }
    };
    Ok(Some(plan))
}
