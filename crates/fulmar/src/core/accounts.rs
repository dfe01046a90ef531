//! Local accounts: creation, sign-in credentials and tokens.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine as _;
use fulmar_store::accounts::{AccountRow, NewAccount};
use fulmar_store::keys::NewKey;
use fulmar_store::tokens::NewToken;
use fulmar_store::users::NewUser;
use fulmar_store::{Db, StoreError};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::error::{CoreError, CoreResult};
use super::ids::next_id;
use super::scopes::Scopes;
use super::time::now_ms;
use super::urls::Urls;
use super::username::Username;

/// Passwords shorter than this are refused, as in Mastodon.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Argon2 hashes any length, but a cap keeps a single sign-in from costing much.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Everything needed to create a local account.
pub struct NewLocalUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub admin: bool,
}

/// Creates a local account with its user and its RSA-2048 key pair.
pub async fn create_local_user(
    db: &Db,
    urls: &Urls,
    new: NewLocalUser<'_>,
) -> CoreResult<AccountRow> {
    let username = Username::parse(new.username).map_err(|m| CoreError::Invalid(m.into()))?;
    let email = check_email(new.email)?;
    let password_len = new.password.chars().count();
    if password_len < MIN_PASSWORD_LEN {
        return Err(CoreError::Invalid(
            format!("Password is too short (minimum is {MIN_PASSWORD_LEN} characters)").into(),
        ));
    }
    if password_len > MAX_PASSWORD_LEN {
        return Err(CoreError::Invalid(
            format!("Password is too long (maximum is {MAX_PASSWORD_LEN} characters)").into(),
        ));
    }
    if fulmar_store::accounts::local_by_username(db, username.as_str())
        .await?
        .is_some()
    {
        return Err(taken_username());
    }
    if fulmar_store::users::email_taken(db, &email).await? {
        return Err(taken_email());
    }

    // Key generation and password hashing each take tens of milliseconds of CPU: keep
    // them off the async workers.
    let password = new.password.to_owned();
    let (pair, password_hash) = tokio::task::spawn_blocking(move || {
        let pair = fulmar_federation::keys::generate_rsa_2048()?;
        let hash = hash_password(&password)?;
        anyhow::Ok((pair, hash))
    })
    .await
    .map_err(anyhow::Error::from)??;

    let now = now_ms();
    let id = next_id();
    let name = username.as_str();
    let account = NewAccount {
        id,
        username: name.to_owned(),
        domain: None,
        display_name: String::new(),
        uri: urls.actor(name),
        url: Some(urls.profile(name)),
        actor_type: "Person".into(),
        inbox_url: Some(urls.inbox(name)),
        outbox_url: Some(urls.outbox(name)),
        shared_inbox_url: Some(urls.shared_inbox()),
        followers_url: Some(urls.followers(name)),
        following_url: Some(urls.following(name)),
        featured_url: Some(urls.featured(name)),
        featured_tags_url: Some(urls.featured_tags(name)),
        locked: false,
        bot: false,
        created_at: now,
    };
    let key = NewKey {
        id: next_id(),
        account_id: Some(id),
        key_id: urls.key_id(name),
        owner_uri: urls.actor(name),
        public_key_pem: pair.public_key_pem,
        private_key_pem: Some(pair.private_key_pem),
        created_at: now,
    };
    let user = NewUser {
        id: next_id(),
        email,
        password_hash,
        admin: new.admin,
    };
    match fulmar_store::users::create_local_user(db, &account, &key, &user).await {
        Ok(()) => {}
        // Another process took the name or address between our check and our insert.
        Err(StoreError::Conflict(constraint)) if constraint.contains("email") => {
            return Err(taken_email())
        }
        Err(StoreError::Conflict(_)) => return Err(taken_username()),
        Err(e) => return Err(e.into()),
    }
    fulmar_store::accounts::by_id(db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("account {id} vanished after insert").into())
}

fn taken_username() -> CoreError {
    CoreError::Conflict("Username has already been taken".into())
}

fn taken_email() -> CoreError {
    CoreError::Conflict("Email has already been taken".into())
}

/// A deliberately plain check: one `@`, something on each side, no spaces. Whether the
/// address works is the mail server's business.
fn check_email(text: &str) -> CoreResult<String> {
    let text = text.trim();
    let valid = text.len() <= 254
        && !text.chars().any(char::is_whitespace)
        && text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if valid {
        Ok(text.to_owned())
    } else {
        Err(CoreError::Invalid(
            format!("Email {text:?} is invalid").into(),
        ))
    }
}

/// Hashes a password with Argon2id and the crate's recommended parameters.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Checks a password against a stored hash; any malformed hash simply fails.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Issues a bearer token for a local account, as `fulmar admin token` does. Returns
/// the token; only its digest is stored.
pub async fn issue_token(db: &Db, username: &str, scopes: &str) -> CoreResult<String> {
    let scopes = Scopes::parse(scopes).map_err(|m| CoreError::Invalid(m.into()))?;
    let account = fulmar_store::accounts::local_by_username(db, username)
        .await?
        .ok_or(CoreError::NotFound)?;
    let user = fulmar_store::users::by_account_id(db, account.id)
        .await?
        .ok_or(CoreError::NotFound)?;
    let token = new_secret();
    fulmar_store::tokens::insert(
        db,
        &NewToken {
            id: next_id(),
            token_hash: token_digest(&token),
            application_id: None,
            user_id: Some(user.id),
            scopes: scopes.to_string(),
            created_at: now_ms(),
        },
    )
    .await?;
    Ok(token)
}

/// 256 random bits, base64url without padding (43 characters).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token or code: its SHA-256, in hex.
pub fn token_digest(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsf", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn emails_are_checked_plainly() {
        assert_eq!(check_email(" a@b.c ").unwrap(), "a@b.c");
        for bad in ["", "a", "@b", "a@", "a b@c", "a@b@c"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = new_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_secret());
        assert_eq!(token_digest("abc").len(), 64);
    }
}
