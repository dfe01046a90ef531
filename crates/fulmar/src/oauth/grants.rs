//! What the OAuth endpoints decide, without HTTP: registering apps, checking client
//! credentials and passwords, issuing and redeeming authorization codes, issuing
//! tokens.
//!
//! Secrets (client secrets, codes, tokens) are 256 random bits; the database keeps
//! only their SHA-256 digests, so a copy of it grants nothing.

use std::sync::OnceLock;

use base64::Engine as _;
use fulmar_store::accounts::AccountRow;
use fulmar_store::oauth::{ApplicationRow, CodeRow};
use fulmar_store::tokens::NewToken;
use fulmar_store::users::UserRow;
use fulmar_store::Db;
use sha2::{Digest, Sha256};

use super::csrf::constant_time_eq;
use super::redirect_uri;
use crate::core::accounts::{new_secret, token_digest, verify_password, MAX_PASSWORD_LEN};
use crate::core::error::{CoreError, CoreResult};
use crate::core::ids::next_id;
use crate::core::scopes::Scopes;
use crate::core::time::now_ms;

/// How long an authorization code can be exchanged (RFC 6749 section 4.1.2 advises
/// at most ten minutes).
pub const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Used codes are kept this long past their expiry, so that a replay is still
/// recognised (and the token issued from the code revoked) for a while.
const CODE_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// Mastodon's limits on an application's name and website.
pub const MAX_NAME_CHARS: usize = 60;
pub const MAX_WEBSITE_LEN: usize = 2000;

/// What `POST /api/v1/apps` sent.
#[derive(Debug, Default)]
pub struct NewApp {
    pub name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub website: Option<String>,
}

/// A registered app and its client secret, which is shown this once.
#[derive(Debug)]
pub struct Registered {
    pub app: ApplicationRow,
    pub client_secret: String,
}

/// Registers an app. Error texts are Mastodon's (they follow "Validation failed: ").
pub async fn register_app(db: &Db, new: NewApp) -> CoreResult<Registered> {
    let invalid = |m: String| CoreError::Invalid(m.into());
    let name = new.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(invalid("Application name can't be blank".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "Application name is too long (maximum is {MAX_NAME_CHARS} characters)"
        )));
    }
    let uris = redirect_uri::split(&new.redirect_uris);
    if uris.is_empty() {
        return Err(invalid("Redirect URI can't be blank".into()));
    }
    for uri in &uris {
        redirect_uri::check(uri).map_err(|m| invalid(format!("Redirect URI {m}")))?;
    }
    let redirect_uris = uris.join("\n");
    if redirect_uris.len() > redirect_uri::MAX_TOTAL_LEN {
        return Err(invalid(format!(
            "Redirect URI is too long (maximum is {} characters)",
            redirect_uri::MAX_TOTAL_LEN
        )));
    }
    let scopes = Scopes::parse(&new.scopes.join(" "))
        .map_err(|_| invalid("Scopes doesn't match configured on the server.".into()))?;
    let website = match new.website.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(w) => {
            let valid = w.len() <= MAX_WEBSITE_LEN
                && url::Url::parse(w)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !valid {
                return Err(invalid("Application website is invalid".into()));
            }
            Some(w.to_owned())
        }
    };
    let client_secret = new_secret();
    let app = ApplicationRow {
        id: next_id(),
        name: name.to_owned(),
        website,
        redirect_uris,
        scopes: scopes.to_string(),
        client_id: new_secret(),
        client_secret: token_digest(&client_secret),
        owner_user_id: None,
        created_at: now_ms(),
    };
    fulmar_store::oauth::insert_application(db, &app).await?;
    Ok(Registered { app, client_secret })
}

/// The app's registered redirect URIs.
pub fn redirect_uris(app: &ApplicationRow) -> Vec<&str> {
    app.redirect_uris
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The app's registered scopes.
pub fn app_scopes(app: &ApplicationRow) -> Scopes {
    Scopes::parse(&app.scopes).unwrap_or_else(|_| Scopes::parse("read").expect("read is known"))
}

/// The scopes a request gets, or `None` when it asks for unknown scopes or more than
/// the app registered (`invalid_scope`). Without a `scope`, Mastodon grants `read`;
/// an app that did not register `read` gets its registered scopes instead of an
/// error.
pub fn granted_scopes(app: &ApplicationRow, asked: Option<&str>) -> Option<Scopes> {
    let registered = app_scopes(app);
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            let read = Scopes::parse("read").expect("read is known");
            Some(if read.within(&registered) {
                read
            } else {
                registered
            })
        }
        Some(text) => Scopes::parse(text).ok().filter(|s| s.within(&registered)),
    }
}

/// The app a `client_id` names, whether or not the secret is right.
pub async fn app_by_client_id(db: &Db, client_id: &str) -> CoreResult<Option<ApplicationRow>> {
    if client_id.is_empty() {
        return Ok(None);
    }
    Ok(fulmar_store::oauth::application_by_client_id(db, client_id).await?)
}

/// The app whose credentials these are; `None` for an unknown client or a wrong
/// secret alike.
pub async fn authenticate_client(
    db: &Db,
    client_id: &str,
    client_secret: &str,
) -> CoreResult<Option<ApplicationRow>> {
    let Some(app) = app_by_client_id(db, client_id).await? else {
        return Ok(None);
    };
    let given = token_digest(client_secret);
    Ok(constant_time_eq(given.as_bytes(), app.client_secret.as_bytes()).then_some(app))
}

/// Checks a sign-in by username (with or without a leading `@`) or email address.
/// The answer, and the time it takes, are the same for an unknown user and a wrong
/// password: a password is checked against a dummy hash when there is no user, so
/// that response times do not tell which names exist.
pub async fn check_login(
    db: &Db,
    login: &str,
    password: &str,
) -> CoreResult<Option<(UserRow, AccountRow)>> {
    let login = login.trim();
    let login = login.strip_prefix('@').unwrap_or(login);
    if login.is_empty() || password.is_empty() || password.chars().count() > MAX_PASSWORD_LEN {
        return Ok(None);
    }
    let found = fulmar_store::users::by_login(db, login).await?;
    let hash = match &found {
        Some((user, _)) => user.password_hash.clone(),
        None => dummy_hash().await?,
    };
    let password = password.to_owned();
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(anyhow::Error::from)?;
    let found = found.filter(|(user, account)| {
        verified && user.disabled_at.is_none() && account.suspended_at.is_none()
    });
    if let Some((user, _)) = &found {
        fulmar_store::users::touch_sign_in(db, user.id, crate::core::time::now_ms()).await?;
    }
    Ok(found)
}

/// An Argon2 hash of a random password, made once per process.
async fn dummy_hash() -> CoreResult<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    let hash = tokio::task::spawn_blocking(|| crate::core::accounts::hash_password(&new_secret()))
        .await
        .map_err(anyhow::Error::from)??;
    Ok(DUMMY.get_or_init(|| hash).clone())
}

/// What a user agreed to on the consent page.
#[derive(Debug)]
pub struct NewCode<'a> {
    pub application_id: i64,
    pub user_id: i64,
    pub redirect_uri: &'a str,
    pub scopes: &'a Scopes,
    /// An S256 PKCE challenge (RFC 7636); `plain` is never accepted.
    pub code_challenge: Option<&'a str>,
}

/// Issues a single-use authorization code, valid for ten minutes.
pub async fn issue_code(db: &Db, new: NewCode<'_>) -> CoreResult<String> {
    let now = now_ms();
    // Expired codes are useless; clearing them here keeps the table small without a
    // background job.
    fulmar_store::oauth::delete_expired_codes(db, now - CODE_RETENTION_MS).await?;
    let code = new_secret();
    fulmar_store::oauth::insert_code(
        db,
        &CodeRow {
            id: next_id(),
            code_hash: token_digest(&code),
            application_id: new.application_id,
            user_id: new.user_id,
            redirect_uri: new.redirect_uri.to_owned(),
            scopes: new.scopes.to_string(),
            code_challenge: new.code_challenge.map(str::to_owned),
            code_challenge_method: new.code_challenge.map(|_| "S256".to_owned()),
            expires_at: now + CODE_LIFETIME_MS,
            used_at: None,
            created_at: now,
        },
    )
    .await?;
    Ok(code)
}

/// True for a well-formed S256 challenge: the base64url SHA-256 of a verifier, 43
/// characters. Anything else could never match, and is refused up front.
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `BASE64URL(SHA256(verifier))`, RFC 7636 section 4.2.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A token just issued; the secret is shown this once.
#[derive(Debug)]
pub struct IssuedToken {
    pub access_token: String,
    pub scopes: Scopes,
    pub created_at_ms: i64,
}

/// Issues an access token. `id` is the row's id: tokens issued from a code take the
/// code's id (see [`redeem_code`]).
pub async fn issue_token(
    db: &Db,
    id: i64,
    application_id: Option<i64>,
    user_id: Option<i64>,
    scopes: &Scopes,
) -> CoreResult<IssuedToken> {
    let token = new_secret();
    let now = now_ms();
    fulmar_store::tokens::insert(
        db,
        &NewToken {
            id,
            token_hash: token_digest(&token),
            application_id,
            user_id,
            scopes: scopes.to_string(),
            created_at: now,
        },
    )
    .await?;
    Ok(IssuedToken {
        access_token: token,
        scopes: scopes.clone(),
        created_at_ms: now,
    })
}

/// Why a code could not be redeemed.
#[derive(Debug)]
pub enum RedeemError {
    /// Unknown, expired, used, issued to another app or for another redirect URI,
    /// or the PKCE verifier does not match: `invalid_grant`.
    InvalidGrant,
    /// The code was issued with a PKCE challenge and no verifier came:
    /// `invalid_request`.
    MissingVerifier,
    Internal(CoreError),
}

impl From<CoreError> for RedeemError {
    fn from(e: CoreError) -> Self {
        RedeemError::Internal(e)
    }
}

impl From<fulmar_store::StoreError> for RedeemError {
    fn from(e: fulmar_store::StoreError) -> Self {
        RedeemError::Internal(e.into())
    }
}

/// Exchanges an authorization code for a token (RFC 6749 section 4.1.3).
///
/// The token takes the code's id as its own. That ties the two without another
/// column: when a used code comes back, which RFC 6749 section 4.1.2 says may mean
/// it was stolen, the token issued from it is revoked by that id. It also means one
/// code can never yield two tokens, whatever the timing, since ids are unique.
pub async fn redeem_code(
    db: &Db,
    app: &ApplicationRow,
    code: &str,
    redirect_uri: &str,
    code_verifier: Option<&str>,
) -> Result<IssuedToken, RedeemError> {
    let now = now_ms();
    let row = fulmar_store::oauth::code_by_hash(db, &token_digest(code))
        .await?
        .filter(|row| row.application_id == app.id)
        .ok_or(RedeemError::InvalidGrant)?;
    if row.used_at.is_some() {
        fulmar_store::tokens::revoke(db, row.id, now).await?;
        return Err(RedeemError::InvalidGrant);
    }
    if row.expires_at <= now || row.redirect_uri != redirect_uri {
        return Err(RedeemError::InvalidGrant);
    }
    match (row.code_challenge.as_deref(), code_verifier) {
        (None, None) => {}
        (Some(_), None) => return Err(RedeemError::MissingVerifier),
        (Some(challenge), Some(verifier)) => {
            if !constant_time_eq(s256(verifier).as_bytes(), challenge.as_bytes()) {
                return Err(RedeemError::InvalidGrant);
            }
        }
        // A verifier for a code issued without a challenge: someone downgraded the
        // request on the way (OAuth 2.1 section 4.1.3 says refuse).
        (None, Some(_)) => return Err(RedeemError::InvalidGrant),
    }
    if !fulmar_store::oauth::use_code(db, row.id, now).await? {
        // Another request redeemed it a moment ago: a replay after all.
        fulmar_store::tokens::revoke(db, row.id, now).await?;
        return Err(RedeemError::InvalidGrant);
    }
    let active = fulmar_store::users::by_id(db, row.user_id)
        .await?
        .is_some_and(|u| u.disabled_at.is_none());
    if !active {
        return Err(RedeemError::InvalidGrant);
    }
    let scopes = Scopes::parse(&row.scopes).map_err(|_| RedeemError::InvalidGrant)?;
    Ok(issue_token(db, row.id, Some(app.id), Some(row.user_id), &scopes).await?)
}

/// A new token id for grants that have no code.
pub fn new_token_id() -> i64 {
    next_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!valid_challenge(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk="
        ));
        assert!(!valid_challenge("short"));
    }

    fn app(scopes: &str) -> ApplicationRow {
        ApplicationRow {
            id: 1,
            name: "a".into(),
            website: None,
            redirect_uris: "icecubesapp://\nhttps://x.example/cb\n".into(),
            scopes: scopes.into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            owner_user_id: None,
            created_at: 0,
        }
    }

    #[test]
    fn scopes_default_to_read_and_stay_within_the_app() {
        let rw = app("read write");
        assert_eq!(granted_scopes(&rw, None).unwrap().to_string(), "read");
        assert_eq!(granted_scopes(&rw, Some("  ")).unwrap().to_string(), "read");
        assert_eq!(
            granted_scopes(&rw, Some("read:statuses write"))
                .unwrap()
                .to_string(),
            "read:statuses write"
        );
        assert!(granted_scopes(&rw, Some("read follow")).is_none());
        assert!(granted_scopes(&rw, Some("read bogus")).is_none());
        let w = app("write:statuses");
        assert_eq!(
            granted_scopes(&w, None).unwrap().to_string(),
            "write:statuses"
        );
        assert_eq!(
            redirect_uris(&rw),
            vec!["icecubesapp://", "https://x.example/cb"]
        );
    }
}
