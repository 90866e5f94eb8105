//! What anonymous floods can make Warden store: throttle rows for made-up usernames,
//! pending authorization requests, and dynamic registrations nobody uses. Each stays
//! bounded; the rows are counted in the database after the flood.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{SignInForm, Warden, client_from, interactive_client, refusals};

/// Counts statuses.
fn tally(statuses: &[u16]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for s in statuses {
        *counts.entry(*s).or_default() += 1;
    }
    counts
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

#[tokio::test]
async fn made_up_usernames_from_one_address_store_a_bounded_number_of_throttle_rows() {
    let warden = Warden::start(&[
        ("WARDEN_PASSWORD_HASH_CONCURRENCY", "2"),
        ("WARDEN_PASSWORD_HASH_QUEUE", "8"),
        // The periodic clean-up every second (checked at the end).
        ("WARDEN_KEY_REFRESH_INTERVAL", "1"),
    ])
    .await;
    let form = Arc::new(SignInForm::load(&warden, loopback(9)).await);
    let rows = "SELECT COUNT(*) FROM login_throttle";

    // A 15 KB username fits the form but no account: refused, and nothing stored.
    let long = form.attempt(&"x".repeat(15 * 1024), "anything").await;
    assert_eq!(long.status(), 401);
    assert!(
        long.text()
            .await
            .unwrap()
            .contains("Wrong username or password")
    );
    assert_eq!(warden.count(rows).await, 0, "no row for the 15 KB username");

    // 300 made-up usernames, eight at a time.
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (form, next) = (form.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= 300 {
                    return statuses;
                }
                let username = format!("made-up-{i}-{}", uuid::Uuid::new_v4().simple());
                let response = form.attempt(&username, "guess").await;
                statuses.push(response.status().as_u16());
            }
        }));
    }
    let mut statuses = Vec::new();
    for w in workers {
        statuses.extend(w.await.unwrap());
    }
    let counts = tally(&statuses);
    let stored = warden.count(rows).await;
    let long_keys = warden
        .count("SELECT COUNT(*) FROM login_throttle WHERE LENGTH(key) > 200")
        .await;
    let metrics = warden.metrics().await;
    let gauge = super::metric_value(&metrics, "warden_login_throttle_rows");
    let throttled = super::metric_value(&metrics, &refusals("signin_throttle"));
    println!(
        "throttle rows: 300 made-up usernames from one address answered {counts:?}; \
         {stored} rows in login_throttle (gauge {gauge:?}), signin_throttle refusals \
         {throttled:?}"
    );
    assert!(
        counts.get(&429).copied().unwrap_or(0) > 0,
        "the address got throttled"
    );
    assert!(
        counts.get(&401).copied().unwrap_or(0) <= 20,
        "at most 20 failures per address"
    );
    assert!(
        stored <= 2 * 20 + 5,
        "{stored} throttle rows for one address"
    );
    assert_eq!(long_keys, 0, "no row for the 15 KB username");
    assert!(gauge.is_some_and(|g| g > 0.0 && g <= 45.0), "{gauge:?}");
    assert!(throttled.is_some_and(|t| t > 0.0), "{throttled:?}");

    // Expired rows go with the periodic clean-up.
    warden
        .db
        .exec("INSERT INTO login_throttle (key, failures, window_start) VALUES ('ip:192.0.2.1', 20, 0)")
        .await;
    let expired = "SELECT COUNT(*) FROM login_throttle WHERE key = 'ip:192.0.2.1'";
    let started = Instant::now();
    while warden.count(expired).await > 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(warden.count(expired).await, 0, "an expired row was purged");
    assert!(warden.count(rows).await > 0, "current rows are kept");
}

/// Follows `url` from `http`; returns the status, checking what a refusal must carry.
async fn authorize_status(http: &reqwest::Client, url: &str) -> u16 {
    let response = http.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    if status == 429 || status == 503 {
        assert!(
            response.headers().contains_key("retry-after"),
            "{status} without Retry-After"
        );
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        assert!(response.headers().get("location").is_none());
    }
    status
}

#[tokio::test]
async fn unauthenticated_authorization_requests_are_rate_limited_per_address_and_capped() {
    let mut warden = Warden::new(&[
        ("WARDEN_AUTHORIZE_RATE_LIMIT", "20"),
        ("WARDEN_PENDING_AUTHORIZATIONS_MAX", "30"),
    ])
    .await;
    let (client_id, _) = interactive_client(&warden);
    warden.serve().await;
    let pending = "SELECT COUNT(*) FROM authorization_requests";

    // 50 valid requests from one address: 20 stored, the rest 429.
    let one = client_from(loopback(11));
    let mut statuses = Vec::new();
    for _ in 0..50 {
        statuses.push(authorize_status(&one, &super::authorize_url(&warden, &client_id)).await);
    }
    let from_one = tally(&statuses);
    let after_one = warden.count(pending).await;

    // Then from five more addresses, ten each: the global cap (30) stops them.
    let mut statuses = Vec::new();
    let mut most = after_one;
    for round in 0..10 {
        for last in 12..17 {
            let http = client_from(loopback(last));
            statuses
                .push(authorize_status(&http, &super::authorize_url(&warden, &client_id)).await);
        }
        if round % 3 == 0 {
            most = most.max(warden.count(pending).await);
        }
    }
    let from_many = tally(&statuses);
    let stored = warden.count(pending).await;
    most = most.max(stored);
    let metrics = warden.metrics().await;
    let gauge = super::metric_value(&metrics, "warden_pending_authorizations");
    let rate = super::metric_value(&metrics, &refusals("authorize_rate"));
    let cap = super::metric_value(&metrics, &refusals("authorize_cap"));
    println!(
        "authorize flood: one address {from_one:?} ({after_one} rows), five addresses \
         {from_many:?}; {stored} rows (at most {most} seen), gauge {gauge:?}, refusals \
         authorize_rate {rate:?}, authorize_cap {cap:?}"
    );
    assert_eq!(from_one.get(&303), Some(&20), "20 stored from one address");
    assert_eq!(from_one.get(&429), Some(&30), "the rest refused with 429");
    assert!(after_one <= 20, "{after_one} pending rows from one address");
    assert!(most <= 30, "{most} pending rows: over the cap of 30");
    assert!(
        from_many.get(&503).copied().unwrap_or(0) > 0,
        "the cap refused with 503"
    );
    assert!(gauge.is_some_and(|g| g <= 30.0 && g > 0.0), "{gauge:?}");
    assert!(rate.is_some_and(|r| r >= 30.0), "{rate:?}");
    assert!(cap.is_some_and(|c| c > 0.0), "{cap:?}");
}

fn registration_metadata() -> serde_json::Value {
    serde_json::json!({
        "client_name": "Flood App",
        "redirect_uris": [crate::helpers::browser::REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    })
}

/// Registers from `address`; returns the status and the JSON body, checking that a 429
/// says when to come back.
async fn register_from(warden: &Warden, address: IpAddr) -> (u16, serde_json::Value) {
    let response = client_from(address)
        .post(warden.url("/register"))
        .json(&registration_metadata())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 429 {
        let retry: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry > 0);
    }
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn dynamic_registrations_stop_at_the_unused_cap_and_at_the_global_rate() {
    let warden = Warden::start(&[
        ("WARDEN_UNUSED_REGISTRATIONS_MAX", "10"),
        ("WARDEN_REGISTRATION_RATE_LIMIT", "100"),
    ])
    .await;
    let mut statuses = Vec::new();
    for n in 0..15u8 {
        let (status, body) = register_from(&warden, loopback(21 + n % 3)).await;
        if status == 429 {
            assert_eq!(body["error"], "temporarily_unavailable", "{body}");
        }
        statuses.push(status);
    }
    let counts = tally(&statuses);
    let dynamic = warden
        .count("SELECT COUNT(*) FROM clients WHERE registration = 'dynamic'")
        .await;
    let metrics = warden.metrics().await;
    let gauge = super::metric_value(&metrics, "warden_unused_registrations");
    let capped = super::metric_value(&metrics, &refusals("registration_unused_cap"));
    println!(
        "registrations: 15 from three addresses answered {counts:?}; {dynamic} dynamic \
         clients, gauge {gauge:?}, registration_unused_cap refusals {capped:?}"
    );
    assert_eq!(counts.get(&201), Some(&10));
    assert_eq!(counts.get(&429), Some(&5));
    assert!(dynamic <= 10, "{dynamic} dynamic clients");
    assert_eq!(gauge, Some(10.0));
    assert!(capped.is_some_and(|c| c >= 5.0), "{capped:?}");

    // Per address (3 an hour here) and all addresses together (5 an hour).
    let rated = Warden::start(&[
        ("WARDEN_REGISTRATION_RATE_LIMIT", "3"),
        ("WARDEN_REGISTRATION_GLOBAL_RATE_LIMIT", "5"),
    ])
    .await;
    let mut first = Vec::new();
    for _ in 0..4 {
        first.push(register_from(&rated, loopback(31)).await);
    }
    let mut second = Vec::new();
    for _ in 0..3 {
        second.push(register_from(&rated, loopback(32)).await);
    }
    let statuses = |v: &[(u16, serde_json::Value)]| v.iter().map(|(s, _)| *s).collect::<Vec<_>>();
    let metrics = rated.metrics().await;
    let per_address = super::metric_value(&metrics, &refusals("registration_rate"));
    let global = super::metric_value(&metrics, &refusals("registration_global_rate"));
    println!(
        "registration rates: one address {:?}, another {:?}; refusals registration_rate \
         {per_address:?}, registration_global_rate {global:?}",
        statuses(&first),
        statuses(&second)
    );
    assert_eq!(statuses(&first), [201, 201, 201, 429], "per-address rate");
    assert_eq!(statuses(&second), [201, 201, 429], "global rate");
    for (_, body) in first.iter().chain(&second).filter(|(s, _)| *s == 429) {
        assert!(body["error"].is_string(), "{body}");
    }
    assert!(per_address.is_some_and(|n| n >= 1.0), "{per_address:?}");
    assert!(global.is_some_and(|n| n >= 1.0), "{global:?}");
}
