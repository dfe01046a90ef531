//! The `thread` queue: filling in a thread in the background after someone opened it
//! (`GET /api/v1/statuses/:id/context`, see `core::threads`).
//!
//! One job per thread, named by its root-most known status. It climbs the
//! `inReplyTo` chain to the real root, then reads the root's FEP-7888 `context`
//! collection when it has one, else its `replies` collection and each reply's,
//! recursively (FEP-f228). Below a local root, it walks the `replies` of the remote
//! replies known here the same way. Every status found is stored by the one path for remote
//! statuses (`core::remote_status`), which notifies nobody and touches no feed.
//!
//! Politeness: a job runs only while fewer than `thread_jobs` others do (else it is
//! put back for a moment), each request waits for one of the host's `thread_per_host`
//! slots (apart from the delivery slots, so a slow thread cannot hold up deliveries),
//! and a job stops at `thread_max_objects` statuses, `thread_max_pages` collection
//! pages or `thread_max_seconds`, whichever comes first. Failures are not retried:
//! the cooldown lets the next reader try again later.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use fulmar_federation::thread_collections::{
    context_of, parse_collection_page, replies_of, CollectionRef, ThreadItem, ThreadPage,
};
use fulmar_store::jobs::{self, JobRow};
use fulmar_store::statuses::StatusRow;
use fulmar_store::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hosts::HostLimits;
use super::{Outcome, Shared};
use crate::config::ThreadSettings;
use crate::core::error::CoreResult;
use crate::core::remote_status;
use crate::core::resolve::{self, authority};
use crate::core::time::now_ms;
use crate::state::App;

pub const QUEUE: &str = "thread";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThreadJob {
    /// The root-most status known when the fetch was asked for.
    pub root_id: i64,
}

/// Queues the fetch of a thread (the caller has claimed it in `thread_fetches`).
pub async fn enqueue(db: &Db, root_id: i64) -> CoreResult<()> {
    super::enqueue_now(db, QUEUE, &ThreadJob { root_id }, None, 1).await?;
    super::wake();
    Ok(())
}

pub(crate) async fn run(shared: &Shared, job: &JobRow) -> Outcome {
    let payload: ThreadJob = match serde_json::from_str(&job.payload) {
        Ok(p) => p,
        Err(e) => return Outcome::GiveUp(format!("bad payload: {e}")),
    };
    // The global budget: when it is spent, the job waits in the queue, not in a task.
    let Ok(_permit) = shared.thread_budget.clone().try_acquire_owned() else {
        let later = now_ms() + 500;
        return match jobs::release(&shared.app.db, job.id, later).await {
            Ok(()) => Outcome::Handled,
            Err(e) => Outcome::Retry(format!("putting a thread job back: {e}")),
        };
    };
    let limits = shared.app.config.threads;
    let mut fetch = Fetch {
        app: &shared.app,
        hosts: &shared.thread_hosts,
        limits,
        objects: 0,
        pages: 0,
        stored: 0,
        root_id: payload.root_id,
        also: None,
        seen: HashSet::new(),
    };
    let deadline = Duration::from_secs(u64::from(limits.max_seconds));
    let root_id = payload.root_id;
    let finished = tokio::time::timeout(deadline, fetch.thread(root_id)).await;
    let stored = fetch.stored;
    match finished {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::info!(root_id, "fetching a thread: {e}"),
        Err(_) => tracing::info!(root_id, "fetching a thread took too long; stopped"),
    }
    for key in std::iter::once(root_id).chain(fetch.also) {
        if let Err(e) =
            fulmar_store::threads::record_fetch(&shared.app.db, key, stored, Some(now_ms())).await
        {
            tracing::warn!(root_id, "recording a thread fetch: {e}");
        }
    }
    Outcome::Done
}

/// One thread's fetch and what it has used of its limits.
struct Fetch<'a> {
    app: &'a App,
    hosts: &'a HostLimits,
    limits: ThreadSettings,
    /// Object documents fetched.
    objects: u32,
    /// Collection documents fetched.
    pages: u32,
    /// Statuses stored that were not here before.
    stored: i64,
    /// The thread's key in `thread_fetches`.
    root_id: i64,
    /// The real root found above it, marked as fetched too.
    also: Option<i64>,
    /// Object and page URLs already looked at, so loops end.
    seen: HashSet<String>,
}

impl Fetch<'_> {
    async fn thread(&mut self, root_id: i64) -> anyhow::Result<()> {
        let Some(mut top) = fulmar_store::statuses::by_id(&self.app.db, root_id).await? else {
            return Ok(());
        };
        let mut top_doc: Option<Value> = None;
        // Up the inReplyTo chain.
        for _ in 0..self.limits.max_depth {
            let Some(parent_uri) = top.in_reply_to_uri.clone() else {
                break;
            };
            if let Some(parent_id) = top.in_reply_to_id {
                match fulmar_store::statuses::by_id(&self.app.db, parent_id).await? {
                    Some(parent) => {
                        top = parent;
                        top_doc = None;
                        continue;
                    }
                    None => break,
                }
            }
            match self.status(&parent_uri).await {
                Some((parent, doc)) => {
                    crate::core::threads::link_orphans(self.app, &parent).await?;
                    top = parent;
                    top_doc = doc;
                }
                None => break,
            }
        }
        // The thread is now known by its real root too: mark that key as being fetched,
        // so that readers opening the thread there do not queue it again.
        if top.id != self.root_id {
            let now = now_ms();
            let cooldown = i64::from(self.limits.cooldown_seconds) * 1000;
            fulmar_store::threads::claim_fetch(&self.app.db, top.id, now, now - cooldown).await?;
            self.also = Some(top.id);
        }
        // Below a local root, replies to this server's statuses reached us by delivery;
        // replies to the remote replies went to their authors' servers. Their
        // `replies` collections are walked, oldest reply first.
        if top.local {
            let remote = fulmar_store::threads::remote_below(
                &self.app.db,
                top.id,
                i64::from(self.limits.max_depth),
                i64::from(self.limits.max_objects),
            )
            .await?;
            for uri in remote {
                if self.out_of_objects() {
                    break;
                }
                // Already walked as a reply found below another one.
                if !self.seen.insert(uri.clone()) {
                    continue;
                }
                self.objects += 1;
                if let Some(doc) = self.document(&uri).await {
                    self.replies_tree(&doc).await;
                }
            }
            return Ok(());
        }
        let doc = match top_doc {
            Some(doc) => doc,
            None => match self.document(&top.uri).await {
                Some(doc) => doc,
                None => return Ok(()),
            },
        };
        if let Some(context) = context_of(&doc) {
            let before = self.stored;
            let mut items = Vec::new();
            self.collection(context, &mut items).await;
            for item in items {
                if self.out_of_objects() {
                    break;
                }
                self.item(item).await;
            }
            // A context collection that gave nothing new may be a stub (or only list
            // what we had): the replies collections are the fallback.
            if self.stored > before {
                return Ok(());
            }
        }
        self.replies_tree(&doc).await;
        Ok(())
    }

    /// Walks `replies` collections breadth-first from `doc`.
    async fn replies_tree(&mut self, doc: &Value) {
        let mut queue: VecDeque<CollectionRef> = replies_of(doc).into_iter().collect();
        while let Some(collection) = queue.pop_front() {
            if self.out_of_objects() {
                break;
            }
            let mut items = Vec::new();
            self.collection(collection, &mut items).await;
            for item in items {
                if self.out_of_objects() {
                    break;
                }
                if let Some(doc) = self.item(item).await {
                    queue.extend(replies_of(&doc));
                }
            }
        }
    }

    fn out_of_objects(&self) -> bool {
        self.objects >= self.limits.max_objects
    }

    /// Collects the items of a collection, following `first` and `next` within the
    /// page limit.
    async fn collection(&mut self, collection: CollectionRef, items: &mut Vec<ThreadItem>) {
        let mut page: ThreadPage = match collection {
            CollectionRef::Embedded(page) => page,
            CollectionRef::Url(url) => match self.page(&url).await {
                Some(page) => page,
                None => return,
            },
        };
        loop {
            items.append(&mut page.items);
            let next = if let Some(first) = page.first_page.take() {
                page = *first;
                continue;
            } else if let Some(first) = page.first.take() {
                first
            } else if let Some(next) = page.next.take() {
                next
            } else {
                return;
            };
            match self.page(&next).await {
                Some(p) => page = p,
                None => return,
            }
        }
    }

    /// Fetches one collection document, within the page limit and once per URL.
    async fn page(&mut self, url: &str) -> Option<ThreadPage> {
        if self.pages >= self.limits.max_pages || !self.seen.insert(url.to_owned()) {
            return None;
        }
        self.pages += 1;
        let doc = self.get(url).await?.1;
        Some(parse_collection_page(&doc))
    }

    /// Stores one item of a collection; returns its document for recursion.
    async fn item(&mut self, item: ThreadItem) -> Option<Value> {
        match item {
            ThreadItem::Object { id, doc } => {
                // An embedded object is taken as it is only when its author is on its
                // own host; otherwise it is fetched from its origin.
                let author = doc
                    .get("attributedTo")
                    .and_then(fulmar_federation::from_activitypub::id_of);
                let trusted = author.is_some_and(|a| authority(&a) == authority(&id));
                if trusted && self.seen.insert(id.clone()) {
                    self.objects += 1;
                    return self.store(doc).await.map(|(_, doc)| doc);
                }
                self.status(&id).await.and_then(|(_, doc)| doc)
            }
            ThreadItem::Id(id) => self.status(&id).await.and_then(|(_, doc)| doc),
        }
    }

    /// A status by URI: fetched (and stored when new), with its document; this
    /// server's own are looked up, not fetched.
    async fn status(&mut self, uri: &str) -> Option<(StatusRow, Option<Value>)> {
        if uri.starts_with(self.app.urls.base()) {
            return remote_status::known_status(self.app, uri)
                .await
                .ok()
                .flatten()
                .map(|row| (row, None));
        }
        if self.out_of_objects() || !self.seen.insert(uri.to_owned()) {
            return None;
        }
        self.objects += 1;
        let doc = self.document(uri).await?;
        self.store(doc).await.map(|(row, doc)| (row, Some(doc)))
    }

    /// Reads and stores an object document (checked for its origin already).
    async fn store(&mut self, doc: Value) -> Option<(StatusRow, Value)> {
        let read = remote_status::read_object(&doc).ok()?;
        if let Ok(Some(row)) = remote_status::known_status(self.app, &read.obj.id).await {
            return Some((row, doc));
        }
        let author = {
            let host = authority(&read.obj.attributed_to)?;
            let _slot = self.hosts.acquire(&host).await;
            resolve::object_author(self.app, &read.obj).await.ok()?
        };
        match remote_status::store_remote_object(self.app, &read, &author).await {
            Ok((row, new)) => {
                if new {
                    self.stored += 1;
                    // Progress, for clients polling the async refresh.
                    let _ = fulmar_store::threads::record_fetch(
                        &self.app.db,
                        self.root_id,
                        self.stored,
                        None,
                    )
                    .await;
                }
                Some((row, doc))
            }
            Err(e) => {
                tracing::info!(uri = %read.obj.id, "storing a thread's status: {e}");
                None
            }
        }
    }

    /// Fetches an object document whose id is on the host that served it.
    async fn document(&mut self, url: &str) -> Option<Value> {
        let (served_from, doc) = self.get(url).await?;
        let id = doc.get("id").and_then(Value::as_str)?;
        (authority(id) == authority(served_from.as_str())).then_some(doc)
    }

    /// One signed GET, in one of the host's thread slots; refused for blocked domains.
    async fn get(&self, url: &str) -> Option<(url::Url, Value)> {
        crate::core::domains::refuse_blocked(&self.app.db, url)
            .await
            .ok()?;
        let host = authority(url)?;
        let _slot = self.hosts.acquire(&host).await;
        match self
            .app
            .client
            .get_activity_from(url, self.app.instance_signer().await)
            .await
        {
            Ok(found) => Some(found),
            Err(e) => {
                tracing::info!(%url, "fetching for a thread: {e}");
                None
            }
        }
    }
}
