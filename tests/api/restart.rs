//! Graceful shutdown and restart under load drop no accepted request: the real binary is
//! stopped with SIGTERM while clients keep asking for tokens, then started again on the
//! same port. In front of it, like a load balancer, a health check polls /readyz and
//! routes requests only while it answers 200; on SIGTERM Warden turns /readyz to 503 and
//! keeps serving for WARDEN_SHUTDOWN_DRAIN before it stops accepting. Every request
//! completes with a good 200 or is refused before it is accepted; none is cut off, and
//! every token handed out stays valid after the restart.
//!
//! Without the drain (and without a health check) a few connections still in the
//! kernel's accept queue when the listener closed were reset: that is what this found.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::{TestDb, serve_process, stdout_json, wait_ready, warden_command};

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    refused: AtomicU64,
    /// Accepted and then cut off, or answered with anything but a good 200.
    broken: AtomicU64,
}

#[tokio::test]
async fn sigterm_and_restart_under_load_lose_no_accepted_request() {
    crate::helpers::install_crypto_provider();
    let db = TestDb::new().await;
    let port = crate::helpers::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut env: std::collections::HashMap<String, String> = db.env().into_iter().collect();
    env.insert("WARDEN_BIND".into(), format!("127.0.0.1:{port}"));
    env.insert("WARDEN_WORKERS".into(), "2".into());
    env.insert("WARDEN_TOKEN_RATE_LIMIT".into(), "0".into());
    env.insert("RUST_LOG".into(), "warn".into());
    env.insert("WARDEN_SHUTDOWN_DRAIN".into(), "1".into());
    let cli = |args: &[&str]| stdout_json(&warden_command(&env).args(args).output().unwrap());
    cli(&[
        "resource",
        "create",
        "--uri",
        "https://mcp.example.com/",
        "--name",
        "mcp",
        "--scopes",
        "mcp:read",
    ]);
    let agent = crate::helpers::credentials_of(&cli(&[
        "client",
        "create",
        "--name",
        "agent",
        "--grant-type",
        "client_credentials",
        "--resource",
        "https://mcp.example.com/",
    ]));
    let rs = crate::helpers::credentials_of(&cli(&[
        "client",
        "create",
        "--name",
        "rs",
        "--grant-type",
        "client_credentials",
        "--serves",
        "https://mcp.example.com/",
    ]));

    let mut first = serve_process(&env);
    wait_ready(&base).await;

    let stop = Arc::new(AtomicBool::new(false));
    // The balancer's view: route to the node only while its health check passes.
    let routable = Arc::new(AtomicBool::new(true));
    let checker = {
        let (stop, routable, base) = (stop.clone(), routable.clone(), base.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_millis(500))
                .build()
                .unwrap();
            while !stop.load(Ordering::SeqCst) {
                let up = http
                    .get(format!("{base}/readyz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                routable.store(up, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let tally = Arc::new(Tally::default());
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (stop, tally, tokens) = (stop.clone(), tally.clone(), tokens.clone());
        let routable = routable.clone();
        let (agent, base) = (agent.clone(), base.clone());
        load.push(tokio::spawn(async move {
            // A fresh connection per request: a refused connection is then unambiguous.
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap();
            while !stop.load(Ordering::SeqCst) {
                if !routable.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                let sent = http
                    .post(format!("{base}/token"))
                    .header("connection", "close")
                    .basic_auth(&agent.0, Some(&agent.1))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 200 => match r.json::<serde_json::Value>().await {
                        Ok(body) if body["access_token"].is_string() => {
                            tally.ok.fetch_add(1, Ordering::SeqCst);
                            let mut kept = tokens.lock().unwrap();
                            if kept.len() < 200 {
                                kept.push(body["access_token"].as_str().unwrap().to_owned());
                            }
                        }
                        _ => {
                            tally.broken.fetch_add(1, Ordering::SeqCst);
                        }
                    },
                    Err(e) if e.is_connect() => {
                        tally.refused.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    other => {
                        eprintln!("broken: {other:?}");
                        tally.broken.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }));
    }

    // Under load (other tests beside this one) the first tokens can take a while.
    let warming = std::time::Instant::now();
    while tally.ok.load(Ordering::SeqCst) < 20 && warming.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before_stop = tally.ok.load(Ordering::SeqCst);
    assert!(before_stop > 0);
    let pid = first.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Draining: not ready at once, still serving.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !routable.load(Ordering::SeqCst),
        "/readyz turned 503 on SIGTERM"
    );
    let mut exited = None;
    for _ in 0..200 {
        if let Some(status) = first.0.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        exited.expect("warden did not stop within 5 s").success(),
        "SIGTERM is a clean exit"
    );

    let _second = serve_process(&env);
    wait_ready(&base).await;
    let after_restart = tally.ok.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    checker.await.unwrap();
    assert!(
        tally.ok.load(Ordering::SeqCst) > after_restart,
        "tokens are issued again after the restart"
    );
    assert_eq!(
        tally.broken.load(Ordering::SeqCst),
        0,
        "an accepted request was cut off or failed"
    );
    eprintln!(
        "{} tokens issued, {} connections refused while stopped",
        tally.ok.load(Ordering::SeqCst),
        tally.refused.load(Ordering::SeqCst)
    );

    // Everything handed out before and during the shutdown is still good.
    let http = reqwest::Client::new();
    let kept = tokens.lock().unwrap().clone();
    for token in kept.iter().step_by(10) {
        let seen: serde_json::Value = http
            .post(format!("{base}/introspect"))
            .basic_auth(&rs.0, Some(&rs.1))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(seen["active"], true, "{seen}");
    }
}
