//! Mastodon pagination: `max_id`, `since_id`, `min_id` and `limit` in, a `Link`
//! header out.

use axum::http::{header, HeaderMap, HeaderValue, Uri};
use fulmar_store::PageParams;
use serde::Deserialize;

use crate::core::ids::parse_id;
use crate::http::ApiError;
use crate::state::App;

/// The paging parameters of a list endpoint.
#[derive(Deserialize, Default, Debug)]
pub struct PageQuery {
    #[serde(default, deserialize_with = "super::params::flex::opt_string")]
    pub max_id: Option<String>,
    #[serde(default, deserialize_with = "super::params::flex::opt_string")]
    pub since_id: Option<String>,
    #[serde(default, deserialize_with = "super::params::flex::opt_string")]
    pub min_id: Option<String>,
    #[serde(default, deserialize_with = "super::params::flex::opt_string")]
    pub limit: Option<String>,
}

/// Default and maximum page sizes, per kind of list (Mastodon's values).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub default: i64,
    pub max: i64,
}

pub const STATUSES: Limits = Limits {
    default: 20,
    max: 40,
};
pub const ACCOUNTS: Limits = Limits {
    default: 40,
    max: 80,
};
pub const NOTIFICATIONS: Limits = Limits {
    default: 40,
    max: 80,
};

impl PageQuery {
    /// Checks the cursors and clamps the limit (a `limit` of 100000 is the maximum,
    /// not an error; a non-numeric one is the default).
    pub fn params(&self, limits: Limits) -> Result<PageParams, ApiError> {
        let cursor = |v: &Option<String>, name: &str| -> Result<Option<i64>, ApiError> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(text) => parse_id(text)
                    .map(Some)
                    .ok_or_else(|| ApiError::bad_request(format!("{name} must be a decimal id"))),
            }
        };
        let limit = self
            .limit
            .as_deref()
            .and_then(|l| l.trim().parse::<i64>().ok())
            .map(|l| l.clamp(1, limits.max))
            .unwrap_or(limits.default);
        Ok(PageParams {
            max_id: cursor(&self.max_id, "max_id")?,
            since_id: cursor(&self.since_id, "since_id")?,
            min_id: cursor(&self.min_id, "min_id")?,
            limit,
        })
    }
}

/// Builds the `Link` header for a page. `next` (older) is present only when the page
/// was full, so that clients stop at the end; `prev` (newer) whenever the page has
/// items. Every other query parameter of the request is kept.
pub fn link_header(
    app: &App,
    uri: &Uri,
    page: &PageParams,
    count: usize,
    first_cursor: Option<i64>,
    last_cursor: Option<i64>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let (Some(first), Some(last)) = (first_cursor, last_cursor) else {
        return headers;
    };
    let kept: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| !matches!(k.as_ref(), "max_id" | "min_id" | "since_id"))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let url = |cursor_name: &str, cursor: i64| {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            ser.append_pair(k, v);
        }
        ser.append_pair(cursor_name, &cursor.to_string());
        format!("{}{}?{}", app.urls.base(), uri.path(), ser.finish())
    };
    let mut links = Vec::new();
    if count as i64 >= page.limit {
        links.push(format!("<{}>; rel=\"next\"", url("max_id", last)));
    }
    links.push(format!("<{}>; rel=\"prev\"", url("min_id", first)));
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        headers.insert(header::LINK, v);
    }
    headers
}
