//! Group commit of new local posts: one task stores every post handed to it while its
//! previous commit was running in one write transaction
//! (`status_actions::publish_local_group`), then answers each caller.
//!
//! Under load, posting is bound by commits: one at a time on SQLite's single writer,
//! and on PostgreSQL one at a time per author too, since every post updates its
//! author's one `account_stats` row and holds that row's lock until it commits. A
//! group of posts costs one commit, one update of each author's counters and one
//! statement for each step the posts share; a lone post is stored at once, with no
//! added wait, by the same statements as before.
//!
//! A caller hears `Ok` only after the commit that holds its post. When a group fails
//! as a whole, nothing of it is stored (one transaction) and its posts are stored one
//! by one, so that a bad post fails alone with its own error and no post is stored
//! twice.

use std::sync::OnceLock;

use fulmar_store::status_actions::{self, LocalPost};
use fulmar_store::statuses::StatusWithAuthorStats;
use fulmar_store::Db;
use tokio::sync::{mpsc, oneshot};

use super::error::{CoreError, CoreResult};

/// Most posts one commit stores.
const GROUP_MAX: usize = 256;

/// The committing task of one server (`App::post_commits`), started on first use.
pub struct PostCommits {
    db: Db,
    sender: OnceLock<mpsc::UnboundedSender<Pending>>,
}

struct Pending {
    post: LocalPost,
    done: oneshot::Sender<CoreResult<StatusWithAuthorStats>>,
}

impl PostCommits {
    pub fn new(db: Db) -> PostCommits {
        PostCommits {
            db,
            sender: OnceLock::new(),
        }
    }

    /// Stores `post`, returning its stored row once it is committed, with its
    /// author's counters as read with it (which the answer to the post shows).
    pub async fn store(&self, post: LocalPost) -> CoreResult<StatusWithAuthorStats> {
        // The task starts inside the server's runtime; it ends when this
        // `PostCommits` (and so its sender) is dropped.
        let sender = self.sender.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(commit_loop(self.db.clone(), rx));
            tx
        });
        let (done, answer) = oneshot::channel();
        let stopped =
            || CoreError::Internal(anyhow::anyhow!("the posts' committing task has stopped"));
        sender.send(Pending { post, done }).map_err(|_| stopped())?;
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(stopped()),
        }
    }
}

async fn commit_loop(db: Db, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut batch: Vec<Pending> = Vec::with_capacity(GROUP_MAX);
    while rx.recv_many(&mut batch, GROUP_MAX).await > 0 {
        let (posts, dones): (Vec<LocalPost>, Vec<_>) =
            batch.drain(..).map(|p| (p.post, p.done)).unzip();
        let results = store_group(&db, &posts).await;
        for (done, result) in dones.into_iter().zip(results) {
            // A caller that went away needs no answer: its post is stored all the same.
            let _ = done.send(result);
        }
    }
}

/// Stores a group of posts in one transaction or, when that fails, one by one; returns
/// each post's stored row or error, in the order of `posts`, and wakes the worker
/// when an outbox job was stored. Public for the tests, which need a group of a known
/// make-up.
pub async fn store_group(db: &Db, posts: &[LocalPost]) -> Vec<CoreResult<StatusWithAuthorStats>> {
    let (queued, results) = match posts {
        [] => return Vec::new(),
        [post] => one_by_one(db, std::slice::from_ref(post)).await,
        _ => match status_actions::publish_local_group(db, posts).await {
            Ok(queued) => (queued, read_back(db, posts).await),
            Err(e) => {
                tracing::warn!(
                    "storing {} posts at once: {e}; storing them one by one",
                    posts.len()
                );
                one_by_one(db, posts).await
            }
        },
    };
    if queued {
        crate::worker::wake();
    }
    results
}

/// Stores each post in its own transaction, as without group commits.
async fn one_by_one(
    db: &Db,
    posts: &[LocalPost],
) -> (bool, Vec<CoreResult<StatusWithAuthorStats>>) {
    let mut queued = false;
    let mut results = Vec::with_capacity(posts.len());
    for post in posts {
        results.push(
            status_actions::publish_local_one(db, post)
                .await
                .map(|(q, row)| {
                    queued |= q;
                    row
                })
                .map_err(CoreError::from),
        );
    }
    (queued, results)
}

/// The rows of a committed group, in the order of `posts`, with their authors'
/// counters (one query for both, so that answering a post needs no query for its
/// author). They are stored whatever happens here: a failed read is never a reason
/// to store them again.
async fn read_back(db: &Db, posts: &[LocalPost]) -> Vec<CoreResult<StatusWithAuthorStats>> {
    let ids: Vec<i64> = posts.iter().map(|p| p.status.id).collect();
    let mut rows = match fulmar_store::statuses::by_ids_with_author_stats(db, &ids).await {
        Ok(rows) => rows,
        Err(e) => {
            let e = e.to_string();
            return ids
                .iter()
                .map(|_| {
                    Err(CoreError::Internal(anyhow::anyhow!(
                        "reading back a stored post: {e}"
                    )))
                })
                .collect();
        }
    };
    ids.iter()
        .map(|id| match rows.iter().position(|r| r.status.id == *id) {
            Some(at) => Ok(rows.swap_remove(at)),
            None => Err(CoreError::Internal(anyhow::anyhow!(
                "post {id} was committed but is not there"
            ))),
        })
        .collect()
}
