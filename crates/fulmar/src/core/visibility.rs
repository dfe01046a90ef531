//! Who may see a status. Every path that shows a status to someone (API, ActivityPub
//! fetches, web pages, search) asks here, so that private posts cannot leak through a
//! path that forgot a rule.

use std::collections::HashSet;

use fulmar_store::statuses::StatusRow;
use fulmar_store::Db;

use super::error::CoreResult;

/// True when `viewer` (an account id, or `None` for anonymous) may see `status`.
/// Public and unlisted statuses are visible to all; followers-only ones to the author
/// and their followers; direct ones to the author and the accounts they mention.
/// Deleted statuses are visible to no one.
pub async fn can_see(db: &Db, status: &StatusRow, viewer: Option<i64>) -> CoreResult<bool> {
    // The rules live once, in `visible_among`; one status is a page of one.
    Ok(visible_among(db, &[status], viewer)
        .await?
        .contains(&status.id))
}

/// The ids of those `statuses` that `viewer` may see: [`can_see`] for a whole page, in
/// at most two queries (the viewer's follows of the authors of followers-only
/// statuses, and the viewer's mentions in followers-only and direct ones) instead of
/// up to two per status. Each query runs only when some status needs it.
pub async fn visible_among(
    db: &Db,
    statuses: &[&StatusRow],
    viewer: Option<i64>,
) -> CoreResult<HashSet<i64>> {
    let mut visible = HashSet::new();
    let mut authors = Vec::new();
    let mut restricted = Vec::new();
    for s in statuses {
        if s.deleted_at.is_some() {
            continue;
        }
        match (s.visibility.as_str(), viewer) {
            ("public" | "unlisted", _) => {
                visible.insert(s.id);
            }
            ("private" | "direct", Some(v)) if v == s.account_id => {
                visible.insert(s.id);
            }
            ("private", Some(_)) => {
                authors.push(s.account_id);
                restricted.push(s.id);
            }
            ("direct", Some(_)) => restricted.push(s.id),
            _ => {}
        }
    }
    let Some(v) = viewer else {
        return Ok(visible);
    };
    authors.sort_unstable();
    authors.dedup();
    let followed = fulmar_store::follows::followed_among(db, v, &authors).await?;
    let mentioned = fulmar_store::statuses::mentioning(db, v, &restricted).await?;
    for s in statuses {
        if !restricted.contains(&s.id) {
            continue;
        }
        let by_follow = s.visibility == "private" && followed.contains(&s.account_id);
        if by_follow || mentioned.contains(&s.id) {
            visible.insert(s.id);
        }
    }
    Ok(visible)
}
