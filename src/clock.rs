//! Time is an argument: every expiry decision asks a `Clock`, so tests can move time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch; the unit of every stored time and JWT claim.
pub type UnixTime = i64;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixTime;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        wall_clock()
    }
}

/// A clock that stands still unless a test moves it: it reads the wall clock once, when it
/// is made, and afterwards changes only through `advance`. A clock that kept ticking with the
/// wall let a test's "now" and the server's "now" fall on either side of a second boundary.
/// Used by the tests and by nothing in production.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicI64,
}

impl ManualClock {
    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            now: AtomicI64::new(wall_clock()),
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.now.load(Ordering::SeqCst)
    }
}

fn wall_clock() -> UnixTime {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
