//! Notifications: one row per event a user should hear about.

use fulmar_store::Db;

use super::error::CoreResult;
use super::ids::next_id;
use super::time::now_ms;

/// The kinds of notification Mastodon clients understand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Mention,
    Status,
    Reblog,
    Follow,
    FollowRequest,
    Favourite,
    Poll,
    Update,
    /// Someone quoted one of the recipient's statuses (Mastodon 4.5).
    Quote,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mention => "mention",
            Kind::Status => "status",
            Kind::Reblog => "reblog",
            Kind::Follow => "follow",
            Kind::FollowRequest => "follow_request",
            Kind::Favourite => "favourite",
            Kind::Poll => "poll",
            Kind::Update => "update",
            Kind::Quote => "quote",
        }
    }
}

/// Notifies `recipient` that `from` did something, unless they are the same account
/// (nobody is notified of their own actions) or the recipient is not local.
pub async fn notify(
    db: &Db,
    recipient: i64,
    from: i64,
    kind: Kind,
    status_id: Option<i64>,
) -> CoreResult<()> {
    if recipient == from {
        return Ok(());
    }
    fulmar_store::notifications::insert(
        db,
        &fulmar_store::notifications::NewNotification {
            id: next_id(),
            account_id: recipient,
            from_account_id: from,
            kind: kind.as_str().to_owned(),
            status_id,
            created_at: now_ms(),
        },
    )
    .await?;
    Ok(())
}
