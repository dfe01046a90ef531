//! `GET /.well-known/webfinger` (RFC 7033).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::core::username::Username;
use crate::http::{ApiError, ApiResult};
use crate::state::App;

#[derive(Deserialize)]
pub struct Params {
    resource: Option<String>,
}

/// What a WebFinger resource names.
#[derive(Debug, PartialEq, Eq)]
enum Subject {
    User(String),
    InstanceActor,
}

/// Answers for `acct:NAME@DOMAIN`, for the actor and profile URLs, and for the
/// instance actor (`acct:DOMAIN@DOMAIN` or its URL), as Mastodon does.
pub async fn webfinger(
    State(app): State<App>,
    Query(params): Query<Params>,
) -> ApiResult<Response> {
    let resource = params
        .resource
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("The resource parameter is required"))?;
    let subject = parse_resource(&app, resource.trim())?;
    let urls = &app.urls;
    let jrd = match subject {
        Subject::InstanceActor => {
            let actor = urls.instance_actor();
            let about = format!("{}/", urls.base());
            fulmar_federation::webfinger::actor_jrd(
                &format!("{0}@{0}", urls.domain()),
                &actor,
                &about,
                &urls.subscribe_template(),
            )
        }
        Subject::User(name) => {
            let account = fulmar_store::accounts::local_by_username(&app.db, &name)
                .await?
                .filter(|a| a.suspended_at.is_none())
                .ok_or_else(ApiError::not_found)?;
            fulmar_federation::webfinger::actor_jrd(
                &format!("{}@{}", account.username, urls.domain()),
                // Local URLs are always derived from the current configuration, never
                // from stored columns, so that a changed scheme or domain cannot leave
                // stale URLs behind.
                &urls.actor(&account.username),
                &urls.profile(&account.username),
                &urls.subscribe_template(),
            )
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, fulmar_federation::webfinger::JRD_JSON),
            (header::VARY, "Accept"),
        ],
        serde_json::to_vec(&jrd).map_err(|e| crate::core::CoreError::Internal(e.into()))?,
    )
        .into_response())
}

/// Reads `acct:user@domain`, `user@domain` (some clients omit the scheme) or one of our
/// URLs. A resource on another domain is not ours to answer: 404. A resource that is
/// not a resource at all: 400.
fn parse_resource(app: &App, resource: &str) -> ApiResult<Subject> {
    let urls = &app.urls;
    let malformed =
        || ApiError::bad_request("The resource parameter must be acct:USER@DOMAIN or an actor URL");
    if resource.starts_with("https://") || resource.starts_with("http://") {
        let url = url::Url::parse(resource).map_err(|_| malformed())?;
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        if !host.eq_ignore_ascii_case(urls.domain()) {
            return Err(ApiError::not_found());
        }
        let trimmed = resource.trim_end_matches('/');
        if trimmed == urls.instance_actor() || trimmed == urls.base() {
            return Ok(Subject::InstanceActor);
        }
        return urls
            .username_of(resource)
            .map(Subject::User)
            .ok_or_else(ApiError::not_found);
    }
    let acct = resource.strip_prefix("acct:").unwrap_or(resource);
    let acct = acct.strip_prefix('@').unwrap_or(acct);
    let (user, domain) = acct.rsplit_once('@').ok_or_else(malformed)?;
    if user.is_empty() || domain.is_empty() {
        return Err(malformed());
    }
    // The instance actor's user part is the domain itself, port included
    // (`acct:localhost:8080@localhost:8080`), so it is recognised before the user
    // part is checked for characters a username cannot have.
    if user.eq_ignore_ascii_case(urls.domain()) && domain.eq_ignore_ascii_case(urls.domain()) {
        return Ok(Subject::InstanceActor);
    }
    if user.contains(['/', ':', '@']) {
        return Err(malformed());
    }
    if !domain.eq_ignore_ascii_case(urls.domain()) {
        return Err(ApiError::not_found());
    }
    // A name that could never be a username cannot exist here.
    Username::parse(user).map_err(|_| ApiError::not_found())?;
    Ok(Subject::User(user.to_owned()))
}
