//! A local user's profile (display name, bio, fields, flags) and posting defaults, as
//! `update_credentials` changes them, with Mastodon's limits.

use fulmar_store::accounts::{AccountRow, ProfileUpdate};
use fulmar_store::users::UserRow;
use fulmar_store::Db;
use serde::{Deserialize, Serialize};

use super::error::{CoreError, CoreResult};
use super::time::now_ms;

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

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A bio as HTML. Notes are formatted plainly: escaped, one `<p>` per block of text
/// separated by blank lines and `<br />` for single line breaks; links, mentions and
/// hashtags stay text.
pub fn format_note(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let flush = |paragraph: &mut Vec<&str>, out: &mut String| {
        if !paragraph.is_empty() {
            out.push_str("<p>");
            out.push_str(
                &paragraph
                    .iter()
                    .map(|l| escape(l))
                    .collect::<Vec<_>>()
                    .join("<br />"),
            );
            out.push_str("</p>");
            paragraph.clear();
        }
    };
    for line in text.split('\n') {
        if line.trim().is_empty() {
            flush(&mut paragraph, &mut out);
        } else {
            paragraph.push(line);
        }
    }
    flush(&mut paragraph, &mut out);
    out
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
            (format_note(&text), text)
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
                    value: escape(&value),
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
    fn notes_become_plain_paragraphs() {
        assert_eq!(format_note(""), "");
        assert_eq!(format_note("  \n"), "");
        assert_eq!(format_note("hello"), "<p>hello</p>");
        assert_eq!(
            format_note("a <b> & \"c\"\nline two\r\n\r\n\n\nnext"),
            "<p>a &lt;b&gt; &amp; &quot;c&quot;<br />line two</p><p>next</p>"
        );
    }

    #[test]
    fn languages_look_like_codes() {
        assert_eq!(check_language("").unwrap(), None);
        assert_eq!(check_language("de").unwrap().as_deref(), Some("de"));
        assert_eq!(check_language("zh-TW").unwrap().as_deref(), Some("zh-TW"));
        assert!(check_language("english").is_err());
        assert!(check_language("e1").is_err());
    }
}
