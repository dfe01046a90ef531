//! `fulmar-bench`: Fulmar's benchmark harness (BENCHMARKS.md). It starts the real
//! `fulmar serve` binary as a separate process on loopback, with a fresh data
//! directory and database for each server it starts, drives it over HTTP with
//! bounded concurrency, request counts and time, and prints each figure beside the
//! limit that bounds it (measured in the same run) and beside BRIEF.md's target.
//!
//! Run it with `scripts/bench` (which builds the release binaries first).

mod ceiling;
mod figures;
mod limits;
mod load;
mod page_queries;
mod report;
mod seed;
mod server;
mod sinks;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::json;

/// Benchmarks a real `fulmar serve` over loopback HTTP.
#[derive(Parser, Debug, Clone)]
#[command(name = "fulmar-bench", version)]
pub struct Opts {
    /// Run against PostgreSQL: a URL of a server and a database to connect to
    /// first; every server run gets a new database created there, and dropped after.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Tiny sizes and short budgets: seconds in all, for CI. The figures only show
    /// that everything runs.
    #[arg(long)]
    pub smoke: bool,
    /// Where to write the results as JSON.
    #[arg(long, value_name = "PATH", default_value = "target/bench.json")]
    pub json: PathBuf,
    /// Run only these figures (comma-separated): ready, create, timeline, inbound, fanout.
    #[arg(long, value_name = "FIGURES")]
    pub only: Option<String>,
    /// The `fulmar` binary to benchmark.
    #[arg(long, value_name = "PATH", default_value = "target/release/fulmar")]
    pub fulmar_bin: PathBuf,
}

/// How much work each figure does.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Server starts for start-to-ready.
    pub starts: usize,
    /// Quiet time after ready before idle memory is read.
    pub idle_wait: Duration,
    /// Repeats of the cheap measurements, whose median is reported.
    pub repeats: usize,
    /// Requests (at most) and time (at most) of one load run.
    pub requests: usize,
    pub load_time: Duration,
    pub concurrency: usize,
    /// The timeline database.
    pub accounts: usize,
    pub statuses: usize,
    pub follows: usize,
    /// Signed inbound activities, from this many actors, signed with this many keys.
    pub inbound: usize,
    pub inbound_actors: usize,
    pub inbound_keys: usize,
    /// Remote servers following the poster.
    pub fanout_servers: usize,
    /// How long a limit is measured.
    pub limit_time: Duration,
    /// How long to wait for background work (processing, deliveries).
    pub drain_timeout: Duration,
}

impl Sizes {
    fn new(smoke: bool) -> Sizes {
        if smoke {
            Sizes {
                starts: 2,
                idle_wait: Duration::from_millis(200),
                repeats: 1,
                requests: 200,
                load_time: Duration::from_secs(3),
                concurrency: 8,
                accounts: 100,
                statuses: 2_000,
                follows: 20,
                inbound: 100,
                inbound_actors: 20,
                inbound_keys: 2,
                fanout_servers: 10,
                limit_time: Duration::from_millis(200),
                drain_timeout: Duration::from_secs(30),
            }
        } else {
            Sizes {
                starts: 5,
                idle_wait: Duration::from_secs(2),
                repeats: 3,
                requests: 100_000,
                load_time: Duration::from_secs(5),
                concurrency: 32,
                accounts: 10_000,
                statuses: 1_000_000,
                follows: 500,
                inbound: 5_000,
                inbound_actors: 1_000,
                inbound_keys: 8,
                fanout_servers: 1_000,
                limit_time: Duration::from_secs(2),
                drain_timeout: Duration::from_secs(180),
            }
        }
    }
}

pub const FIGURES: [&str; 5] = ["ready", "create", "timeline", "inbound", "fanout"];

#[tokio::main]
async fn main() -> ExitCode {
    let opts = Opts::parse();
    match run(opts).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fulmar-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut opts: Opts) -> Result<()> {
    let selected: Vec<String> = match &opts.only {
        Some(list) => list.split(',').map(|s| s.trim().to_owned()).collect(),
        None => FIGURES.iter().map(|s| s.to_string()).collect(),
    };
    for s in &selected {
        if !FIGURES.contains(&s.as_str()) {
            bail!(
                "--only: unknown figure {s:?}; the figures are {}",
                FIGURES.join(", ")
            );
        }
    }
    if !opts.fulmar_bin.exists() {
        bail!(
            "{} does not exist; build it first (scripts/bench does)",
            opts.fulmar_bin.display()
        );
    }
    // Servers are started in their own data directories, so a relative path (the
    // default, target/release/fulmar) must be made absolute while the working
    // directory is still the one it is relative to.
    opts.fulmar_bin = std::fs::canonicalize(&opts.fulmar_bin)
        .with_context(|| format!("resolving {}", opts.fulmar_bin.display()))?;
    let sizes = Sizes::new(opts.smoke);
    let context = context(&opts)?;
    eprintln!(
        "fulmar-bench: {} on {} ({} cores), {}",
        opts.fulmar_bin.display(),
        context["machine"]["cpu"].as_str().unwrap_or("?"),
        limits::cores(),
        if opts.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    eprintln!("measuring the limits ...");
    let budget = sizes.limit_time;
    let (sign_per_s, verify_per_s) =
        tokio::task::spawn_blocking(move || limits::rsa_per_second(budget)).await??;
    let db_limits = limits::database(opts.postgres.as_deref(), sizes.limit_time).await?;
    let limits = figures::Limits {
        sign_per_s,
        verify_per_s,
        single_row_commits: db_limits.single_row_commits,
        batched_rows: db_limits.batched_rows,
    };

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut out = vec![
        report::Figure::new(
            "rsa_sign_per_s",
            "limit: RSA-2048 signatures/s (all cores)",
            "/s",
            vec![sign_per_s],
        ),
        report::Figure::new(
            "rsa_verify_per_s",
            "limit: RSA-2048 verifications/s (all cores)",
            "/s",
            vec![verify_per_s],
        ),
        report::Figure::new(
            "db_single_row_commits_per_s",
            "limit: single-row commits/s",
            "/s",
            vec![limits.single_row_commits],
        ),
        report::Figure::new(
            "db_batched_rows_per_s",
            "limit: batched insert rows/s",
            "/s",
            vec![limits.batched_rows],
        ),
    ];
    let bench = figures::Bench {
        opts: opts.clone(),
        sizes,
        client,
        limits,
    };
    for figure in &selected {
        eprintln!("running {figure} ...");
        let figures = match figure.as_str() {
            "ready" => bench.ready().await,
            "create" => bench.create().await,
            "timeline" => bench.timeline().await,
            "inbound" => bench.inbound().await,
            "fanout" => bench.fanout().await,
            _ => unreachable!("checked above"),
        }
        .with_context(|| format!("figure {figure}"))?;
        out.extend(figures);
    }

    report::print_table(&out);
    let mut context = context;
    context["load_after"] = json!(loadavg());
    let doc = report::to_json(&out, context);
    if let Some(dir) = opts.json.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    std::fs::write(&opts.json, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("writing {}", opts.json.display()))?;
    eprintln!("wrote {}", opts.json.display());

    let insane: Vec<&str> = out
        .iter()
        .filter(|f| !f.sane())
        .map(|f| f.id.as_str())
        .collect();
    if !insane.is_empty() {
        bail!(
            "figures that are zero or not numbers: {}",
            insane.join(", ")
        );
    }
    Ok(())
}

/// The machine, the date, the commit, the load: what a reader needs to weigh the figures.
fn context(opts: &Opts) -> Result<serde_json::Value> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_default();
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    Ok(json!({
        "date": date,
        "commit": commit,
        "backend": if opts.postgres.is_some() { "postgres" } else { "sqlite" },
        "smoke": opts.smoke,
        "fulmar_bin": opts.fulmar_bin.display().to_string(),
        "machine": {
            "cpu": cpu,
            "cores": limits::cores(),
            "memory_gib": (mem_kb as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        },
        "load_before": loadavg(),
    }))
}

/// The 1, 5 and 15 minute load averages.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
