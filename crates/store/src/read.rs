//! The hot read path: the queries every page of statuses makes (the token, the page's
//! rows, their authors, mentions, tags, media and the viewer's flags).
//!
//! On PostgreSQL they run through sqlx like every other query. On SQLite they run on
//! the caller's thread through rusqlite, on a small set of reader connections to the
//! same file. sqlx-sqlite gives each connection a thread of its own and hands every
//! query, every row and the ping that returns a connection to its pool across
//! threads; a page of 40 statuses made about 50 such hand-offs, and the benchmark's
//! profile showed the context switches costing thirty times the SQL itself (see
//! BENCHMARKS.md). A page's SQL takes well under a millisecond, so running it inline
//! costs the runtime less than waking another thread for each query would.
//!
//! The SQL is written once, with [`Select`], and is the same text on both databases
//! (`$1`, `$2` … placeholders, which SQLite accepts as named parameters numbered in
//! the order they appear). Rows decode through sqlx's `FromRow` on PostgreSQL and
//! through [`FromLiteRow`] on SQLite; [`lite_row!`](crate::lite_row) writes the
//! latter from the field list, so the two cannot disagree on a column's name.
//!
//! A [`Select`] is also how the inbox's write transactions are written once (`Tx`
//! runs one in either driver's transaction; `execute_lite` and `ids_lite` on the
//! inbox's own SQLite writer, `inbound::LiteWriter`), so it is not only for reads.
//!
//! Readers see what is committed, as any other connection does in WAL mode, and they
//! are `query_only`: a write sent down this path fails instead of bypassing the
//! writers' transactions. In WAL mode a reader waits for a lock only while another
//! connection recovers or truncates the log (at start and at close), so the busy
//! timeout that still applies almost never holds up the runtime's thread.

use std::fmt::Display;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{Arguments, Database, Encode, QueryBuilder, Type};

use crate::{Db, Result, StoreError};

/// A bound value of a [`Select`]. A null says which type it stands for, since
/// PostgreSQL types every parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Int(i64),
    Text(String),
    Bool(bool),
    NullInt,
    NullText,
}

impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Arg::Int)
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Arg::NullText, |v| Arg::Text(v.to_owned()))
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

/// The part of a query builder that the shared SQL fragments (cursors, id lists,
/// block and mute filters) need, so that one fragment serves both sqlx's
/// `QueryBuilder` and [`Select`].
pub trait SqlBuilder {
    fn push(&mut self, sql: impl Display) -> &mut Self;
    fn push_bind_int(&mut self, value: i64) -> &mut Self;
}

impl<'a, DB> SqlBuilder for QueryBuilder<'a, DB>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB> + 'a,
{
    fn push(&mut self, sql: impl Display) -> &mut Self {
        QueryBuilder::push(self, sql)
    }

    fn push_bind_int(&mut self, value: i64) -> &mut Self {
        QueryBuilder::push_bind(self, value)
    }
}

/// A SELECT on the hot read path: SQL with `$n` placeholders and its bound values.
#[derive(Clone, Debug, Default)]
pub struct Select {
    sql: String,
    args: Vec<Arg>,
}

impl SqlBuilder for Select {
    fn push(&mut self, sql: impl Display) -> &mut Self {
        Select::push(self, sql)
    }

    fn push_bind_int(&mut self, value: i64) -> &mut Self {
        self.push_bind(value)
    }
}

impl Select {
    pub fn new(sql: impl Into<String>) -> Self {
        Select {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: impl Display) -> &mut Self {
        use std::fmt::Write;
        let _ = write!(self.sql, "{sql}");
        self
    }

    /// Appends a placeholder for `value`.
    pub fn push_bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        let n = self.args.len();
        self.push(format_args!("${n}"))
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Every row, decoded.
    pub async fn fetch_all<T>(self, db: &Db) -> Result<Vec<T>>
    where
        T: FromLiteRow + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        match db {
            Db::Sqlite(_, readers) => self.read_lite(readers, usize::MAX),
            Db::Postgres(pool) => {
                let args = arguments::<sqlx::Postgres>(self.args)?;
                Ok(sqlx::query_as_with::<_, T, _>(&self.sql, args)
                    .fetch_all(pool)
                    .await?)
            }
        }
    }

    /// The first row, if any.
    pub async fn fetch_optional<T>(self, db: &Db) -> Result<Option<T>>
    where
        T: FromLiteRow + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        match db {
            Db::Sqlite(_, readers) => Ok(self.read_lite(readers, 1)?.into_iter().next()),
            Db::Postgres(pool) => {
                let args = arguments::<sqlx::Postgres>(self.args)?;
                Ok(sqlx::query_as_with::<_, T, _>(&self.sql, args)
                    .fetch_optional(pool)
                    .await?)
            }
        }
    }

    /// At most `max` rows through a SQLite reader, on this thread.
    fn read_lite<T: FromLiteRow>(&self, readers: &Readers, max: usize) -> Result<Vec<T>> {
        readers.run(|conn| self.rows_on(conn, max))
    }

    /// At most `max` rows, decoded, on a rusqlite connection, on this thread.
    fn rows_on<T: FromLiteRow>(
        &self,
        conn: &rusqlite::Connection,
        max: usize,
    ) -> rusqlite::Result<Vec<T>> {
        let mut stmt = conn.prepare_cached(&self.sql)?;
        bind(&mut stmt, &self.args)?;
        let columns = T::columns(&stmt)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while out.len() < max {
            match rows.next()? {
                Some(row) => out.push(T::from_lite(row, &columns)?),
                None => break,
            }
        }
        Ok(out)
    }
}

/// Binds by position: [`Select`] numbers its placeholders in the order it writes
/// them, which is the order SQLite numbers named parameters in.
/// Booleans are bound as 0 and 1, as sqlx-sqlite binds them.
fn bind(stmt: &mut rusqlite::Statement<'_>, args: &[Arg]) -> rusqlite::Result<()> {
    for (i, arg) in args.iter().enumerate() {
        match arg {
            Arg::Int(v) => stmt.raw_bind_parameter(i + 1, v)?,
            Arg::Text(v) => stmt.raw_bind_parameter(i + 1, v)?,
            Arg::Bool(v) => stmt.raw_bind_parameter(i + 1, i64::from(*v))?,
            Arg::NullInt | Arg::NullText => {
                stmt.raw_bind_parameter(i + 1, rusqlite::types::Null)?
            }
        }
    }
    Ok(())
}

/// The arguments of a [`Select`] for either sqlx driver.
fn arguments<'q, DB>(args: Vec<Arg>) -> Result<<DB as Database>::Arguments<'q>>
where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<String>: Encode<'q, DB> + Type<DB>,
{
    let mut out = <DB as Database>::Arguments::<'q>::default();
    for arg in args {
        match arg {
            Arg::Int(v) => out.add(v),
            Arg::Text(v) => out.add(v),
            Arg::Bool(v) => out.add(v),
            Arg::NullInt => out.add(None::<i64>),
            Arg::NullText => out.add(None::<String>),
        }
        .map_err(|e| StoreError::Database(sqlx::Error::Encode(e)))?;
    }
    Ok(out)
}

/// A transaction of either driver that a statement built with [`Select`] runs in,
/// so that a statement is built once for both databases. The SQLite writer of the
/// inbox's group commit runs the same statements through rusqlite instead
/// ([`Select::execute_lite`], [`Select::ids_lite`]).
pub(crate) enum Tx<'t, 'c> {
    Sqlite(&'t mut sqlx::Transaction<'c, sqlx::Sqlite>),
    Postgres(&'t mut sqlx::Transaction<'c, sqlx::Postgres>),
}

/// The [`Tx`] of a transaction, for code written once over both pools
/// (`with_pool!`).
pub(crate) trait AsTx<'c> {
    fn as_tx(&mut self) -> Tx<'_, 'c>;
}

impl<'c> AsTx<'c> for sqlx::Transaction<'c, sqlx::Sqlite> {
    fn as_tx(&mut self) -> Tx<'_, 'c> {
        Tx::Sqlite(self)
    }
}

impl<'c> AsTx<'c> for sqlx::Transaction<'c, sqlx::Postgres> {
    fn as_tx(&mut self) -> Tx<'_, 'c> {
        Tx::Postgres(self)
    }
}

impl Tx<'_, '_> {
    /// Runs a statement, returning how many rows it changed.
    pub(crate) async fn execute(&mut self, q: Select) -> Result<u64> {
        Ok(match self {
            Tx::Sqlite(tx) => sqlx::query_with(&q.sql, arguments::<sqlx::Sqlite>(q.args)?)
                .execute(&mut ***tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => sqlx::query_with(&q.sql, arguments::<sqlx::Postgres>(q.args)?)
                .execute(&mut ***tx)
                .await?
                .rows_affected(),
        })
    }

    /// Runs a statement whose rows are one integer each (`RETURNING id`).
    pub(crate) async fn ids(&mut self, q: Select) -> Result<Vec<i64>> {
        Ok(match self {
            Tx::Sqlite(tx) => {
                sqlx::query_scalar_with::<_, i64, _>(&q.sql, arguments::<sqlx::Sqlite>(q.args)?)
                    .fetch_all(&mut ***tx)
                    .await?
            }
            Tx::Postgres(tx) => {
                sqlx::query_scalar_with::<_, i64, _>(&q.sql, arguments::<sqlx::Postgres>(q.args)?)
                    .fetch_all(&mut ***tx)
                    .await?
            }
        })
    }
}

impl Select {
    /// Runs the statement on a rusqlite connection, on this thread, returning how
    /// many rows it changed.
    pub(crate) fn execute_lite(&self, conn: &rusqlite::Connection) -> Result<u64> {
        let mut stmt = conn.prepare_cached(&self.sql)?;
        bind(&mut stmt, &self.args)?;
        Ok(stmt.raw_execute()? as u64)
    }

    /// Runs a statement whose rows are one integer each (`RETURNING id`) on a
    /// rusqlite connection, on this thread.
    pub(crate) fn ids_lite(&self, conn: &rusqlite::Connection) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = self.rows_on(conn, usize::MAX)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }
}

/// Decoding a row read through rusqlite: the SQLite twin of sqlx's `FromRow`.
/// `columns` runs once per query and `from_lite` once per row, so that a type read by
/// column name looks each name up once, not once per row.
pub trait FromLiteRow: Sized {
    /// The column names it reads, in the order `from_lite` takes their positions.
    const FIELDS: &'static [&'static str] = &[];

    fn columns(_stmt: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
        Ok(Vec::new())
    }

    fn from_lite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self>;
}

/// The position of each of `fields` among the statement's columns (compared as
/// SQLite compares names, ignoring ASCII case).
pub fn column_positions(
    stmt: &rusqlite::Statement<'_>,
    fields: &[&str],
) -> rusqlite::Result<Vec<usize>> {
    prefixed_positions(&stmt.column_names(), "", fields)
}

/// The positions of `prefix` + each of `fields` among `names`, for rows that hold the
/// columns of several tables under prefixed aliases.
pub fn prefixed_positions(
    names: &[&str],
    prefix: &str,
    fields: &[&str],
) -> rusqlite::Result<Vec<usize>> {
    fields
        .iter()
        .map(|f| {
            names
                .iter()
                .position(|n| {
                    n.len() == prefix.len() + f.len()
                        && n.get(..prefix.len())
                            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
                        && n.get(prefix.len()..)
                            .is_some_and(|rest| rest.eq_ignore_ascii_case(f))
                })
                .ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("{prefix}{f}")))
        })
        .collect()
}

/// Decoding a PostgreSQL row whose columns carry a prefix (`u_id`, `a_id`), for a row
/// that joins several tables under prefixed aliases.
pub trait FromPrefixedPgRow: Sized {
    fn from_pg_prefixed(row: &PgRow, prefix: &str) -> Result<Self, sqlx::Error>;
}

/// Implements [`FromLiteRow`] and [`FromPrefixedPgRow`] for a struct whose fields are
/// named as the columns of the query, as sqlx's `FromRow` derive reads them.
#[macro_export]
macro_rules! lite_row {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::read::FromLiteRow for $ty {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

            fn columns(stmt: &rusqlite::Statement<'_>) -> rusqlite::Result<Vec<usize>> {
                $crate::read::column_positions(stmt, Self::FIELDS)
            }

            fn from_lite(row: &rusqlite::Row<'_>, columns: &[usize]) -> rusqlite::Result<Self> {
                let mut at = columns.iter().copied();
                let mut next =
                    || at.next().ok_or_else(|| rusqlite::Error::InvalidColumnIndex(columns.len()));
                Ok($ty { $($field: row.get(next()?)?,)* })
            }
        }

        impl $crate::read::FromPrefixedPgRow for $ty {
            fn from_pg_prefixed(
                row: &sqlx::postgres::PgRow,
                prefix: &str,
            ) -> Result<Self, sqlx::Error> {
                Ok($ty {
                    $($field: sqlx::Row::try_get(
                        row,
                        format!("{prefix}{}", stringify!($field)).as_str(),
                    )?,)*
                })
            }
        }
    };
}

macro_rules! lite_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: rusqlite::types::FromSql),+> FromLiteRow for ($($t,)+) {
            fn from_lite(row: &rusqlite::Row<'_>, _: &[usize]) -> rusqlite::Result<Self> {
                Ok(($(row.get::<_, $t>($i)?,)+))
            }
        }
    };
}

lite_tuple!(A 0);
lite_tuple!(A 0, B 1);
lite_tuple!(A 0, B 1, C 2);
lite_tuple!(A 0, B 1, C 2, D 3);

/// Reader connections of one SQLite file, opened when first needed and kept for the
/// next caller. At most as many are open as callers ran at once, which is the number
/// of the runtime's threads, since a read never waits for anything but SQLite.
#[derive(Clone, Debug)]
pub struct Readers {
    inner: Arc<ReadersInner>,
}

#[derive(Debug)]
struct ReadersInner {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
}

/// Prepared statements kept per reader connection. A page's queries differ by the
/// length of their id lists, so a few dozen shapes are in use at once.
const STATEMENT_CACHE: usize = 128;

/// Idle reader connections kept open; any more are closed when they come back.
const MAX_IDLE: usize = 8;

impl Readers {
    pub(crate) fn new(path: impl Into<PathBuf>) -> Self {
        Readers {
            inner: Arc::new(ReadersInner {
                path: path.into(),
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        // No mutex: a connection is used by one thread at a time, handed over
        // through `idle`.
        let conn = rusqlite::Connection::open_with_flags(
            &self.inner.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(crate::BUSY_TIMEOUT_SECS))?;
        // The same page cache as the writers' connections; `query_only` refuses
        // writes, so nothing can change the database outside a write transaction.
        conn.execute_batch(
            "PRAGMA query_only = ON; PRAGMA cache_size = -8000; PRAGMA temp_store = memory;",
        )?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// The database file.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.inner.path
    }

    /// Runs `f` on an idle reader, or on a new one.
    pub(crate) fn run<R>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R>,
    ) -> Result<R> {
        let idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.open()?,
        };
        let out = f(&conn);
        let mut idle = self.inner.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        Ok(out?)
    }

    /// Closes the idle readers (the pool's `close` does the same for the writers).
    pub(crate) fn close(&self) {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
