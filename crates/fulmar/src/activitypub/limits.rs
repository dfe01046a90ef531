//! Per-origin limits, so that one remote server cannot flood Fulmar: a count of inbox
//! deliveries per origin host in five-minute windows (the API limiter's counters,
//! `http::rate_limit::RateLimiter`, keyed by host instead of token), and a cap on the
//! key fetches in flight per host, so that deliveries signed with made-up key ids
//! cannot make Fulmar fetch without bound.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::http::rate_limit::{Decision, RateLimiter};

/// Key fetches one origin host may have in flight at once. A real server's
/// deliveries name a handful of keys; only a flood of unknown key ids waits here.
pub const KEY_FETCHES_PER_HOST: usize = 4;
/// Hosts tracked for key fetches before idle entries are dropped.
const MAX_FETCH_HOSTS: usize = 10_000;

pub struct InboxLimits {
    deliveries: Option<Arc<RateLimiter>>,
    keys: std::collections::hash_map::RandomState,
    fetches: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl InboxLimits {
    /// `per_window` deliveries per host per five minutes; 0 disables the count.
    pub fn new(per_window: u32) -> InboxLimits {
        InboxLimits {
            deliveries: RateLimiter::new(per_window),
            keys: Default::default(),
            fetches: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one delivery from each of `hosts` (duplicates counted once). Returns
    /// the first refusal, if any host is over its allowance.
    pub fn hit(&self, hosts: &[&str]) -> Option<Decision> {
        let limiter = self.deliveries.as_ref()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut seen: Vec<&str> = Vec::with_capacity(hosts.len());
        let mut refusal = None;
        for host in hosts {
            if seen.contains(host) {
                continue;
            }
            seen.push(host);
            let d = limiter.hit(self.keys.hash_one(("inbox-origin", host)), now);
            if !d.allowed && refusal.is_none() {
                refusal = Some(d);
            }
        }
        refusal
    }

    /// Waits (at most `wait`) for a key-fetch slot for `host`; `None` when every slot
    /// stayed busy. The slot is given back when the permit is dropped.
    pub async fn key_fetch_slot(&self, host: &str, wait: Duration) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut map = self.fetches.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= MAX_FETCH_HOSTS && !map.contains_key(host) {
                // Entries nobody holds a permit of are idle: drop them.
                map.retain(|_, s| Arc::strong_count(s) > 1);
            }
            map.entry(host.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(KEY_FETCHES_PER_HOST)))
                .clone()
        };
        tokio::time::timeout(wait, semaphore.acquire_owned())
            .await
            .ok()?
            .ok()
    }

    /// Seconds until `d`'s window ends, for `Retry-After`.
    pub fn retry_after(d: &Decision) -> u64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        d.reset_at.saturating_sub(now).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_origin_has_its_own_allowance() {
        let limits = InboxLimits::new(2);
        assert!(limits.hit(&["a.example", "a.example"]).is_none());
        assert!(limits.hit(&["a.example"]).is_none());
        assert!(limits.hit(&["a.example"]).is_some());
        assert!(limits.hit(&["b.example"]).is_none());
        // A delivery counts against both its key's host and its actor's.
        assert!(limits.hit(&["b.example", "a.example"]).is_some());
        assert!(InboxLimits::new(0).hit(&["a.example"]).is_none());
    }

    #[tokio::test]
    async fn key_fetches_per_host_are_capped() {
        let limits = InboxLimits::new(0);
        let wait = Duration::from_millis(20);
        let mut held = Vec::new();
        for _ in 0..KEY_FETCHES_PER_HOST {
            held.push(limits.key_fetch_slot("a.example", wait).await.unwrap());
        }
        assert!(limits.key_fetch_slot("a.example", wait).await.is_none());
        assert!(limits.key_fetch_slot("b.example", wait).await.is_some());
        held.pop();
        assert!(limits.key_fetch_slot("a.example", wait).await.is_some());
    }
}
