//! The command line: `fulmar serve` and `fulmar admin …` (migrate, create-user, token,
//! domain-block, domain-blocks).

use std::io::BufRead as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, RawSettings};
use crate::core::accounts::{self, NewLocalUser};
use crate::core::domains;
use crate::core::CoreError;
use crate::startup::{self, Server};

#[derive(Parser, Debug)]
#[command(name = "fulmar", version, about = "A federated social server", long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub settings: RawSettings,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Administer the server; works while a server runs on the same database.
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Subcommand, Debug)]
pub enum Admin {
    /// Apply database migrations (the server also applies them at start).
    Migrate,
    /// Create a local account.
    CreateUser {
        /// Letters, digits and underscores; at most 30 characters.
        name: String,
        #[arg(long)]
        email: String,
        /// The password, or `-` to read it from the first line of standard input.
        #[arg(long)]
        password: String,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Print a new access token for an account (and nothing else) on standard output.
    Token {
        name: String,
        #[arg(long, default_value = "read write follow push")]
        scopes: String,
    },
    /// Block a domain and its subdomains (Mastodon's "suspend"): nothing is accepted
    /// from it, fetched from it or delivered to it, and its accounts are suspended and
    /// unfollowed. With --remove, lift the block.
    DomainBlock {
        /// A domain name, such as spam.example. (Not named `domain`: that id belongs
        /// to the global --domain setting, which clap would fill from it.)
        #[arg(value_name = "DOMAIN")]
        target: String,
        /// Lift the block instead; suspended accounts come back (follows do not).
        #[arg(long)]
        remove: bool,
    },
    /// List blocked domains, one a line, oldest first.
    DomainBlocks,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Dropped when `main` returns, after the server has stopped: it writes out the
    // log lines still queued, so that none is lost on shutdown.
    let _log_writer = init_tracing();
    let config = match Config::load(&cli.settings) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fulmar: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fulmar: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve(config).await,
            Command::Admin(admin) => run_admin(config, admin).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fulmar: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to standard error, so that commands like `admin token` keep standard
/// output for their result. `RUST_LOG` overrides the default filter.
///
/// Lines are written by a thread of their own (tracing-appender's non-blocking
/// writer), not by the request that logs them: every request logs a line, and the
/// `write` to a file or pipe was a system call on the request's path (see
/// BENCHMARKS.md). That thread writes through a buffer that it flushes whenever its
/// queue is empty, so that under load a batch of lines takes one `write`. It is not
/// lossy: should the queue fill up, a request waits rather than a line being dropped.
/// The queue holds 4,096 lines: its slots are allocated and touched up front (the
/// crate's default of 128,000 made about 4 MB of the idle server's memory), and a
/// burst that fills it only makes requests wait for the writer. The returned guard
/// writes out what is still queued when it is dropped.
fn init_tracing() -> tracing_appender::non_blocking::WorkerGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(4096)
        .thread_name("fulmar-log")
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Colours only for a person at a terminal, not in log files or journals.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    guard
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let server = Server::build(config).await?;
    let app = server.app().clone();
    let addr = server.local_addr();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        listen = %addr,
        url = app.urls.base(),
        database = %fulmar_store::Backend::of_url(&app.config.database_url).map(|b| format!("{b:?}")).unwrap_or_default(),
        ready_ms = server.startup_time().as_millis() as u64,
        "Fulmar is ready"
    );
    let usage = fulmar_store::instance::usage(&app.db, crate::core::time::now_ms()).await?;
    if usage.users_total == 0 {
        eprintln!(
            "\n  Fulmar is running at http://{addr} and calls itself {base}.\n  \
             There are no accounts yet. Create the first one with:\n\n    \
             fulmar admin create-user NAME --email YOU@EXAMPLE.ORG --password 'A LONG PASSWORD' --admin\n\n  \
             (from a source checkout: cargo run --release -- admin create-user ...),\n  \
             then get a token for scripts with: fulmar admin token NAME\n",
            base = app.urls.base()
        );
    }
    server.run_until(startup::shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn run_admin(config: Config, command: Admin) -> anyhow::Result<()> {
    let db = startup::open_database(&config).await?;
    let urls = crate::core::urls::Urls::new(config.scheme(), &config.domain);
    let result = match command {
        Admin::Migrate => {
            eprintln!("Database is up to date.");
            Ok(())
        }
        Admin::CreateUser {
            name,
            email,
            password,
            admin,
        } => {
            let password = if password == "-" {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                password
            };
            accounts::create_local_user(
                &db,
                &urls,
                NewLocalUser {
                    username: &name,
                    email: &email,
                    password: &password,
                    admin,
                },
            )
            .await
            .map(|account| {
                eprintln!(
                    "Created {}@{} ({}){}.",
                    account.username,
                    config.domain,
                    urls.actor(&account.username),
                    if admin { ", an administrator" } else { "" }
                );
            })
            .map_err(admin_error)
        }
        Admin::Token { name, scopes } => accounts::issue_token(&db, &name, &scopes)
            .await
            .map(|token| println!("{token}"))
            .map_err(|e| match e {
                CoreError::NotFound => anyhow::anyhow!("no local account named {name:?}"),
                other => admin_error(other),
            }),
        Admin::DomainBlock {
            target,
            remove: false,
        } => domains::block(&db, &target)
            .await
            .map(|(domain, outcome)| {
                if outcome.added {
                    eprintln!(
                        "Blocked {domain} and its subdomains: {} accounts suspended, {} follows removed.",
                        outcome.suspended_accounts, outcome.removed_follows
                    );
                } else {
                    eprintln!("{domain} was already blocked.");
                }
            })
            .map_err(admin_error),
        Admin::DomainBlock {
            target,
            remove: true,
        } => domains::unblock(&db, &target)
            .await
            .map(|(domain, removed)| {
                if removed {
                    eprintln!("Lifted the block of {domain}.");
                } else {
                    eprintln!("{domain} was not blocked.");
                }
            })
            .map_err(admin_error),
        Admin::DomainBlocks => domains::list(&db)
            .await
            .map(|blocks| {
                for b in blocks {
                    println!(
                        "{}\t{}\t{}",
                        b.domain,
                        b.severity,
                        crate::core::time::rfc3339_ms(b.created_at)
                    );
                }
            })
            .map_err(admin_error),
    };
    db.close().await;
    result
}

fn admin_error(e: CoreError) -> anyhow::Error {
    match e {
        CoreError::Invalid(m) | CoreError::Conflict(m) => anyhow::anyhow!("{m}"),
        other => anyhow::anyhow!("{other}"),
    }
}
