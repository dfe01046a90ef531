//! Mastodon-style id pagination, shared by every list query.

use crate::read::SqlBuilder;

/// A page request: `max_id` is an exclusive upper bound, `since_id` an exclusive lower
/// bound that still returns the newest rows, and `min_id` an exclusive lower bound that
/// returns the rows immediately above it (queried ascending, then reversed). Results
/// are always newest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageParams {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: i64,
}

impl PageParams {
    pub fn newest(limit: i64) -> Self {
        PageParams {
            limit,
            ..Default::default()
        }
    }

    /// Appends ` AND col < … AND col > … ORDER BY col … LIMIT …` to a query whose
    /// WHERE clause is already open.
    pub fn push_sql(&self, qb: &mut impl SqlBuilder, column: &str) {
        if let Some(max) = self.max_id {
            qb.push(format_args!(" AND {column} < ")).push_bind_int(max);
        }
        if let Some(since) = self.since_id {
            qb.push(format_args!(" AND {column} > "))
                .push_bind_int(since);
        }
        if let Some(min) = self.min_id {
            qb.push(format_args!(" AND {column} > ")).push_bind_int(min);
        }
        let order = if self.ascending() { "ASC" } else { "DESC" };
        // The limit is written into the SQL, not bound. PostgreSQL plans a prepared
        // statement again for every execution when its generic plan looks costlier
        // than the plans made for the values given, and with `LIMIT $n` it always
        // does, since the generic plan cannot know how few rows are wanted: planning
        // the home page took three times as long as running it. A page's limit takes
        // only a few values, so the statement cache still holds them all.
        qb.push(format_args!(
            " ORDER BY {column} {order} LIMIT {}",
            self.limit
        ));
    }

    /// True when the query runs oldest first and its rows must be reversed.
    pub fn ascending(&self) -> bool {
        self.min_id.is_some()
    }

    /// Puts rows fetched with [`PageParams::push_sql`] newest first.
    pub fn finish<T>(&self, mut rows: Vec<T>) -> Vec<T> {
        if self.ascending() {
            rows.reverse();
        }
        rows
    }
}

/// Appends `(id1, id2, …)` as bound parameters; an empty list becomes `(NULL)`, which
/// matches nothing, so that callers need no special case.
pub fn push_id_list(qb: &mut impl SqlBuilder, ids: &[i64]) {
    if ids.is_empty() {
        qb.push("(NULL)");
        return;
    }
    qb.push("(");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push_bind_int(*id);
    }
    qb.push(")");
}
