//! Rate limiting of the Mastodon API, as Mastodon does it: a number of requests per
//! five-minute window, counted per access token, or per client address for requests
//! without one. Every `/api/` response says where the caller stands in
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (ISO 8601);
//! past the limit the answer is 429 `{"error": "Too many requests"}` until the window
//! ends.
//!
//! Counters live in memory: a map from a 64-bit hash of the caller to its count in the
//! current window. Windows are aligned to multiples of five minutes since the epoch,
//! as Rack::Attack aligns Mastodon's, so the reset time is the same for everyone and
//! counts of past windows can be dropped wholesale. The map is pruned when a new
//! window starts and is never allowed past [`MAX_CALLERS`] entries, so a flood of
//! addresses costs bounded memory (at worst it resets everyone's count early, which
//! fails open rather than locking real users out).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::core::time::rfc3339_ms;

/// The window length: Mastodon counts per five minutes.
pub const PERIOD_SECS: u64 = 5 * 60;
/// At most this many callers are tracked at once.
pub const MAX_CALLERS: usize = 100_000;

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// The counters of one server.
pub struct RateLimiter {
    limit: u32,
    keys: std::collections::hash_map::RandomState,
    state: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    /// The window the counts belong to.
    current: u64,
    counts: HashMap<u64, u32>,
}

/// What one request learns about its caller's allowance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds since the epoch when the window ends.
    pub reset_at: u64,
}

impl RateLimiter {
    /// A limiter allowing `limit` requests per window; `None` when `limit` is 0, which
    /// turns rate limiting off.
    pub fn new(limit: u32) -> Option<Arc<RateLimiter>> {
        (limit > 0).then(|| {
            Arc::new(RateLimiter {
                limit,
                keys: Default::default(),
                state: Mutex::new(Windows::default()),
            })
        })
    }

    /// Counts one request of `caller` at `now` (seconds since the epoch).
    pub fn hit(&self, caller: u64, now: u64) -> Decision {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // A request that read the clock just before another one opened the next
        // window counts in that next window rather than reopening its own.
        let window = (now / PERIOD_SECS).max(st.current);
        let reset_at = (window + 1) * PERIOD_SECS;
        if window != st.current {
            // Every count belongs to the window that just ended.
            st.current = window;
            st.counts.clear();
        }
        if st.counts.len() >= MAX_CALLERS && !st.counts.contains_key(&caller) {
            st.counts.clear();
        }
        let count = st.counts.entry(caller).or_insert(0);
        *count = count.saturating_add(1);
        Decision {
            allowed: *count <= self.limit,
            limit: self.limit,
            remaining: self.limit.saturating_sub(*count),
            reset_at,
        }
    }

    /// Who is calling: the access token when there is one (as a hash of the whole
    /// `Authorization` header or `access_token` parameter, so that no token is kept in
    /// memory), otherwise the client's address.
    fn caller(&self, req: &Request) -> u64 {
        let mut h = self.keys.build_hasher();
        if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
            ("token", auth.as_bytes()).hash(&mut h);
        } else if let Some(token) = req.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned())
        }) {
            ("token", token.as_bytes()).hash(&mut h);
        } else {
            let peer = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            ("address", client_ip(peer, req.headers())).hash(&mut h);
        }
        h.finish()
    }
}

/// The client's address. A reverse proxy on the same host or network (loopback or a
/// private address) is trusted to name the client in `X-Forwarded-For` (its last
/// entry, the one the proxy added) or `X-Real-IP`; anyone else is who they are, so
/// that a client cannot pick a fresh counter by sending a made-up header.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
    let trusted = match peer {
        None => true,
        Some(IpAddr::V4(v4)) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        Some(IpAddr::V6(v6)) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    };
    if trusted {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .or_else(|| headers.get("x-real-ip").and_then(|v| v.to_str().ok()))
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer
}

fn set_headers(headers: &mut HeaderMap, d: &Decision) {
    let reset = rfc3339_ms(i64::try_from(d.reset_at).unwrap_or(i64::MAX / 1000) * 1000);
    for (name, value) in [
        (LIMIT, d.limit.to_string()),
        (REMAINING, d.remaining.to_string()),
        (RESET, reset),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
}

/// True for the requests that are counted: the Mastodon API, except the streaming
/// endpoint, whose connections last long and which Mastodon does not count either.
fn counted(path: &str) -> bool {
    path.starts_with("/api/") && !path.starts_with("/api/v1/streaming")
}

/// The middleware. Install with `from_fn_with_state(limiter, rate_limit::limit)`.
pub async fn limit(State(limiter): State<Arc<RateLimiter>>, req: Request, next: Next) -> Response {
    if !counted(req.uri().path()) {
        return next.run(req).await;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let decision = limiter.hit(limiter.caller(&req), now);
    let mut response = if decision.allowed {
        next.run(req).await
    } else {
        let mut r =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests").into_response();
        if let Ok(v) = HeaderValue::from_str(&decision.reset_at.saturating_sub(now).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    };
    set_headers(response.headers_mut(), &decision);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_caller_and_window() {
        let rl = RateLimiter::new(2).unwrap();
        let t = 10 * PERIOD_SECS + 7;
        let a = rl.hit(1, t);
        assert_eq!(
            (a.allowed, a.remaining, a.reset_at),
            (true, 1, 11 * PERIOD_SECS)
        );
        assert!(rl.hit(1, t).allowed);
        let over = rl.hit(1, t + 1);
        assert_eq!((over.allowed, over.remaining), (false, 0));
        // Another caller has its own allowance; a new window forgives everyone.
        assert!(rl.hit(2, t).allowed);
        assert!(rl.hit(1, 11 * PERIOD_SECS).allowed);
    }

    #[test]
    fn zero_disables() {
        assert!(RateLimiter::new(0).is_none());
    }

    #[test]
    fn memory_stays_bounded() {
        let rl = RateLimiter::new(5).unwrap();
        for caller in 0..(MAX_CALLERS as u64 + 10) {
            rl.hit(caller, 0);
        }
        assert!(rl.state.lock().unwrap().counts.len() <= MAX_CALLERS);
    }

    #[test]
    fn only_nearby_proxies_may_name_the_client() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            client_ip(Some(proxy), &h),
            Some("198.51.100.7".parse().unwrap())
        );
        assert_eq!(client_ip(Some(stranger), &h), Some(stranger));
        assert_eq!(client_ip(Some(proxy), &HeaderMap::new()), Some(proxy));
    }

    #[test]
    fn only_the_api_is_counted() {
        assert!(counted("/api/v1/timelines/home"));
        assert!(!counted("/api/v1/streaming"));
        assert!(!counted("/oauth/token"));
        assert!(!counted("/users/alice"));
    }
}
