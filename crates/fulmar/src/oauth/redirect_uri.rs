//! Redirect URIs: which ones an app may register, which requested URI matches a
//! registered one, and how the answer is appended to it.
//!
//! Apps register web URLs, private-use schemes of native apps (RFC 8252 section 7.1:
//! `icecubesapp://`, `com.tapbots.Ivory.10217:/request_token`) and
//! `urn:ietf:wg:oauth:2.0:oob`. The rules are Doorkeeper's, which Mastodon uses, so
//! an app that registers on Mastodon registers here.

use url::Url;

use super::OOB;

/// The most a registration's URIs may add up to, newline-joined, as in Mastodon.
pub const MAX_TOTAL_LEN: usize = 2000;

/// Schemes that would run code or read local files if a browser followed them.
const FORBIDDEN_SCHEMES: &[&str] = &["javascript", "data", "vbscript", "file", "blob"];

/// Splits what an app sent (one string, a newline-separated string, or a list) into
/// URIs. Doorkeeper splits on any whitespace; a URI cannot contain any.
pub fn split(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split_whitespace())
        .map(str::to_owned)
        .collect()
}

/// Checks one URI an app wants to register, with Mastodon's error texts (they follow
/// "Redirect URI").
pub fn check(uri: &str) -> Result<(), &'static str> {
    if uri == OOB {
        return Ok(());
    }
    let url = match Url::parse(uri) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => return Err("must be an absolute URI."),
        Err(_) => return Err("must be a valid URI."),
    };
    if url.fragment().is_some() {
        return Err("cannot contain a fragment.");
    }
    // `localhost:3000` parses as scheme `localhost`; `myapp:callback` has no
    // hierarchical part to append a query to. Doorkeeper refuses both.
    if url.cannot_be_a_base() || url.scheme() == "localhost" {
        return Err("must specify a scheme.");
    }
    if FORBIDDEN_SCHEMES.contains(&url.scheme()) {
        return Err("is forbidden by the server.");
    }
    Ok(())
}

/// Finds the registered URI that `requested` may stand for, as Doorkeeper does: the
/// same URI, or the same URI with a query added when the registered one has none,
/// and for loopback IP addresses any port (RFC 8252 section 7.3, native apps that
/// listen on a port of their choosing).
pub fn matches(requested: &str, registered: &str) -> bool {
    if requested == registered {
        return true;
    }
    if requested == OOB || registered == OOB {
        return false;
    }
    let (Ok(mut req), Ok(mut reg)) = (Url::parse(requested), Url::parse(registered)) else {
        return false;
    };
    if req.fragment().is_some() {
        return false;
    }
    if reg.query().is_some() {
        if req.query() != reg.query() {
            return false;
        }
    } else {
        req.set_query(None);
    }
    if is_loopback(&req) && is_loopback(&reg) {
        let _ = reg.set_port(req.port());
    }
    req == reg
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

/// Where the answer goes: `response_mode` of OAuth 2.0 Multiple Response Type
/// Encoding Practices (`query`, `fragment`) and OAuth 2.0 Form Post Response Mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    pub fn parse(text: Option<&str>) -> Option<ResponseMode> {
        match text.map(str::trim).unwrap_or_default() {
            "" | "query" => Some(ResponseMode::Query),
            "fragment" => Some(ResponseMode::Fragment),
            "form_post" => Some(ResponseMode::FormPost),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::Query => "query",
            ResponseMode::Fragment => "fragment",
            ResponseMode::FormPost => "form_post",
        }
    }
}

/// The redirect URI with `params` added to its query or fragment. The URI is kept
/// exactly as the app sent it, not re-serialised: a URL parser lowercases schemes
/// (`com.tapbots.Ivory.10217:` would come back as `com.tapbots.ivory.10217:`), and
/// the app's own matching of its callback may not be that forgiving. Redirect URIs
/// never have fragments (registration and matching refuse them).
pub fn with_params(redirect_uri: &str, mode: ResponseMode, params: &[(&str, &str)]) -> String {
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().copied())
        .finish();
    let mut out = redirect_uri.to_owned();
    match mode {
        ResponseMode::Fragment => out.push('#'),
        ResponseMode::Query | ResponseMode::FormPost => match out.find('?') {
            None => out.push('?'),
            Some(_) if out.ends_with('?') || out.ends_with('&') => {}
            Some(_) => out.push('&'),
        },
    }
    out.push_str(&encoded);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_mastodon_accepts() {
        for ok in [
            "https://app.example/callback",
            "http://localhost:4000/oauth",
            "http://127.0.0.1/cb",
            "icecubesapp://",
            "com.tapbots.Ivory.10217:/request_token",
            "elk://oauth?server=x",
            OOB,
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert_eq!(check("/callback"), Err("must be an absolute URI."));
        assert_eq!(
            check("https://app.example/#x"),
            Err("cannot contain a fragment.")
        );
        assert_eq!(check("localhost:3000"), Err("must specify a scheme."));
        assert_eq!(check("myapp:callback"), Err("must specify a scheme."));
        assert_eq!(check("https://exa mple"), Err("must be a valid URI."));
        assert_eq!(
            check("javascript://alert(1)"),
            Err("is forbidden by the server.")
        );
    }

    #[test]
    fn splits_strings_and_lists() {
        assert_eq!(
            split(&["a://x\nb://y\r\n".into(), " c://z ".into()]),
            vec!["a://x", "b://y", "c://z"]
        );
    }

    #[test]
    fn matching_is_exact_but_for_added_queries_and_loopback_ports() {
        assert!(matches("icecubesapp://", "icecubesapp://"));
        assert!(matches(OOB, OOB));
        assert!(matches("https://a.example/cb?x=1", "https://a.example/cb"));
        assert!(!matches(
            "https://a.example/cb?x=1",
            "https://a.example/cb?x=2"
        ));
        assert!(!matches("https://a.example/cb2", "https://a.example/cb"));
        assert!(!matches(
            "https://a.example.evil/cb",
            "https://a.example/cb"
        ));
        assert!(!matches("https://a.example/cb#f", "https://a.example/cb"));
        assert!(matches("http://127.0.0.1:5555/cb", "http://127.0.0.1/cb"));
        assert!(!matches("http://localhost:5555/cb", "http://localhost/cb"));
        assert!(!matches(OOB, "https://a.example/cb"));
    }

    #[test]
    fn appends_the_answer() {
        assert_eq!(
            with_params("icecubesapp://", ResponseMode::Query, &[("code", "a b")]),
            "icecubesapp://?code=a+b"
        );
        assert_eq!(
            with_params(
                "com.tapbots.Ivory.10217:/request_token",
                ResponseMode::Query,
                &[("code", "c"), ("state", "s")]
            ),
            "com.tapbots.Ivory.10217:/request_token?code=c&state=s"
        );
        assert_eq!(
            with_params(
                "https://a.example/cb?x=1",
                ResponseMode::Query,
                &[("code", "c")]
            ),
            "https://a.example/cb?x=1&code=c"
        );
        assert_eq!(
            with_params(
                "https://a.example/cb",
                ResponseMode::Fragment,
                &[("code", "c")]
            ),
            "https://a.example/cb#code=c"
        );
        assert_eq!(
            with_params(
                "https://a.example/cb?",
                ResponseMode::Query,
                &[("code", "c")]
            ),
            "https://a.example/cb?code=c"
        );
    }
}
