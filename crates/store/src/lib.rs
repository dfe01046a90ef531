//! Fulmar's storage: one code path over SQLite and PostgreSQL.
//!
//! Every query is written once, in SQL that both databases accept (`$1` placeholders,
//! `ON CONFLICT`, `RETURNING`, BIGINT millisecond times), and run through
//! [`with_pool!`], which expands the same code once per driver. That keeps the native
//! drivers' speed and type checking while guaranteeing that the two databases never
//! drift apart in behaviour: a test that passes on one exercises the same statement on
//! the other. The queries of a page of statuses are written once too, with
//! [`read::Select`], but SQLite runs them through rusqlite on the caller's thread (see
//! [`read`] for why).
//!
//! This crate knows SQL and nothing about HTTP, ActivityPub or the Mastodon API. Rows
//! are plain structs of primitive values; the layers above give them meaning.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub mod accounts;
pub mod backfill;
pub mod collections;
pub mod domain_blocks;
pub mod follows;
pub mod inbound;
pub mod instance;
pub mod jobs;
pub mod keys;
pub mod notifications;
pub mod oauth;
pub mod page;
pub mod quotes;
pub mod read;
pub mod relationships;
pub mod remote;
pub mod search;
pub mod status_actions;
pub mod statuses;
pub mod threads;
pub mod timelines;
pub mod tokens;
pub mod users;

pub use page::{push_id_list, PageParams};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// A connection pool to whichever database the operator configured. SQLite has a
/// second set of connections for the hot read path ([`read`]).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, read::Readers),
    Postgres(PgPool),
}

/// Runs the same body against whichever pool `db` holds. Inside the body the pool is
/// bound to `$pool` with its concrete type, so generic sqlx code compiles once per
/// driver.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool, _) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}

/// Errors of the storage layer. Unique-constraint violations are told apart because
/// callers turn them into "already taken" answers rather than internal errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    #[error("database URL: {0}")]
    BadUrl(String),
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// An error of the SQLite read path ([`read`]).
    #[error(transparent)]
    Read(#[from] rusqlite::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                // PostgreSQL names the constraint; SQLite names the index in its message.
                let what = db
                    .constraint()
                    .map(str::to_owned)
                    .unwrap_or_else(|| db.message().to_owned());
                return StoreError::Conflict(what);
            }
        }
        StoreError::Database(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Opening write transactions. On SQLite a transaction starts with `BEGIN IMMEDIATE`,
/// which takes the write lock at once: a deferred transaction that reads first and
/// writes later cannot wait for another connection's lock (SQLite answers
/// `SQLITE_BUSY` at once rather than honour the busy timeout, since waiting could
/// deadlock), so two concurrent writers would make one fail instead of queueing.
/// PostgreSQL's plain `BEGIN` is right as it is.
pub trait WritePool {
    type Database: sqlx::Database;

    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, Self::Database>, sqlx::Error>,
    > + Send;
}

impl WritePool for SqlitePool {
    type Database = sqlx::Sqlite;

    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>,
    > + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl WritePool for PgPool {
    type Database = sqlx::Postgres;

    fn begin_write(
        &self,
    ) -> impl std::future::Future<
        Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>,
    > + Send {
        self.begin()
    }
}

/// How long an SQLite connection waits for another's write lock before failing: the
/// pool's connections, the readers and the inbox's writer alike.
pub(crate) const BUSY_TIMEOUT_SECS: u64 = 10;

/// Which database a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Tells the backend from a URL's scheme, or says what is wrong with it.
    pub fn of_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(format!(
                "{url:?} is neither sqlite://PATH nor postgres://USER@HOST/DATABASE"
            ))
        }
    }
}

/// The file path inside a `sqlite://` URL, without query parameters.
pub fn sqlite_path(url: &str) -> &str {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    rest.split('?').next().unwrap_or(rest)
}

impl Db {
    /// Opens a pool. SQLite files (and their directory) are created when missing and
    /// run in WAL mode, so that the admin commands can write while a server reads and
    /// writes the same file.
    pub async fn connect(url: &str) -> Result<Db> {
        match Backend::of_url(url).map_err(StoreError::BadUrl)? {
            Backend::Sqlite => {
                let path = sqlite_path(url);
                if path.is_empty() {
                    return Err(StoreError::BadUrl("sqlite:// URL without a path".into()));
                }
                if let Some(dir) = std::path::Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(|e| {
                            StoreError::BadUrl(format!("cannot create {}: {e}", dir.display()))
                        })?;
                    }
                }
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL is durable in WAL mode except against power loss in the
                    // last moments before a checkpoint, the usual trade for servers.
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECS))
                    .foreign_keys(true)
                    .pragma("temp_store", "memory")
                    // A 8 MiB page cache per connection keeps idle memory small.
                    .pragma("cache_size", "-8000");
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .min_connections(1)
                    // sqlx pings a pooled connection before lending it by default: for
                    // SQLite, a round trip to the connection's thread (two context
                    // switches) that doubled the cost of every short query, and a
                    // local file cannot drop a connection the way a server can.
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                Ok(Db::Sqlite(pool, read::Readers::new(path)))
            }
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::BadUrl(e.to_string()))?;
                // One direct connection first: a wrong host or password then fails at
                // once with the server's reason, instead of after the pool's retries.
                sqlx::Connection::close(
                    <sqlx::PgConnection as sqlx::Connection>::connect_with(&options).await?,
                )
                .await?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    // sqlx pings a connection before lending it by default: a round
                    // trip to the server before every query, on top of the ping that
                    // already tests each connection when it comes back to the pool. A
                    // connection the server dropped since then fails its next query,
                    // which returns an error for that request and closes the
                    // connection; the pool opens a new one.
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                Ok(Db::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies every migration that has not run yet. Safe to call from several
    /// processes: both drivers take a lock while migrating.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Db::Sqlite(p, _) => SQLITE_MIGRATIONS.run(p).await?,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Closes every connection; for SQLite this checkpoints the WAL.
    pub async fn close(&self) {
        if let Db::Sqlite(_, readers) = self {
            readers.close();
        }
        with_pool!(self, p => p.close().await)
    }

    /// A trivial query, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
