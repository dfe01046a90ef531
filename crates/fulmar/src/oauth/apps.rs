//! `POST /api/v1/apps` and `GET /api/v1/apps/verify_credentials`.

use axum::extract::State;
use axum::Json;
use fulmar_store::oauth::ApplicationRow;
use serde::{Deserialize, Serialize};

use super::grants::{self, NewApp};
use crate::core::vapid;
use crate::http::{ApiError, ApiResult};
use crate::mastodon::auth::AnyToken;
use crate::mastodon::params::{flex, Params};
use crate::state::App;

/// Mastodon's `Application` entity as `verify_credentials` returns it (4.3).
#[derive(Debug, Serialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub website: Option<String>,
    pub scopes: Vec<String>,
    /// Deprecated in 4.3, still read: the URIs joined with newlines.
    pub redirect_uri: String,
    pub redirect_uris: Vec<String>,
    /// Deprecated in 4.3 in favour of the instance's `configuration.vapid`, still
    /// read by Elk.
    pub vapid_key: String,
}

/// `CredentialApplication`: the entity with the credentials, returned once, at
/// registration.
#[derive(Debug, Serialize)]
pub struct CredentialApplication {
    #[serde(flatten)]
    pub application: Application,
    pub client_id: String,
    pub client_secret: String,
    /// Zero: secrets do not expire.
    pub client_secret_expires_at: i64,
}

fn application(app: &ApplicationRow, vapid_key: String) -> Application {
    let uris: Vec<String> = grants::redirect_uris(app)
        .into_iter()
        .map(str::to_owned)
        .collect();
    Application {
        id: app.id.to_string(),
        name: app.name.clone(),
        website: app.website.clone(),
        scopes: grants::app_scopes(app).iter().map(str::to_owned).collect(),
        redirect_uri: uris.join("\n"),
        redirect_uris: uris,
        vapid_key,
    }
}

#[derive(Debug, Deserialize)]
pub struct CreateParams {
    #[serde(default, deserialize_with = "flex::opt_string")]
    client_name: Option<String>,
    /// A string (possibly newline-separated) or a list.
    #[serde(default, deserialize_with = "flex::string_list")]
    redirect_uris: Vec<String>,
    /// Space-separated, as documented; a list is taken too.
    #[serde(default, deserialize_with = "flex::string_list")]
    scopes: Vec<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    website: Option<String>,
}

/// `POST /api/v1/apps`: registers an app. Public; a token, if sent, is ignored, as
/// Mastodon does (a stale token must not stop a client from re-registering).
pub async fn create(
    State(app): State<App>,
    Params(p): Params<CreateParams>,
) -> ApiResult<Json<CredentialApplication>> {
    let registered = grants::register_app(
        &app.db,
        NewApp {
            name: p.client_name,
            redirect_uris: p.redirect_uris,
            scopes: p.scopes,
            website: p.website,
        },
    )
    .await?;
    let vapid_key = vapid::public_key(&app.db).await?;
    Ok(Json(CredentialApplication {
        application: application(&registered.app, vapid_key),
        client_id: registered.app.client_id,
        client_secret: registered.client_secret,
        client_secret_expires_at: 0,
    }))
}

/// `GET /api/v1/apps/verify_credentials`: the app of any valid token, with or without
/// a user and whatever its scopes (Mastodon 4.3 dropped the `read` requirement).
pub async fn verify_credentials(
    State(app): State<App>,
    token: AnyToken,
) -> ApiResult<Json<Application>> {
    // Tokens made with `fulmar admin token` belong to no app.
    let Some(application_id) = token.token.application_id else {
        return Err(ApiError::not_found());
    };
    let row = fulmar_store::oauth::application_by_id(&app.db, application_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let vapid_key = vapid::public_key(&app.db).await?;
    Ok(Json(application(&row, vapid_key)))
}
