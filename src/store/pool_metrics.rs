//! How long requests wait for a database connection: every store call takes its
//! connection through `acquire`, which counts the acquisitions, the total and worst wait,
//! and those that found no idle connection. `/metrics` publishes them with the pool's
//! size, so a pool that is too small shows as wait time rather than as vague latency.
//!
//! It also fails fast through outages: once taking a connection has failed for a reason
//! that means "the database is unreachable", every call for the next second fails at once
//! (503 to the client) instead of each waiting the pool's 5 s timeout, which would stall
//! every keep-alive client. After that second one call probes the database while the
//! others keep failing fast; its success ends the outage, so recovery needs no restart.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};

static ACQUIRED: AtomicU64 = AtomicU64::new(0);
static WAIT_MICROS: AtomicU64 = AtomicU64::new(0);
static MAX_WAIT_MICROS: AtomicU64 = AtomicU64::new(0);
static EXHAUSTED: AtomicU64 = AtomicU64::new(0);

static FAIL_FAST: AtomicU64 = AtomicU64::new(0);

/// How long calls fail at once after the database was found unreachable.
const FAIL_FAST_FOR: Duration = Duration::from_secs(1);

/// Per store: until when (milliseconds since `epoch`) calls fail at once; 0 while healthy.
#[derive(Debug)]
pub struct Health {
    epoch: Instant,
    down_until: AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            epoch: Instant::now(),
            down_until: AtomicU64::new(0),
        }
    }
}

impl Health {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Whether this call may try the database: always while healthy; during an outage only
    /// the one caller that claims the probe once the fail-fast second is over.
    fn may_try(&self) -> bool {
        let until = self.down_until.load(Ordering::Acquire);
        if until == 0 {
            return true;
        }
        let now = self.now_ms();
        if now < until {
            return false;
        }
        // The probe may itself wait the pool timeout: the others fail fast meanwhile.
        let probe_until = now + 6_000;
        self.down_until
            .compare_exchange(until, probe_until, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn record(&self, unreachable: bool) {
        if unreachable {
            let until = self.now_ms() + FAIL_FAST_FOR.as_millis() as u64;
            self.down_until.store(until, Ordering::Release);
        } else if self.down_until.load(Ordering::Acquire) != 0 {
            self.down_until.store(0, Ordering::Release);
        }
    }
}

/// Records what one acquisition found. Dropped undecided (the caller's future was
/// dropped mid-wait) it says nothing about the database, but if it was the probe it hands
/// the probe on, so a lost probe cannot keep the fail-fast window shut.
struct Outcome<'a> {
    health: &'a Health,
    unreachable: Option<bool>,
}

impl Drop for Outcome<'_> {
    fn drop(&mut self) {
        match self.unreachable {
            Some(unreachable) => self.health.record(unreachable),
            None => {
                if self.health.down_until.load(Ordering::Acquire) != 0 {
                    let now = self.health.now_ms();
                    self.health.down_until.store(now, Ordering::Release);
                }
            }
        }
    }
}

pub async fn acquire<DB: Database>(
    pool: &Pool<DB>,
    health: &Health,
) -> Result<PoolConnection<DB>, sqlx::Error> {
    if !health.may_try() {
        FAIL_FAST.fetch_add(1, Ordering::Relaxed);
        return Err(sqlx::Error::PoolTimedOut);
    }
    let mut outcome = Outcome {
        health,
        unreachable: None,
    };
    if pool.num_idle() == 0 {
        EXHAUSTED.fetch_add(1, Ordering::Relaxed);
    }
    let started = Instant::now();
    let acquired = pool.acquire().await;
    outcome.unreachable = Some(acquired.as_ref().err().is_some_and(|e| {
        // A full pool that stayed full is overload, not an outage: those requests waited
        // their turn and will again.
        let saturated = matches!(e, sqlx::Error::PoolTimedOut)
            && pool.size() >= pool.options().get_max_connections();
        super::is_unavailable(e) && !saturated
    }));
    drop(outcome);
    let conn = acquired?;
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

/// Calls refused at once during an outage, since start.
pub fn fail_fast_count() -> u64 {
    FAIL_FAST.load(Ordering::Relaxed)
}
