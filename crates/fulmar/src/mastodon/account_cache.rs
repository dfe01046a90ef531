//! Rendered Account entities kept in memory, checked against the database on every
//! use.
//!
//! A page of statuses shows forty authors; reading forty whole account rows (36
//! columns each) costs more than everything else on the page. Accounts change far
//! less often than they are shown, so the rendered entity is kept here with the
//! account's `version`, a column that a database trigger increases on every change to
//! the row (migration 0011). A page reads only `(id, version)` of its accounts and
//! loads and renders the rows whose version differs from the one kept. Since the
//! version lives in the database, a change made anywhere (another request, the
//! worker, `fulmar admin` in another process, another node) is seen at once: the
//! cache never serves an account older than the row it was checked against.
//!
//! Memory is bounded: past [`CAPACITY`] entries the whole cache is emptied and fills
//! again with what is shown next, which keeps the bound without bookkeeping on the
//! read path.

use std::collections::HashMap;
use std::sync::Mutex;

use fulmar_store::Db;

use super::entities::SharedAccount;
use crate::core::urls::Urls;

/// At most this many rendered accounts are kept (each is a few hundred bytes to a
/// few kilobytes, so a few megabytes at most).
pub const CAPACITY: usize = 4096;

#[derive(Default)]
pub struct AccountCache {
    entries: Mutex<HashMap<i64, (i64, SharedAccount)>>,
}

impl AccountCache {
    /// The rendered accounts of `ids` (deduplicated, in any order), current as of
    /// this call. Accounts that do not exist are left out.
    pub async fn get(
        &self,
        db: &Db,
        urls: &Urls,
        ids: &[i64],
    ) -> fulmar_store::Result<HashMap<i64, SharedAccount>> {
        self.get_known(db, urls, ids, &[]).await
    }

    /// [`AccountCache::get`], with one of the accounts known already, as a row with
    /// its version (the author of a new post, as of its commit): that one costs no
    /// query, and is rendered and kept unless the entity kept has that version.
    pub async fn get_given(
        &self,
        db: &Db,
        urls: &Urls,
        ids: &[i64],
        given: &fulmar_store::accounts::AccountRow,
        version: i64,
    ) -> fulmar_store::Result<HashMap<i64, SharedAccount>> {
        let rest: Vec<i64> = ids.iter().copied().filter(|id| *id != given.id).collect();
        let mut found = self.get(db, urls, &rest).await?;
        if !ids.contains(&given.id) {
            return Ok(found);
        }
        let kept = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match entries.get(&given.id) {
                Some((v, entity)) if *v == version => Some(entity.clone()),
                _ => None,
            }
        };
        let entity = match kept {
            Some(entity) => entity,
            None => {
                let entity = SharedAccount::new(super::to_mastodon::account(urls, given));
                let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
                entries.insert(given.id, (version, entity.clone()));
                entity
            }
        };
        found.insert(given.id, entity);
        Ok(found)
    }

    /// [`AccountCache::get`], with the versions of some of `ids` already read (by
    /// the same query as the page that shows them): only the others' are asked for.
    pub async fn get_known(
        &self,
        db: &Db,
        urls: &Urls,
        ids: &[i64],
        known: &[(i64, i64)],
    ) -> fulmar_store::Result<HashMap<i64, SharedAccount>> {
        let known: HashMap<i64, i64> = known.iter().copied().collect();
        let rest: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !known.contains_key(id))
            .collect();
        let mut versions = fulmar_store::accounts::versions(db, &rest).await?;
        versions.extend(
            ids.iter()
                .filter_map(|id| known.get(id).map(|version| (*id, *version))),
        );
        let mut found = HashMap::with_capacity(versions.len());
        let mut missing: Vec<(i64, i64)> = Vec::new();
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            for (id, version) in versions {
                match entries.get(&id) {
                    Some((v, entity)) if *v == version => {
                        found.insert(id, entity.clone());
                    }
                    _ => missing.push((id, version)),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let ids: Vec<i64> = missing.iter().map(|(id, _)| *id).collect();
        let rows = fulmar_store::accounts::by_ids(db, &ids).await?;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() + rows.len() > CAPACITY {
            entries.clear();
        }
        for row in rows {
            // The row was read after its version, so it is at least as new as that
            // version: keeping it under that version can only cause an extra reload.
            let Some((_, version)) = missing.iter().find(|(id, _)| *id == row.id) else {
                continue;
            };
            let entity = SharedAccount::new(super::to_mastodon::account(urls, &row));
            entries.insert(row.id, (*version, entity.clone()));
            found.insert(row.id, entity);
        }
        Ok(found)
    }
}
