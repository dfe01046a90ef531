//! Bearer-token authentication and scope checks for the Mastodon API.
//!
//! A handler that needs a signed-in user takes [`Auth`]; one that works for anyone
//! but says more to a signed-in user takes [`MaybeAuth`]; one that accepts app-only
//! tokens (`client_credentials`) takes [`AnyToken`]. Scopes are checked in the handler
//! with [`Auth::require`], naming the granular scope Mastodon documents for the
//! endpoint; the top-level scope grants it too.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use fulmar_store::accounts::AccountRow;
use fulmar_store::tokens::TokenRow;
use fulmar_store::users::UserRow;

use crate::core::accounts::token_digest;
use crate::core::scopes::Scopes;
use crate::http::ApiError;
use crate::state::App;

/// A valid token acting for a user.
#[derive(Clone, Debug)]
pub struct Auth {
    pub token: TokenRow,
    pub scopes: Scopes,
    pub user: UserRow,
    pub account: AccountRow,
    /// The version of the account's `accounts` row alone (see
    /// `fulmar_store::tokens::TokenUser::account_version`).
    pub account_version: i64,
    /// `(id, name, website)` of the token's application, if it has one.
    pub application: Option<(i64, String, Option<String>)>,
}

/// A valid token, with or without a user.
#[derive(Clone, Debug)]
pub struct AnyToken {
    pub token: TokenRow,
    pub scopes: Scopes,
    /// The user, their account and the `accounts` row's version.
    pub user: Option<(UserRow, AccountRow, i64)>,
    /// As in [`Auth`].
    pub application: Option<(i64, String, Option<String>)>,
}

/// An optional user: `None` without an `Authorization` header. A header with a bad
/// token is still refused, as Mastodon does.
#[derive(Clone, Debug)]
pub struct MaybeAuth(pub Option<Auth>);

pub fn invalid_token() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "The access token is invalid")
}

fn outside_scopes() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "This action is outside the authorized scopes",
    )
}

fn needs_user() -> ApiError {
    ApiError::unprocessable("This method requires an authenticated user")
}

impl Auth {
    /// Refuses with 403 unless the token grants `scope`.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(outside_scopes())
        }
    }

    pub fn account_id(&self) -> i64 {
        self.account.id
    }
}

impl AnyToken {
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(outside_scopes())
        }
    }
}

impl MaybeAuth {
    /// Checks the scope only when a user is signed in.
    pub fn require(&self, scope: &str) -> Result<(), ApiError> {
        match &self.0 {
            Some(a) => a.require(scope),
            None => Ok(()),
        }
    }

    pub fn account_id(&self) -> Option<i64> {
        self.0.as_ref().map(|a| a.account.id)
    }
}

/// The bearer token of a request: the `Authorization` header, or the `access_token`
/// query parameter some clients use.
fn bearer(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?.trim();
        let (scheme, token) = text.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned())
            .filter(|t| !t.is_empty());
    }
    let query = parts.uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty())
}

/// Looks a token up; `Ok(None)` when the request carries none.
async fn load(parts: &Parts, app: &App) -> Result<Option<AnyToken>, ApiError> {
    let Some(secret) = bearer(parts) else {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return Err(invalid_token());
        }
        return Ok(None);
    };
    // The token, its user, the user's account and the token's application come in
    // one query.
    let found = fulmar_store::tokens::active_by_hash_with_user(&app.db, &token_digest(&secret))
        .await?
        .ok_or_else(invalid_token)?;
    let token = found.token;
    let scopes = Scopes::parse(&token.scopes).map_err(|_| invalid_token())?;
    let user = match token.user_id {
        None => None,
        Some(_) => {
            let user = found
                .user
                .filter(|u| u.disabled_at.is_none())
                .ok_or_else(invalid_token)?;
            let account = found
                .account
                .filter(|a| a.suspended_at.is_none())
                .ok_or_else(invalid_token)?;
            Some((user, account, found.account_version.unwrap_or_default()))
        }
    };
    Ok(Some(AnyToken {
        token,
        scopes,
        user,
        application: found.application,
    }))
}

impl FromRequestParts<App> for AnyToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        load(parts, app).await?.ok_or_else(invalid_token)
    }
}

impl FromRequestParts<App> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let any = load(parts, app).await?.ok_or_else(invalid_token)?;
        let (user, account, account_version) = any.user.ok_or_else(needs_user)?;
        Ok(Auth {
            token: any.token,
            scopes: any.scopes,
            user,
            account,
            account_version,
            application: any.application,
        })
    }
}

impl FromRequestParts<App> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        Ok(MaybeAuth(load(parts, app).await?.and_then(|any| {
            any.user.map(|(user, account, account_version)| Auth {
                token: any.token,
                scopes: any.scopes,
                user,
                account,
                account_version,
                application: any.application,
            })
        })))
    }
}
