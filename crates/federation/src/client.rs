//! The one outgoing HTTP client. Every request Fulmar sends to another server goes
//! through [`Client`], which enforces the safety rules in one place:
//!
//! - only `https` URLs (plain `http` too in development mode);
//! - only public addresses: the *resolved* IP addresses are checked by a custom DNS
//!   resolver, and IP-literal hosts (which the resolver never sees) are checked
//!   explicitly, so a name pointing at `127.0.0.1` or `169.254.169.254` is refused
//!   before any connection is made;
//! - at most [`MAX_REDIRECTS`] redirects, each hop checked again;
//! - a connect timeout and a total timeout;
//! - response bodies read piece by piece and cut off at a size limit.
//!
//! Every GET of an ActivityPub document is signed (draft-cavage), because Threads,
//! GoToSocial and Mastodon's secure mode refuse unsigned fetches.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, Method};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;
use url::Url;

use crate::signatures::{sign_request, SigningKey};

/// The most redirects one request follows.
pub const MAX_REDIRECTS: usize = 5;
/// The default limit on a fetched document's size.
pub const DEFAULT_MAX_BODY: usize = 1024 * 1024;

const ACCEPT_ACTIVITY: &str =
    "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// Who signs a request: the key id published in an actor document, and its key.
#[derive(Clone, Debug)]
pub struct Signer {
    pub key_id: String,
    pub key: Arc<SigningKey>,
}

/// Why an outgoing request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("not a valid URL: {0}")]
    BadUrl(String),
    #[error("only https URLs may be fetched: {0}")]
    Scheme(String),
    #[error("forbidden address: {0} is not a public address")]
    Forbidden(String),
    #[error("the response is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the request timed out")]
    Timeout,
    #[error("the server answered {0}")]
    BadStatus(u16),
    #[error("unexpected content type {0:?}")]
    BadContentType(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    Redirects,
    #[error("the response is not valid JSON: {0}")]
    BadJson(String),
    #[error("cannot sign the request: {0}")]
    Signing(String),
    #[error("connection failed: {0}")]
    Connect(String),
}

impl ClientError {
    /// Whether retrying cannot help: 4xx answers other than 408 and 429, and requests
    /// that are refused before they are sent.
    pub fn is_permanent(&self) -> bool {
        match self {
            ClientError::BadStatus(s) => (400..500).contains(s) && *s != 408 && *s != 429,
            ClientError::BadUrl(_)
            | ClientError::Scheme(_)
            | ClientError::Forbidden(_)
            | ClientError::Signing(_) => true,
            _ => false,
        }
    }
}

/// Settings of the client.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `Fulmar/VERSION (+BASE_URL)`.
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body: usize,
    /// Development mode: private addresses and plain http are allowed.
    pub allow_private: bool,
}

impl ClientConfig {
    pub fn new(base_url: &str, allow_private: bool) -> ClientConfig {
        ClientConfig {
            user_agent: format!("Fulmar/{} (+{base_url})", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
            max_body: DEFAULT_MAX_BODY,
            allow_private,
        }
    }
}

/// The outgoing HTTP client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
}

/// Whether an address is one that a server on the internet may be reached at.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || o[0] >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // IPv4-compatible ::a.b.c.d (deprecated, but still parsed by some stacks).
    if s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_public_v4(v4);
    }
    // NAT64 64:ff9b::/96 embeds an IPv4 address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_public_v4(v4);
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // ULA fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[0] == 0x0100 && s[1..4] == [0; 3]) // discard-only 100::/64
}

/// Checks a URL before anything is sent: a valid absolute URL with a host, `https`
/// (or `http` in development mode), and, when the host is an IP literal, a public one.
pub fn check_url(url: &str, allow_private: bool) -> Result<Url, ClientError> {
    let parsed = Url::parse(url).map_err(|_| ClientError::BadUrl(url.to_owned()))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(ClientError::Scheme(url.to_owned())),
    }
    let host = parsed
        .host()
        .ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ClientError::BadUrl(url.to_owned()));
    }
    if !allow_private {
        let ip = match host {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(d) => {
                let d = d.trim_end_matches('.');
                if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") {
                    return Err(ClientError::Forbidden(d.to_owned()));
                }
                None
            }
        };
        if let Some(ip) = ip {
            if !is_public_ip(ip) {
                return Err(ClientError::Forbidden(ip.to_string()));
            }
        }
    }
    Ok(parsed)
}

/// Resolves names with the system resolver and keeps only public addresses.
#[derive(Debug)]
struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| is_public_ip(a.ip()))
                .collect();
            if public.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(ClientError::Forbidden(host));
                return Err(err);
            }
            // Every address must be public: a name that resolves to a mix is refused,
            // so that no connection can fall back to a private one.
            if public.len() != addrs.len() {
                let err: Box<dyn std::error::Error + Send + Sync> =
                    Box::new(ClientError::Forbidden(host));
                return Err(err);
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

fn is_json_type(content_type: &str, allow_plain_json: bool) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/activity+json"
        || essence == "application/ld+json"
        || (allow_plain_json
            && (essence == "application/json" || essence == "application/jrd+json"))
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, past the address checks.
            .no_proxy()
            .use_rustls_tls()
            .https_only(!config.allow_private);
        if !config.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        Ok(Client {
            http,
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Fetches an ActivityPub document with a signed GET.
    pub async fn get_activity(&self, url: &str, signer: &Signer) -> Result<Value, ClientError> {
        self.get_activity_from(url, signer).await.map(|(_, v)| v)
    }

    /// Like [`Client::get_activity`], also returning the URL the document was finally
    /// served from (after redirects): the document speaks for that origin only.
    pub async fn get_activity_from(
        &self,
        url: &str,
        signer: &Signer,
    ) -> Result<(Url, Value), ClientError> {
        let (final_url, ct, body) = self.get(url, ACCEPT_ACTIVITY, Some(signer)).await?;
        // Mastodon accepts activity+json, ld+json and plain json answers.
        if !is_json_type(&ct, true) || ct.contains("jrd") {
            return Err(ClientError::BadContentType(ct));
        }
        let doc = serde_json::from_slice(&body).map_err(|e| ClientError::BadJson(e.to_string()))?;
        Ok((final_url, doc))
    }

    /// Fetches a plain JSON document (WebFinger JRD, NodeInfo), unsigned.
    pub async fn get_json(&self, url: &str) -> Result<Value, ClientError> {
        let (_, ct, body) = self
            .get(url, "application/jrd+json, application/json", None)
            .await?;
        if !ct.is_empty() && !is_json_type(&ct, true) {
            return Err(ClientError::BadContentType(ct));
        }
        serde_json::from_slice(&body).map_err(|e| ClientError::BadJson(e.to_string()))
    }

    /// POSTs an activity to an inbox, signed; returns the status for 2xx answers.
    pub async fn post_activity(
        &self,
        inbox: &str,
        body: &[u8],
        signer: &Signer,
    ) -> Result<u16, ClientError> {
        let url = check_url(inbox, self.config.allow_private)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(crate::LD_JSON_AS),
        );
        sign(&mut headers, &Method::POST, &url, Some(body), signer)?;
        let res = self
            .http
            .post(url)
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await
            .map_err(map_reqwest)?;
        let status = res.status().as_u16();
        // Drain a little of the answer so the connection can be reused; ignore errors.
        let _ = read_limited(res, 64 * 1024).await;
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(ClientError::BadStatus(status))
        }
    }

    /// A GET that follows up to [`MAX_REDIRECTS`] redirects, checking each hop, and
    /// returns the final URL, content type and body.
    async fn get(
        &self,
        url: &str,
        accept: &'static str,
        signer: Option<&Signer>,
    ) -> Result<(Url, String, Vec<u8>), ClientError> {
        let mut current = check_url(url, self.config.allow_private)?;
        for _ in 0..=MAX_REDIRECTS {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::ACCEPT, HeaderValue::from_static(accept));
            if let Some(signer) = signer {
                sign(&mut headers, &Method::GET, &current, None, signer)?;
            }
            let res = self
                .http
                .get(current.clone())
                .headers(headers)
                .send()
                .await
                .map_err(map_reqwest)?;
            let status = res.status();
            if status.is_redirection() {
                let location = res
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or(ClientError::BadStatus(status.as_u16()))?;
                let next = current
                    .join(location)
                    .map_err(|_| ClientError::BadUrl(location.to_owned()))?;
                current = check_url(next.as_str(), self.config.allow_private)?;
                continue;
            }
            if !status.is_success() {
                return Err(ClientError::BadStatus(status.as_u16()));
            }
            let ct = res
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = read_limited(res, self.config.max_body).await?;
            return Ok((current, ct, body));
        }
        Err(ClientError::Redirects)
    }
}

impl Client {
    /// Looks up `acct:user@host` at `https://host/.well-known/webfinger` (http in
    /// development mode) and returns the actor id its `self` link names.
    pub async fn webfinger(&self, user: &str, host: &str) -> Result<String, ClientError> {
        self.webfinger_jrd(user, host).await.map(|(_, actor)| actor)
    }

    /// Like [`Client::webfinger`], also returning the JRD's `subject` (which names the
    /// canonical handle when a server's handles use another domain than its actors).
    pub async fn webfinger_jrd(
        &self,
        user: &str,
        host: &str,
    ) -> Result<(String, String), ClientError> {
        let scheme = if self.config.allow_private {
            "http"
        } else {
            "https"
        };
        let mut url = Url::parse(&format!("{scheme}://{host}/.well-known/webfinger"))
            .map_err(|_| ClientError::BadUrl(host.to_owned()))?;
        url.query_pairs_mut()
            .append_pair("resource", &format!("acct:{user}@{host}"));
        let doc = self.get_json(url.as_str()).await?;
        let jrd: crate::webfinger::Jrd =
            serde_json::from_value(doc).map_err(|e| ClientError::BadJson(e.to_string()))?;
        let actor = self_link(&jrd)
            .ok_or_else(|| ClientError::BadJson("no self link of an ActivityPub type".into()))?;
        Ok((jrd.subject, actor))
    }
}

/// The `self` link of a JRD whose type is an ActivityPub type.
pub fn self_link(jrd: &crate::webfinger::Jrd) -> Option<String> {
    jrd.links
        .iter()
        .find(|l| {
            l.rel == "self"
                && l.kind.as_deref().is_some_and(|k| {
                    let k = k.to_ascii_lowercase();
                    k.starts_with("application/activity+json")
                        || (k.starts_with("application/ld+json")
                            && k.contains("https://www.w3.org/ns/activitystreams"))
                })
        })
        .and_then(|l| l.href.clone())
}

fn sign(
    headers: &mut HeaderMap,
    method: &Method,
    url: &Url,
    body: Option<&[u8]>,
    signer: &Signer,
) -> Result<(), ClientError> {
    let uri: http::Uri = url
        .as_str()
        .parse()
        .map_err(|_| ClientError::BadUrl(url.to_string()))?;
    sign_request(
        method,
        &uri,
        headers,
        body,
        &signer.key_id,
        &signer.key,
        SystemTime::now(),
    )
    .map_err(|e| ClientError::Signing(e.to_string()))
}

async fn read_limited(mut res: reqwest::Response, limit: usize) -> Result<Vec<u8>, ClientError> {
    if res.content_length().is_some_and(|l| l as usize > limit) {
        return Err(ClientError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(map_reqwest)? {
        if body.len() + chunk.len() > limit {
            return Err(ClientError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn map_reqwest(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        return ClientError::Timeout;
    }
    // A refusal by the resolver surfaces as a connect error whose source chain holds
    // our own error.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(ClientError::Forbidden(host)) = s.downcast_ref::<ClientError>() {
            return ClientError::Forbidden(host.clone());
        }
        source = s.source();
    }
    ClientError::Connect(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!is_public_ip(ip), "{ip} should be refused");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_public_ip(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn urls_are_checked_before_connecting() {
        for url in [
            "https://127.0.0.1/users/a",
            "https://[::1]/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/x",
            "https://[::ffff:7f00:1]/x",
        ] {
            assert!(
                matches!(check_url(url, false), Err(ClientError::Forbidden(_))),
                "{url}"
            );
        }
        assert!(matches!(
            check_url("http://example.com/x", false),
            Err(ClientError::Scheme(_))
        ));
        assert!(matches!(
            check_url("ftp://example.com/x", true),
            Err(ClientError::Scheme(_))
        ));
        assert!(matches!(
            check_url("not a url", false),
            Err(ClientError::BadUrl(_))
        ));
        assert!(check_url("https://example.com/x", false).is_ok());
        assert!(check_url("http://127.0.0.1:3000/x", true).is_ok());
    }

    #[tokio::test]
    async fn the_client_refuses_private_targets_without_connecting() {
        let client = Client::new(ClientConfig::new("https://fulmar.test", false)).unwrap();
        for url in [
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/x",
        ] {
            assert!(matches!(
                client.get_json(url).await,
                Err(ClientError::Forbidden(_))
            ));
        }
        assert!(matches!(
            client.get_json("http://127.0.0.1/x").await,
            Err(ClientError::Scheme(_))
        ));
        // A name resolving to loopback is refused by the resolver.
        assert!(matches!(
            client.get_json("https://localhost/x").await,
            Err(ClientError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_private_addresses() {
        use std::str::FromStr as _;
        // `localhost` resolves from the hosts file, without any network traffic.
        let name = Name::from_str("localhost").unwrap();
        let err = match PublicOnlyResolver.resolve(name).await {
            Ok(_) => panic!("localhost resolved to a public address"),
            Err(e) => e,
        };
        assert!(err.to_string().contains("forbidden address"), "{err}");
    }

    #[test]
    fn self_links_are_chosen_by_type() {
        let jrd: crate::webfinger::Jrd = serde_json::from_value(serde_json::json!({
            "subject": "acct:a@x.example",
            "links": [
                {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": "https://x.example/@a"},
                {"rel": "self", "type": "text/html", "href": "https://x.example/wrong"},
                {"rel": "self", "type": "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"", "href": "https://x.example/users/a"}
            ]
        }))
        .unwrap();
        assert_eq!(
            self_link(&jrd).as_deref(),
            Some("https://x.example/users/a")
        );
        let none: crate::webfinger::Jrd =
            serde_json::from_value(serde_json::json!({"subject": "acct:a@x.example"})).unwrap();
        assert_eq!(self_link(&none), None);
    }

    #[test]
    fn permanence() {
        assert!(ClientError::BadStatus(404).is_permanent());
        assert!(ClientError::BadStatus(410).is_permanent());
        assert!(!ClientError::BadStatus(429).is_permanent());
        assert!(!ClientError::BadStatus(408).is_permanent());
        assert!(!ClientError::BadStatus(503).is_permanent());
        assert!(!ClientError::Timeout.is_permanent());
    }
}
