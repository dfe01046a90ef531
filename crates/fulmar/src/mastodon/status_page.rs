//! Pages of statuses (the timelines) written straight to JSON from the status cache.
//!
//! The counterpart of [`to_mastodon::statuses`](super::to_mastodon::statuses) for
//! pages whose statuses are known by `(id, version)`: the viewer-independent part of
//! each status comes from [`StatusCache`](super::status_cache::StatusCache), rendered
//! only for statuses not kept at that version, and the rest (author, application,
//! mentions, reblog, poll, quote, quote approval and the viewer's flags) is written
//! around it per request. The bytes are those that serializing the `Status` entities
//! built by `to_mastodon::statuses` would give; the API tests compare both on pages
//! with reblogs, quotes, polls, media, mentions and hashtags.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use fulmar_store::statuses::{StatusRow, ViewerFlags};
use fulmar_store::timelines::PageEntry;
use serde::Serialize;
use serde_json::{json, Value};

use super::entities::{Application, Mention, Poll, SharedAccount};
use super::status_cache::CachedStatus;
use super::to_mastodon::{base_status, media_by_status, poll, tags_by_status};
use crate::http::ApiResult;
use crate::state::App;

/// What the query of a page read besides its statuses' ids and versions: its
/// statuses' authors with their versions, and the viewer's flags on those statuses.
/// The home timeline's query reads them (`fulmar_store::timelines::home_versions`),
/// which saves two queries per page.
#[derive(Default)]
pub struct Prefetched {
    /// `(account id, version)` of the page's authors.
    pub authors: Vec<(i64, i64)>,
    /// The viewer's flags on the statuses of `flagged`.
    pub flags: ViewerFlags,
    /// The statuses whose flags are in `flags` (set or not).
    pub flagged: HashSet<i64>,
}

impl Prefetched {
    pub fn from_entries(entries: &[PageEntry]) -> Prefetched {
        let mut out = Prefetched::default();
        for e in entries {
            out.authors.push((e.author_id, e.author_version));
            out.flagged.insert(e.id);
            for (bit, set) in [
                (PageEntry::FAVOURITED, &mut out.flags.favourited),
                (PageEntry::REBLOGGED, &mut out.flags.reblogged),
                (PageEntry::BOOKMARKED, &mut out.flags.bookmarked),
                (PageEntry::PINNED, &mut out.flags.pinned),
            ] {
                if e.flags & bit != 0 {
                    set.insert(e.id);
                }
            }
        }
        out.authors.sort_unstable();
        out.authors.dedup();
        out
    }
}

/// The page's statuses, as a JSON array in the order of `page` (`(id, version)`).
/// `known` may hold rows of the page already read (the public timelines read whole
/// rows); the others that are not kept are read by id. Statuses that no longer exist,
/// or whose author cannot be loaded, are left out, as `to_mastodon::statuses` does.
pub async fn statuses_json(
    app: &App,
    page: &[(i64, i64)],
    known: Vec<StatusRow>,
    viewer: Option<i64>,
    prefetched: Option<Prefetched>,
) -> ApiResult<Vec<u8>> {
    let db = &app.db;
    let mut set = Resolved::default();
    set.resolve(app, page, known).await?;

    // The originals of reblogs, then the statuses quoted by either.
    let reblog_ids: Vec<i64> = page
        .iter()
        .filter_map(|(id, _)| set.row(*id)?.reblog_of_id)
        .collect();
    let versions = fulmar_store::statuses::versions(db, &reblog_ids).await?;
    set.resolve(app, &versions, Vec::new()).await?;
    // A reblog of a deleted status is not shown (it is removed with it anyway).
    let originals: HashSet<i64> = reblog_ids
        .iter()
        .copied()
        .filter(|id| set.row(*id).is_some_and(|r| r.deleted_at.is_none()))
        .collect();
    let quote_ids: Vec<i64> = page
        .iter()
        .map(|(id, _)| *id)
        .chain(originals.iter().copied())
        .filter_map(|id| set.row(id)?.quote_of_id)
        .collect();
    let versions = fulmar_store::statuses::versions(db, &quote_ids).await?;
    set.resolve(app, &versions, Vec::new()).await?;
    // Each quoted status is shown only to a viewer who may see it (Mastodon's
    // `unauthorized` state otherwise), a deleted one not at all.
    let mut quoted_ids: Vec<i64> = quote_ids
        .iter()
        .copied()
        .filter(|id| set.row(*id).is_some_and(|r| r.deleted_at.is_none()))
        .collect();
    quoted_ids.sort_unstable();
    quoted_ids.dedup();
    let seen = {
        let refs: Vec<&StatusRow> = quoted_ids.iter().filter_map(|id| set.row(*id)).collect();
        crate::core::visibility::visible_among(db, &refs, viewer).await?
    };
    let hidden: HashSet<i64> = quoted_ids
        .iter()
        .copied()
        .filter(|id| !seen.contains(id))
        .collect();
    let quoted: HashSet<i64> = quoted_ids
        .iter()
        .copied()
        .filter(|id| seen.contains(id))
        .collect();

    // Every status shown, as `to_mastodon::statuses` counts them.
    let mut all: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    all.extend(originals.iter().copied());
    all.extend(quoted.iter().copied());
    all.retain(|id| set.row(*id).is_some());

    // The rows not kept are rendered now, with their mentions, tags and media.
    let mut missing: Vec<i64> = set.missing.keys().copied().collect();
    missing.sort_unstable();
    let (mentions, tags) = if missing.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        fulmar_store::statuses::mentions_and_tags(db, &missing).await?
    };
    let mut mention_ids: HashMap<i64, Vec<i64>> = HashMap::new();
    for (status_id, account_id) in mentions {
        mention_ids.entry(status_id).or_default().push(account_id);
    }

    let mut account_ids: Vec<i64> = all
        .iter()
        .filter_map(|id| set.row(*id))
        .map(|r| r.account_id)
        .collect();
    for id in &all {
        if let Some(kept) = set.kept.get(id) {
            account_ids.extend(&kept.mention_ids);
        }
    }
    account_ids.extend(mention_ids.values().flatten());
    account_ids.sort_unstable();
    account_ids.dedup();
    // The authors' versions and the viewer's flags depend only on the page, so on
    // PostgreSQL they are asked for at once, on two connections, instead of one round
    // trip after the other. (On SQLite both run on this thread, one after the other.)
    // What the page query already read (the home timeline's) is not asked again.
    let Prefetched {
        authors,
        flags: known_flags,
        flagged,
    } = prefetched.unwrap_or_default();
    let viewer_flags = async {
        let Some(v) = viewer else {
            return Ok(None);
        };
        let rest: Vec<i64> = all
            .iter()
            .copied()
            .filter(|id| !flagged.contains(id))
            .collect();
        let mut flags = fulmar_store::statuses::viewer_flags(db, v, &rest).await?;
        flags.favourited.extend(known_flags.favourited);
        flags.reblogged.extend(known_flags.reblogged);
        flags.bookmarked.extend(known_flags.bookmarked);
        flags.pinned.extend(known_flags.pinned);
        Ok(Some(flags))
    };
    let (accounts, flags) = tokio::try_join!(
        app.accounts
            .get_known(db, &app.urls, &account_ids, &authors),
        viewer_flags
    )?;

    if !missing.is_empty() {
        let mut media_by = media_by_status(db, &missing).await?;
        let mut tags_by = tags_by_status(&app.urls, tags);
        let mut rendered = Vec::with_capacity(set.missing.len());
        for (id, row) in std::mem::take(&mut set.missing) {
            // A status whose author cannot be loaded is not shown, and not kept.
            let Some(author) = accounts.get(&row.account_id) else {
                continue;
            };
            let mut entity = base_status(
                &app.urls,
                &row,
                author,
                media_by.remove(&id).unwrap_or_default(),
                Vec::new(),
                tags_by.remove(&id).unwrap_or_default(),
            );
            // A reblog carries the original's content, with its own id.
            if row.reblog_of_id.is_some() {
                entity.content = String::new();
            }
            let mentions = mention_ids.remove(&id).unwrap_or_default();
            let kept = Arc::new(CachedStatus::new(&entity, row, mentions));
            set.kept.insert(id, kept.clone());
            rendered.push(kept);
        }
        app.statuses.insert(&rendered);
    }

    // What else depends on the viewer, for the whole page.
    let followed = match viewer {
        Some(v) => {
            let mut authors: Vec<i64> = all
                .iter()
                .filter_map(|id| set.row(*id))
                .filter(|row| crate::core::quotes::needs_follow_check(row, &row.quote_policy, v))
                .map(|row| row.account_id)
                .collect();
            authors.sort_unstable();
            authors.dedup();
            fulmar_store::follows::followed_among(db, v, &authors).await?
        }
        None => HashSet::new(),
    };
    // Mastodon shows the posting application to the author only.
    let app_ids: Vec<i64> = all
        .iter()
        .filter_map(|id| set.row(*id))
        .filter(|s| viewer == Some(s.account_id))
        .filter_map(|s| s.application_id)
        .collect();
    let applications: HashMap<i64, Application> =
        fulmar_store::status_actions::applications(db, &app_ids)
            .await?
            .into_iter()
            .map(|(id, name, website)| (id, Application { name, website }))
            .collect();
    let poll_ids: Vec<i64> = all.iter().filter_map(|id| set.row(*id)?.poll_id).collect();
    let polls: HashMap<i64, Poll> = fulmar_store::remote::polls_by_ids(db, &poll_ids)
        .await?
        .iter()
        .map(|p| (p.id, poll(p, viewer.is_some())))
        .collect();

    let writer = Writer {
        kept: &set.kept,
        accounts: &accounts,
        flags: flags.as_ref(),
        followed: &followed,
        applications: &applications,
        polls: &polls,
        quoted: &quoted,
        hidden: &hidden,
        viewer,
    };
    let mut out = Vec::with_capacity(2 + page.len() * 2048);
    out.push(b'[');
    for (id, _) in page {
        let Some(status) = set.kept.get(id) else {
            continue;
        };
        if !writer.shown(status) {
            continue;
        }
        let original = match status.row.reblog_of_id {
            // A reblog of something we no longer have is not shown at all.
            Some(of) => match set.kept.get(&of) {
                Some(o) if originals.contains(&of) && writer.shown(o) => Some(&**o),
                _ => continue,
            },
            None => None,
        };
        if out.len() > 1 {
            out.push(b',');
        }
        writer.status(&mut out, status, original, Quote::Full);
    }
    out.push(b']');
    Ok(out)
}

/// The statuses of a page: kept ones, and rows read that are not rendered yet.
#[derive(Default)]
struct Resolved {
    kept: HashMap<i64, Arc<CachedStatus>>,
    missing: HashMap<i64, StatusRow>,
}

impl Resolved {
    fn row(&self, id: i64) -> Option<&StatusRow> {
        self.kept
            .get(&id)
            .map(|k| &k.row)
            .or_else(|| self.missing.get(&id))
    }

    /// Looks `wanted` up in the cache and reads the rows of those not kept at that
    /// version (or takes them from `known`).
    async fn resolve(
        &mut self,
        app: &App,
        wanted: &[(i64, i64)],
        known: Vec<StatusRow>,
    ) -> ApiResult<()> {
        let wanted: Vec<(i64, i64)> = wanted
            .iter()
            .copied()
            .filter(|(id, _)| self.row(*id).is_none())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let (kept, missing) = app.statuses.get(&wanted);
        self.kept.extend(kept);
        if missing.is_empty() {
            return Ok(());
        }
        let mut known: HashMap<i64, StatusRow> = known
            .into_iter()
            .filter(|r| missing.contains(&r.id))
            .map(|r| (r.id, r))
            .collect();
        let to_read: Vec<i64> = missing
            .iter()
            .copied()
            .filter(|id| !known.contains_key(id))
            .collect();
        for row in fulmar_store::statuses::by_ids(&app.db, &to_read).await? {
            known.insert(row.id, row);
        }
        self.missing.extend(known);
        Ok(())
    }
}

/// How a status shows the status it quotes: in full (the statuses of the page and
/// the originals of its reblogs), or by id only (a quoted status, so that a chain of
/// quotes is one level deep in every response, as in Mastodon).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    Full,
    Shallow,
}

struct Writer<'a> {
    kept: &'a HashMap<i64, Arc<CachedStatus>>,
    accounts: &'a HashMap<i64, SharedAccount>,
    flags: Option<&'a ViewerFlags>,
    followed: &'a HashSet<i64>,
    applications: &'a HashMap<i64, Application>,
    polls: &'a HashMap<i64, Poll>,
    quoted: &'a HashSet<i64>,
    hidden: &'a HashSet<i64>,
    viewer: Option<i64>,
}

fn write_value(out: &mut Vec<u8>, value: &impl Serialize) {
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
}

impl Writer<'_> {
    /// Whether a status can be shown: its author can be loaded.
    fn shown(&self, status: &CachedStatus) -> bool {
        self.accounts.contains_key(&status.row.account_id)
    }

    /// Writes one status; `reblog` is the original of a reblog.
    fn status(
        &self,
        out: &mut Vec<u8>,
        status: &CachedStatus,
        reblog: Option<&CachedStatus>,
        quote: Quote,
    ) {
        let row = &status.row;
        out.push(b'{');
        out.extend_from_slice(status.head.as_bytes());
        out.extend_from_slice(b",\"account\":");
        match self.accounts.get(&row.account_id) {
            Some(account) => account.write_json(out),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b',');
        out.extend_from_slice(status.body.as_bytes());
        out.extend_from_slice(b",\"application\":");
        let application = row
            .application_id
            .filter(|_| self.viewer == Some(row.account_id))
            .and_then(|id| self.applications.get(&id));
        write_value(out, &application);
        out.extend_from_slice(b",\"mentions\":");
        let mentions: Vec<Mention> = status
            .mention_ids
            .iter()
            .filter_map(|id| self.accounts.get(id))
            .map(|a| Mention {
                id: a.id.clone(),
                username: a.username.clone(),
                url: a.url.clone(),
                acct: a.acct.clone(),
            })
            .collect();
        write_value(out, &mentions);
        out.push(b',');
        out.extend_from_slice(status.middle.as_bytes());
        out.extend_from_slice(b",\"reblog\":");
        match reblog {
            Some(original) => self.status(out, original, None, Quote::Full),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"poll\":");
        write_value(out, &row.poll_id.and_then(|id| self.polls.get(&id)));
        out.push(b',');
        out.extend_from_slice(status.tail.as_bytes());
        out.extend_from_slice(b",\"quote\":");
        self.quote(out, row, quote);
        out.extend_from_slice(b",\"quote_approval\":");
        write_value(out, &self.approval(row));
        if let Some(flags) = self.flags {
            let flag = |set: &HashSet<i64>| -> &'static [u8] {
                if set.contains(&row.id) {
                    b"true"
                } else {
                    b"false".as_slice()
                }
            };
            out.extend_from_slice(b",\"favourited\":");
            out.extend_from_slice(flag(&flags.favourited));
            out.extend_from_slice(b",\"reblogged\":");
            out.extend_from_slice(flag(&flags.reblogged));
            out.extend_from_slice(b",\"muted\":false,\"bookmarked\":");
            out.extend_from_slice(flag(&flags.bookmarked));
            out.extend_from_slice(b",\"pinned\":");
            out.extend_from_slice(flag(&flags.pinned));
            out.extend_from_slice(b",\"filtered\":[]");
        }
        out.push(b'}');
    }

    /// Who may quote a status, and how the viewer may (Mastodon 4.5's
    /// `quote_approval`), as `to_mastodon::statuses` writes it.
    fn approval(&self, row: &StatusRow) -> Value {
        let policy = crate::core::quotes::effective_policy(row, &row.quote_policy);
        let automatic: &[&str] = match policy {
            "public" => &["public"],
            "followers" => &["followers"],
            _ => &[],
        };
        let current = crate::core::quotes::approval_given(
            row,
            &row.quote_policy,
            self.viewer,
            self.followed.contains(&row.account_id),
        );
        json!({"automatic": automatic, "manual": [], "current_user": current})
    }

    /// The `quote` of a status. The keys are written in the order `json!` gives
    /// them (sorted), as `to_mastodon::statuses` builds them with it.
    fn quote(&self, out: &mut Vec<u8>, row: &StatusRow, how: Quote) {
        let Some(of) = row.quote_of_id else {
            out.extend_from_slice(b"null");
            return;
        };
        let stored = row
            .quote_state
            .as_deref()
            .unwrap_or(crate::core::quotes::PENDING);
        if how == Quote::Shallow {
            out.extend_from_slice(b"{\"quoted_status_id\":");
            write_value(out, &of.to_string());
            out.extend_from_slice(b",\"state\":");
            write_value(out, &stored);
            out.push(b'}');
            return;
        }
        // As Mastodon: only an accepted quote shows its quoted status; the `deleted`
        // and `unauthorized` states are worked out for accepted ones.
        let shown = self
            .quoted
            .contains(&of)
            .then(|| self.kept.get(&of))
            .flatten();
        out.extend_from_slice(b"{\"quoted_status\":");
        let state = if stored != crate::core::quotes::ACCEPTED {
            out.extend_from_slice(b"null");
            stored
        } else {
            match shown {
                Some(q) if self.shown(q) => {
                    // `to_mastodon::statuses` puts the quoted status into a
                    // `serde_json::Value`, whose objects sort their keys: the same
                    // order is had by reading the status back into one.
                    let mut inner = Vec::new();
                    self.status(&mut inner, q, None, Quote::Shallow);
                    match serde_json::from_slice::<Value>(&inner) {
                        Ok(value) => write_value(out, &value),
                        Err(_) => out.extend_from_slice(b"null"),
                    }
                    stored
                }
                Some(_) => {
                    out.extend_from_slice(b"null");
                    "deleted"
                }
                None if self.hidden.contains(&of) => {
                    out.extend_from_slice(b"null");
                    "unauthorized"
                }
                None => {
                    out.extend_from_slice(b"null");
                    "deleted"
                }
            }
        };
        out.extend_from_slice(b",\"state\":");
        write_value(out, &state);
        out.push(b'}');
    }
}
