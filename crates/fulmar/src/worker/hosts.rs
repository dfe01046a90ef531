//! A bounded number of requests at once per remote host, shared by every job that
//! talks to other servers (deliveries, and fetches such as backfill and threads), so
//! that no one host gets more than a few connections from Fulmar and one slow host
//! holds at most its own few slots.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Per-host semaphores, created on first use and forgotten when idle.
pub struct HostLimits {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimits {
    pub fn new(per_host: usize) -> HostLimits {
        HostLimits {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// The semaphore of `host`.
    pub fn of(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        if hosts.len() > 10_000 {
            // Forget idle hosts so the map stays bounded.
            hosts.retain(|_, s| Arc::strong_count(s) > 1);
        }
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone()
    }

    /// Waits for one of `host`'s slots.
    pub async fn acquire(&self, host: &str) -> OwnedSemaphorePermit {
        self.of(host)
            .acquire_owned()
            .await
            .expect("host semaphores are never closed")
    }
}
