//! Load benchmark: drives a release `warden` over loopback and reports, per scenario,
//! throughput, p50/p99 latency, errors and the server's peak RSS.
//!
//! `cargo bench --bench load` runs it on SQLite; with `WARDEN_BENCH_DATABASE_URL` (an admin
//! URL such as `postgres://postgres@127.0.0.1:5432/postgres`) it runs again on a fresh
//! Postgres database. `WARDEN_BENCH_SECONDS` (default 8) and `WARDEN_BENCH_CONNECTIONS`
//! (default 32) shape the load. Every response is checked; loopback only; bounded in time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const MAX_REQUESTS_PER_SCENARIO: u64 = 2_000_000;

struct Server {
    child: Child,
    env: HashMap<String, String>,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn warden(env: &HashMap<String, String>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_warden"));
    c.env_clear()
        .envs(env)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    c
}

fn cli(env: &HashMap<String, String>, args: &[&str]) -> serde_json::Value {
    let out = warden(env).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn start(database_url: Option<String>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut env = HashMap::from([
        (
            "WARDEN_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
        ("WARDEN_BIND".to_owned(), format!("127.0.0.1:{port}")),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
    ]);
    if let Some(url) = database_url {
        env.insert("DATABASE_URL".into(), url);
        env.insert(
            "WARDEN_SECRET_KEY".into(),
            "bench-secret-key-bench-secret-key-0123456789".into(),
        );
    }
    let child = warden(&env)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        env,
        base,
        _dir: dir,
    }
}

struct Outcome {
    name: &'static str,
    requests: u64,
    errors: u64,
    seconds: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `make` in `connections` loops for `seconds`; `check` validates each response body.
async fn scenario<F, Fut>(name: &'static str, connections: usize, seconds: u64, make: F) -> Outcome
where
    F: Fn(reqwest::Client, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make = Arc::new(make);
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..connections {
        let (make, stop, count) = (make.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut latencies = Vec::with_capacity(1 << 16);
            let mut errors = 0u64;
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed)
                && count.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS_PER_SCENARIO
            {
                let t = Instant::now();
                if !make(http.clone(), i * 1_000_000 + n).await {
                    errors += 1;
                }
                latencies.push(t.elapsed());
                n += 1;
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Outcome {
        name,
        requests: all.len() as u64,
        errors,
        seconds: elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

/// A 200 whose body starts as expected.
async fn ok(response: reqwest::Result<reqwest::Response>, prefix: &[u8]) -> bool {
    match response {
        Ok(r) if r.status() == 200 => r.bytes().await.is_ok_and(|b| b.starts_with(prefix)),
        _ => false,
    }
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn run(label: &str, database_url: Option<String>, connections: usize, seconds: u64) {
    let server = start(database_url).await;
    let base = server.base.clone();
    let admin = cli(&server.env, &["admin", "bootstrap"]);
    let _ = admin;
    cli(
        &server.env,
        &[
            "resource",
            "create",
            "--uri",
            "https://mcp.bench.example",
            "--name",
            "bench",
            "--scopes",
            "mcp:read mcp:write",
        ],
    );
    let agent = cli(
        &server.env,
        &[
            "client",
            "create",
            "--name",
            "agent",
            "--grant-type",
            "client_credentials",
            "--resource",
            "https://mcp.bench.example",
        ],
    );
    let rs = cli(
        &server.env,
        &[
            "client",
            "create",
            "--name",
            "rs",
            "--grant-type",
            "client_credentials",
            "--serves",
            "https://mcp.bench.example",
        ],
    );
    let agent = Arc::new((
        agent["client_id"].as_str().unwrap().to_owned(),
        agent["client_secret"].as_str().unwrap().to_owned(),
    ));
    let rs = Arc::new((
        rs["client_id"].as_str().unwrap().to_owned(),
        rs["client_secret"].as_str().unwrap().to_owned(),
    ));

    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for _ in 0..64 {
        let body: serde_json::Value = http
            .post(format!("{base}/token"))
            .basic_auth(&agent.0, Some(&agent.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(body["access_token"].as_str().unwrap().to_owned());
    }
    let tokens = Arc::new(tokens);

    let mut outcomes = Vec::new();
    let b = base.clone();
    outcomes.push(
        scenario("metadata", connections, seconds, move |c, _| {
            let url = format!("{b}/.well-known/oauth-authorization-server");
            async move { ok(c.get(url).send().await, b"{\"issuer\"").await }
        })
        .await,
    );
    let b = base.clone();
    outcomes.push(
        scenario("jwks", connections, seconds, move |c, _| {
            let url = format!("{b}/jwks.json");
            async move { ok(c.get(url).send().await, b"{\"keys\"").await }
        })
        .await,
    );
    let (b, a) = (base.clone(), agent.clone());
    outcomes.push(
        scenario(
            "client_credentials (ES256)",
            connections,
            seconds,
            move |c, _| {
                let (url, a) = (format!("{b}/token"), a.clone());
                async move {
                    let r = c
                        .post(url)
                        .basic_auth(&a.0, Some(&a.1))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await;
                    ok(r, b"{\"access_token\":\"ey").await
                }
            },
        )
        .await,
    );
    let (b, s, t) = (base.clone(), rs.clone(), tokens.clone());
    outcomes.push(
        scenario("introspection", connections, seconds, move |c, n| {
            let (url, s, token) = (format!("{b}/introspect"), s.clone(), t[n % t.len()].clone());
            async move {
                let r = c
                    .post(url)
                    .basic_auth(&s.0, Some(&s.1))
                    .form(&[("token", token.as_str())])
                    .send()
                    .await;
                ok(r, b"{\"active\":true").await
            }
        })
        .await,
    );

    let rss = peak_rss_mib(server.child.id());
    println!(
        "\n### {label} ({connections} connections, {seconds} s per scenario, peak RSS {rss:.0} MiB)\n"
    );
    println!("| scenario | requests/s | p50 | p99 | errors |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for o in &outcomes {
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} |",
            o.name,
            o.requests as f64 / o.seconds,
            o.p50.as_secs_f64() * 1e3,
            o.p99.as_secs_f64() * 1e3,
            o.errors
        );
    }
    drop(server);
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let seconds: u64 = std::env::var("WARDEN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8)
        .clamp(1, 120);
    let connections: usize = std::env::var("WARDEN_BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
        .clamp(1, 512);
    run("SQLite (embedded)", None, connections, seconds).await;
    if let Ok(admin_url) = std::env::var("WARDEN_BENCH_DATABASE_URL") {
        use sqlx::Connection;
        let name = format!("warden_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        run("Postgres", Some(url.to_string()), connections, seconds).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}
