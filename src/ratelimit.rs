//! Per-node rate limit for the token endpoint: each client may make
//! `WARDEN_TOKEN_RATE_LIMIT` requests per second (with a burst of as many), after
//! authenticating, so nobody can spend another client's budget. Per node, by design: a
//! shared counter would cost a database write per token, the very thing the hot path
//! avoids; with N nodes behind a balancer a client gets at most N times the rate. (Sign-in
//! and registration limits, which are rare and worth a write, live in the database.)
//!
//! The arithmetic is `governor`'s GCRA (one integer per client: its theoretical arrival
//! time). The store is Warden's own, because governor's stores grow with every new key and
//! Warden must stay bounded under a flood of distinct clients.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;

use governor::clock::DefaultClock;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::{Quota, RateLimiter as Gcra};

/// Clients kept at most; beyond it clients with full buckets are forgotten first.
const MAX_KEYS: usize = 100_000;

pub struct RateLimiter {
    /// None: the limit is off.
    gcra: Option<Gcra<String, BoundedStore, DefaultClock>>,
    max_keys: usize,
}

impl RateLimiter {
    /// `per_second` 0 turns the limit off.
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter::bounded(per_second, MAX_KEYS)
    }

    fn bounded(per_second: u32, max_keys: usize) -> RateLimiter {
        let gcra = NonZeroU32::new(per_second).map(|rate| {
            Gcra::new(
                Quota::per_second(rate),
                BoundedStore::new(max_keys),
                DefaultClock::default(),
            )
        });
        RateLimiter { gcra, max_keys }
    }

    /// Takes one request from `client_id`'s budget; false when it is spent.
    // `&String`, not `&str`: governor looks keys up by `&K`, and the caller's client id is
    // a `String`, so the hot path allocates only for a client's first request.
    #[allow(clippy::ptr_arg)]
    pub fn allow(&self, client_id: &String) -> bool {
        let Some(gcra) = &self.gcra else {
            return true;
        };
        if gcra.check_key(client_id).is_ok() {
            return true;
        }
        // A refusal may be the store being full rather than this client's budget: forget
        // the clients whose buckets have refilled, and ask once more.
        if gcra.len() >= self.max_keys {
            gcra.retain_recent();
            return gcra.check_key(client_id).is_ok();
        }
        false
    }
}

/// governor's HashMap store with a ceiling: a new client arriving while it is full is
/// refused instead of stored, since refusing is safer than growing without bound.
struct BoundedStore {
    max_keys: usize,
    arrivals: Mutex<HashMap<String, Nanos>>,
}

impl BoundedStore {
    fn new(max_keys: usize) -> BoundedStore {
        BoundedStore {
            max_keys,
            arrivals: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Nanos>> {
        self.arrivals.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl StateStore for BoundedStore {
    type Key = String;

    fn measure_and_replace<T, F, E>(&self, key: &String, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut arrivals = self.lock();
        if let Some(tat) = arrivals.get_mut(key) {
            let (outcome, next) = f(Some(*tat))?;
            *tat = next;
            return Ok(outcome);
        }
        if arrivals.len() >= self.max_keys {
            // GCRA refuses a client whose theoretical arrival time lies beyond its burst;
            // the farthest one there is makes governor produce the refusal itself.
            return f(Some(Nanos::new(u64::MAX))).map(|(outcome, _)| outcome);
        }
        let (outcome, next) = f(None)?;
        arrivals.insert(key.clone(), next);
        Ok(outcome)
    }
}

impl ShrinkableKeyedStateStore<String> for BoundedStore {
    // As governor's own stores: a client whose arrival time is this old has a full bucket,
    // the same as a client never seen.
    fn retain_recent(&self, drop_below: Nanos) {
        self.lock().retain(|_, tat| *tat > drop_below);
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> String {
        s.to_owned()
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_and_keys_are_separate() {
        let limiter = RateLimiter::new(3);
        assert!((0..3).all(|_| limiter.allow(&id("a"))));
        assert!(!limiter.allow(&id("a")));
        assert!(limiter.allow(&id("b")));
        assert!((0..100).all(|_| RateLimiter::new(0).allow(&id("a"))));
    }

    #[test]
    fn a_full_store_refuses_new_clients_but_serves_known_ones_and_frees_refilled_ones() {
        // 1000 a second: each request takes a millisecond of bucket to refill.
        let limiter = RateLimiter::bounded(1000, 2);
        assert!((0..300).all(|_| limiter.allow(&id("a"))));
        assert!((0..300).all(|_| limiter.allow(&id("b"))));
        // Both buckets are 300 ms from full, so neither can be forgotten: a third client
        // is refused, and refusing stores nothing.
        assert!(!limiter.allow(&id("c")));
        assert!(limiter.allow(&id("a")));
        let Some(gcra) = &limiter.gcra else {
            panic!("the limit is on")
        };
        assert_eq!(gcra.len(), 2);
        // Refilled buckets are indistinguishable from new clients and make room.
        std::thread::sleep(std::time::Duration::from_millis(400));
        assert!(limiter.allow(&id("c")));
        assert!(gcra.len() <= 2);
    }
}
