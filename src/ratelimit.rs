//! Per-node token buckets for the token endpoint: each client may make
//! `WARDEN_TOKEN_RATE_LIMIT` requests per second (with a burst of as many), after
//! authenticating, so nobody can spend another client's budget. Per node, by design: a
//! shared counter would cost a database write per token, the very thing the hot path
//! avoids; with N nodes behind a balancer a client gets at most N times the rate. (Sign-in
//! and registration limits, which are rare and worth a write, live in the database.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Buckets kept at most; beyond it full buckets are forgotten first.
const MAX_KEYS: usize = 100_000;

pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_second` 0 turns the limit off.
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            per_second: f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket; false when it is empty.
    pub fn allow(&self, key: &str) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let rate = self.per_second;
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < rate
            });
            if buckets.len() >= MAX_KEYS {
                // Under a flood of distinct keys, refusing is safer than growing.
                return false;
            }
        }
        let (tokens, at) = buckets
            .entry(key.to_owned())
            .or_insert((self.per_second, now));
        let refilled = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_second)
            .min(self.per_second);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            true
        } else {
            *tokens = refilled;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_and_keys_are_separate() {
        let limiter = RateLimiter::new(3);
        assert!((0..3).all(|_| limiter.allow("a")));
        assert!(!limiter.allow("a"));
        assert!(limiter.allow("b"));
        assert!((0..100).all(|_| RateLimiter::new(0).allow("a")));
    }
}
