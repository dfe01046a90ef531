//! Conversions from stored rows to Mastodon API entities. Lists are converted in
//! batches: one query per kind of related row for the whole page, never one per item.

use std::collections::{HashMap, HashSet};

use fulmar_store::accounts::AccountRow;
use fulmar_store::statuses::StatusRow;
use fulmar_store::users::UserRow;
use serde::Deserialize;
use serde_json::{json, Value};

use super::entities::{
    Account, Application, Field, MediaAttachment, Mention, Poll, PollOption, SharedAccount, Source,
    Status, Tag,
};
use crate::core::time::rfc3339_ms;
use crate::core::urls::Urls;
use crate::http::ApiResult;
use crate::state::App;

#[derive(Deserialize)]
struct StoredField {
    name: String,
    value: String,
    #[serde(default)]
    verified_at: Option<i64>,
}

fn fields_of(row: &AccountRow) -> Vec<Field> {
    serde_json::from_str::<Vec<StoredField>>(&row.fields)
        .unwrap_or_default()
        .into_iter()
        .map(|f| Field {
            name: f.name,
            value: f.value,
            verified_at: f.verified_at.map(rfc3339_ms),
        })
        .collect()
}

/// The `acct` of an account: bare for local accounts, with the domain otherwise.
pub fn acct(row: &AccountRow) -> String {
    match &row.domain {
        None => row.username.clone(),
        Some(domain) => format!("{}@{domain}", row.username),
    }
}

/// An account as every app sees it.
pub fn account(urls: &Urls, row: &AccountRow) -> Account {
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let (uri, url) = match row.domain {
        // Local URLs always follow the configuration (see `Urls`).
        None => (urls.actor(&row.username), urls.profile(&row.username)),
        Some(_) => (
            row.uri.clone(),
            row.url.clone().unwrap_or_else(|| row.uri.clone()),
        ),
    };
    let avatar = row
        .avatar_url
        .clone()
        .unwrap_or_else(|| urls.default_avatar());
    let header = row
        .header_url
        .clone()
        .unwrap_or_else(|| urls.default_header());
    Account {
        id: row.id.to_string(),
        username: row.username.clone(),
        acct: acct(row),
        url,
        uri,
        display_name: row.display_name.clone(),
        note: row.note.clone(),
        avatar_static: avatar.clone(),
        avatar,
        header_static: header.clone(),
        header,
        locked: row.locked,
        fields: fields_of(row),
        emojis: Vec::new(),
        bot: row.bot || row.actor_type == "Service" || row.actor_type == "Application",
        group: row.actor_type == "Group",
        discoverable: Some(row.discoverable),
        indexable: row.indexable,
        hide_collections: Some(row.hide_collections),
        noindex: Some(!row.indexable),
        memorial: Some(row.memorial),
        moved: None,
        suspended: row.suspended_at.map(|_| true),
        limited: None,
        // Mastodon shows the day an account was created, at midnight UTC.
        created_at: rfc3339_ms(row.created_at - row.created_at.rem_euclid(DAY)),
        last_status_at: row.last_status_at.map(|ms| {
            chrono::DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .format("%Y-%m-%d")
                .to_string()
        }),
        statuses_count: row.statuses_count,
        followers_count: row.followers_count,
        following_count: row.following_count,
        roles: Vec::new(),
        source: None,
        role: None,
        fulmar: (row.domain.is_some()
            && row.backfill_note.as_deref() == Some(fulmar_store::backfill::OUTBOX_PRIVATE))
        .then_some(crate::mastodon::entities::FulmarAccount {
            outbox_private: true,
        }),
    }
}

/// The signed-in user's own account, with `source` and `role`
/// (`verify_credentials`, `update_credentials`).
pub async fn credential_account(app: &App, user: &UserRow, row: &AccountRow) -> ApiResult<Account> {
    let mut entity = account(&app.urls, row);
    let follow_requests_count = fulmar_store::follows::requests_count(&app.db, row.id).await?;
    entity.source = Some(Source {
        privacy: user.default_visibility.clone(),
        sensitive: user.default_sensitive,
        language: user.default_language.clone(),
        note: row.note_source.clone(),
        fields: source_fields_of(row),
        follow_requests_count,
        hide_collections: row.hide_collections,
        discoverable: row.discoverable,
        indexable: row.indexable,
        attribution_domains: Vec::new(),
        quote_policy: "public".into(),
    });
    entity.role = Some(serde_json::json!({
        "id": if user.admin { "3" } else { "-99" },
        "name": if user.admin { "Owner" } else { "" },
        "color": "",
        "permissions": if user.admin { "1" } else { "0" },
        "highlighted": user.admin,
    }));
    Ok(entity)
}

/// Converts one status.
pub async fn status(app: &App, row: &StatusRow, viewer: Option<i64>) -> ApiResult<Status> {
    let mut list = statuses(app, std::slice::from_ref(row), viewer).await?;
    list.pop().ok_or_else(|| {
        crate::core::CoreError::Internal(anyhow::anyhow!("status {} lost in conversion", row.id))
            .into()
    })
}

/// What the request that posted a status knows of it and of its author, for
/// [`new_status`].
pub struct Posted<'a> {
    /// What posting stored with the status and read back with it.
    pub stored: &'a crate::core::statuses::Stored,
    /// The author's account as read with the request's token, and the version of its
    /// `accounts` row (`Auth::account_version`). With the counters read back after
    /// the commit (`stored.author`), that is the author as of the commit.
    pub author: &'a AccountRow,
    pub author_version: i64,
    /// `(id, name, website)` of the token's application, read with the token.
    pub application: Option<&'a (i64, String, Option<String>)>,
}

/// A status just posted (`POST /api/v1/statuses`), rendered with what posting stored
/// along with it (its mentions and hashtags) and what the request read with its
/// token (the author, the application) instead of reading that again: a new post
/// costs no query here. A new post has no media (attaching is refused) and nothing
/// done to it by its author, who has not seen its id yet, so that neither is asked
/// for either. A quote is rendered as any status is, since the quoted status needs
/// all of it.
pub async fn new_status(
    app: &App,
    row: &StatusRow,
    viewer: Option<i64>,
    posted: &Posted<'_>,
) -> ApiResult<Status> {
    let fresh = (row.quote_of_id.is_none() && row.reblog_of_id.is_none()).then_some(posted);
    let mut list = statuses_with(app, std::slice::from_ref(row), viewer, fresh).await?;
    list.pop().ok_or_else(|| {
        crate::core::CoreError::Internal(anyhow::anyhow!("status {} lost in conversion", row.id))
            .into()
    })
}

/// Converts a page of statuses, loading authors, reblogged statuses, mentions, tags
/// and the viewer's favourites, reblogs, bookmarks and pins in a few queries.
/// Statuses whose author cannot be loaded are left out.
pub async fn statuses(
    app: &App,
    rows: &[StatusRow],
    viewer: Option<i64>,
) -> ApiResult<Vec<Status>> {
    statuses_with(app, rows, viewer, None).await
}

/// [`statuses`], with `fresh` for new posts that quote and reblog nothing
/// ([`new_status`]).
async fn statuses_with(
    app: &App,
    rows: &[StatusRow],
    viewer: Option<i64>,
    fresh: Option<&Posted<'_>>,
) -> ApiResult<Vec<Status>> {
    let db = &app.db;
    let reblog_ids: Vec<i64> = rows.iter().filter_map(|r| r.reblog_of_id).collect();
    let originals: HashMap<i64, StatusRow> = fulmar_store::statuses::by_ids(db, &reblog_ids)
        .await?
        .into_iter()
        // A reblog of a deleted status is not shown (it is removed with it anyway).
        .filter(|s| s.deleted_at.is_none())
        .map(|s| (s.id, s))
        .collect();
    // Quoted statuses of the page in one query; each is shown only to a viewer who may
    // see it (Mastodon's `unauthorized` state otherwise), a deleted one not at all.
    let quote_ids: Vec<i64> = rows
        .iter()
        .chain(originals.values())
        .filter_map(|r| r.quote_of_id)
        .collect();
    let mut quoted: HashMap<i64, StatusRow> = HashMap::new();
    let mut hidden: HashSet<i64> = HashSet::new();
    let quoted_rows: Vec<StatusRow> = fulmar_store::statuses::by_ids(db, &quote_ids)
        .await?
        .into_iter()
        .filter(|q| q.deleted_at.is_none())
        .collect();
    let seen = {
        let refs: Vec<&StatusRow> = quoted_rows.iter().collect();
        crate::core::visibility::visible_among(db, &refs, viewer).await?
    };
    for q in quoted_rows {
        if seen.contains(&q.id) {
            quoted.insert(q.id, q);
        } else {
            hidden.insert(q.id);
        }
    }
    let all: Vec<&StatusRow> = rows
        .iter()
        .chain(originals.values())
        .chain(quoted.values())
        .collect();
    let status_ids: Vec<i64> = all.iter().map(|s| s.id).collect();
    // Who may quote each status, and how the viewer may (Mastodon 4.5's
    // `quote_approval`): `automatic` lists the audiences approved automatically,
    // `manual` is always empty (there is no manual approval). Whether the viewer
    // follows an author matters only under a `followers` policy; those follows are
    // looked up for the whole page at once, and only when there are any.
    let followed = match viewer {
        Some(v) => {
            let mut authors: Vec<i64> = all
                .iter()
                .filter(|row| crate::core::quotes::needs_follow_check(row, &row.quote_policy, v))
                .map(|row| row.account_id)
                .collect();
            authors.sort_unstable();
            authors.dedup();
            fulmar_store::follows::followed_among(db, v, &authors).await?
        }
        None => HashSet::new(),
    };
    // Built where it is used: a status can be shown twice on a page (as itself and
    // as a reblog's original), and building costs no more than copying.
    let approval = |row: &StatusRow| -> Value {
        let policy = crate::core::quotes::effective_policy(row, &row.quote_policy);
        let automatic: &[&str] = match policy {
            "public" => &["public"],
            "followers" => &["followers"],
            _ => &[],
        };
        let current = crate::core::quotes::approval_given(
            row,
            &row.quote_policy,
            viewer,
            followed.contains(&row.account_id),
        );
        json!({"automatic": automatic, "manual": [], "current_user": current})
    };
    let (mentions, tags) = match fresh {
        Some(f) => (f.stored.mentions.clone(), f.stored.tags.clone()),
        None => fulmar_store::statuses::mentions_and_tags(db, &status_ids).await?,
    };
    let mut account_ids: Vec<i64> = all.iter().map(|s| s.account_id).collect();
    account_ids.extend(mentions.iter().map(|(_, a)| *a));
    account_ids.sort_unstable();
    account_ids.dedup();
    let accounts = match fresh {
        // The author as of the post's commit: the row read with the token, with the
        // counters read back with the post.
        Some(f) if rows.iter().all(|r| r.account_id == f.author.id) => {
            let counters = &f.stored.author;
            let author = AccountRow {
                statuses_count: counters.statuses_count,
                last_status_at: counters.last_status_at,
                ..f.author.clone()
            };
            let version = f.author_version + counters.stats_version;
            app.accounts
                .get_given(db, &app.urls, &account_ids, &author, version)
                .await?
        }
        _ => app.accounts.get(db, &app.urls, &account_ids).await?,
    };
    let flags = match viewer {
        Some(_) if fresh.is_some() => Some(Default::default()),
        Some(v) => Some(fulmar_store::statuses::viewer_flags(db, v, &status_ids).await?),
        None => None,
    };
    let mut mentions_by: HashMap<i64, Vec<Mention>> = HashMap::new();
    for (status_id, account_id) in mentions {
        if let Some(a) = accounts.get(&account_id) {
            mentions_by.entry(status_id).or_default().push(Mention {
                id: a.id.clone(),
                username: a.username.clone(),
                url: a.url.clone(),
                acct: a.acct.clone(),
            });
        }
    }
    // Mastodon shows the posting application to the author only.
    // A new post's application is the token's, read with it.
    let given = fresh.and_then(|f| f.application);
    let app_ids: Vec<i64> = all
        .iter()
        .filter(|s| viewer == Some(s.account_id))
        .filter_map(|s| s.application_id)
        .filter(|id| given.is_none_or(|(known, ..)| known != id))
        .collect();
    let applications: HashMap<i64, Application> =
        fulmar_store::status_actions::applications(db, &app_ids)
            .await?
            .into_iter()
            .chain(given.cloned())
            .map(|(id, name, website)| (id, Application { name, website }))
            .collect();
    let poll_ids: Vec<i64> = all.iter().filter_map(|s| s.poll_id).collect();
    let polls: HashMap<i64, Poll> = fulmar_store::remote::polls_by_ids(db, &poll_ids)
        .await?
        .iter()
        .map(|p| (p.id, poll(p, viewer.is_some())))
        .collect();
    // Media of the whole page (originals of reblogs included) in one query, in
    // position order.
    let media_by = match fresh {
        Some(_) => HashMap::new(),
        None => media_by_status(db, &status_ids).await?,
    };
    let tags_by = tags_by_status(&app.urls, tags);

    let convert = |row: &StatusRow| -> Option<Status> {
        let author = accounts.get(&row.account_id)?;
        let mut entity = base_status(
            &app.urls,
            row,
            author,
            media_by.get(&row.id).cloned().unwrap_or_default(),
            mentions_by.get(&row.id).cloned().unwrap_or_default(),
            tags_by.get(&row.id).cloned().unwrap_or_default(),
        );
        let flag =
            |set: fn(&fulmar_store::statuses::ViewerFlags) -> &std::collections::HashSet<i64>| {
                flags.as_ref().map(|f| set(f).contains(&row.id))
            };
        entity.application = row
            .application_id
            .filter(|_| viewer == Some(row.account_id))
            .and_then(|id| applications.get(&id).cloned());
        entity.poll = row.poll_id.and_then(|id| polls.get(&id).cloned());
        entity.quote_approval = Some(approval(row));
        entity.favourited = flag(|f| &f.favourited);
        entity.reblogged = flag(|f| &f.reblogged);
        entity.muted = flags.as_ref().map(|_| false);
        entity.bookmarked = flag(|f| &f.bookmarked);
        entity.pinned = flag(|f| &f.pinned);
        entity.filtered = flags.as_ref().map(|_| Vec::new());
        Some(entity)
    };

    let quote_state = |row: &StatusRow| -> String {
        row.quote_state
            .clone()
            .unwrap_or_else(|| crate::core::quotes::PENDING.to_owned())
    };
    // A quoted status shows its own quote shallowly (the id only), as Mastodon does,
    // so that a chain of quotes is one level deep in every response.
    let shallow = |row: &StatusRow| -> Option<Value> {
        let of = row.quote_of_id?;
        Some(json!({"state": quote_state(row), "quoted_status_id": of.to_string()}))
    };
    let with_quote = |row: &StatusRow| -> Option<Status> {
        let mut entity = convert(row)?;
        if let Some(of) = row.quote_of_id {
            // As Mastodon: only an accepted quote shows its quoted status; the
            // `deleted` and `unauthorized` states are worked out for accepted ones.
            let stored = quote_state(row);
            let (state, shown) = match quoted.get(&of) {
                _ if stored != crate::core::quotes::ACCEPTED => (stored, None),
                Some(q) => match convert(q) {
                    Some(mut inner) => {
                        inner.quote = shallow(q);
                        inner.quote_approval = Some(approval(q));
                        (stored, Some(inner))
                    }
                    None => ("deleted".to_owned(), None),
                },
                None if hidden.contains(&of) => ("unauthorized".to_owned(), None),
                None => ("deleted".to_owned(), None),
            };
            entity.quote = Some(json!({"state": state, "quoted_status": shown}));
        }
        Some(entity)
    };

    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(mut entity) = with_quote(row) else {
            continue;
        };
        if let Some(of) = row.reblog_of_id {
            // A reblog of something we no longer have is not shown at all.
            let Some(original) = originals.get(&of).and_then(&with_quote) else {
                continue;
            };
            // A reblog carries the original's content and counts, with its own id.
            entity.content = String::new();
            entity.reblog = Some(Box::new(original));
        }
        out.push(entity);
    }
    Ok(out)
}

/// The viewer-independent fields of a status (what `status_cache` keeps), with
/// the fields that depend on the viewer or change on their own (`application`,
/// `reblog`, `poll`, `quote`, `quote_approval` and the viewer's flags) left empty.
pub fn base_status(
    urls: &Urls,
    row: &StatusRow,
    author: &SharedAccount,
    media_attachments: Vec<MediaAttachment>,
    mentions: Vec<Mention>,
    tags: Vec<Tag>,
) -> Status {
    let (uri, url) = if row.local && row.reblog_of_id.is_some() {
        // A reblog is an Announce activity; Mastodon gives its activity URL.
        let activity = format!("{}/activity", urls.status(&author.username, row.id));
        (activity.clone(), Some(activity))
    } else if row.local {
        (
            urls.status(&author.username, row.id),
            Some(urls.status_page(&author.username, row.id)),
        )
    } else {
        (
            row.uri.clone(),
            row.url.clone().or_else(|| Some(row.uri.clone())),
        )
    };
    Status {
        id: row.id.to_string(),
        uri,
        url,
        created_at: rfc3339_ms(row.created_at),
        account: author.clone(),
        content: row.content.clone(),
        visibility: row.visibility.clone(),
        sensitive: row.sensitive,
        spoiler_text: row.spoiler_text.clone(),
        media_attachments,
        application: None,
        mentions,
        tags,
        emojis: Vec::new(),
        reblogs_count: row.reblogs_count,
        favourites_count: row.favourites_count,
        replies_count: row.replies_count,
        quotes_count: row.quotes_count,
        in_reply_to_id: row.in_reply_to_id.map(|i| i.to_string()),
        in_reply_to_account_id: row.in_reply_to_account_id.map(|i| i.to_string()),
        reblog: None,
        poll: None,
        card: None,
        language: row.language.clone(),
        text: None,
        edited_at: row.edited_at.map(rfc3339_ms),
        quote: None,
        quote_approval: None,
        favourited: None,
        reblogged: None,
        muted: None,
        bookmarked: None,
        pinned: None,
        filtered: None,
    }
}

/// A stored media attachment as the MediaAttachment entity. Fulmar neither copies nor
/// proxies remote files yet, so the client loads them from their server: `url` and
/// `preview_url` are the remote URL (there is no separate preview).
/// The media of `status_ids` in one query, grouped by status, in position order.
pub(crate) async fn media_by_status(
    db: &fulmar_store::Db,
    status_ids: &[i64],
) -> ApiResult<HashMap<i64, Vec<MediaAttachment>>> {
    let mut media_by: HashMap<i64, Vec<MediaAttachment>> = HashMap::new();
    for m in fulmar_store::remote::media_by_status_ids(db, status_ids).await? {
        if let Some(status_id) = m.status_id {
            media_by
                .entry(status_id)
                .or_default()
                .push(media_attachment(&m));
        }
    }
    Ok(media_by)
}

/// `(status id, hashtag name)` pairs as each status's `Tag` entities.
pub(crate) fn tags_by_status(
    urls: &Urls,
    tags: impl IntoIterator<Item = (i64, String)>,
) -> HashMap<i64, Vec<Tag>> {
    let mut tags_by: HashMap<i64, Vec<Tag>> = HashMap::new();
    for (status_id, name) in tags {
        tags_by.entry(status_id).or_default().push(Tag {
            url: urls.tag(&name),
            name,
        });
    }
    tags_by
}

pub fn media_attachment(row: &fulmar_store::remote::MediaRow) -> MediaAttachment {
    let meta = serde_json::from_str::<serde_json::Value>(&row.meta)
        .ok()
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    MediaAttachment {
        id: row.id.to_string(),
        kind: row.media_type.clone(),
        url: row.remote_url.clone(),
        preview_url: row.remote_url.clone(),
        remote_url: row.remote_url.clone(),
        preview_remote_url: None,
        text_url: None,
        meta,
        description: row.description.clone(),
        blurhash: row.blurhash.clone(),
    }
}

/// A stored poll as the Poll entity. Fulmar does not vote in polls yet, so a viewer
/// has never voted (`voted: false`, `own_votes: []`).
pub fn poll(row: &fulmar_store::remote::PollRow, signed_in: bool) -> Poll {
    let now = crate::core::time::now_ms();
    let expired = row.expires_at.is_some_and(|t| t <= now);
    let titles: Vec<String> = serde_json::from_str(&row.options).unwrap_or_default();
    let tallies: Vec<i64> = serde_json::from_str(&row.cached_tallies).unwrap_or_default();
    let hidden = row.hide_totals && !expired;
    Poll {
        id: row.id.to_string(),
        expires_at: row.expires_at.map(rfc3339_ms),
        expired,
        multiple: row.multiple,
        votes_count: row.votes_count,
        voters_count: row.voters_count,
        options: titles
            .into_iter()
            .enumerate()
            .map(|(i, title)| PollOption {
                title,
                votes_count: (!hidden).then(|| tallies.get(i).copied().unwrap_or(0)),
            })
            .collect(),
        emojis: Vec::new(),
        voted: signed_in.then_some(false),
        own_votes: signed_in.then(Vec::new),
    }
}

/// `source.fields`: a local account's fields as the user typed them.
pub fn source_fields_of(row: &AccountRow) -> Vec<Field> {
    serde_json::from_str::<Vec<crate::core::profile::StoredField>>(&row.fields)
        .unwrap_or_default()
        .into_iter()
        .map(|f| Field {
            name: f.name,
            value: f.value_source.unwrap_or(f.value),
            verified_at: None,
        })
        .collect()
}

/// How `viewer` relates to each account of `ids`, in the order given.
pub async fn relationships(
    app: &App,
    viewer: i64,
    ids: &[i64],
) -> ApiResult<Vec<super::entities::Relationship>> {
    let sets = fulmar_store::relationships::relationships(
        &app.db,
        viewer,
        ids,
        crate::core::time::now_ms(),
    )
    .await?;
    let languages = |json: &Option<String>| -> Option<Vec<String>> {
        json.as_deref()
            .and_then(|j| serde_json::from_str::<Vec<String>>(j).ok())
    };
    Ok(ids
        .iter()
        .map(|id| {
            let follow = sets.following.get(id);
            let request = sets.requested.get(id);
            let options = follow.or(request);
            super::entities::Relationship {
                id: id.to_string(),
                following: follow.is_some(),
                showing_reblogs: options.is_some_and(|f| f.show_reblogs),
                notifying: options.is_some_and(|f| f.notify),
                languages: options.and_then(|f| languages(&f.languages)),
                followed_by: sets.followed_by.contains(id),
                blocking: sets.blocking.contains(id),
                blocked_by: sets.blocked_by.contains(id),
                muting: sets.muting.contains_key(id),
                muting_notifications: sets.muting.get(id).copied().unwrap_or(false),
                requested: request.is_some(),
                requested_by: sets.requested_by.contains(id),
                domain_blocking: false,
                endorsed: false,
                note: sets.notes.get(id).cloned().unwrap_or_default(),
            }
        })
        .collect())
}

/// How `viewer` relates to one account.
pub async fn relationship(
    app: &App,
    viewer: i64,
    id: i64,
) -> ApiResult<super::entities::Relationship> {
    let mut list = relationships(app, viewer, &[id]).await?;
    list.pop().ok_or_else(|| {
        crate::core::CoreError::Internal(anyhow::anyhow!("relationship {id} lost")).into()
    })
}

/// Converts a page of `viewer`'s notifications. A notification whose account is gone,
/// or whose status is gone or no longer visible to `viewer`, is left out.
pub async fn notifications(
    app: &App,
    rows: &[fulmar_store::notifications::NotificationRow],
    viewer: i64,
) -> ApiResult<Vec<super::entities::Notification>> {
    let db = &app.db;
    let mut account_ids: Vec<i64> = rows.iter().map(|n| n.from_account_id).collect();
    account_ids.sort_unstable();
    account_ids.dedup();
    let accounts: HashMap<i64, AccountRow> = fulmar_store::accounts::by_ids(db, &account_ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let status_ids: Vec<i64> = rows.iter().filter_map(|n| n.status_id).collect();
    let loaded = fulmar_store::statuses::by_ids(db, &status_ids).await?;
    let seen = {
        let refs: Vec<&StatusRow> = loaded.iter().collect();
        crate::core::visibility::visible_among(db, &refs, Some(viewer)).await?
    };
    let visible: Vec<StatusRow> = loaded
        .into_iter()
        .filter(|s| seen.contains(&s.id))
        .collect();
    let statuses: HashMap<String, Status> = statuses(app, &visible, Some(viewer))
        .await?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    Ok(rows
        .iter()
        .filter_map(|n| {
            let from = accounts.get(&n.from_account_id)?;
            let status = match n.status_id {
                None => None,
                Some(id) => Some(statuses.get(&id.to_string())?.clone()),
            };
            Some(super::entities::Notification {
                id: n.id.to_string(),
                kind: n.notification_type.clone(),
                group_key: format!("ungrouped-{}", n.id),
                created_at: rfc3339_ms(n.created_at),
                account: account(&app.urls, from),
                status,
                report: None,
                relationship_severance_event: None,
                moderation_warning: None,
            })
        })
        .collect())
}
