//! How long requests wait for a database connection: every store call takes its
//! connection through `acquire`, which counts the acquisitions, the total and worst wait,
//! and those that found no idle connection. `/metrics` publishes them with the pool's
//! size, so a pool that is too small shows as wait time rather than as vague latency.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

static ACQUIRED: AtomicU64 = AtomicU64::new(0);
static WAIT_MICROS: AtomicU64 = AtomicU64::new(0);
static MAX_WAIT_MICROS: AtomicU64 = AtomicU64::new(0);
static EXHAUSTED: AtomicU64 = AtomicU64::new(0);

pub async fn acquire<DB: Database>(pool: &Pool<DB>) -> Result<PoolConnection<DB>, sqlx::Error> {
    if pool.num_idle() == 0 {
        EXHAUSTED.fetch_add(1, Ordering::Relaxed);
    }
    let started = Instant::now();
    let conn = pool.acquire().await?;
    let waited = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    ACQUIRED.fetch_add(1, Ordering::Relaxed);
    WAIT_MICROS.fetch_add(waited, Ordering::Relaxed);
    MAX_WAIT_MICROS.fetch_max(waited, Ordering::Relaxed);
    Ok(conn)
}

/// Counters since start: (acquisitions, total wait µs, worst wait µs, found no idle one).
pub fn snapshot() -> (u64, u64, u64, u64) {
    (
        ACQUIRED.load(Ordering::Relaxed),
        WAIT_MICROS.load(Ordering::Relaxed),
        MAX_WAIT_MICROS.load(Ordering::Relaxed),
        EXHAUSTED.load(Ordering::Relaxed),
    )
}
