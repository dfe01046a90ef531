//! Building and running the server: open the database, apply migrations, load the
//! instance key (or start generating it), bind, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fulmar_store::Db;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::config::Config;
use crate::core::instance;
use crate::state::App;

/// How long in-flight requests may take to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A server that is bound and ready to serve.
pub struct Server {
    app: App,
    listener: TcpListener,
    started: Instant,
}

/// Opens the database named by the configuration and brings its schema up to date.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url).await.with_context(|| {
        format!(
            "FULMAR_DATABASE_URL: cannot open {}",
            redact_password(&config.database_url)
        )
    })?;
    db.migrate()
        .await
        .context("FULMAR_DATABASE_URL: migrating the database failed")?;
    Ok(db)
}

impl Server {
    pub async fn build(config: Config) -> anyhow::Result<Server> {
        let started = Instant::now();
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "FULMAR_DATA_DIR: cannot create {}",
                config.data_dir.display()
            )
        })?;
        let db = open_database(&config).await?;
        // A stored key is loaded (and a corrupt one refused) now; a missing one is
        // generated in the background (`App::prepare_instance_key`), off the path to
        // ready.
        let key = instance::stored_key(&db)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("loading the instance actor's key")?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("FULMAR_LISTEN: cannot listen on {}", config.listen))?;
        let app = App::new(config, db, key)?;
        app.prepare_instance_key();
        Ok(Server {
            app,
            listener,
            started,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.app.config.listen)
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Time from `build` until now: the start-to-ready time when called just before
    /// serving.
    pub fn startup_time(&self) -> Duration {
        self.started.elapsed()
    }

    /// Serves until `shutdown` completes, then stops accepting connections and gives
    /// in-flight requests up to [`DRAIN_TIMEOUT`] to finish.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stopping = Arc::new(Notify::new());
        let signal = {
            let stopping = stopping.clone();
            async move {
                shutdown.await;
                stopping.notify_one();
            }
        };
        let worker = crate::worker::Worker::start(self.app.clone());
        let router = crate::http::router(self.app.clone());
        // The peer address is what the rate limiter counts anonymous API calls by.
        let serve = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal);
        tokio::select! {
            result = serve => result.context("serving HTTP")?,
            () = async { stopping.notified().await; tokio::time::sleep(DRAIN_TIMEOUT).await } => {
                tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; stopping anyway");
            }
        }
        worker.stop(DRAIN_TIMEOUT).await;
        self.app.db.close().await;
        Ok(())
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

/// Hides the password of a database URL in messages.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
