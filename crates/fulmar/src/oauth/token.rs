//! `POST /oauth/token` (RFC 6749 section 4) and `POST /oauth/revoke` (RFC 7009).
//!
//! Parameters come as a form (most clients) or JSON (masto.js); unknown ones are
//! ignored, since Mastodon.py sends extras. Clients authenticate with form fields
//! (`client_secret_post`) or HTTP Basic (`client_secret_basic`).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use fulmar_store::oauth::ApplicationRow;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::grants::{self, IssuedToken, RedeemError};
use super::OAuthError;
use crate::core::accounts::token_digest;
use crate::core::time::now_ms;
use crate::http::ApiError;
use crate::mastodon::params::{flex, Params};
use crate::state::App;

#[derive(Debug, Default, Deserialize)]
pub struct TokenParams {
    #[serde(default, deserialize_with = "flex::opt_string")]
    grant_type: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    code: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    code_verifier: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    password: Option<String>,
}

/// Mastodon's `Token` entity.
#[derive(Debug, Serialize)]
pub struct Token {
    pub access_token: String,
    pub token_type: &'static str,
    pub scope: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A malformed body (bad JSON, a list where a string belongs) is an
/// `invalid_request`, in OAuth's error shape rather than the API's.
fn params<T>(parsed: Result<Params<T>, ApiError>) -> Result<T, OAuthError> {
    parsed
        .map(|Params(p)| p)
        .map_err(|e| OAuthError::invalid_request(e.error.into_owned()))
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// The client's credentials: HTTP Basic (RFC 6749 section 2.3.1, both parts
/// form-urlencoded) or the form's `client_id` and `client_secret`.
fn client_credentials(
    headers: &HeaderMap,
    client_id: &Option<String>,
    client_secret: &Option<String>,
) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim())
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| -> String {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        return Some((unescape(id), unescape(secret)));
    }
    Some((
        non_empty(client_id)?.to_owned(),
        non_empty(client_secret)?.to_owned(),
    ))
}

async fn authenticated_client(
    app: &App,
    headers: &HeaderMap,
    client_id: &Option<String>,
    client_secret: &Option<String>,
) -> Result<Option<ApplicationRow>, OAuthError> {
    let Some((id, secret)) = client_credentials(headers, client_id, client_secret) else {
        return Ok(None);
    };
    Ok(grants::authenticate_client(&app.db, &id, &secret).await?)
}

/// RFC 6749 section 5.1: token responses must not be cached.
fn no_store(body: impl IntoResponse) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// `POST /oauth/token`.
pub async fn token(
    State(app): State<App>,
    headers: HeaderMap,
    parsed: Result<Params<TokenParams>, ApiError>,
) -> Result<Response, OAuthError> {
    let p = params(parsed)?;
    let grant_type = non_empty(&p.grant_type)
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: grant_type."))?;
    if !matches!(
        grant_type,
        "authorization_code" | "client_credentials" | "password"
    ) {
        return Err(OAuthError::unsupported_grant_type());
    }
    let client = authenticated_client(&app, &headers, &p.client_id, &p.client_secret)
        .await?
        .ok_or_else(OAuthError::invalid_client)?;
    let issued = match grant_type {
        "authorization_code" => authorization_code(&app, &client, &p).await?,
        "client_credentials" => {
            let scopes = grants::granted_scopes(&client, p.scope.as_deref())
                .ok_or_else(OAuthError::invalid_scope)?;
            grants::issue_token(
                &app.db,
                grants::new_token_id(),
                Some(client.id),
                None,
                &scopes,
            )
            .await?
        }
        _ => password(&app, &client, &p).await?,
    };
    Ok(no_store(Json(Token {
        access_token: issued.access_token,
        token_type: "Bearer",
        scope: issued.scopes.to_string(),
        created_at: issued.created_at_ms.div_euclid(1000),
    })))
}

async fn authorization_code(
    app: &App,
    client: &ApplicationRow,
    p: &TokenParams,
) -> Result<IssuedToken, OAuthError> {
    let code = non_empty(&p.code)
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: code."))?;
    let redirect_uri = non_empty(&p.redirect_uri)
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: redirect_uri."))?;
    grants::redeem_code(
        &app.db,
        client,
        code,
        redirect_uri,
        non_empty(&p.code_verifier),
    )
    .await
    .map_err(|e| match e {
        RedeemError::InvalidGrant => OAuthError::invalid_grant(),
        RedeemError::MissingVerifier => {
            OAuthError::invalid_request("Missing required parameter: code_verifier.")
        }
        RedeemError::Internal(e) => e.into(),
    })
}

/// The resource owner password grant (RFC 6749 section 4.3), for scripts. Mastodon
/// keeps it, and Mastodon.py uses it when the metadata document lists it.
async fn password(
    app: &App,
    client: &ApplicationRow,
    p: &TokenParams,
) -> Result<IssuedToken, OAuthError> {
    let (Some(username), Some(password)) = (non_empty(&p.username), non_empty(&p.password)) else {
        return Err(OAuthError::invalid_request(
            "Missing required parameter: username and password.",
        ));
    };
    let scopes =
        grants::granted_scopes(client, p.scope.as_deref()).ok_or_else(OAuthError::invalid_scope)?;
    let (user, _) = grants::check_login(&app.db, username, password)
        .await?
        .ok_or_else(OAuthError::invalid_grant)?;
    Ok(grants::issue_token(
        &app.db,
        grants::new_token_id(),
        Some(client.id),
        Some(user.id),
        &scopes,
    )
    .await?)
}

#[derive(Debug, Default, Deserialize)]
pub struct RevokeParams {
    #[serde(default, deserialize_with = "flex::opt_string")]
    token: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    client_secret: Option<String>,
}

/// `POST /oauth/revoke`. An unknown or already revoked token gets 200 and `{}`, as
/// RFC 7009 section 2.2 says (nothing to learn from it). A token issued to an app
/// can only be revoked by that app, with its credentials (403 `unauthorized_client`
/// otherwise, as in Mastodon); a token of no app (`fulmar admin token`) by whoever
/// holds it.
pub async fn revoke(
    State(app): State<App>,
    headers: HeaderMap,
    parsed: Result<Params<RevokeParams>, ApiError>,
) -> Result<Response, OAuthError> {
    let p = params(parsed)?;
    let Some(secret) = non_empty(&p.token) else {
        return Ok(no_store(Json(json!({}))));
    };
    let Some(row) = fulmar_store::tokens::by_hash(&app.db, &token_digest(secret))
        .await?
        .filter(|t| t.revoked_at.is_none())
    else {
        return Ok(no_store(Json(json!({}))));
    };
    if let Some(owner) = row.application_id {
        let client = authenticated_client(&app, &headers, &p.client_id, &p.client_secret).await?;
        if client.map(|c| c.id) != Some(owner) {
            return Err(OAuthError::unauthorized_client());
        }
    }
    fulmar_store::tokens::revoke(&app.db, row.id, now_ms()).await?;
    Ok(no_store(Json(json!({}))))
}
