//! Tests of the signature layer against published vectors and against itself.
//!
//! The vectors are re-derived from their sources, not copied code: the keys, requests and
//! signature values are facts stated in RFC 9421 Appendix B, draft-cavage-12 Appendix C and
//! Mastodon's `spec/requests/signature_verification_spec.rb`.

mod cavage_vectors;
mod mastodon;
mod rfc9421_vectors;
mod robustness;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::{IncomingRequest, Policy, SignatureError, SignedRequest};

/// A request under test, owning what [`IncomingRequest`] borrows.
#[derive(Clone, Debug)]
pub(super) struct Req {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub scheme: &'static str,
}

impl Req {
    pub fn new(method: &str, target: &str) -> Self {
        Req {
            method: method.parse().unwrap(),
            uri: target.parse().unwrap(),
            headers: HeaderMap::new(),
            body: Vec::new(),
            scheme: "https",
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        self
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }

    pub fn body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    pub fn view(&self) -> IncomingRequest<'_> {
        IncomingRequest::new(&self.method, &self.uri, &self.headers, &self.body)
            .with_scheme(self.scheme)
    }

    pub fn parse_with(
        &self,
        policy: &Policy,
        now: SystemTime,
    ) -> Result<SignedRequest, SignatureError> {
        SignedRequest::from_request(&self.view(), policy, now)
    }

    pub fn parse(&self, now: SystemTime) -> Result<SignedRequest, SignatureError> {
        self.parse_with(&Policy::default(), now)
    }
}

/// A `SystemTime` from unix seconds.
pub(super) fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

/// Undoes RFC 8792 single-backslash line wrapping, which the RFCs use for long lines: a
/// line ending in `\` continues on the next line, whose leading whitespace is dropped.
pub(super) fn unwrap_rfc8792(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    let mut continuing = false;
    while let Some(line) = lines.next() {
        let line = if continuing { line.trim_start() } else { line };
        if let Some(stripped) = line.strip_suffix('\\') {
            out.push_str(stripped);
            continuing = true;
        } else {
            out.push_str(line);
            continuing = false;
            if lines.peek().is_some() {
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn rfc8792_unwrapping() {
    assert_eq!(unwrap_rfc8792("a\\\n   b\nc"), "ab\nc");
    assert_eq!(unwrap_rfc8792("x"), "x");
}
