//! The load generator: a fixed number of workers sending requests over kept-alive
//! connections until a request count or a time budget runs out, whichever comes
//! first, recording each request's latency.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one load run saw.
#[derive(Clone, Debug, Default)]
pub struct LoadResult {
    /// Requests answered with the expected status.
    pub ok: usize,
    /// Requests that failed or got another status.
    pub failed: usize,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latencies of the successful requests, sorted, in microseconds.
    pub latencies_us: Vec<u64>,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency at quantile `q` (0..=1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * q).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

/// Runs `request(i)` for i = 0, 1, … on `concurrency` workers until `max_requests`
/// were started or `max_time` passed. A request's future resolves to `Ok(())` when
/// the answer was the expected one.
pub async fn drive<F, Fut>(
    concurrency: usize,
    max_requests: usize,
    max_time: Duration,
    request: F,
) -> LoadResult
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let failures = Arc::new(Mutex::new((0usize, None::<String>)));
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let request = request.clone();
        let next = next.clone();
        let failures = failures.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= max_requests || started.elapsed() >= max_time {
                    break;
                }
                let t = Instant::now();
                match request(i).await {
                    Ok(()) => latencies.push(t.elapsed().as_micros() as u64),
                    Err(e) => {
                        let mut f = failures.lock().unwrap_or_else(|e| e.into_inner());
                        f.0 += 1;
                        f.1.get_or_insert(e);
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for w in workers {
        if let Ok(l) = w.await {
            latencies_us.extend(l);
        }
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    let (failed, first_error) =
        std::mem::take(&mut *failures.lock().unwrap_or_else(|e| e.into_inner()));
    LoadResult {
        ok: latencies_us.len(),
        failed,
        first_error,
        elapsed,
        latencies_us,
    }
}

/// A GET that expects 200; returns the body.
pub async fn get_ok(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> Result<Vec<u8>, String> {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status();
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!(
            "GET {url}: HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    Ok(body.to_vec())
}

/// The median of some numbers (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
