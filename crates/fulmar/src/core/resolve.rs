//! Finding accounts and statuses on other servers: WebFinger, then a signed fetch of
//! the actor or object, then storing it.
//!
//! As in Mastodon, an actor is only accepted under a handle that WebFingers back to the
//! same actor id (the round-trip check): `preferredUsername@host-of-the-actor-id` must
//! point at the actor. Stored accounts are refreshed when they were fetched more than a
//! day ago; a failed refresh keeps the stored copy.

use fulmar_federation::client::ClientError;
use fulmar_federation::from_activitypub::{
    self as ap, parse_actor, ParseError, RemoteActor, RemoteKey,
};
use fulmar_store::accounts::AccountRow;
use fulmar_store::remote::{self, RemoteAccount};
use fulmar_store::statuses::StatusRow;
use fulmar_store::StoreError;

use super::formatting::sanitize;
use super::ids::{next_id, parse_id};
use super::remote_status::{self, ObjectDoc};
use super::time::now_ms;
use crate::state::App;

/// How long a fetched actor or key is trusted before it is fetched again.
pub const REFRESH_AFTER_MS: i64 = 24 * 60 * 60 * 1000;

/// Why something could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("not found")]
    NotFound,
    #[error("fetching failed: {0}")]
    Fetch(#[from] ClientError),
    #[error("unusable document: {0}")]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ResolveResult<T> = Result<T, ResolveError>;

fn invalid(text: impl Into<String>) -> ResolveError {
    ResolveError::Invalid(text.into())
}

/// `host[:port]` of a URL, as handles write it.
pub fn authority(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?.to_lowercase();
    Some(match u.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// Resolves `user@host`, `@user@host` or an actor URL to an account row.
pub async fn resolve_account(app: &App, query: &str) -> ResolveResult<AccountRow> {
    let query = query.trim();
    if query.starts_with("https://") || query.starts_with("http://") {
        return resolve_actor_url(app, query).await;
    }
    let bare = query.strip_prefix('@').unwrap_or(query);
    let (user, host) = bare
        .split_once('@')
        .filter(|(u, h)| !u.is_empty() && !h.is_empty() && !h.contains('@'))
        .ok_or(ResolveError::NotFound)?;
    let host = host.to_lowercase();
    if host == app.urls.domain() {
        return local(app, user).await;
    }
    super::domains::refuse_blocked(&app.db, &host).await?;
    if let Some(row) = fulmar_store::accounts::by_acct(&app.db, user, Some(&host)).await? {
        if is_fresh(app, row.id).await? {
            return Ok(row);
        }
        return Ok(refresh(app, row).await);
    }
    let (subject, actor_id) = app.client.webfinger_jrd(user, &host).await?;
    let actor = fetch_actor(app, &actor_id).await?;
    let actor_host = authority(&actor.id).ok_or_else(|| invalid("bad actor id"))?;
    let same_user = actor.preferred_username.eq_ignore_ascii_case(user);
    let subject_is_handle = subject_domain(&subject, user).is_none_or(|d| d == host);
    let domain = if same_user && actor_host == host && subject_is_handle {
        // The WebFinger answer already confirms this handle.
        host
    } else {
        confirm(app, &actor, same_user.then_some(host.as_str())).await?
    };
    store_actor(app, &actor, &domain).await
}

/// Resolves an actor URL: this server's own, a stored one, or a fetched one.
pub async fn resolve_actor_url(app: &App, url: &str) -> ResolveResult<AccountRow> {
    if url.starts_with(app.urls.base()) {
        let name = app.urls.username_of(url).ok_or(ResolveError::NotFound)?;
        return local(app, &name).await;
    }
    super::domains::refuse_blocked(&app.db, url).await?;
    if let Some(row) = fulmar_store::accounts::by_uri(&app.db, url).await? {
        if is_fresh(app, row.id).await? {
            return Ok(row);
        }
        return Ok(refresh(app, row).await);
    }
    let actor = fetch_actor(app, url).await?;
    if actor.id != url {
        // A profile URL that served the actor: look the real id up first.
        if let Some(row) = fulmar_store::accounts::by_uri(&app.db, &actor.id).await? {
            return Ok(row);
        }
    }
    let domain = confirm(app, &actor, None).await?;
    store_actor(app, &actor, &domain).await
}

async fn local(app: &App, user: &str) -> ResolveResult<AccountRow> {
    fulmar_store::accounts::local_by_username(&app.db, user)
        .await?
        .ok_or(ResolveError::NotFound)
}

async fn is_fresh(app: &App, account_id: i64) -> ResolveResult<bool> {
    Ok(remote::fetched_at(&app.db, account_id)
        .await?
        .is_some_and(|t| now_ms() - t < REFRESH_AFTER_MS))
}

/// Fetches a stored remote account again; keeps the stored row when that fails.
async fn refresh(app: &App, row: AccountRow) -> AccountRow {
    let Some(domain) = row.domain.clone() else {
        return row;
    };
    let fresh = async {
        let actor = fetch_actor(app, &row.uri).await?;
        if actor.id != row.uri {
            return Err(invalid("the actor id changed"));
        }
        let domain = if actor.preferred_username.eq_ignore_ascii_case(&row.username) {
            domain
        } else {
            confirm(app, &actor, None).await?
        };
        store_actor(app, &actor, &domain).await
    };
    match fresh.await {
        Ok(updated) => updated,
        Err(e) => {
            tracing::info!(uri = %row.uri, error = %e, "refreshing a remote account failed");
            row
        }
    }
}

/// Fetches and parses an actor, signed by the instance actor. The document's id must
/// be on the host it was fetched from.
async fn fetch_actor(app: &App, url: &str) -> ResolveResult<RemoteActor> {
    let doc = fetch_document(app, url).await?;
    Ok(parse_actor(&doc)?)
}

/// Fetches a document whose `id` is on the origin that served it. When it is not
/// (a redirect to another host, a copy served elsewhere), the `id` is fetched once
/// more and must then match.
pub(crate) async fn fetch_document(app: &App, url: &str) -> ResolveResult<serde_json::Value> {
    let (served_from, doc) = app
        .client
        .get_activity_from(url, app.instance_signer().await)
        .await?;
    let id = doc
        .get("id")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| invalid("the document has no id"))?
        .to_owned();
    if authority(&id) == authority(served_from.as_str()) {
        return Ok(doc);
    }
    let (served_from, doc) = app
        .client
        .get_activity_from(&id, app.instance_signer().await)
        .await?;
    let same = doc.get("id").and_then(serde_json::Value::as_str) == Some(id.as_str());
    if !same || authority(&id) != authority(served_from.as_str()) {
        return Err(invalid(
            "the document's id is on another host than the document",
        ));
    }
    Ok(doc)
}

/// The round-trip check: `preferredUsername@host-of-id` must WebFinger to the actor's
/// id. Returns the confirmed domain: the host of the id, or the domain the WebFinger
/// `subject` names (split-domain servers, whose handles are `user@example.com` while
/// actors live on `social.example.com`) when that domain points at the actor too.
/// `confirmed` is a domain whose WebFinger already answered with this actor for its
/// preferred username.
async fn confirm(app: &App, actor: &RemoteActor, confirmed: Option<&str>) -> ResolveResult<String> {
    let host = authority(&actor.id).ok_or_else(|| invalid("bad actor id"))?;
    let (subject, back) = app
        .client
        .webfinger_jrd(&actor.preferred_username, &host)
        .await?;
    if back != actor.id {
        return Err(invalid(format!(
            "{}@{host} does not WebFinger back to {}",
            actor.preferred_username, actor.id
        )));
    }
    let Some(domain) = subject_domain(&subject, &actor.preferred_username) else {
        return Ok(host);
    };
    if domain == host || Some(domain.as_str()) == confirmed {
        return Ok(domain);
    }
    match app
        .client
        .webfinger(&actor.preferred_username, &domain)
        .await
    {
        Ok(again) if again == actor.id => Ok(domain),
        _ => Ok(host),
    }
}

/// The domain of an `acct:user@domain` subject naming `user`.
fn subject_domain(subject: &str, user: &str) -> Option<String> {
    let acct = subject.strip_prefix("acct:").unwrap_or(subject);
    let (u, d) = acct.rsplit_once('@')?;
    (u.eq_ignore_ascii_case(user) && !d.is_empty() && !d.contains(['/', '@']))
        .then(|| d.to_lowercase())
}

/// Stores an actor and its keys; returns the stored row.
async fn store_actor(app: &App, actor: &RemoteActor, domain: &str) -> ResolveResult<AccountRow> {
    store_actor_as(app, actor, domain, &actor.preferred_username).await
}

/// Refreshes a stored remote account from a pushed actor document (`Update` of an
/// actor). The handle stays the one WebFinger confirmed: a changed
/// `preferredUsername` is only believed after the next round-trip check.
pub async fn update_stored_actor(
    app: &App,
    stored: &AccountRow,
    actor: &RemoteActor,
) -> ResolveResult<AccountRow> {
    let domain = stored
        .domain
        .as_deref()
        .ok_or_else(|| invalid("a local account cannot be updated from outside"))?;
    if actor.id != stored.uri {
        return Err(invalid("the document is another actor"));
    }
    store_actor_as(app, actor, domain, &stored.username).await
}

async fn store_actor_as(
    app: &App,
    actor: &RemoteActor,
    domain: &str,
    username: &str,
) -> ResolveResult<AccountRow> {
    let now = now_ms();
    let fields: Vec<serde_json::Value> = actor
        .fields
        .iter()
        .take(16)
        .map(|(name, value)| {
            serde_json::json!({"name": name, "value": sanitize(value), "verified_at": null})
        })
        .collect();
    let created_at = actor
        .published
        .as_deref()
        .and_then(parse_time)
        .unwrap_or(now);
    let row = RemoteAccount {
        id: next_id(),
        username: username.to_owned(),
        domain: domain.to_owned(),
        display_name: actor.name.clone().unwrap_or_default(),
        note: actor.summary.as_deref().map(sanitize).unwrap_or_default(),
        uri: actor.id.clone(),
        url: actor.url.clone(),
        actor_type: actor.kind.clone(),
        inbox_url: actor.inbox.clone(),
        outbox_url: actor.outbox.clone(),
        shared_inbox_url: actor.shared_inbox.clone(),
        followers_url: actor.followers.clone(),
        following_url: actor.following.clone(),
        featured_url: actor.featured.clone(),
        featured_tags_url: actor.featured_tags.clone(),
        avatar_url: actor.icon.clone(),
        header_url: actor.image.clone(),
        fields: serde_json::Value::Array(fields).to_string(),
        also_known_as: serde_json::to_string(&actor.also_known_as).unwrap_or_else(|_| "[]".into()),
        locked: actor.manually_approves_followers,
        bot: actor.is_bot(),
        discoverable: actor.discoverable.unwrap_or(false),
        indexable: actor.indexable.unwrap_or(false),
        created_at,
        fetched_at: now,
    };
    let id = remote::upsert_account(&app.db, &row).await?;
    for key in &actor.public_keys {
        if key.owner != actor.id {
            continue;
        }
        remote::upsert_key(
            &app.db,
            next_id(),
            Some(id),
            &key.id,
            &key.owner,
            &key.public_key_pem,
            now,
        )
        .await?;
    }
    fulmar_store::accounts::by_id(&app.db, id)
        .await?
        .ok_or(ResolveError::NotFound)
}

/// An RFC 3339 time as milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    // RFC 3339, or with a `-0700` offset as Threads writes it.
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Fetches (or reads from the cache) the public key with this key id, for verifying
/// incoming signatures. `refresh` fetches again even when a cached copy is fresh (a
/// signature failed to verify: the key may have been rotated).
///
/// The key id's document is either the actor (Mastodon: `actor#main-key`) or a key
/// object or stub actor with an `owner` (GoToSocial: `actor/main-key`); in the latter
/// case the owner is fetched and must list the key.
pub async fn fetch_key(app: &App, key_id: &str, refresh: bool) -> ResolveResult<RemoteKey> {
    super::domains::refuse_blocked(&app.db, key_id).await?;
    if !refresh {
        if let Some(row) = fulmar_store::keys::by_key_id(&app.db, key_id).await? {
            let fresh = row.private_key_pem.is_some()
                || remote::key_fetched_at(&app.db, key_id)
                    .await?
                    .is_some_and(|t| now_ms() - t < REFRESH_AFTER_MS);
            if fresh {
                return Ok(RemoteKey {
                    id: row.key_id,
                    owner: row.owner_uri,
                    public_key_pem: row.public_key_pem,
                });
            }
        }
    }
    let doc = app
        .client
        .get_activity(key_id, app.instance_signer().await)
        .await?;
    let without_fragment = key_id.split('#').next().unwrap_or(key_id);
    // The actor itself, when it parses as one and lists the key.
    let owner = match parse_actor(&doc) {
        Ok(actor) if actor.key(Some(key_id)).is_some() => actor.id.clone(),
        _ => {
            let o = doc
                .as_object()
                .ok_or_else(|| invalid("not a key document"))?;
            o.get("owner")
                .and_then(ap::id_of)
                .or_else(|| {
                    o.get("publicKey")
                        .and_then(|k| k.get("owner"))
                        .and_then(ap::id_of)
                })
                .ok_or_else(|| invalid("the key document names no owner"))?
        }
    };
    if authority(&owner) != authority(without_fragment) {
        return Err(invalid("the key's owner is on another host"));
    }
    let account = resolve_actor_url_fresh(app, &owner, refresh).await?;
    let row = fulmar_store::keys::by_key_id(&app.db, key_id)
        .await?
        .filter(|k| k.account_id == Some(account.id))
        .ok_or_else(|| invalid("the owner does not list this key"))?;
    Ok(RemoteKey {
        id: row.key_id,
        owner: row.owner_uri,
        public_key_pem: row.public_key_pem,
    })
}

/// Like [`resolve_actor_url`], fetching the actor again when `force` is set.
async fn resolve_actor_url_fresh(app: &App, url: &str, force: bool) -> ResolveResult<AccountRow> {
    if force {
        if let Some(row) = fulmar_store::accounts::by_uri(&app.db, url).await? {
            if row.domain.is_some() {
                let before = remote::fetched_at(&app.db, row.id).await?;
                let after = refresh(app, row).await;
                if remote::fetched_at(&app.db, after.id).await? == before {
                    return Err(invalid("refetching the key's owner failed"));
                }
                return Ok(after);
            }
        }
    }
    resolve_actor_url(app, url).await
}

/// Resolves a status URL: this server's own, a stored one, or a fetched one. A fetched
/// object is stored by the same path as a pushed one
/// ([`remote_status::store_remote_object`]), without notifying anyone.
pub async fn resolve_status(app: &App, url: &str) -> ResolveResult<StatusRow> {
    if url.starts_with(app.urls.base()) {
        return local_status(app, url).await;
    }
    super::domains::refuse_blocked(&app.db, url).await?;
    if let Some(row) = remote::status_by_uri(&app.db, url).await? {
        return Ok(row);
    }
    let doc = fetch_object(app, url).await?;
    if doc.obj.id != url {
        if let Some(row) = remote::status_by_uri(&app.db, &doc.obj.id).await? {
            return Ok(row);
        }
    }
    let author = object_author(app, &doc.obj).await?;
    let (row, _) = remote_status::store_remote_object(app, &doc, &author).await?;
    Ok(row)
}

/// Fetches an object document from its origin (signed, its id on the host that served
/// it) and reads it. Nothing is stored.
pub async fn fetch_object(app: &App, url: &str) -> ResolveResult<ObjectDoc> {
    let doc = fetch_document(app, url).await?;
    Ok(remote_status::read_object(&doc)?)
}

/// The author of a fetched object: on the object's host, resolved, not suspended.
pub async fn object_author(app: &App, obj: &ap::RemoteObject) -> ResolveResult<AccountRow> {
    if authority(&obj.attributed_to) != authority(&obj.id) {
        return Err(invalid("the object's author is on another host"));
    }
    let author = resolve_actor_url(app, &obj.attributed_to).await?;
    if author.suspended_at.is_some() {
        return Err(ResolveError::NotFound);
    }
    Ok(author)
}

/// One of this server's status URLs: `/@user/ID` or `/users/user/statuses/ID`.
pub(crate) async fn local_status(app: &App, url: &str) -> ResolveResult<StatusRow> {
    let path = url
        .strip_prefix(app.urls.base())
        .unwrap_or_default()
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let id = match segments[..] {
        [at, id] if at.starts_with('@') => id,
        ["users", _, "statuses", id] => id,
        _ => return Err(ResolveError::NotFound),
    };
    let id = parse_id(id).ok_or(ResolveError::NotFound)?;
    fulmar_store::statuses::by_id(&app.db, id)
        .await?
        .filter(|s| s.local && s.reblog_of_id.is_none())
        .ok_or(ResolveError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_domains() {
        assert_eq!(
            subject_domain("acct:Alice@Example.com", "alice").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            subject_domain("acct:alice@127.0.0.1:3000", "alice").as_deref(),
            Some("127.0.0.1:3000")
        );
        assert_eq!(subject_domain("acct:bob@example.com", "alice"), None);
        assert_eq!(
            subject_domain("https://example.com/users/alice", "alice"),
            None
        );
        assert_eq!(subject_domain("acct:alice@", "alice"), None);
    }

    #[test]
    fn authorities_keep_ports() {
        assert_eq!(
            authority("http://127.0.0.1:8080/users/a").as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            authority("https://Social.Example/users/a").as_deref(),
            Some("social.example")
        );
        assert_eq!(authority("not a url"), None);
    }
}
