//! The server under test: a real `fulmar serve` process on loopback, with a database
//! of its own, started, watched (readiness, memory) and stopped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// How long a server may take to answer `/health` before the run is abandoned.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Where one server keeps its data: a fresh directory, and a fresh database (an
/// SQLite file inside the directory, or a PostgreSQL database created for it).
pub struct Place {
    pub dir: tempfile::TempDir,
    pub database_url: String,
    /// The PostgreSQL database to drop afterwards, with the URL of the maintenance
    /// database to drop it from.
    pg_drop: Option<(String, String)>,
}

impl Place {
    /// A fresh place; with `postgres`, a new database on that server.
    pub async fn fresh(postgres: Option<&str>, label: &str) -> Result<Place> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("fulmar-bench-{label}-"))
            .tempdir()
            .context("creating a data directory")?;
        let Some(admin_url) = postgres else {
            let database_url = format!("sqlite://{}/fulmar.db", dir.path().display());
            return Ok(Place {
                dir,
                database_url,
                pg_drop: None,
            });
        };
        let name = format!(
            "fulmar_bench_{label}_{}_{}",
            std::process::id(),
            rand_suffix()
        );
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url)
            .await
            .context("connecting to --postgres")?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .context("creating a benchmark database")?;
        sqlx::Connection::close(conn).await?;
        let database_url = with_database(admin_url, &name)?;
        Ok(Place {
            dir,
            database_url,
            pg_drop: Some((admin_url.to_owned(), name)),
        })
    }

    /// Drops the PostgreSQL database, if there is one; the directory goes with `self`.
    pub async fn remove(self) -> Result<()> {
        if let Some((admin_url, name)) = &self.pg_drop {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }
}

/// A few random bits from the clock, so that two runs started in the same process id
/// (after a reboot) do not pick the same database name.
fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default()
}

/// `url` with its database (the path) replaced by `name`.
fn with_database(url: &str, name: &str) -> Result<String> {
    let mut parsed = reqwest::Url::parse(url).context("--postgres is not a URL")?;
    parsed.set_path(&format!("/{name}"));
    Ok(parsed.to_string())
}

/// A free loopback port, found by binding port 0 and letting go of it.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The settings every command of the binary gets: the place, and development mode so
/// that plain http and loopback peers are allowed.
fn configure(cmd: &mut Command, place: &Place, port: u16) {
    cmd.env("FULMAR_DATABASE_URL", &place.database_url)
        .env("FULMAR_DATA_DIR", place.dir.path().join("data"))
        .env("FULMAR_LISTEN", format!("127.0.0.1:{port}"))
        .env("FULMAR_DEV_INSECURE", "1")
        // The limits per token and per origin would turn a benchmark into a test of
        // the limiter: one token and a few origins send everything here.
        .env("FULMAR_RATE_LIMIT", "0")
        .env("FULMAR_INBOX_RATE_LIMIT", "0")
        .env_remove("FULMAR_CONFIG")
        .current_dir(place.dir.path());
}

/// Runs an admin command of the binary against `place` and returns its standard output.
pub fn admin(bin: &Path, place: &Place, args: &[&str]) -> Result<String> {
    let mut cmd = Command::new(bin);
    configure(&mut cmd, place, 8080);
    let out = cmd
        .arg("admin")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} admin {}", bin.display(), args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "fulmar admin {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Creates the benchmark's local user and returns an access token for it.
pub fn create_user(bin: &Path, place: &Place, name: &str) -> Result<String> {
    admin(
        bin,
        place,
        &[
            "create-user",
            name,
            "--email",
            &format!("{name}@bench.example"),
            "--password",
            "a benchmark password",
        ],
    )?;
    admin(
        bin,
        place,
        &["token", name, "--scopes", "read write follow"],
    )
}

/// A running `fulmar serve`.
pub struct Server {
    child: Child,
    pub base: String,
    /// Spawn to the first 200 from `/health`.
    pub ready_after: Duration,
    log: PathBuf,
}

impl Server {
    /// Starts the binary on a free port and waits until `/health` answers 200.
    pub async fn start(bin: &Path, place: &Place, client: &reqwest::Client) -> Result<Server> {
        let port = free_port()?;
        let log = place.dir.path().join("server.log");
        let log_file = std::fs::File::create(&log)?;
        let mut cmd = Command::new(bin);
        configure(&mut cmd, place, port);
        cmd.arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file);
        let started = Instant::now();
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let base = format!("http://127.0.0.1:{port}");
        let mut server = Server {
            child,

            base,
            ready_after: Duration::ZERO,
            log,
        };
        let health = format!("{}/health", server.base);
        loop {
            if let Ok(res) = client.get(&health).send().await {
                if res.status() == 200 {
                    break;
                }
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "fulmar serve exited with {status} before it was ready: {}",
                    server.log_tail()
                );
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!("fulmar serve was not ready within {READY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        server.ready_after = started.elapsed();
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now and at its peak, in bytes, from /proc.
    pub fn memory(&self) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> Result<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kb| kb * 1024)
                .with_context(|| format!("no {name} in /proc/PID/status"))
        };
        Ok(Memory {
            rss: field("VmRSS:")?,
            peak: field("VmHWM:")?,
            anon: field("RssAnon:")?,
            file: field("RssFile:")?,
        })
    }

    /// The last lines of the server's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// Stops the server with SIGTERM (a graceful shutdown), then SIGKILL if it is
    /// still there after ten seconds.
    pub async fn stop(mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..1000 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Memory {
    pub rss: u64,
    pub peak: u64,
    /// The anonymous part of `rss`: heap, stacks, caches (`RssAnon`).
    pub anon: u64,
    /// The file-backed part of `rss`: the pages of the binary and the shared
    /// libraries that are mapped in (`RssFile`), shared with every other process
    /// running the same files and dropped first under memory pressure.
    pub file: u64,
}
