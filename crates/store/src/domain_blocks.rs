//! Domain blocks: servers the admin has cut off (Mastodon's "suspend" severity).
//!
//! A block of `example.com` also covers every subdomain (`a.example.com`), as in
//! Mastodon; hosts are compared case-insensitively and without their port, since a
//! port does not make another server in the sense an admin means.
//!
//! Blocking a domain suspends the accounts stored for it (they vanish from the API,
//! which already hides suspended accounts everywhere) and removes every follow and
//! follow request to or from them, in one transaction. The suspension time of those
//! accounts is the block's `created_at`: that is how lifting the block tells the
//! accounts it suspended from accounts suspended for another reason, without a column
//! of its own.

use std::collections::HashSet;

use sqlx::QueryBuilder;

use crate::inbound::push_text_list;
use crate::read::Select;
use crate::WritePool as _;
use crate::{push_id_list, with_pool, Db, Result};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct DomainBlockRow {
    pub id: i64,
    pub domain: String,
    pub severity: String,
    pub reject_media: bool,
    pub private_comment: Option<String>,
    pub public_comment: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, domain, severity, reject_media, private_comment, public_comment, created_at";

/// Binds per statement stay far below both databases' limits (SQLite: 32766).
const CHUNK: usize = 500;

/// A host as blocks compare it: lower case, without a port or a trailing dot.
pub fn bare_host(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        // An IPv6 literal: `[::1]:8080`.
        rest.split(']').next().unwrap_or_default().to_owned()
    } else if host.matches(':').count() == 1 {
        host.split(':').next().unwrap_or_default().to_owned()
    } else {
        host
    };
    without_port.trim_end_matches('.').to_owned()
}

/// Whether a block of `domain` covers `host`: the same host or a subdomain of it.
pub fn covers(domain: &str, host: &str) -> bool {
    let domain = bare_host(domain);
    let host = bare_host(host);
    !domain.is_empty()
        && (host == domain
            || host
                .strip_suffix(&domain)
                .is_some_and(|prefix| prefix.ends_with('.')))
}

/// The domains whose block would cover `host`: the host itself and each parent
/// domain (`a.b.example` → `a.b.example`, `b.example`, `example`). IP addresses have
/// no parents.
fn candidates(host: &str) -> Vec<String> {
    let host = bare_host(host);
    if host.is_empty() {
        return Vec::new();
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return vec![host];
    }
    let mut out = vec![host.clone()];
    let mut rest = host.as_str();
    while let Some((_, parent)) = rest.split_once('.') {
        if parent.is_empty() {
            break;
        }
        out.push(parent.to_owned());
        rest = parent;
    }
    out
}

/// Whether `host` (`host[:port]`) is on a blocked domain. One indexed lookup.
pub async fn is_blocked(db: &Db, host: &str) -> Result<bool> {
    let names = candidates(host);
    if names.is_empty() {
        return Ok(false);
    }
    // Asked for every delivery to an inbox: through the read path (on SQLite, rusqlite
    // on the caller's thread) rather than a hand-off to the driver's thread and back.
    let mut q = Select::new("SELECT COUNT(*) FROM domain_blocks WHERE domain IN ");
    push_text_list(&mut q, &names);
    let n: Vec<(i64,)> = q.fetch_all(db).await?;
    Ok(n.first().is_some_and(|(n,)| *n > 0))
}

/// Which of `hosts` are blocked ([`is_blocked`] for many hosts in one query).
pub async fn blocked_among(db: &Db, hosts: &[String]) -> Result<HashSet<String>> {
    let mut names: Vec<String> = hosts.iter().flat_map(|h| candidates(h)).collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Ok(HashSet::new());
    }
    let mut q = Select::new("SELECT domain FROM domain_blocks WHERE domain IN ");
    push_text_list(&mut q, &names);
    let blocked: HashSet<String> = q
        .fetch_all::<(String,)>(db)
        .await?
        .into_iter()
        .map(|(d,)| d)
        .collect();
    Ok(hosts
        .iter()
        .filter(|h| candidates(h).iter().any(|n| blocked.contains(n)))
        .cloned()
        .collect())
}

/// Every block, oldest first.
pub async fn list(db: &Db) -> Result<Vec<DomainBlockRow>> {
    let sql = format!("SELECT {COLUMNS} FROM domain_blocks ORDER BY created_at, id");
    Ok(with_pool!(db, p => sqlx::query_as::<_, DomainBlockRow>(&sql).fetch_all(p).await)?)
}

pub async fn get(db: &Db, domain: &str) -> Result<Option<DomainBlockRow>> {
    let sql = format!("SELECT {COLUMNS} FROM domain_blocks WHERE domain = $1");
    Ok(
        with_pool!(db, p => sqlx::query_as::<_, DomainBlockRow>(&sql).bind(bare_host(domain)).fetch_optional(p).await)?,
    )
}

/// What a new block changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockOutcome {
    /// False when the domain was already blocked (nothing else changes then).
    pub added: bool,
    pub suspended_accounts: u64,
    pub removed_follows: u64,
}

/// Blocks `domain` (already normalised by the caller), suspends its stored accounts
/// and removes their follows and follow requests. Blocking a blocked domain again
/// changes nothing.
pub async fn add(db: &Db, id: i64, domain: &str, now: i64) -> Result<BlockOutcome> {
    let domain = bare_host(domain);
    let accounts = accounts_on(db, &domain).await?;
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let added = sqlx::query(
            "INSERT INTO domain_blocks (id, domain, severity, created_at) VALUES ($1, $2, 'suspend', $3) \
             ON CONFLICT (domain) DO NOTHING",
        )
        .bind(id)
        .bind(&domain)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        let mut outcome = BlockOutcome { added, ..Default::default() };
        if !added {
            tx.rollback().await?;
            return Ok(outcome);
        }
        for chunk in accounts.chunks(CHUNK) {
            // The other side of each removed follow: its counters are recounted below.
            let mut qb = QueryBuilder::new(
                "SELECT account_id, target_account_id FROM follows WHERE account_id IN ",
            );
            push_id_list(&mut qb, chunk);
            qb.push(" OR target_account_id IN ");
            push_id_list(&mut qb, chunk);
            let pairs: Vec<(i64, i64)> = qb.build_query_as().fetch_all(&mut *tx).await?;
            let mut touched: Vec<i64> = pairs.iter().flat_map(|(a, b)| [*a, *b]).collect();
            touched.sort_unstable();
            touched.dedup();
            for table in ["follows", "follow_requests"] {
                let mut qb = QueryBuilder::new(format!("DELETE FROM {table} WHERE account_id IN "));
                push_id_list(&mut qb, chunk);
                qb.push(" OR target_account_id IN ");
                push_id_list(&mut qb, chunk);
                let n = qb.build().execute(&mut *tx).await?.rows_affected();
                if table == "follows" {
                    outcome.removed_follows += n;
                }
            }
            for ids in touched.chunks(CHUNK) {
                let mut qb = QueryBuilder::new(
                    "UPDATE accounts SET \
                     following_count = (SELECT COUNT(*) FROM follows f WHERE f.account_id = accounts.id), \
                     followers_count = (SELECT COUNT(*) FROM follows f WHERE f.target_account_id = accounts.id) \
                     WHERE id IN ",
                );
                push_id_list(&mut qb, ids);
                qb.build().execute(&mut *tx).await?;
            }
            let mut qb = QueryBuilder::new("UPDATE accounts SET suspended_at = ");
            qb.push_bind(now);
            qb.push(" WHERE suspended_at IS NULL AND id IN ");
            push_id_list(&mut qb, chunk);
            outcome.suspended_accounts += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(outcome)
    })
}

/// Lifts the block of `domain`: the accounts it suspended come back, unless another
/// block still covers them (they are then handed over to that block, so that lifting
/// it later restores them). Follows removed by the block stay removed, as in Mastodon.
/// Returns false when the domain was not blocked.
pub async fn remove(db: &Db, domain: &str) -> Result<bool> {
    let Some(block) = get(db, domain).await? else {
        return Ok(false);
    };
    let remaining: Vec<DomainBlockRow> = list(db)
        .await?
        .into_iter()
        .filter(|b| b.id != block.id)
        .collect();
    let accounts = accounts_on(db, &block.domain).await?;
    // Accounts still covered by another block go to the oldest such block.
    let mut restore = Vec::new();
    let mut hand_over: Vec<(i64, i64)> = Vec::new();
    for (id, host) in accounts_with_hosts(db, &accounts).await? {
        match remaining.iter().find(|b| covers(&b.domain, &host)) {
            Some(other) => hand_over.push((id, other.created_at)),
            None => restore.push(id),
        }
    }
    with_pool!(db, p => {
        let mut tx = p.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM domain_blocks WHERE id = $1")
            .bind(block.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        for chunk in restore.chunks(CHUNK) {
            let mut qb = QueryBuilder::new("UPDATE accounts SET suspended_at = NULL WHERE suspended_at = ");
            qb.push_bind(block.created_at);
            qb.push(" AND id IN ");
            push_id_list(&mut qb, chunk);
            qb.build().execute(&mut *tx).await?;
        }
        for (id, at) in &hand_over {
            sqlx::query("UPDATE accounts SET suspended_at = $1 WHERE id = $2 AND suspended_at = $3")
                .bind(at)
                .bind(id)
                .bind(block.created_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// The ids of stored remote accounts on `domain` or its subdomains.
async fn accounts_on(db: &Db, domain: &str) -> Result<Vec<i64>> {
    // LIKE narrows the scan; `covers` decides (it knows dots and ports, LIKE does not;
    // an `_` in the domain is a LIKE wildcard, which only widens the narrowing).
    let pattern = format!("%{domain}%");
    let rows: Vec<(i64, String)> = with_pool!(db, p => sqlx::query_as(
        "SELECT id, domain FROM accounts WHERE domain IS NOT NULL AND LOWER(domain) LIKE $1",
    )
    .bind(&pattern)
    .fetch_all(p)
    .await)?;
    Ok(rows
        .into_iter()
        .filter(|(_, host)| covers(domain, host))
        .map(|(id, _)| id)
        .collect())
}

async fn accounts_with_hosts(db: &Db, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = with_pool!(db, p => {
            let mut qb = QueryBuilder::new("SELECT id, domain FROM accounts WHERE domain IS NOT NULL AND id IN ");
            push_id_list(&mut qb, chunk);
            qb.build_query_as().fetch_all(p).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_subdomains_without_ports_or_case() {
        assert!(covers("example.com", "example.com"));
        assert!(covers("example.com", "A.Example.COM"));
        assert!(covers("example.com", "a.b.example.com:8443"));
        assert!(covers("Example.com.", "example.com"));
        assert!(!covers("example.com", "badexample.com"));
        assert!(!covers("example.com", "example.com.evil"));
        assert!(!covers("a.example.com", "example.com"));
        assert!(covers("127.0.0.1", "127.0.0.1:3000"));
        assert!(covers("::1", "[::1]:3000"));
        assert!(!covers("", "example.com"));
    }

    #[test]
    fn candidates_walk_up_the_parents() {
        assert_eq!(
            candidates("A.b.example:80"),
            vec!["a.b.example", "b.example", "example"]
        );
        assert_eq!(candidates("10.0.0.1:8080"), vec!["10.0.0.1"]);
        assert!(candidates("").is_empty());
    }
}
