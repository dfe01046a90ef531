//! The view of an HTTP request that signing and verification read from.

use std::borrow::Cow;

use http::{header, HeaderMap, Method, Uri};

use super::SignatureError;

/// An incoming request as the inbox (or any signed endpoint) received it.
///
/// Only plain `http` types appear here, so this crate stays free of any web framework:
/// the server turns its request into this view, body included, after reading the body
/// (with its size limit) and before parsing it.
#[derive(Clone, Copy, Debug)]
pub struct IncomingRequest<'a> {
    pub method: &'a Method,
    /// The request target as received: usually origin-form (`/inbox?x=1`); HTTP/2 servers
    /// may give the absolute form with scheme and authority.
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    /// The body exactly as received, empty for none.
    pub body: &'a [u8],
    /// The scheme the client used, for RFC 9421 `@scheme` and `@target-uri` when the URI is
    /// origin-form. Behind a TLS-terminating proxy the server sees plain HTTP, but the
    /// sender signed `https://…`, so this is the public scheme, not the socket's.
    pub scheme: &'a str,
}

impl<'a> IncomingRequest<'a> {
    /// A view with the `https` scheme, which every production peer uses.
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        IncomingRequest {
            method,
            uri,
            headers,
            body,
            scheme: "https",
        }
    }

    /// Sets the public scheme (`http` in dev mode on loopback).
    pub fn with_scheme(mut self, scheme: &'a str) -> Self {
        self.scheme = scheme;
        self
    }

    /// Whether the request must prove its body with a digest. Mastodon requires a signed
    /// digest on every POST, even an empty one, and so does Fulmar; PUT and PATCH carry
    /// bodies by definition, and any other request that has a body must cover it too.
    pub(crate) fn needs_digest(&self) -> bool {
        !self.body.is_empty()
            || *self.method == Method::POST
            || *self.method == Method::PUT
            || *self.method == Method::PATCH
    }

    /// The scheme, lowercased (RFC 9421 §2.2.4).
    pub(crate) fn scheme(&self) -> Cow<'a, str> {
        let scheme = self.uri.scheme_str().unwrap_or(self.scheme);
        if scheme.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(scheme.to_ascii_lowercase())
        } else {
            Cow::Borrowed(scheme)
        }
    }

    /// The authority as sent: the URI's (HTTP/2 `:authority`) or else the Host header.
    pub(crate) fn raw_authority(&self) -> Option<&'a str> {
        if let Some(authority) = self.uri.authority() {
            return Some(authority.as_str());
        }
        self.headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    }

    /// The authority normalised as RFC 9110 §4.2.3 and RFC 9421 §2.2.3 ask: host in
    /// lowercase, the scheme's default port left out.
    pub(crate) fn normalized_authority(&self) -> Option<String> {
        let raw = self.raw_authority()?;
        let mut authority = raw.to_ascii_lowercase();
        let default_port = match &*self.scheme() {
            "https" => Some(":443"),
            "http" => Some(":80"),
            _ => None,
        };
        if let Some(port) = default_port {
            if authority.ends_with(port) {
                authority.truncate(authority.len() - port.len());
            }
        }
        Some(authority)
    }

    /// The absolute path, `/` when empty (RFC 9110 §4.2.3), still percent-encoded.
    pub(crate) fn path(&self) -> &'a str {
        match self.uri.path() {
            "" => "/",
            path => path,
        }
    }

    /// The query without its `?`, if the request has one.
    pub(crate) fn query(&self) -> Option<&'a str> {
        self.uri.query()
    }

    /// Appends the combined value of a header field: every line's value with surrounding
    /// whitespace trimmed, joined by `", "` in the order received. This is the combination
    /// both draft-cavage-12 §2.3 and RFC 9421 §2.1 prescribe.
    pub(crate) fn append_field(&self, name: &str, out: &mut Vec<u8>) -> Result<(), SignatureError> {
        let mut values = self.headers.get_all(name).iter().peekable();
        if values.peek().is_none() {
            if name == "host" {
                // HTTP/2 carries the host in `:authority`, which `http` puts in the URI.
                if let Some(authority) = self.uri.authority() {
                    out.extend_from_slice(authority.as_str().as_bytes());
                    return Ok(());
                }
            }
            return Err(SignatureError::MissingHeader(name.to_owned()));
        }
        let mut first = true;
        for value in values {
            if !first {
                out.extend_from_slice(b", ");
            }
            first = false;
            out.extend_from_slice(value.as_bytes().trim_ascii());
        }
        Ok(())
    }
}

/// The `Host` value for an outgoing request: the URI's host, with the port only when it is
/// not the scheme's default, which is what an HTTP client sends and so what the receiver
/// will rebuild the signature from.
pub(crate) fn host_header_for(uri: &Uri) -> Result<String, SignatureError> {
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| SignatureError::NoAuthority(uri.to_string()))?;
    let default_port = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") => Some(443),
        Some(s) if s.eq_ignore_ascii_case("http") => Some(80),
        _ => None,
    };
    Ok(match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{host}:{port}"),
        _ => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_header_keeps_only_non_default_ports() {
        let host = |s: &str| host_header_for(&s.parse::<Uri>().unwrap()).unwrap();
        assert_eq!(host("https://example.com/inbox"), "example.com");
        assert_eq!(host("https://example.com:443/inbox"), "example.com");
        assert_eq!(host("https://example.com:8443/inbox"), "example.com:8443");
        assert_eq!(host("http://127.0.0.1:8080/inbox"), "127.0.0.1:8080");
        assert_eq!(host("http://localhost:80/x"), "localhost");
        assert!(host_header_for(&"/inbox".parse::<Uri>().unwrap()).is_err());
    }

    #[test]
    fn authority_is_normalised() {
        let method = Method::GET;
        let uri: Uri = "/x".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "Example.COM:443".parse().unwrap());
        let req = IncomingRequest::new(&method, &uri, &headers, b"");
        assert_eq!(req.normalized_authority().as_deref(), Some("example.com"));
        let req = req.with_scheme("http");
        assert_eq!(
            req.normalized_authority().as_deref(),
            Some("example.com:443")
        );
    }

    #[test]
    fn multiple_field_lines_are_combined() {
        let method = Method::GET;
        let uri: Uri = "/x".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.append("cache-control", "max-age=60".parse().unwrap());
        headers.append("cache-control", "   must-revalidate".parse().unwrap());
        let req = IncomingRequest::new(&method, &uri, &headers, b"");
        let mut out = Vec::new();
        req.append_field("cache-control", &mut out).unwrap();
        assert_eq!(out, b"max-age=60, must-revalidate");
        assert!(req.append_field("date", &mut out).is_err());
    }
}
