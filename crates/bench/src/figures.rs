//! The figures: each starts its own server on a fresh database, measures, and returns
//! its results beside their limits and targets.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use fulmar_federation::keys::generate_rsa_2048;
use fulmar_federation::signatures::{sign_request, SigningKey};
use fulmar_store::Db;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::json;

use crate::ceiling;
use crate::load::{self, median, LoadResult};
use crate::page_queries::HomePage;
use crate::report::{Figure, Target};
use crate::seed;
use crate::server::{self, Place, Server};
use crate::sinks;
use crate::{Opts, Sizes};

const MB: f64 = 1024.0 * 1024.0;

/// The limits measured at the start of the run.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub sign_per_s: f64,
    pub verify_per_s: f64,
    pub single_row_commits: f64,
    pub batched_rows: f64,
}

pub struct Bench {
    pub opts: Opts,
    pub sizes: Sizes,
    pub client: reqwest::Client,
    pub limits: Limits,
}

/// A load run that must have succeeded: any failed request is an error, since a
/// benchmark that counts errors as throughput measures nothing.
fn checked(what: &str, r: LoadResult) -> Result<LoadResult> {
    if r.failed > 0 || r.ok == 0 {
        bail!(
            "{what}: {} of {} requests failed (first: {})",
            r.failed,
            r.failed + r.ok,
            r.first_error.as_deref().unwrap_or("none")
        );
    }
    eprintln!(
        "  {what}: {} requests in {:.2} s: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        r.ok,
        r.elapsed.as_secs_f64(),
        r.per_second(),
        r.quantile_ms(0.5),
        r.quantile_ms(0.99)
    );
    Ok(r)
}

/// The peak resident memory of a server run, as a figure.
fn peak_figure(run: &str, server: &Server, target: Option<f64>) -> Result<Figure> {
    let peak = server.memory()?.peak as f64 / MB;
    eprintln!("  {run}: peak RSS {peak:.1} MB");
    let f = Figure::new(
        &format!("rss_peak_{run}_mb"),
        &format!("RSS peak, {run} run"),
        "MB",
        vec![peak],
    );
    Ok(match target {
        Some(t) => f.target(Target::AtMost(t)),
        None => f,
    })
}

impl Bench {
    fn bin(&self) -> &std::path::Path {
        &self.opts.fulmar_bin
    }

    async fn place(&self, label: &str) -> Result<Place> {
        Place::fresh(self.opts.postgres.as_deref(), label).await
    }

    /// A fresh place whose database is migrated and open for seeding, with the local
    /// user `bench`: the place, the database, her token and her account's id.
    async fn seedable(&self, label: &str) -> Result<(Place, Db, String, i64)> {
        let place = self.place(label).await?;
        let db = Db::connect(&place.database_url).await?;
        db.migrate().await?;
        let token = server::create_user(self.bin(), &place, "bench")?;
        let account = seed::local_account_id(&db, "bench").await?;
        Ok((place, db, token, account))
    }

    /// Start to ready (spawn to the first 200 from /health, on a fresh database, so
    /// with every migration applied and the instance key made) and idle memory.
    pub async fn ready(&self) -> Result<Vec<Figure>> {
        let mut ready_ms = Vec::new();
        let mut restart_ms = Vec::new();
        let mut idle_mb = Vec::new();
        let mut anon_mb = Vec::new();
        let mut file_mb = Vec::new();
        let mut exec_ms = Vec::new();
        for _ in 0..self.sizes.starts {
            // The floor: starting the same binary for a command that does nothing.
            let t = Instant::now();
            let status = std::process::Command::new(self.bin())
                .arg("--version")
                .stdout(std::process::Stdio::null())
                .status()?;
            if !status.success() {
                bail!("fulmar --version failed");
            }
            exec_ms.push(t.elapsed().as_secs_f64() * 1000.0);

            let place = self.place("ready").await?;
            let server = Server::start(self.bin(), &place, &self.client).await?;
            ready_ms.push(server.ready_after.as_secs_f64() * 1000.0);
            tokio::time::sleep(self.sizes.idle_wait).await;
            let memory = server.memory()?;
            idle_mb.push(memory.rss as f64 / MB);
            anon_mb.push(memory.anon as f64 / MB);
            file_mb.push(memory.file as f64 / MB);
            server.stop().await?;
            // The start after that one, as a restart or an upgrade without new
            // migrations: the schema is there, and the migrations are only checked.
            let server = Server::start(self.bin(), &place, &self.client).await?;
            restart_ms.push(server.ready_after.as_secs_f64() * 1000.0);
            server.stop().await?;
            place.remove().await?;
        }
        eprintln!("  start to ready, existing database {restart_ms:.1?} ms");
        eprintln!(
            "  start to ready {ready_ms:.1?} ms, idle RSS {idle_mb:.1?} MB \
             (anonymous {anon_mb:.1?}, file-backed {file_mb:.1?})"
        );
        Ok(vec![
            Figure::new("ready_ms", "start to ready, fresh database", "ms", ready_ms)
                .limit("`fulmar --version` start to exit", median(&exec_ms))
                .target(Target::AtMost(200.0)),
            Figure::new(
                "ready_restart_ms",
                "start to ready, existing database",
                "ms",
                restart_ms,
            )
            .limit("`fulmar --version` start to exit", median(&exec_ms))
            .target(Target::AtMost(200.0)),
            Figure::new("rss_idle_mb", "RSS idle after start", "MB", idle_mb)
                .target(Target::AtMost(10.0)),
            // The two parts of that figure: what the process allocated, and the pages
            // of its binary and libraries the kernel mapped in while it started.
            Figure::new(
                "rss_idle_anon_mb",
                "RSS idle: anonymous (heap, stacks)",
                "MB",
                anon_mb,
            ),
            Figure::new(
                "rss_idle_file_mb",
                "RSS idle: file-backed (code, libraries)",
                "MB",
                file_mb,
            ),
        ])
    }

    /// Statuses created per second through POST /api/v1/statuses.
    pub async fn create(&self) -> Result<Vec<Figure>> {
        let place = self.place("create").await?;
        let token = server::create_user(self.bin(), &place, "bench")?;
        let server = Server::start(self.bin(), &place, &self.client).await?;
        let url = format!("{}/api/v1/statuses", server.base);
        let mut rates = Vec::new();
        for round in 0..=self.sizes.repeats {
            let client = self.client.clone();
            let url = url.clone();
            let token = token.clone();
            let r = load::drive(
                self.sizes.concurrency,
                self.sizes.requests,
                self.sizes.load_time,
                move |i| {
                    let client = client.clone();
                    let url = url.clone();
                    let token = token.clone();
                    async move {
                        let res = client
                            .post(&url)
                            .bearer_auth(&token)
                            .json(&json!({"status": format!("Benchmark post {round}-{i}")}))
                            .send()
                            .await
                            .map_err(|e| e.to_string())?;
                        let status = res.status();
                        let _ = res.bytes().await;
                        if status == 200 {
                            Ok(())
                        } else {
                            Err(format!("POST /api/v1/statuses: HTTP {status}"))
                        }
                    }
                },
            )
            .await;
            let r = checked(&format!("create round {round}"), r)?;
            // Round 0 warms up (connections, caches) and is not counted.
            if round > 0 {
                rates.push(r.per_second());
            }
        }
        let peak = peak_figure("create", &server, None)?;
        server.stop().await?;
        place.remove().await?;
        Ok(vec![
            Figure::new(
                "statuses_created_per_s",
                "statuses created/s (POST /api/v1/statuses)",
                "/s",
                rates,
            )
            .limit("single-row commits/s", self.limits.single_row_commits)
            .target(Target::AtLeast(2000.0)),
            peak,
        ])
    }

    /// Home timeline pages per second and latency on a big seeded database, beside
    /// the same page served from memory with the same client (and Fulmar's /health),
    /// and beside the same page's queries made on the database alone.
    pub async fn timeline(&self) -> Result<Vec<Figure>> {
        let s = &self.sizes;
        let (place, db, token, reader) = self.seedable("timeline").await?;

        let t = Instant::now();
        let authors = seed::remote_accounts("tl", 0..s.accounts, 100, 60, |_, uri| {
            (format!("{uri}/inbox"), None)
        });
        seed::insert_accounts(&db, &authors).await?;
        seed::insert_statuses(&db, &authors, s.statuses, 50).await?;
        let follows: Vec<(i64, i64)> = authors[..s.follows]
            .iter()
            .map(|a| (reader, a.id))
            .collect();
        seed::insert_follows(&db, &follows, 55).await?;
        let feed = seed::fill_home_feed(&db, reader).await?;
        seed::analyze(&db).await?;
        let seed_secs = t.elapsed().as_secs_f64();
        eprintln!(
            "  seeded {} accounts, {} statuses, {} follows, {feed} home-feed rows in {seed_secs:.1} s",
            s.accounts, s.statuses, s.follows
        );
        db.close().await;

        // The database's limit first, while no server runs: the page's queries alone.
        let alone = self.page_queries(&place, &token).await?;

        let server = Server::start(self.bin(), &place, &self.client).await?;
        let timeline = format!("{}/api/v1/timelines/home?limit=40", server.base);
        let health = format!("{}/health", server.base);
        let first = load::get_ok(&self.client, &timeline, Some(&token))
            .await
            .map_err(anyhow::Error::msg)?;
        let page: Vec<serde_json::Value> = serde_json::from_slice(&first)?;
        if page.len() != 40 {
            bail!("the home timeline has {} statuses, not 40", page.len());
        }
        eprintln!("  a page is {} bytes", first.len());
        // The same page's bytes served from memory with no work at all: what HTTP on
        // these cores allows for a response of this size.
        let ceiling = ceiling::start(StatusCode::OK, "application/json", first).await?;
        let stand_in = format!("{}/api/v1/timelines/home?limit=40", ceiling.base);

        let mut tl_rps = Vec::new();
        let mut tl_p50 = Vec::new();
        let mut tl_p99 = Vec::new();
        let mut h_rps = Vec::new();
        let mut h_p50 = Vec::new();
        let mut h_p99 = Vec::new();
        let mut c_rps = Vec::new();
        let mut c_p50 = Vec::new();
        let mut c_p99 = Vec::new();
        for round in 0..=s.repeats {
            let r = checked(
                &format!("the same page from memory, round {round}"),
                self.gets(&stand_in, Some(&token)).await,
            )?;
            if round > 0 {
                c_rps.push(r.per_second());
                c_p50.push(r.quantile_ms(0.5));
                c_p99.push(r.quantile_ms(0.99));
            }
            let r = checked(
                &format!("health round {round}"),
                self.gets(&health, None).await,
            )?;
            if round > 0 {
                h_rps.push(r.per_second());
                h_p50.push(r.quantile_ms(0.5));
                h_p99.push(r.quantile_ms(0.99));
            }
            let r = checked(
                &format!("timeline round {round}"),
                self.gets(&timeline, Some(&token)).await,
            )?;
            if round > 0 {
                tl_rps.push(r.per_second());
                tl_p50.push(r.quantile_ms(0.5));
                tl_p99.push(r.quantile_ms(0.99));
            }
        }
        let peak = peak_figure("timeline", &server, None)?;
        drop(ceiling);
        server.stop().await?;
        place.remove().await?;
        let (c_rps, c_p50, c_p99) = (median(&c_rps), median(&c_p50), median(&c_p99));
        let (d_rps, d_p50, d_p99) = (median(&alone.0), median(&alone.1), median(&alone.2));
        const ALONE: &str = "the page's queries, database alone";
        Ok(vec![
            Figure::new(
                "seed_seconds",
                "seeding the timeline database",
                "s",
                vec![seed_secs],
            ),
            Figure::new(
                "seed_rows_per_s",
                "seeding rows/s (statuses + feed + accounts)",
                "/s",
                vec![(s.statuses + s.accounts + feed as usize) as f64 / seed_secs],
            )
            .limit("batched insert rows/s", self.limits.batched_rows),
            Figure::new(
                "timeline_rps",
                "home timeline, 40 statuses: requests/s",
                "/s",
                tl_rps,
            )
            .limit("the same page from memory/s", c_rps)
            .also_limit(&format!("{ALONE}/s"), d_rps)
            .target(Target::AtLeast(5000.0)),
            Figure::new("timeline_p50_ms", "home timeline p50 latency", "ms", tl_p50)
                .limit("the same page from memory, p50", c_p50)
                .also_limit(&format!("{ALONE}, p50"), d_p50),
            Figure::new("timeline_p99_ms", "home timeline p99 latency", "ms", tl_p99)
                .limit("the same page from memory, p99", c_p99)
                .also_limit(&format!("{ALONE}, p99"), d_p99)
                .target(Target::AtMost(10.0)),
            // The same limit as figures of their own, with every round's value.
            Figure::new(
                "timeline_db_alone_per_s",
                "limit: the page's queries alone, pages/s",
                "/s",
                alone.0,
            ),
            Figure::new(
                "timeline_db_alone_p50_ms",
                "limit: the page's queries alone, p50",
                "ms",
                alone.1,
            ),
            Figure::new(
                "timeline_db_alone_p99_ms",
                "limit: the page's queries alone, p99",
                "ms",
                alone.2,
            ),
            Figure::new(
                "health_rps",
                "GET /health requests/s (Fulmar's HTTP floor)",
                "/s",
                h_rps,
            ),
            Figure::new("health_p50_ms", "GET /health p50 latency", "ms", h_p50),
            Figure::new("health_p99_ms", "GET /health p99 latency", "ms", h_p99),
            peak,
        ])
    }

    /// The home page's queries (`page_queries`) made by this process on the seeded
    /// database, with the HTTP rounds' concurrency and bounds, while no server runs:
    /// pages/s, p50 and p99 of each counted round. The database is opened as the
    /// server opens it (`Db::connect`: SQLite's pragmas and pools, PostgreSQL's pool).
    /// On SQLite the reads run on the runtime's threads without yielding, so a page's
    /// latency there is its own time, with no wait for a thread counted in it; on
    /// PostgreSQL it includes the wait for one of the pool's connections, as in the
    /// server.
    async fn page_queries(
        &self,
        place: &Place,
        token: &str,
    ) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
        let s = &self.sizes;
        let db = Db::connect(&place.database_url).await?;
        let page = Arc::new(HomePage::new(db, token));
        let (mut rps, mut p50, mut p99) = (Vec::new(), Vec::new(), Vec::new());
        let mut warm = 0;
        for round in 0..=s.repeats {
            let queries = page.clone();
            let r = load::drive(s.concurrency, s.requests, s.load_time, move |_| {
                let queries = queries.clone();
                async move {
                    match queries.one().await? {
                        40 => Ok(()),
                        n => Err(format!("the home page has {n} statuses, not 40")),
                    }
                }
            })
            .await;
            let r = checked(&format!("the page's queries alone, round {round}"), r)?;
            // Round 0 fills the caches, as the server's first requests do.
            if round == 0 {
                warm = page.follow_ups();
            } else {
                rps.push(r.per_second());
                p50.push(r.quantile_ms(0.5));
                p99.push(r.quantile_ms(0.99));
            }
        }
        // Zero on the seeded database: a page whose statuses and authors are kept
        // makes no query after the page query.
        eprintln!(
            "  the page's queries alone: follow-up lookups {warm} while warming up, {} after",
            page.follow_ups() - warm
        );
        // Closed before the server opens the database (and before a PostgreSQL
        // database can be dropped): every worker that held the queries has ended.
        match Arc::try_unwrap(page) {
            Ok(page) => page.into_db().close().await,
            Err(_) => bail!("the page's queries are still in use after their rounds"),
        }
        Ok((rps, p50, p99))
    }

    /// One load run of GETs expecting 200.
    async fn gets(&self, url: &str, token: Option<&str>) -> LoadResult {
        let client = self.client.clone();
        let url = url.to_owned();
        let token = token.map(str::to_owned);
        load::drive(
            self.sizes.concurrency,
            self.sizes.requests,
            self.sizes.load_time,
            move |_| {
                let client = client.clone();
                let url = url.clone();
                let token = token.clone();
                async move {
                    load::get_ok(&client, &url, token.as_deref())
                        .await
                        .map(|_| ())
                }
            },
        )
        .await
    }

    /// Signed Create{Note} activities from many remote actors (keys already known),
    /// POSTed to the shared inbox: the 202 rate, and the rate until every status is
    /// stored and in the local follower's home feed.
    pub async fn inbound(&self) -> Result<Vec<Figure>> {
        let s = &self.sizes;
        let (place, db, _, reader) = self.seedable("inbound").await?;

        let nkeys = s.inbound_keys;
        let keys = tokio::task::spawn_blocking(move || {
            (0..nkeys)
                .map(|_| generate_rsa_2048().map_err(|_| anyhow::anyhow!("key generation failed")))
                .collect::<Result<Vec<_>>>()
        })
        .await??;
        let pems: Vec<String> = keys.iter().map(|k| k.public_key_pem.clone()).collect();
        let signing: Vec<Arc<SigningKey>> = keys
            .iter()
            .map(|k| SigningKey::from_pem(&k.private_key_pem).map(Arc::new))
            .collect::<Result<_, _>>()?;
        let actors = seed::remote_accounts("in", 0..s.inbound_actors, 100, 40, |_, uri| {
            let host = uri.split('/').nth(2).unwrap_or_default().to_owned();
            (format!("{uri}/inbox"), Some(format!("http://{host}/inbox")))
        });
        seed::insert_accounts(&db, &actors).await?;
        seed::insert_keys(&db, &actors, &pems).await?;
        let follows: Vec<(i64, i64)> = actors.iter().map(|a| (reader, a.id)).collect();
        seed::insert_follows(&db, &follows, 45).await?;

        let server = Server::start(self.bin(), &place, &self.client).await?;
        let inbox = format!("{}/inbox", server.base);

        // Signed beforehand, on every core: signing is the sender's cost, and doing it
        // during the run would measure this process instead of the server.
        let t = Instant::now();
        let n = s.inbound;
        let actors = Arc::new(actors);
        let requests: Vec<(HeaderMap, Vec<u8>)> = {
            let inbox = inbox.clone();
            let actors = actors.clone();
            let signing = signing.clone();
            tokio::task::spawn_blocking(move || sign_all(n, &inbox, &actors, &signing)).await??
        };
        eprintln!(
            "  signed {n} activities in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let requests = Arc::new(requests);

        // The same signed requests answered 202 by a stand-in that does nothing: what
        // HTTP on these cores allows for them, beside what verifying and storing allow.
        let stand_in = ceiling::start(StatusCode::ACCEPTED, "application/json", Vec::new()).await?;
        let ceiling_url = format!("{}/inbox", stand_in.base);
        let r = checked(
            "the same POSTs answered 202 from memory",
            post_all(
                &self.client,
                &ceiling_url,
                &requests,
                s.concurrency,
                s.drain_timeout,
            )
            .await,
        )?;
        let http_ceiling = r.per_second();
        drop(stand_in);

        let started = Instant::now();
        let r = post_all(
            &self.client,
            &inbox,
            &requests,
            s.concurrency,
            s.drain_timeout,
        )
        .await;
        let r = checked("inbound 202", r)?;
        if r.ok != n {
            bail!(
                "only {} of {n} activities were sent within the time budget",
                r.ok
            );
        }
        let accepted = r.per_second();

        // Fully processed: the inbox queue is empty (a job is deleted when it is done)
        // and every status it stored is in the follower's home feed.
        let mut stored = 0;
        while started.elapsed() < s.drain_timeout {
            stored = seed::home_feed_len(&db, reader).await?;
            if stored as usize >= n || seed::queued(&db, "inbox").await? == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let processed_after = started.elapsed();
        if (stored as usize) < n {
            // The queue empties between the two reads: count once more before judging.
            stored = seed::home_feed_len(&db, reader).await?;
        }
        if (stored as usize) < n {
            // Every activity answered 202 must be stored: a drop is a bug to fix, not a
            // figure (the server's "not found" drops were colliding status ids).
            bail!(
                "only {stored} of {n} statuses reached the home feed within {:?}: {}",
                s.drain_timeout,
                server.log_tail()
            );
        }
        let processed = n as f64 / processed_after.as_secs_f64();
        eprintln!(
            "  inbound: {n} accepted in {:.2} s ({accepted:.0}/s), processed in {:.2} s ({processed:.0}/s)",
            r.elapsed.as_secs_f64(),
            processed_after.as_secs_f64()
        );
        let peak = peak_figure("inbound", &server, Some(100.0))?;
        server.stop().await?;
        db.close().await;
        place.remove().await?;
        let l = self.limits;
        // The lowest of the three bounds is the limit.
        let (processed_limit_name, processed_limit) = [
            ("RSA verifications/s (the lowest bound)", l.verify_per_s),
            ("batched insert rows/s (the lowest bound)", l.batched_rows),
            ("the same POSTs from memory/s (lowest)", http_ceiling),
        ]
        .into_iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or(("RSA verifications/s", l.verify_per_s));
        Ok(vec![
            Figure::new(
                "inbound_accepted_per_s",
                "signed inbound Create{Note}: 202 per s",
                "/s",
                vec![accepted],
            )
            .limit("the same POSTs answered 202 from memory/s", http_ceiling),
            Figure::new(
                "inbound_processed_per_s",
                "signed inbound: fully processed per s",
                "/s",
                vec![processed],
            )
            .limit(processed_limit_name, processed_limit)
            .target(Target::AtLeast(10_000.0)),
            peak,
        ])
    }

    /// One post by a local user followed from many remote servers: the time from the
    /// POST until every server has received it, signed.
    pub async fn fanout(&self) -> Result<Vec<Figure>> {
        let s = &self.sizes;
        let (place, db, token, author) = self.seedable("fanout").await?;
        let sinks = sinks::start(s.fanout_servers).await?;
        let ports = sinks.ports.clone();
        let followers =
            seed::remote_accounts("fo", 0..s.fanout_servers, s.fanout_servers, 30, |i, _| {
                let inbox = format!("http://127.0.0.1:{}/inbox", ports[i]);
                (inbox.clone(), Some(inbox))
            });
        seed::insert_accounts(&db, &followers).await?;
        let follows: Vec<(i64, i64)> = followers.iter().map(|a| (a.id, author)).collect();
        seed::insert_follows(&db, &follows, 35).await?;
        db.close().await;

        let server = Server::start(self.bin(), &place, &self.client).await?;
        sinks::fetch_key(
            &sinks.counters,
            &self.client,
            &format!("{}/users/bench", server.base),
        )
        .await
        .context("fetching the poster's key for the sinks")?;
        let mut times = Vec::new();
        for round in 0..=s.repeats {
            let expected = (round + 1) * s.fanout_servers;
            let t = Instant::now();
            let res = self
                .client
                .post(format!("{}/api/v1/statuses", server.base))
                .bearer_auth(&token)
                .json(&json!({"status": format!("Fan-out {round}")}))
                .send()
                .await?;
            if res.status() != 200 {
                bail!("POST /api/v1/statuses: HTTP {}", res.status());
            }
            while sinks.counters.verified.load(Ordering::SeqCst) < expected {
                if t.elapsed() > s.drain_timeout {
                    bail!(
                        "after {:?} only {} of {expected} deliveries arrived ({} refused)",
                        s.drain_timeout,
                        sinks.counters.verified.load(Ordering::SeqCst),
                        sinks.counters.refused.load(Ordering::SeqCst)
                    );
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let secs = t.elapsed().as_secs_f64();
            eprintln!(
                "  fan-out round {round}: {} servers in {secs:.3} s",
                s.fanout_servers
            );
            // Round 0 opens the connections and warms the caches; not counted, unless
            // it is the only one.
            if round > 0 || s.repeats == 0 {
                times.push(secs);
            }
        }
        let refused = sinks.counters.refused.load(Ordering::SeqCst);
        if refused > 0 {
            bail!("{refused} deliveries had a bad signature");
        }
        let peak = peak_figure("fanout", &server, None)?;
        server.stop().await?;
        place.remove().await?;
        drop(sinks);
        Ok(vec![
            Figure::new(
                "fanout_seconds",
                &format!("one post to {} remote servers", s.fanout_servers),
                "s",
                times,
            )
            .limit(
                &format!("{} RSA signatures on all cores", s.fanout_servers),
                s.fanout_servers as f64 / self.limits.sign_per_s,
            )
            .target(Target::AtMost(0.7)),
            peak,
        ])
    }
}

/// Builds and signs `n` Create{Note} deliveries, activity `k` from actor `k % len`,
/// on one thread per core.
fn sign_all(
    n: usize,
    inbox: &str,
    actors: &[seed::RemoteAccount],
    keys: &[Arc<SigningKey>],
) -> Result<Vec<(HeaderMap, Vec<u8>)>> {
    let uri: http::Uri = inbox.parse().context("the inbox URL")?;
    let cores = crate::limits::cores();
    let chunk = n.div_ceil(cores).max(1);
    let now = SystemTime::now();
    let published = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                let uri = uri.clone();
                let published = published.clone();
                scope.spawn(move || -> Result<Vec<(HeaderMap, Vec<u8>)>> {
                    let mut out = Vec::new();
                    for k in start..(start + chunk).min(n) {
                        let actor = &actors[k % actors.len()];
                        let note = format!("{}/statuses/bench-{k}", actor.uri);
                        let body = serde_json::to_vec(&json!({
                            "@context": "https://www.w3.org/ns/activitystreams",
                            "id": format!("{note}/activity"),
                            "type": "Create",
                            "actor": actor.uri,
                            "to": ["https://www.w3.org/ns/activitystreams#Public"],
                            "cc": [format!("{}/followers", actor.uri)],
                            "object": {
                                "id": note,
                                "type": "Note",
                                "attributedTo": actor.uri,
                                "content": format!("<p>Inbound benchmark note {k}, about as long as a short post.</p>"),
                                "published": published,
                                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                                "cc": [format!("{}/followers", actor.uri)],
                            }
                        }))?;
                        let mut headers = HeaderMap::new();
                        headers.insert(
                            http::header::CONTENT_TYPE,
                            HeaderValue::from_static("application/activity+json"),
                        );
                        sign_request(
                            &Method::POST,
                            &uri,
                            &mut headers,
                            Some(&body),
                            &format!("{}#main-key", actor.uri),
                            &keys[k % keys.len()],
                            now,
                        )?;
                        out.push((headers, body));
                    }
                    Ok(out)
                })
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for h in handles {
            all.extend(
                h.join()
                    .map_err(|_| anyhow::anyhow!("a signing thread panicked"))??,
            );
        }
        Ok(all)
    })
}

/// POSTs every prepared request (headers and body) to `url` once, expecting 202.
async fn post_all(
    client: &reqwest::Client,
    url: &str,
    requests: &Arc<Vec<(HeaderMap, Vec<u8>)>>,
    concurrency: usize,
    max_time: Duration,
) -> LoadResult {
    let client = client.clone();
    let url = url.to_owned();
    let requests = requests.clone();
    load::drive(concurrency, requests.len(), max_time, move |i| {
        let client = client.clone();
        let url = url.clone();
        let requests = requests.clone();
        async move {
            let (headers, body) = &requests[i];
            let res = client
                .post(&url)
                .headers(headers.clone())
                .body(body.clone())
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = res.status();
            let text = res.text().await.unwrap_or_default();
            if status == 202 {
                Ok(())
            } else {
                Err(format!("POST {url}: HTTP {status}: {text}"))
            }
        }
    })
    .await
}
