#![allow(dead_code)] // The harness serves every test file; not each uses every helper.
//! The in-process test harness: a real Fulmar server on a loopback port, on a fresh
//! SQLite file or a fresh PostgreSQL database, driven over real HTTP.
//!
//! Every store-touching test is written once with [`db_test!`], which expands to one
//! test per database. The PostgreSQL half reads its server from
//! `FULMAR_TEST_DATABASE_URL` (any database on that server; each test creates and drops
//! its own). Without it the PostgreSQL half fails, unless `FULMAR_TEST_SKIP_POSTGRES=1`
//! asks for the skip (see [`postgres_url`]); in CI (`CI=true`) it always fails.

use std::net::SocketAddr;
use std::path::PathBuf;

use fulmar::config::{Config, RawSettings};
use fulmar::startup::Server;
use fulmar::App;
use fulmar_store::accounts::AccountRow;
use fulmar_store::Db;
use serde_json::Value;
use sqlx::Connection as _;
use tokio::sync::oneshot;

/// The domain test servers call themselves, so that snapshots do not depend on the
/// port the server happened to bind.
pub const DOMAIN: &str = "fulmar.test";
pub const POSTGRES_ENV: &str = "FULMAR_TEST_DATABASE_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Writes one test per database. The body is an async closure taking a [`TestApp`].
#[macro_export]
macro_rules! db_test {
    ($(#[$meta:meta])* $name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite)
                    .await
                    .unwrap();
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) =
                    $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await
                else {
                    return;
                };
                ($body)(app).await;
            }
        }
    };
}

pub struct TestApp {
    pub backend: Backend,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, where the server really listens.
    pub address: String,
    pub app: App,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    database_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _tmp: tempfile::TempDir,
    postgres: Option<PgScratch>,
}

/// A database created for one test, dropped with it.
struct PgScratch {
    admin_url: String,
    name: String,
}

impl TestApp {
    /// Starts a server on a fresh database; `None` when PostgreSQL is not configured
    /// outside CI (after saying so on standard error).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with a chance to change the configuration first.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let tmp = tempfile::tempdir().expect("temporary directory");
        let data_dir = tmp.path().join("data");
        let (database_url, postgres) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", tmp.path().join("fulmar.db").display()),
                None,
            ),
            Backend::Postgres => {
                let admin_url = postgres_url()?;
                let name = format!("fulmar_test_{:016x}", rand_u64());
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("{POSTGRES_ENV}: cannot connect: {e}"));
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                let mut url = url::Url::parse(&admin_url).expect("postgres URL");
                url.set_path(&name);
                (url.to_string(), Some(PgScratch { admin_url, name }))
            }
        };
        let mut config = Config::check(RawSettings {
            domain: Some(DOMAIN.into()),
            listen: Some("127.0.0.1:0".into()),
            database_url: Some(database_url.clone()),
            data_dir: Some(data_dir.to_string_lossy().into_owned()),
            dev_insecure: None,
            config: None,
        })
        .expect("test configuration");
        tweak(&mut config);
        let server = Server::build(config).await.expect("server starts");
        let addr = server.local_addr();
        let app = server.app().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server.run_until(async move {
            let _ = rx.await;
        }));
        Some(TestApp {
            backend,
            addr,
            address: format!("http://{addr}"),
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
            data_dir,
            database_url,
            shutdown: Some(tx),
            server: Some(handle),
            _tmp: tmp,
            postgres,
        })
    }

    pub fn db(&self) -> &Db {
        &self.app.db
    }

    /// The database URL, for running the `fulmar` binary against the same database.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_with_accept(&self, path: &str, accept: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("Accept", accept)
            .send()
            .await
            .expect("GET")
    }

    /// GETs an ActivityPub document and checks that it is served as one.
    pub async fn get_activity(&self, path: &str) -> Value {
        let res = self
            .get_with_accept(path, "application/activity+json")
            .await;
        assert_eq!(res.status(), 200, "GET {path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/activity+json",
            "GET {path}"
        );
        res.json().await.expect("JSON body")
    }

    /// Creates a local account through the same service the admin command uses.
    pub async fn create_user(&self, name: &str) -> AccountRow {
        fulmar::core::accounts::create_local_user(
            &self.app.db,
            &self.app.urls,
            fulmar::core::accounts::NewLocalUser {
                username: name,
                email: &format!("{name}@example.org"),
                password: "correct horse battery staple",
                admin: false,
            },
        )
        .await
        .expect("create user")
    }

    /// Creates a user and returns a bearer token with the given scopes.
    pub async fn user_with_token(&self, name: &str, scopes: &str) -> (AccountRow, String) {
        let account = self.create_user(name).await;
        let token = fulmar::core::accounts::issue_token(&self.app.db, name, scopes)
            .await
            .expect("token");
        (account, token)
    }

    /// A Mastodon API request with a bearer token.
    pub fn api(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// GET with a token; returns status and JSON body (Null when the body is empty).
    pub async fn api_get(&self, path: &str, token: &str) -> (u16, Value) {
        send(self.api(reqwest::Method::GET, path, token)).await
    }

    /// POST a JSON body with a token.
    pub async fn api_post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        send(self.api(reqwest::Method::POST, path, token).json(&body)).await
    }

    /// POST a form body with a token.
    pub async fn api_post_form(
        &self,
        path: &str,
        token: &str,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        send(self.api(reqwest::Method::POST, path, token).form(form)).await
    }

    /// Stops the server and waits for it, as SIGTERM would.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.server.take() {
            handle
                .await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(pg) = self.postgres.take() {
            // Dropping needs async I/O, and Drop cannot await: do it on a thread of
            // its own. FORCE ends the server's connections if they are still open.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&pg.admin_url).await {
                        let _ = sqlx::query(&format!(
                            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                            pg.name
                        ))
                        .execute(&mut conn)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// The PostgreSQL server URL for tests. Without one, the PostgreSQL half of a test
/// fails, unless `FULMAR_TEST_SKIP_POSTGRES=1` says that skipping is intended (then it
/// returns `None` after a notice). A test runner hides the output of passing tests,
/// so a skip that only printed a notice would go unseen; `scripts/test` sets the
/// variable only after printing a loud banner. In CI (`CI=true`) skipping is never
/// allowed.
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!("{POSTGRES_ENV} is not set, and CI=true: the PostgreSQL half of the test suite must run in CI");
            }
            if !std::env::var("FULMAR_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
                panic!(
                    "{POSTGRES_ENV} is not set. Point it at a PostgreSQL server \
                     (e.g. {POSTGRES_ENV}=postgres://postgres@127.0.0.1:5432/postgres), \
                     or set FULMAR_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL half on purpose \
                     (scripts/test does this, loudly, when it finds no PostgreSQL)."
                );
            }
            eprintln!(
                "\n!!! SKIPPED the PostgreSQL half of this test: {POSTGRES_ENV} is not set \
                 and FULMAR_TEST_SKIP_POSTGRES=1.\n"
            );
            None
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// Reads a JSON error body and returns its `error` text, checking the shape.
pub async fn error_of(res: reqwest::Response) -> String {
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "error content-type {ct:?}"
    );
    let body: Value = res.json().await.expect("JSON error body");
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("error body without \"error\": {body}"))
        .to_owned()
}

/// Sends a request and returns the status and the JSON body (Null when empty).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let bytes = res.bytes().await.expect("body");
    if bytes.is_empty() {
        return (status, Value::Null);
    }
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

/// Writes one test per database for tests that start their own servers (several, or
/// with a special configuration): the body gets the backend. The PostgreSQL half
/// follows [`postgres_url`]'s rules.
#[macro_export]
macro_rules! fed_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)($crate::helpers::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::helpers::postgres_url().is_none() {
                    return;
                }
                ($body)($crate::helpers::Backend::Postgres).await;
            }
        }
    };
}

/// Polls `check` every 50 ms for up to 10 s (federation effects arrive through the
/// queue, a moment after the request); panics with `what` when it never holds.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_within(std::time::Duration::from_secs(10), what, check).await;
}

/// [`eventually`] with another time limit, for effects that take several fetches.
pub async fn eventually_within<F, Fut>(limit: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits (up to 10 s) until `queue` has no job left to run: every received activity
/// acted on or dropped, every fetch finished or given up.
pub async fn queue_drained(db: &Db, queue: &str) {
    eventually(&format!("the {queue} queue drains"), || async {
        fulmar_store::jobs::pending(db, queue).await.unwrap() == 0
    })
    .await;
}

/// Stores `follower` following `target` directly, as if a follow had been accepted,
/// for tests about what a follow leads to rather than how it is made.
pub async fn follow_directly(db: &Db, follower: i64, target: i64) {
    fulmar_store::relationships::follow(
        db,
        &fulmar_store::relationships::NewFollowRow {
            id: fulmar::core::ids::next_id(),
            account_id: follower,
            target_account_id: target,
            uri: None,
            show_reblogs: true,
            notify: false,
            languages: None,
            created_at: fulmar::core::time::now_ms(),
        },
    )
    .await
    .expect("store a follow");
}

/// POSTs a request announcing a `content_length`-byte body without sending the body,
/// over a raw connection, and returns the status and JSON body of the answer.
///
/// This is how a body over the size limit is tested without a race: the server
/// refuses it from its `Content-Length` alone and closes the connection, and an HTTP
/// client still busy writing megabytes of body can then fail with a broken pipe
/// before it reads the answer.
pub async fn post_announcing(
    url: &str,
    headers: &[(String, String)],
    content_length: usize,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = url::Url::parse(url).expect("URL");
    let authority = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port_or_known_default().expect("port")
    );
    let mut stream = tokio::net::TcpStream::connect(&authority)
        .await
        .expect("connect");
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {content_length}\r\n",
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers without waiting for the body")
    .expect("read");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        // Chunk sizes in hex, each followed by its data; a zero chunk ends it.
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 || tail.len() < size {
                break;
            }
            out.push_str(&tail[..size]);
            rest = tail[size..].trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_owned()
    };
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, value)
}
