//! A sign-in flood: many clients posting wrong passwords for made-up usernames as fast as
//! they can, while a machine client keeps asking for tokens. Password hashing is bounded
//! (one hasher, a queue of four): the overflow gets 503 at once, memory stays flat, and
//! token issuance does not notice.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{RSS_CEILING_MB, RssWatch, SignInForm, Warden, quantile_ms, size};

#[derive(Default)]
struct Statuses {
    refused: AtomicU64,
    throttled: AtomicU64,
    busy: AtomicU64,
    /// 503 without `Retry-After: 1`, or not the HTML login page.
    bad_busy: AtomicU64,
    other: AtomicU64,
}

/// The `n`th address of flooding task `task`: each task moves to a fresh address whenever
/// the per-address throttle stops it, so the flood keeps reaching the hashers.
fn address(task: usize, n: usize) -> IpAddr {
    IpAddr::from([
        127,
        1 + (task % 250) as u8,
        (n / 250 % 256) as u8,
        (n % 250 + 1) as u8,
    ])
}

#[tokio::test]
async fn a_sign_in_flood_gets_503s_in_bounded_memory_while_tokens_keep_flowing() {
    let flooders = size("ABUSE_SIGNINS", 16);
    let seconds = size("ABUSE_SECONDS", 10) as u64;
    let mut warden = Warden::new(&[
        ("WARDEN_PASSWORD_HASH_CONCURRENCY", "1"),
        ("WARDEN_PASSWORD_HASH_QUEUE", "4"),
        ("WARDEN_TOKEN_RATE_LIMIT", "0"),
    ])
    .await;
    let agent = super::agent_client(&warden);
    warden.serve().await;
    let warden = Arc::new(warden);
    let pid = warden.pid();
    let rss_before = warden.rss_mb();
    assert_eq!(
        warden.metric("warden_password_hash_capacity").await,
        5.0,
        "one hasher and a queue of four"
    );
    let watch = RssWatch::start(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let statuses = Arc::new(Statuses::default());
    let mut flood = Vec::new();
    for task in 0..flooders {
        let (warden, stop, statuses) = (warden.clone(), stop.clone(), statuses.clone());
        flood.push(tokio::spawn(async move {
            let mut n = 0;
            let mut form = SignInForm::load(&warden, address(task, n)).await;
            let mut attempt = 0;
            while !stop.load(Ordering::SeqCst) {
                attempt += 1;
                let username = format!("flood-{task}-{attempt}");
                let response = form.attempt(&username, "not the password").await;
                match response.status().as_u16() {
                    401 => statuses.refused.fetch_add(1, Ordering::SeqCst),
                    429 => {
                        n += 1;
                        form = SignInForm::load(&warden, address(task, n)).await;
                        statuses.throttled.fetch_add(1, Ordering::SeqCst)
                    }
                    503 => {
                        let retry = response.headers().get("retry-after").cloned();
                        let html = response.headers()["content-type"]
                            .to_str()
                            .unwrap()
                            .starts_with("text/html");
                        let page = response.text().await.unwrap();
                        if retry.is_none_or(|r| r != "1")
                            || !html
                            || !page.contains("name=\"csrf\"")
                        {
                            statuses.bad_busy.fetch_add(1, Ordering::SeqCst);
                        }
                        // Paced like a client honouring a short back-off: the flood still
                        // keeps the queue full, without taking the CPU from the tests
                        // that run beside this one in CI.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        statuses.busy.fetch_add(1, Ordering::SeqCst)
                    }
                    other => {
                        eprintln!("sign-in answered {other}");
                        statuses.other.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        }));
    }

    // Meanwhile a machine client asks for tokens, one after the other.
    let tokens = {
        let (warden, stop) = (warden.clone(), stop.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut latencies, mut failures) = (Vec::new(), Vec::new());
            while !stop.load(Ordering::SeqCst) {
                let started = Instant::now();
                let response = http
                    .post(warden.url("/token"))
                    .basic_auth(&agent.0, Some(&agent.1))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body = response.text().await.unwrap();
                latencies.push(started.elapsed());
                if status != 200 {
                    failures.push(format!("{status}: {body}"));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (latencies, failures)
        })
    };

    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let in_flight_during = warden.metric("warden_password_hash_in_flight").await;
    stop.store(true, Ordering::SeqCst);
    for task in flood {
        task.await.unwrap();
    }
    let (mut latencies, failures) = tokens.await.unwrap();
    latencies.sort();

    // Once the flood stops, the queue empties.
    let drained = Instant::now();
    let mut in_flight = warden.metric("warden_password_hash_in_flight").await;
    while in_flight > 0.0 && drained.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        in_flight = warden.metric("warden_password_hash_in_flight").await;
    }
    let peak = watch.finish(pid).await;
    let metrics = warden.metrics().await;
    let completed = super::metric_value(&metrics, "warden_password_hash_completed_total");
    let refused_metric = super::metric_value(&metrics, "warden_password_hash_refused_total");

    let s = &statuses;
    let busy = s.busy.load(Ordering::SeqCst);
    let (p50, p99) = (quantile_ms(&latencies, 0.5), quantile_ms(&latencies, 0.99));
    println!(
        "sign-in flood: {flooders} clients for {seconds} s; RSS {rss_before:.1} MB before, \
         peak {peak:.1} MB; sign-ins: {} × 401, {} × 429, {busy} × 503, {} other; \
         hashes completed {completed:?}, refused {refused_metric:?}, in flight {in_flight_during} \
         during, {in_flight} after {:?}; tokens: {} ({} failed), p50 {p50:.1} ms, p99 {p99:.1} ms, \
         max {:.1} ms",
        s.refused.load(Ordering::SeqCst),
        s.throttled.load(Ordering::SeqCst),
        s.other.load(Ordering::SeqCst),
        drained.elapsed(),
        latencies.len(),
        failures.len(),
        quantile_ms(&latencies, 1.0),
    );

    assert!(
        peak < RSS_CEILING_MB,
        "peak RSS {peak:.1} MB over {RSS_CEILING_MB} MB"
    );
    assert!(busy > 0, "the flood overflowed the hashers: some 503s");
    assert_eq!(
        s.bad_busy.load(Ordering::SeqCst),
        0,
        "every 503 is the login page with Retry-After: 1"
    );
    assert_eq!(s.other.load(Ordering::SeqCst), 0, "only 401, 429 and 503");
    assert!(
        failures.is_empty(),
        "token requests failed during the flood: {failures:?}"
    );
    assert!(latencies.len() >= 10, "the token loop ran");
    assert!(
        p50 < 250.0,
        "median token latency {p50:.1} ms during the flood"
    );
    assert_eq!(
        in_flight, 0.0,
        "no verification left in flight after the flood"
    );
    assert!(
        completed.is_some_and(|c| c > 0.0),
        "the hasher worked through the flood"
    );
    assert!(
        refused_metric.unwrap_or(0.0) >= busy as f64,
        "every 503 counted as refused"
    );
}
