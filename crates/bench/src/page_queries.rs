//! The database's limit of the home timeline: the queries that `fulmar serve` makes
//! for one page of `GET /api/v1/timelines/home`, made by the harness itself on the
//! same seeded database, with no HTTP and no server running.
//!
//! The timeline figure measures a page whose statuses and authors the server already
//! holds in memory (its first request fills the caches). Such a page costs the server
//! these queries: the token with its user and account
//! (`tokens::active_by_hash_with_user`), the page of ids, versions, authors' versions
//! and the reader's flags (`timelines::home_versions`, which on SQLite first asks
//! whether the reader blocks or mutes anyone), and then whatever the page needs
//! besides (`mastodon::status_page::statuses_json` in the `fulmar` crate): the
//! originals of reblogs, quoted statuses and who may see them, the accounts and
//! flags that the page query did not read, the follows that quote approvals depend
//! on, applications and polls. Each of those store functions returns without a query
//! when it is given nothing to look up, and for the benchmark's public statuses
//! without reblogs, quotes, polls or mentions it always is; they are called here
//! anyway, with what the server would give them, so that this limit follows the
//! server's queries if the seeded page or the server's code changes.
//!
//! Everything is called through fulmar-store's public functions, so the SQL is the
//! server's. What lives only in the `fulmar` crate, which the harness does not
//! depend on, is reproduced here at its smallest: the token's digest (SHA-256 in hex,
//! `core::accounts::token_digest`), the order and inputs of the follow-up queries
//! (`status_page::statuses_json`), who may see a quoted status
//! (`core::visibility::visible_among`), which quotes depend on a follow
//! (`core::quotes::needs_follow_check`), and the two caches as far as they decide
//! which queries run: the status cache (a row, with its visible mentions, kept under
//! its version) and the account cache (an account kept under its version). No JSON is
//! rendered: that is the server's CPU, which this limit leaves out on purpose.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Result};
use fulmar_store::statuses::StatusRow;
use fulmar_store::{Db, PageParams};
use sha2::{Digest, Sha256};

/// A status as the server's status cache keeps it, as far as the queries go.
struct Kept {
    version: i64,
    row: StatusRow,
    /// The accounts its visible mentions name.
    mention_ids: Vec<i64>,
}

/// The home page's queries for one reader, with the caches that a running server
/// would have.
pub struct HomePage {
    db: Db,
    token_hash: String,
    page: PageParams,
    statuses: Mutex<HashMap<i64, Arc<Kept>>>,
    /// Account id to the version it was loaded at.
    accounts: Mutex<HashMap<i64, i64>>,
    /// Follow-up store calls given something to look up (each one query or more),
    /// over every page: zero on the seeded database once the caches are warm.
    follow_ups: AtomicU64,
}

impl HomePage {
    /// The queries of `GET /api/v1/timelines/home?limit=40` for the bearer `token`.
    pub fn new(db: Db, token: &str) -> HomePage {
        HomePage {
            db,
            // `core::accounts::token_digest`: tokens are stored as the hex SHA-256 of
            // the secret. Hashing is the server's CPU, so it is done once here.
            token_hash: Sha256::digest(token.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            // What `PageQuery::params` makes of `?limit=40` (no cursor).
            page: PageParams::newest(40),
            statuses: Mutex::default(),
            accounts: Mutex::default(),
            follow_ups: AtomicU64::new(0),
        }
    }

    pub fn into_db(self) -> Db {
        self.db
    }

    /// Follow-up calls that had something to look up, so far.
    pub fn follow_ups(&self) -> u64 {
        self.follow_ups.load(Ordering::Relaxed)
    }

    fn counted<T>(&self, ids: &[T]) {
        if !ids.is_empty() {
            self.follow_ups.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One page's queries, in the server's order; returns the page's statuses.
    pub async fn one(&self) -> Result<usize, String> {
        self.run().await.map_err(|e| format!("{e:#}"))
    }

    async fn run(&self) -> Result<usize> {
        let db = &self.db;
        // The `Auth` extractor (`mastodon::auth::load`).
        let found = fulmar_store::tokens::active_by_hash_with_user(db, &self.token_hash).await?;
        let Some(viewer) = found.and_then(|f| f.account).map(|a| a.id) else {
            bail!("the token was not found");
        };

        // The home handler (`mastodon::v1::timelines::home`).
        let entries = fulmar_store::timelines::home_versions(db, viewer, &self.page).await?;
        let page: Vec<(i64, i64)> = entries.iter().map(|e| (e.id, e.version)).collect();
        let mut authors: Vec<(i64, i64)> = entries
            .iter()
            .map(|e| (e.author_id, e.author_version))
            .collect();
        authors.sort_unstable();
        authors.dedup();
        let flagged: HashSet<i64> = entries.iter().map(|e| e.id).collect();

        // `status_page::statuses_json`, from here on.
        let mut set: HashMap<i64, Arc<Kept>> = HashMap::new();
        self.resolve(&mut set, &page).await?;
        let reblog_ids: Vec<i64> = page
            .iter()
            .filter_map(|(id, _)| row(&set, *id)?.reblog_of_id)
            .collect();
        self.counted(&reblog_ids);
        let versions = fulmar_store::statuses::versions(db, &reblog_ids).await?;
        self.resolve(&mut set, &versions).await?;
        let originals: HashSet<i64> = reblog_ids
            .iter()
            .copied()
            .filter(|id| row(&set, *id).is_some_and(|r| r.deleted_at.is_none()))
            .collect();
        let quote_ids: Vec<i64> = page
            .iter()
            .map(|(id, _)| *id)
            .chain(originals.iter().copied())
            .filter_map(|id| row(&set, id)?.quote_of_id)
            .collect();
        self.counted(&quote_ids);
        let versions = fulmar_store::statuses::versions(db, &quote_ids).await?;
        self.resolve(&mut set, &versions).await?;
        let mut quoted_ids: Vec<i64> = quote_ids
            .iter()
            .copied()
            .filter(|id| row(&set, *id).is_some_and(|r| r.deleted_at.is_none()))
            .collect();
        quoted_ids.sort_unstable();
        quoted_ids.dedup();
        let quoted_rows: Vec<&StatusRow> =
            quoted_ids.iter().filter_map(|id| row(&set, *id)).collect();
        let seen = self.visible_among(&quoted_rows, viewer).await?;

        let mut all: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
        all.extend(originals.iter().copied());
        all.extend(quoted_ids.iter().copied().filter(|id| seen.contains(id)));
        all.retain(|id| set.contains_key(id));

        let mut account_ids: Vec<i64> = all
            .iter()
            .filter_map(|id| set.get(id))
            .flat_map(|k| std::iter::once(k.row.account_id).chain(k.mention_ids.iter().copied()))
            .collect();
        account_ids.sort_unstable();
        account_ids.dedup();
        // The server asks for both at once (`tokio::try_join!`), as here.
        let rest: Vec<i64> = all
            .iter()
            .copied()
            .filter(|id| !flagged.contains(id))
            .collect();
        self.counted(&rest);
        tokio::try_join!(self.accounts(&account_ids, &authors), async {
            Ok(fulmar_store::statuses::viewer_flags(db, viewer, &rest).await?)
        })?;

        // `core::quotes::needs_follow_check`: a quote approval depends on a follow
        // only for a followers-only policy of someone else's public status.
        let mut follow_checked: Vec<i64> = all
            .iter()
            .filter_map(|id| set.get(id))
            .map(|k| &k.row)
            .filter(|r| {
                r.account_id != viewer
                    && !matches!(r.visibility.as_str(), "private" | "direct")
                    && r.quote_policy == "followers"
            })
            .map(|r| r.account_id)
            .collect();
        follow_checked.sort_unstable();
        follow_checked.dedup();
        self.counted(&follow_checked);
        fulmar_store::follows::followed_among(db, viewer, &follow_checked).await?;
        let app_ids: Vec<i64> = all
            .iter()
            .filter_map(|id| set.get(id))
            .filter(|k| k.row.account_id == viewer)
            .filter_map(|k| k.row.application_id)
            .collect();
        self.counted(&app_ids);
        fulmar_store::status_actions::applications(db, &app_ids).await?;
        let poll_ids: Vec<i64> = all
            .iter()
            .filter_map(|id| set.get(id)?.row.poll_id)
            .collect();
        self.counted(&poll_ids);
        fulmar_store::remote::polls_by_ids(db, &poll_ids).await?;
        Ok(entries.len())
    }

    /// `Resolved::resolve` of `status_page`: the statuses kept at the wanted version
    /// come from the cache; the others are read, with their visible mentions, tags
    /// and media (the queries the server makes to render them), and kept.
    async fn resolve(
        &self,
        set: &mut HashMap<i64, Arc<Kept>>,
        wanted: &[(i64, i64)],
    ) -> Result<()> {
        let mut missing = Vec::new();
        {
            let kept = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
            for (id, version) in wanted {
                if set.contains_key(id) {
                    continue;
                }
                match kept.get(id) {
                    Some(k) if k.version == *version => {
                        set.insert(*id, k.clone());
                    }
                    _ => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        missing.sort_unstable();
        self.follow_ups.fetch_add(3, Ordering::Relaxed);
        let rows = fulmar_store::statuses::by_ids(&self.db, &missing).await?;
        let (mentions, _tags) =
            fulmar_store::statuses::mentions_and_tags(&self.db, &missing).await?;
        fulmar_store::remote::media_by_status_ids(&self.db, &missing).await?;
        let mut kept = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        for row in rows {
            let mention_ids = mentions
                .iter()
                .filter(|(status, _)| *status == row.id)
                .map(|(_, account)| *account)
                .collect();
            let k = Arc::new(Kept {
                version: row.version,
                row,
                mention_ids,
            });
            kept.insert(k.row.id, k.clone());
            set.insert(k.row.id, k);
        }
        Ok(())
    }

    /// The account cache's `get_known`: versions of the accounts the page query did
    /// not read, then the rows of those not kept at their version.
    async fn accounts(&self, ids: &[i64], known: &[(i64, i64)]) -> Result<()> {
        let known: HashMap<i64, i64> = known.iter().copied().collect();
        let rest: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !known.contains_key(id))
            .collect();
        self.counted(&rest);
        let mut versions = fulmar_store::accounts::versions(&self.db, &rest).await?;
        versions.extend(ids.iter().filter_map(|id| known.get(id).map(|v| (*id, *v))));
        let missing: Vec<(i64, i64)> = {
            let kept = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
            versions
                .into_iter()
                .filter(|(id, version)| kept.get(id) != Some(version))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = missing.iter().map(|(id, _)| *id).collect();
        self.counted(&ids);
        fulmar_store::accounts::by_ids(&self.db, &ids).await?;
        self.accounts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(missing);
        Ok(())
    }

    /// `core::visibility::visible_among`: public and unlisted statuses are visible,
    /// the viewer's own too; followers-only ones by a follow or a mention, direct
    /// ones by a mention.
    async fn visible_among(&self, statuses: &[&StatusRow], viewer: i64) -> Result<HashSet<i64>> {
        let mut visible = HashSet::new();
        let mut authors = Vec::new();
        let mut restricted = Vec::new();
        for s in statuses.iter().filter(|s| s.deleted_at.is_none()) {
            match s.visibility.as_str() {
                "public" | "unlisted" => {
                    visible.insert(s.id);
                }
                "private" | "direct" if s.account_id == viewer => {
                    visible.insert(s.id);
                }
                "private" => {
                    authors.push(s.account_id);
                    restricted.push(s.id);
                }
                "direct" => restricted.push(s.id),
                _ => {}
            }
        }
        authors.sort_unstable();
        authors.dedup();
        self.counted(&authors);
        self.counted(&restricted);
        let followed = fulmar_store::follows::followed_among(&self.db, viewer, &authors).await?;
        let mentioned = fulmar_store::statuses::mentioning(&self.db, viewer, &restricted).await?;
        for s in statuses.iter().filter(|s| restricted.contains(&s.id)) {
            if (s.visibility == "private" && followed.contains(&s.account_id))
                || mentioned.contains(&s.id)
            {
                visible.insert(s.id);
            }
        }
        Ok(visible)
    }
}

/// A status of the page's set by id.
fn row(set: &HashMap<i64, Arc<Kept>>, id: i64) -> Option<&StatusRow> {
    set.get(&id).map(|k| &k.row)
}
