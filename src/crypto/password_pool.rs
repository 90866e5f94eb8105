//! Sign-in's password verifications, bounded: a fixed set of hasher threads
//! (`WARDEN_PASSWORD_HASH_CONCURRENCY`, cores − 1 by default) and a short queue
//! (`WARDEN_PASSWORD_HASH_QUEUE`). Each thread keeps its argon2 memory (19 MiB) and reuses it,
//! so hashing memory is threads × 19 MiB for the life of the process, however many
//! sign-ins arrive; a verification that finds every thread busy and the queue full is
//! refused at once, costing nothing, and the page answers 503 with `Retry-After`.
//! Unknown usernames verify against a dummy hash through the same threads: they cost the
//! same and share the same bound.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::Block;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::crypto::password;

pub struct PasswordPool {
    jobs: SyncSender<Job>,
    counters: Arc<Counters>,
    capacity: usize,
}

/// Figures for `/metrics`.
#[derive(Default)]
pub struct Counters {
    /// Verifications admitted and not finished (running or queued).
    pub in_flight: AtomicUsize,
    pub completed: AtomicU64,
    /// Refused because every hasher was busy and the queue full.
    pub refused: AtomicU64,
}

struct Job {
    password: String,
    /// `None`: the dummy hash (unknown user, or an account without a password).
    stored: Option<String>,
    answer: oneshot::Sender<bool>,
    _slot: Slot,
    /// The caller's `password.verify` span, entered on the hasher thread.
    span: tracing::Span,
}

/// One admitted verification; its place is given back when the job is done (or dropped).
pub struct Slot(Arc<Counters>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordPool {
    /// Starts `threads` hasher threads; at most `threads + queue` verifications are admitted.
    pub fn start(threads: usize, queue: usize) -> anyhow::Result<PasswordPool> {
        let threads = threads.max(1);
        let capacity = threads + queue;
        let (jobs, receiver) = sync_channel::<Job>(capacity);
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("warden-hasher-{n}"))
                .spawn(move || hasher(&receiver))?;
        }
        Ok(PasswordPool {
            jobs,
            counters: Arc::new(Counters::default()),
            capacity,
        })
    }

    /// A place for one verification, or `None` when the pool is full (answer 503).
    pub fn admit(&self) -> Option<Slot> {
        let taken =
            self.counters
                .in_flight
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < self.capacity).then_some(n + 1)
                });
        match taken {
            Ok(_) => Some(Slot(self.counters.clone())),
            Err(_) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Verifies `password` against `stored` (`None`: against the dummy hash, always false).
    pub async fn verify(&self, slot: Slot, password: &str, stored: Option<&str>) -> bool {
        let (answer, answered) = oneshot::channel();
        // From admission to answer: the wait for a hasher shows, not only the hashing.
        let span = tracing::debug_span!("password.verify");
        let job = Job {
            password: password.to_owned(),
            stored: stored.map(str::to_owned),
            answer,
            _slot: slot,
            span: span.clone(),
        };
        // Admission counted this job, so the channel (as large as the capacity) has room.
        if self.jobs.try_send(job).is_err() {
            return false;
        }
        answered.instrument(span).await.unwrap_or(false)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

fn hasher(receiver: &Mutex<Receiver<Job>>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = {
            let guard = receiver.lock().unwrap_or_else(|p| p.into_inner());
            match guard.recv() {
                Ok(job) => job,
                // The pool is gone: the process is ending.
                Err(_) => return,
            }
        };
        let Job {
            password: candidate,
            stored,
            answer,
            _slot: slot,
            span,
        } = job;
        let entered = span.enter();
        let matched = match &stored {
            Some(stored) => password::verify_in(&candidate, stored, &mut memory),
            None => {
                let _ = password::verify_in(&candidate, password::dummy_hash(), &mut memory);
                false
            }
        };
        drop(entered);
        slot.0.completed.fetch_add(1, Ordering::Relaxed);
        // The place is free before the answer: whoever hears it may be admitted again.
        drop(slot);
        let _ = answer.send(matched);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admits_threads_plus_queue_then_refuses_and_gives_places_back() {
        let pool = PasswordPool::start(1, 1).unwrap();
        let stored = password::hash("pw").unwrap();
        let a = pool.admit().unwrap();
        let b = pool.admit().unwrap();
        assert!(pool.admit().is_none(), "full: refused without hashing");
        assert_eq!(pool.counters().refused.load(Ordering::Relaxed), 1);
        let (ok, wrong) = tokio::join!(
            pool.verify(a, "pw", Some(&stored)),
            pool.verify(b, "nope", Some(&stored))
        );
        assert!(ok && !wrong);
        assert_eq!(pool.counters().in_flight.load(Ordering::Relaxed), 0);
        let c = pool.admit().unwrap();
        assert!(!pool.verify(c, "pw", None).await, "the dummy never matches");
        assert_eq!(pool.counters().completed.load(Ordering::Relaxed), 3);
    }
}
