//! Who may see a status. Every path that shows a status to someone (API, ActivityPub
//! fetches, web pages, search) asks here, so that private posts cannot leak through a
//! path that forgot a rule.

use fulmar_store::statuses::StatusRow;
use fulmar_store::Db;

use super::error::CoreResult;

/// True when `viewer` (an account id, or `None` for anonymous) may see `status`.
/// Public and unlisted statuses are visible to all; followers-only ones to the author
/// and their followers; direct ones to the author and the accounts they mention.
/// Deleted statuses are visible to no one.
pub async fn can_see(db: &Db, status: &StatusRow, viewer: Option<i64>) -> CoreResult<bool> {
    if status.deleted_at.is_some() {
        return Ok(false);
    }
    match status.visibility.as_str() {
        "public" | "unlisted" => Ok(true),
        "private" => match viewer {
            None => Ok(false),
            Some(v) if v == status.account_id => Ok(true),
            Some(v) => Ok(
                fulmar_store::follows::exists(db, v, status.account_id).await?
                    || fulmar_store::statuses::mentions_account(db, status.id, v).await?,
            ),
        },
        "direct" => match viewer {
            None => Ok(false),
            Some(v) if v == status.account_id => Ok(true),
            Some(v) => Ok(fulmar_store::statuses::mentions_account(db, status.id, v).await?),
        },
        _ => Ok(false),
    }
}
