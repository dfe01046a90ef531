//! The limits: what the machine can do at best for the work behind each figure,
//! measured in the same run so that a busy or slow machine lowers both sides.
//!
//! RSA uses the same code as Fulmar (fulmar-federation over aws-lc-rs) on every
//! core; the database limits use `fulmar_store::Db::connect`, so a scratch SQLite
//! file gets exactly the server's pragmas (WAL, synchronous NORMAL).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fulmar_federation::keys::generate_rsa_2048;
use fulmar_federation::signatures::{Algorithm, SigningKey};
use fulmar_store::{with_pool, Db, WritePool};

use crate::server::Place;

/// Threads for the CPU-bound limits: one per core.
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// RSA-2048 PKCS#1 v1.5 SHA-256 signatures and verifications per second on all cores.
pub fn rsa_per_second(budget: Duration) -> Result<(f64, f64)> {
    let pair = generate_rsa_2048().map_err(|_| anyhow::anyhow!("RSA key generation failed"))?;
    let key = Arc::new(SigningKey::from_pem(&pair.private_key_pem)?);
    let public = Arc::new(key.public_key()?);
    // A message the size of a draft-cavage signing string.
    let message: Arc<Vec<u8>> = Arc::new(
        b"(request-target): post /inbox\nhost: example.org\ndate: Thu, 26 Nov 2026 12:00:00 GMT\n\
          digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ncontent-type: application/activity+json"
            .to_vec(),
    );
    let signature = Arc::new(key.sign(Algorithm::RsaPkcs1Sha256, &message)?);
    let sign = on_all_cores(budget, {
        let key = key.clone();
        let message = message.clone();
        move || key.sign(Algorithm::RsaPkcs1Sha256, &message).is_ok()
    });
    let verify = on_all_cores(budget, move || {
        public.verify(Algorithm::RsaPkcs1Sha256, &message, &signature)
    });
    Ok((sign, verify))
}

/// Runs `op` in a loop on one thread per core for `budget`; returns successful
/// operations per second in all.
fn on_all_cores<F>(budget: Duration, op: F) -> f64
where
    F: Fn() -> bool + Send + Sync + Clone + 'static,
{
    let started = Instant::now();
    let threads: Vec<_> = (0..cores())
        .map(|_| {
            let op = op.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                // Bounded in count too, for a machine far faster than expected.
                while started.elapsed() < budget && n < 10_000_000 {
                    if op() {
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

/// Single-row write transactions per second, and rows per second in batched
/// multi-row inserts, on a scratch database like the server's.
pub struct DbLimits {
    pub single_row_commits: f64,
    pub batched_rows: f64,
}

pub async fn database(postgres: Option<&str>, budget: Duration) -> Result<DbLimits> {
    let place = Place::fresh(postgres, "limits").await?;
    let db = Db::connect(&place.database_url)
        .await
        .context("opening the scratch database")?;
    with_pool!(&db, p => sqlx::query(
        "CREATE TABLE bench_rows (id BIGINT PRIMARY KEY, uri TEXT NOT NULL, \
         content TEXT NOT NULL, created_at BIGINT NOT NULL)")
        .execute(p)
        .await
        .map(|_| ()))?;
    with_pool!(&db, p => sqlx::query("CREATE UNIQUE INDEX bench_rows_uri ON bench_rows (uri)")
        .execute(p)
        .await
        .map(|_| ()))?;

    // One row per transaction, one after the other, as a request that stores a
    // status commits it.
    let started = Instant::now();
    let mut n: i64 = 0;
    while started.elapsed() < budget && n < 1_000_000 {
        with_pool!(&db, p => {
            let mut tx = p.begin_write().await?;
            sqlx::query("INSERT INTO bench_rows (id, uri, content, created_at) VALUES ($1, $2, $3, $4)")
                .bind(n)
                .bind(format!("http://bench.example/single/{n}"))
                .bind("<p>A status of about the usual length, to write one row like a post.</p>")
                .bind(n)
                .execute(&mut *tx)
                .await?;
            tx.commit().await
        })?;
        n += 1;
    }
    let single_row_commits = n as f64 / started.elapsed().as_secs_f64();

    // Batches of 500 rows in one statement, 10 statements per transaction.
    let started = Instant::now();
    let mut rows: i64 = 0;
    let base = 10_000_000i64;
    while started.elapsed() < budget && rows < 10_000_000 {
        with_pool!(&db, p => {
            let mut tx = p.begin_write().await?;
            for _ in 0..10 {
                let mut qb = sqlx::QueryBuilder::new(
                    "INSERT INTO bench_rows (id, uri, content, created_at) ");
                qb.push_values(rows..rows + 500, |mut b, i| {
                    b.push_bind(base + i)
                        .push_bind(format!("http://bench.example/batch/{i}"))
                        .push_bind("<p>A status of about the usual length, to write one row like a post.</p>")
                        .push_bind(i);
                });
                qb.build().execute(&mut *tx).await?;
                rows += 500;
            }
            tx.commit().await
        })?;
    }
    let batched_rows = rows as f64 / started.elapsed().as_secs_f64();
    db.close().await;
    place.remove().await?;
    Ok(DbLimits {
        single_row_commits,
        batched_rows,
    })
}
