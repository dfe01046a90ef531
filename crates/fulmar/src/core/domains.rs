//! Domain policy: which servers the admin has blocked, and what a block means for the
//! rest of the domain.
//!
//! A block has Mastodon's "suspend" meaning: nothing is accepted from the domain (the
//! inbox answers 403), nothing is fetched from it (resolving refuses), nothing is
//! delivered to it, and its stored accounts are suspended with their follows removed.
//! Servers read the blocks from the database on every use, so a block made with the
//! command line while a server runs takes effect at once.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fulmar_store::domain_blocks::{self, BlockOutcome, DomainBlockRow};
use fulmar_store::Db;

use super::error::{CoreError, CoreResult};
use super::ids::next_id;
use super::resolve::{authority, ResolveError, ResolveResult};
use super::time::now_ms;

/// Turns what an admin typed (`Example.COM`, `https://example.com/about`,
/// `*.example.com`, `example.com:443`) into the domain a block stores: lower case,
/// punycode, no port, no wildcard.
pub fn normalize(text: &str) -> CoreResult<String> {
    let text = text.trim();
    let text = text.strip_prefix("*.").unwrap_or(text);
    let bad = || CoreError::Invalid(format!("{text:?} is not a domain name").into());
    if text.is_empty() || text.contains(|c: char| c == '@' || c.is_whitespace()) {
        return Err(bad());
    }
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}/")
    };
    let url = url::Url::parse(&with_scheme).map_err(|_| bad())?;
    let host = url.host_str().ok_or_else(bad)?;
    let host = domain_blocks::bare_host(host.trim_start_matches('[').trim_end_matches(']'));
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return Err(bad());
    }
    Ok(host)
}

/// Whether `host` (`host[:port]`) is blocked.
pub async fn host_blocked(db: &Db, host: &str) -> CoreResult<bool> {
    Ok(domain_blocks::is_blocked(db, host).await?)
}

/// How long the inbox trusts its copy of the block list before reading it again.
const BLOCK_LIST_TTL: Duration = Duration::from_secs(1);

/// The blocked domains as last read, for the inbox's first check of every delivery,
/// which would otherwise cost a query each (on PostgreSQL a round trip).
///
/// A block made with the command line while the server runs is a change in the
/// database the copy does not see for up to [`BLOCK_LIST_TTL`], so the copy never has
/// the last word: a host it lists is checked in the database before it is refused,
/// and a host it does not list is checked again, for every delivery of a group at
/// once, by the inbox's group commit before anything is stored
/// (`worker::inbox::GroupCommit`). What the copy saves is the query for every
/// delivery from a server that is not blocked.
#[derive(Default)]
pub struct BlockList {
    copy: Mutex<Option<(Instant, Arc<Vec<String>>)>>,
}

impl BlockList {
    /// Whether `host` may be blocked: `false` means the copy does not list it (the
    /// group commit checks again); `true` was confirmed by the database.
    pub async fn blocked(&self, db: &Db, host: &str) -> CoreResult<bool> {
        // The first delivery to find the copy expired reads the list again; the
        // deliveries meanwhile keep using the old copy (the group commit checks their
        // hosts anyway), so a busy inbox reads it once a second, not once per request
        // in flight.
        let current = {
            let mut copy = self.copy.lock().unwrap_or_else(|e| e.into_inner());
            match copy.as_mut() {
                Some((at, domains)) if at.elapsed() < BLOCK_LIST_TTL => Some(domains.clone()),
                // Claimed: until the new list is read, the others use this one.
                Some((at, _)) => {
                    *at = Instant::now();
                    None
                }
                None => None,
            }
        };
        let domains = match current {
            Some(domains) => domains,
            None => {
                let domains: Arc<Vec<String>> = Arc::new(
                    domain_blocks::list(db)
                        .await?
                        .into_iter()
                        .map(|b| b.domain)
                        .collect(),
                );
                *self.copy.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((Instant::now(), domains.clone()));
                domains
            }
        };
        if !domains.iter().any(|d| domain_blocks::covers(d, host)) {
            return Ok(false);
        }
        host_blocked(db, host).await
    }
}

/// Whether the host of `url` is blocked. A URL without a host is not blocked (it
/// cannot be fetched or delivered to either).
pub async fn url_blocked(db: &Db, url: &str) -> CoreResult<bool> {
    match authority(url) {
        Some(host) => host_blocked(db, &host).await,
        None => Ok(false),
    }
}

/// For `core::resolve`: refuses to look anything up on a blocked domain. `target` is
/// a URL or a bare `host[:port]`.
pub async fn refuse_blocked(db: &Db, target: &str) -> ResolveResult<()> {
    let host = authority(target).unwrap_or_else(|| target.to_owned());
    if domain_blocks::is_blocked(db, &host).await? {
        return Err(ResolveError::Invalid(format!("{host} is blocked")));
    }
    Ok(())
}

/// For the outbox: drops the inboxes on blocked domains.
pub async fn deliverable(db: &Db, inboxes: BTreeSet<String>) -> CoreResult<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    // One lookup per host, not per inbox: fan-outs list many inboxes on few servers.
    let mut verdicts: std::collections::HashMap<String, bool> = Default::default();
    for inbox in inboxes {
        let Some(host) = authority(&inbox) else {
            continue;
        };
        let blocked = match verdicts.get(&host) {
            Some(b) => *b,
            None => {
                let b = host_blocked(db, &host).await?;
                verdicts.insert(host, b);
                b
            }
        };
        if !blocked {
            out.insert(inbox);
        }
    }
    Ok(out)
}

/// Blocks a domain (idempotent). Returns the normalised domain and what changed.
pub async fn block(db: &Db, text: &str) -> CoreResult<(String, BlockOutcome)> {
    let domain = normalize(text)?;
    let outcome = domain_blocks::add(db, next_id(), &domain, now_ms()).await?;
    Ok((domain, outcome))
}

/// Lifts a block. Returns the normalised domain and whether it was blocked.
pub async fn unblock(db: &Db, text: &str) -> CoreResult<(String, bool)> {
    let domain = normalize(text)?;
    let removed = domain_blocks::remove(db, &domain).await?;
    Ok((domain, removed))
}

pub async fn list(db: &Db) -> CoreResult<Vec<DomainBlockRow>> {
    Ok(domain_blocks::list(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_may_type_domains_loosely() {
        assert_eq!(normalize("Example.COM").unwrap(), "example.com");
        assert_eq!(normalize(" *.example.com ").unwrap(), "example.com");
        assert_eq!(
            normalize("https://example.com:8443/about").unwrap(),
            "example.com"
        );
        assert_eq!(normalize("127.0.0.1:3000").unwrap(), "127.0.0.1");
        assert_eq!(
            normalize("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(normalize("").is_err());
        assert!(normalize("not a domain").is_err());
        assert!(normalize("user@example.com/x").is_err());
    }
}
