//! A local user's profile (display name, bio, fields, flags) and posting defaults, as
//! `update_credentials` changes them, with Mastodon's limits.

use fulmar_store::accounts::{AccountRow, ProfileUpdate};
use fulmar_store::users::UserRow;
use fulmar_store::Db;
use serde::{Deserialize, Serialize};

use super::error::{CoreError, CoreResult};
use super::formatting;
use super::time::now_ms;
use super::urls::Urls;

pub const MAX_DISPLAY_NAME: usize = 30;
pub const MAX_NOTE: usize = 500;
pub const MAX_FIELDS: usize = 4;
pub const MAX_FIELD_NAME: usize = 255;
pub const MAX_FIELD_VALUE: usize = 255;

/// What a request changes; `None` leaves a value as it is.
#[derive(Clone, Debug, Default)]
pub struct ProfileChanges {
    pub display_name: Option<String>,
    pub note: Option<String>,
    /// `(name, value)` pairs as typed; pairs with both sides blank are dropped.
    pub fields: Option<Vec<(String, String)>>,
    pub locked: Option<bool>,
    pub bot: Option<bool>,
    pub discoverable: Option<bool>,
    pub indexable: Option<bool>,
    pub hide_collections: Option<bool>,
    /// Default visibility of new posts: `public`, `unlisted` or `private`.
    pub privacy: Option<String>,
    pub sensitive: Option<bool>,
    /// Default language of new posts; an empty string clears it.
    pub language: Option<String>,
}

/// A profile field as stored in `accounts.fields`: `value` is HTML, as served to
/// every reader (remote accounts' fields arrive as HTML), and `value_source` what the
/// user typed, for `source.fields`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredField {
    pub name: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_source: Option<String>,
    #[serde(default)]
    pub verified_at: Option<i64>,
}

fn too_long(what: &str, max: usize) -> CoreError {
    CoreError::Invalid(format!("{what} is too long (maximum is {max} characters)").into())
}

/// A profile field value as HTML: formatted like a status (links, mentions,
/// hashtags) but on one line, without a paragraph, and with `rel="me"` on links so
/// that the linked site can verify the profile (Mastodon's `with_rel_me`).
async fn format_field_value(db: &Db, urls: &Urls, value: &str) -> CoreResult<String> {
    let html = formatting::note_to_html(db, urls, &value.replace(['\r', '\n'], " ")).await?;
    let inner = html
        .strip_prefix("<p>")
        .and_then(|h| h.strip_suffix("</p>"))
        .unwrap_or(&html);
    Ok(inner.replace("rel=\"nofollow noopener\"", "rel=\"me nofollow noopener\""))
}

fn check_language(code: &str) -> CoreResult<Option<String>> {
    let code = code.trim();
    if code.is_empty() {
        return Ok(None);
    }
    let (base, region) = match code.split_once('-') {
        Some((b, r)) => (b, Some(r)),
        None => (code, None),
    };
    let base_ok = (2..=3).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_alphabetic());
    let region_ok = region
        .is_none_or(|r| (2..=4).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric()));
    if base_ok && region_ok {
        Ok(Some(code.to_owned()))
    } else {
        Err(CoreError::Invalid(
            "Default language is not included in the list".into(),
        ))
    }
}

/// Applies `changes` to the profile of `account` (the account of `user`) and returns
/// the account as stored. Every rule is checked before anything is written.
pub async fn update(
    db: &Db,
    urls: &Urls,
    user: &UserRow,
    account: &AccountRow,
    changes: ProfileChanges,
) -> CoreResult<AccountRow> {
    let display_name = changes
        .display_name
        .unwrap_or_else(|| account.display_name.clone());
    if display_name.chars().count() > MAX_DISPLAY_NAME {
        return Err(too_long("Display name", MAX_DISPLAY_NAME));
    }
    let (note, note_source) = match changes.note {
        Some(text) => {
            if text.chars().count() > MAX_NOTE {
                return Err(too_long("Note", MAX_NOTE));
            }
            (formatting::note_to_html(db, urls, &text).await?, text)
        }
        None => (account.note.clone(), account.note_source.clone()),
    };
    let fields = match changes.fields {
        None => account.fields.clone(),
        Some(pairs) => {
            let old: Vec<StoredField> = serde_json::from_str(&account.fields).unwrap_or_default();
            let pairs: Vec<(String, String)> = pairs
                .into_iter()
                .filter(|(n, v)| !(n.trim().is_empty() && v.trim().is_empty()))
                .collect();
            if pairs.len() > MAX_FIELDS {
                return Err(CoreError::Invalid(
                    format!("Fields is too long (maximum is {MAX_FIELDS} fields)").into(),
                ));
            }
            let mut stored = Vec::with_capacity(pairs.len());
            for (name, value) in pairs {
                if name.chars().count() > MAX_FIELD_NAME {
                    return Err(too_long("Field name", MAX_FIELD_NAME));
                }
                if value.chars().count() > MAX_FIELD_VALUE {
                    return Err(too_long("Field value", MAX_FIELD_VALUE));
                }
                // A verification stays valid while the value does not change.
                let verified_at = old
                    .iter()
                    .find(|f| f.value_source.as_deref().unwrap_or(&f.value) == value)
                    .and_then(|f| f.verified_at);
                stored.push(StoredField {
                    name,
                    value: format_field_value(db, urls, &value).await?,
                    value_source: Some(value),
                    verified_at,
                });
            }
            serde_json::to_string(&stored).map_err(anyhow::Error::from)?
        }
    };
    let default_visibility = match changes.privacy {
        None => user.default_visibility.clone(),
        Some(p) if matches!(p.as_str(), "public" | "unlisted" | "private") => p,
        Some(_) => {
            return Err(CoreError::Invalid(
                "Default privacy is not included in the list".into(),
            ))
        }
    };
    let default_language = match changes.language {
        None => user.default_language.clone(),
        Some(code) => check_language(&code)?,
    };
    let update = ProfileUpdate {
        display_name,
        note,
        note_source,
        fields,
        locked: changes.locked.unwrap_or(account.locked),
        bot: changes.bot.unwrap_or(account.bot),
        discoverable: changes.discoverable.unwrap_or(account.discoverable),
        indexable: changes.indexable.unwrap_or(account.indexable),
        hide_collections: changes.hide_collections.unwrap_or(account.hide_collections),
        default_visibility,
        default_sensitive: changes.sensitive.unwrap_or(user.default_sensitive),
        default_language,
        updated_at: now_ms(),
    };
    let unlocked = account.locked && !update.locked;
    fulmar_store::accounts::update_profile(db, account.id, &update).await?;
    crate::worker::outbox::emit(
        db,
        crate::worker::outbox::Event::UpdateProfile {
            account_id: account.id,
        },
    )
    .await?;
    let updated = fulmar_store::accounts::by_id(db, account.id)
        .await?
        .ok_or(CoreError::NotFound)?;
    if unlocked {
        // An account that stops approving followers by hand accepts everyone who was
        // waiting, as Mastodon does.
        loop {
            let waiting = fulmar_store::relationships::requests_to(
                db,
                account.id,
                &fulmar_store::PageParams::newest(100),
            )
            .await?;
            if waiting.is_empty() {
                break;
            }
            for request in waiting {
                match super::follows::authorize(db, &updated, &request.account).await {
                    // Answered in the meantime.
                    Ok(()) | Err(CoreError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(fulmar_store::accounts::by_id(db, account.id)
        .await?
        .unwrap_or(updated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_look_like_codes() {
        assert_eq!(check_language("").unwrap(), None);
        assert_eq!(check_language("de").unwrap().as_deref(), Some("de"));
        assert_eq!(check_language("zh-TW").unwrap().as_deref(), Some("zh-TW"));
        assert!(check_language("english").is_err());
        assert!(check_language("e1").is_err());
    }
}
