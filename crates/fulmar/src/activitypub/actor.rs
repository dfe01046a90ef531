//! Actor documents: local accounts at `/users/NAME` and the instance actor at `/actor`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::{to_activitypub, ActivityJson};
use crate::http::negotiate::{negotiate, Format};
use crate::http::{ApiError, ApiResult};
use crate::state::App;

/// `GET /users/NAME`: the actor for servers, the profile page for browsers.
pub async fn actor(
    State(app): State<App>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let format = negotiate(&headers).ok_or_else(|| {
        ApiError::not_acceptable("This URL serves application/activity+json or text/html")
    })?;
    let account = fulmar_store::accounts::local_by_username(&app.db, &username)
        .await?
        .filter(|a| a.suspended_at.is_none())
        .ok_or_else(ApiError::not_found)?;
    match format {
        Format::Html => Ok(crate::web::profile::page(&app, &account).into_response()),
        Format::ActivityJson => {
            let key = fulmar_store::keys::main_key_of(&app.db, account.id)
                .await?
                .ok_or_else(|| {
                    crate::core::CoreError::Internal(anyhow::anyhow!(
                        "local account {} has no key",
                        account.id
                    ))
                })?;
            let doc = to_activitypub::actor(&account, &key.public_key_pem, &app.urls);
            Ok(ActivityJson(doc).into_response())
        }
    }
}

/// `GET /actor`: the instance actor, served to anyone without a signature, since
/// servers fetch it to verify the signatures of our own signed fetches.
pub async fn instance_actor(State(app): State<App>) -> Response {
    ActivityJson(to_activitypub::instance_actor(
        app.instance_key().await,
        &app.urls,
    ))
    .into_response()
}
