//! Content negotiation between ActivityPub JSON and HTML on URLs that serve both
//! (actors, statuses). Servers ask for `application/activity+json` or the JSON-LD type
//! with the ActivityStreams profile; browsers ask for `text/html` or anything.

use axum::http::{header, HeaderMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    ActivityJson,
    Html,
}

/// Picks the representation the client prefers, honouring `q` values. A missing
/// `Accept` header means HTML (a browser, or a person with curl). `None` means the
/// client accepts neither, which the caller answers with 406.
pub fn negotiate(headers: &HeaderMap) -> Option<Format> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Format::Html);
    };
    if accept.trim().is_empty() {
        return Some(Format::Html);
    }
    let mut best: Option<(f32, u8, Format)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut profile_ok = true;
        for param in parts {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim().to_ascii_lowercase().as_str() {
                "q" => q = value.parse().unwrap_or(0.0),
                // JSON-LD with another profile is not ActivityStreams.
                "profile" => {
                    profile_ok = value
                        .split_whitespace()
                        .any(|p| p == "https://www.w3.org/ns/activitystreams")
                }
                _ => {}
            }
        }
        if q <= 0.0 {
            continue;
        }
        // Specificity breaks ties in favour of the representation named outright.
        let candidate = match media.as_str() {
            "application/activity+json" => Some((3, Format::ActivityJson)),
            "application/ld+json" if profile_ok => Some((3, Format::ActivityJson)),
            "application/json" => Some((2, Format::ActivityJson)),
            "text/html" | "application/xhtml+xml" => Some((3, Format::Html)),
            "text/*" => Some((1, Format::Html)),
            "*/*" => Some((0, Format::Html)),
            _ => None,
        };
        if let Some((specificity, format)) = candidate {
            let better = match best {
                None => true,
                Some((bq, bs, _)) => q > bq || (q == bq && specificity > bs),
            };
            if better {
                best = Some((q, specificity, format));
            }
        }
    }
    best.map(|(_, _, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn pick(accept: Option<&str>) -> Option<Format> {
        let mut h = HeaderMap::new();
        if let Some(a) = accept {
            h.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        negotiate(&h)
    }

    #[test]
    fn servers_get_activity_json() {
        use Format::*;
        assert_eq!(pick(Some("application/activity+json")), Some(ActivityJson));
        assert_eq!(
            pick(Some(
                "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
            )),
            Some(ActivityJson)
        );
        // Mastodon's own fetch header.
        assert_eq!(
            pick(Some("application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\", text/html;q=0.1")),
            Some(ActivityJson)
        );
        assert_eq!(pick(Some("application/json")), Some(ActivityJson));
    }

    #[test]
    fn browsers_get_html() {
        use Format::*;
        assert_eq!(pick(None), Some(Html));
        assert_eq!(pick(Some("*/*")), Some(Html));
        assert_eq!(
            pick(Some(
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
            )),
            Some(Html)
        );
        assert_eq!(
            pick(Some("application/activity+json;q=0.1, text/html")),
            Some(Html)
        );
    }

    #[test]
    fn unacceptable_types_get_nothing() {
        assert_eq!(pick(Some("image/png")), None);
        assert_eq!(
            pick(Some(
                "application/ld+json; profile=\"http://example.org/other\""
            )),
            None
        );
        assert_eq!(pick(Some("text/html;q=0")), None);
    }
}
