//! `GET /api/v2/search`: accounts, statuses and hashtags this server knows.
//!
//! As in Mastodon: `q` is required; without a token only accounts and hashtags are
//! searched, and `offset` or `resolve=true` need one; `limit` is 20 by default and at
//! most 40. A query that is one of this server's own profile or status URLs finds
//! that object. A remote URL finds nothing and a remote handle finds only accounts
//! already stored, unless `resolve=true` (with a
//! token), which fetches them through `core::resolve`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use fulmar_store::accounts::AccountRow;
use fulmar_store::search::{AccountQuery, StatusQuery};
use fulmar_store::statuses::StatusRow;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::ids::parse_id;
use crate::core::resolve;
use crate::core::visibility::can_see;
use crate::http::{ApiError, ApiResult};
use crate::mastodon::auth::MaybeAuth;
use crate::mastodon::entities::{Account, Status};
use crate::mastodon::params::{flex, Params};
use crate::mastodon::to_mastodon;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new().route("/api/v2/search", get(search))
}

const DEFAULT_LIMIT: i64 = 20;
const MAX_LIMIT: i64 = 40;

#[derive(Deserialize, Default, Debug)]
struct SearchParams {
    #[serde(default, deserialize_with = "flex::opt_string")]
    q: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "flex::opt_string")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    resolve: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_i64")]
    offset: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    account_id: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    following: Option<bool>,
}

/// The Search entity.
#[derive(Serialize, Default)]
struct Results {
    accounts: Vec<Account>,
    statuses: Vec<Status>,
    hashtags: Vec<SearchTag>,
}

/// The Tag entity as search returns it, with its (empty, for now) usage history and,
/// for a signed-in viewer, whether they follow it (following tags is not possible
/// yet).
#[derive(Serialize)]
struct SearchTag {
    name: String,
    url: String,
    history: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    following: Option<bool>,
}

/// What a query names.
enum Query {
    /// A URL: this server's objects are looked up, other servers' need federation.
    Url(url::Url),
    /// `user@domain` or `@user@domain`: an account search on that server.
    Handle { user: String, domain: String },
    /// Anything else: words.
    Text(String),
}

fn classify(q: &str) -> Query {
    if q.starts_with("https://") || q.starts_with("http://") {
        if let Ok(url) = url::Url::parse(q) {
            return Query::Url(url);
        }
    }
    let bare = q.strip_prefix('@').unwrap_or(q);
    if let Some((user, domain)) = bare.split_once('@') {
        if !user.is_empty() && !domain.is_empty() && !q.contains(char::is_whitespace) {
            return Query::Handle {
                user: user.to_owned(),
                domain: domain.to_lowercase(),
            };
        }
    }
    Query::Text(q.to_owned())
}

/// A valid hashtag name as Mastodon accepts it: letters, digits, `_` and `·`, not
/// only digits.
fn hashtag_name(q: &str) -> Option<String> {
    let name = q.strip_prefix('#').unwrap_or(q);
    let ok = !name.is_empty()
        && name.chars().count() <= 100
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '·')
        && name.chars().any(|c| !c.is_ascii_digit());
    ok.then(|| name.to_owned())
}

async fn search(
    auth: MaybeAuth,
    State(app): State<App>,
    Params(p): Params<SearchParams>,
) -> ApiResult<Json<Results>> {
    auth.require("read:search")?;
    let q = p.q.as_deref().map(str::trim).unwrap_or_default();
    if q.is_empty() {
        return Err(ApiError::bad_request(
            "param is missing or the value is empty: q",
        ));
    }
    let viewer = auth.account_id();
    if viewer.is_none() {
        if p.offset.is_some() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Search queries pagination is not supported without authentication",
            ));
        }
        if p.resolve == Some(true) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Search queries that resolve remote resources are not supported without authentication",
            ));
        }
    }
    if p.limit.is_some_and(|l| l < 0) || p.offset.is_some_and(|o| o < 0) {
        return Err(ApiError::bad_request(
            "Pagination values for `offset` and `limit` must be positive",
        ));
    }
    let limit = match p.limit {
        None | Some(0) => DEFAULT_LIMIT,
        Some(l) => l.min(MAX_LIMIT),
    };
    let offset = p.offset.unwrap_or(0);
    let account_id = match p.account_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(parse_id(text).ok_or_else(ApiError::not_found)?),
    };
    let (want_accounts, want_statuses, want_hashtags) = match p.kind.as_deref() {
        None | Some("") => (true, true, true),
        Some("accounts") => (true, false, false),
        Some("statuses") => (false, true, false),
        Some("hashtags") => (false, false, true),
        // Mastodon finds nothing for a type it does not know.
        Some(_) => (false, false, false),
    };

    let mut account_rows: Vec<AccountRow> = Vec::new();
    let mut status_rows: Vec<StatusRow> = Vec::new();
    let mut hashtags = Vec::new();
    match classify(q) {
        Query::Url(url) => {
            if offset == 0 {
                let (mut account, mut status) = local_object(&app, &url, viewer).await?;
                if account.is_none() && status.is_none() && p.resolve == Some(true) {
                    (account, status) = resolve_url(&app, url.as_str(), viewer).await?;
                }
                if want_accounts {
                    account_rows.extend(account);
                }
                if want_statuses {
                    status_rows.extend(status);
                }
            }
        }
        Query::Handle { user, domain } => {
            if want_accounts {
                let local = domain == app.urls.domain();
                let (user_q, domain_q) = (user.clone(), domain.clone());
                account_rows = fulmar_store::search::accounts(
                    &app.db,
                    &AccountQuery {
                        text: user,
                        domain: Some((!local).then_some(domain)),
                        viewer,
                        following: p.following.unwrap_or(false),
                        limit,
                        offset,
                    },
                )
                .await?;
                if p.resolve == Some(true) && !local && offset == 0 {
                    match resolve::resolve_account(&app, &format!("{user_q}@{domain_q}")).await {
                        Ok(row) => {
                            account_rows.retain(|a| a.id != row.id);
                            account_rows.insert(0, row);
                        }
                        Err(e) => {
                            tracing::info!(error = %e, "resolving {user_q}@{domain_q} failed")
                        }
                    }
                }
            }
        }
        Query::Text(text) => {
            if want_accounts {
                account_rows = fulmar_store::search::accounts(
                    &app.db,
                    &AccountQuery {
                        text: text.trim_start_matches('@').to_owned(),
                        domain: None,
                        viewer,
                        following: p.following.unwrap_or(false),
                        limit,
                        offset,
                    },
                )
                .await?;
            }
            // Statuses are searched for signed-in users only, as in Mastodon.
            if let (true, Some(viewer)) = (want_statuses, viewer) {
                status_rows = fulmar_store::search::statuses(
                    &app.db,
                    &StatusQuery {
                        text: text.clone(),
                        viewer,
                        account_id,
                        limit,
                        offset,
                    },
                )
                .await?;
            }
            if want_hashtags {
                if let Some(name) = hashtag_name(&text) {
                    hashtags = hashtag_results(&app, &name, viewer, limit, offset).await?;
                }
            }
        }
    }

    let accounts = account_rows
        .iter()
        .filter(|a| a.suspended_at.is_none())
        .map(|a| to_mastodon::account(&app.urls, a))
        .collect();
    let statuses = to_mastodon::statuses(&app, &status_rows, viewer).await?;
    Ok(Json(Results {
        accounts,
        statuses,
        hashtags,
    }))
}

/// Stored hashtags starting with `name`. The exact hashtag comes first and is there
/// even when nobody has used it yet, so that an app can open its timeline, as in
/// Mastodon.
async fn hashtag_results(
    app: &App,
    name: &str,
    viewer: Option<i64>,
    limit: i64,
    offset: i64,
) -> ApiResult<Vec<SearchTag>> {
    let normalized = name.to_lowercase();
    let rows = fulmar_store::search::tags(&app.db, &normalized, limit, offset).await?;
    let entity = |display: &str, stored: &str| SearchTag {
        name: display.to_owned(),
        url: app.urls.tag(stored),
        history: Vec::new(),
        following: viewer.map(|_| false),
    };
    let mut out: Vec<SearchTag> = Vec::with_capacity(rows.len() + 1);
    if offset == 0 && !rows.iter().any(|t| t.name == normalized) {
        out.push(entity(name, &normalized));
    }
    out.extend(rows.iter().map(|t| entity(&t.display_name, &t.name)));
    out.truncate(limit as usize);
    Ok(out)
}

/// Another server's URL, fetched: a status, or else an actor. Failures find nothing.
async fn resolve_url(
    app: &App,
    url: &str,
    viewer: Option<i64>,
) -> ApiResult<(Option<AccountRow>, Option<StatusRow>)> {
    match resolve::resolve_status(app, url).await {
        Ok(status) => {
            if can_see(&app.db, &status, viewer).await? {
                return Ok((None, Some(status)));
            }
            return Ok((None, None));
        }
        Err(e) => tracing::debug!(error = %e, "{url} is not a status"),
    }
    match resolve::resolve_actor_url(app, url).await {
        Ok(account) => Ok((Some(account), None)),
        Err(e) => {
            tracing::info!(error = %e, "resolving {url} failed");
            Ok((None, None))
        }
    }
}

/// The account or status one of this server's URLs names, when the viewer may see
/// it: `/@user`, `/users/user`, `/@user/ID` and `/users/user/statuses/ID`.
async fn local_object(
    app: &App,
    url: &url::Url,
    viewer: Option<i64>,
) -> ApiResult<(Option<AccountRow>, Option<StatusRow>)> {
    let Some(path) = url.as_str().strip_prefix(app.urls.base()) else {
        // Another server's object: resolving it comes with federation.
        return Ok((None, None));
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (username, status_id) = match segments[..] {
        [at, id] if at.starts_with('@') => (&at[1..], Some(id)),
        [at] if at.starts_with('@') => (&at[1..], None),
        ["users", name] => (name, None),
        ["users", name, "statuses", id] => (name, Some(id)),
        _ => return Ok((None, None)),
    };
    let Some(account) = fulmar_store::accounts::local_by_username(&app.db, username)
        .await?
        .filter(|a| a.suspended_at.is_none())
    else {
        return Ok((None, None));
    };
    let Some(id) = status_id else {
        return Ok((Some(account), None));
    };
    let Some(status) = parse_id(id) else {
        return Ok((None, None));
    };
    let status = match fulmar_store::statuses::by_id(&app.db, status).await? {
        Some(s) if s.account_id == account.id && s.reblog_of_id.is_none() => s,
        _ => return Ok((None, None)),
    };
    if !can_see(&app.db, &status, viewer).await? {
        return Ok((None, None));
    }
    Ok((None, Some(status)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_words_not_numbers() {
        assert_eq!(hashtag_name("#Fulmar").as_deref(), Some("Fulmar"));
        assert_eq!(hashtag_name("rust_lang").as_deref(), Some("rust_lang"));
        assert_eq!(hashtag_name("2024"), None);
        assert_eq!(hashtag_name("two words"), None);
        assert_eq!(hashtag_name("#"), None);
    }

    #[test]
    fn queries_are_classified() {
        assert!(matches!(classify("https://x.test/@a"), Query::Url(_)));
        assert!(
            matches!(classify("@bob@Example.org"), Query::Handle { user, domain } if user == "bob" && domain == "example.org")
        );
        assert!(matches!(classify("bob@x.test"), Query::Handle { .. }));
        assert!(matches!(classify("@bob"), Query::Text(t) if t == "@bob"));
        assert!(matches!(classify("hello world"), Query::Text(_)));
    }
}
