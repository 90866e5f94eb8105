//! Load benchmark: drives a release `warden` over loopback, side by side with node
//! `oidc-provider` (benches/peer), and reports per scenario the median over rounds of
//! throughput, p50/p99 latency, errors, and each server's RSS.
//!
//! One command does everything: `benches/run.sh` (installs the pinned peer, starts
//! Postgres if needed, runs this). By hand: `cargo bench --bench load`, with
//! - `WARDEN_BENCH_DATABASE_URL` (an admin URL such as
//!   `postgres://postgres@127.0.0.1:5432/postgres`): also run on a fresh Postgres database;
//! - `WARDEN_BENCH_SECONDS` (default 5), `WARDEN_BENCH_CONNECTIONS` (32),
//!   `WARDEN_BENCH_ROUNDS` (3): each scenario runs that long, that many rounds, Warden and
//!   the peer alternating which goes first;
//! - `WARDEN_BENCH_SEED=1`: then seed 1,000,000 grants, 100,000 refresh tokens and 10,000
//!   clients and run Warden's scenarios again, with the plans of the hot queries;
//! - `WARDEN_BENCH_ONLY=sqlite|postgres`, `WARDEN_BENCH_PEER=0` to skip parts;
//! - `WARDEN_BENCH_MIX=SECONDS`: instead, every flow interleaved for that long
//!   (benches/mix.sh: three minutes on Postgres).
//!
//! Every response is checked; loopback only; bounded in time and request count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;
use sha2::Digest;

const MAX_REQUESTS_PER_SCENARIO: u64 = 2_000_000;
const RESOURCE: &str = "https://mcp.bench.example";
const DOWNSTREAM: &str = "https://api.bench.example";
const REDIRECT: &str = "http://127.0.0.1:9/cb";
const PASSWORD: &str = "bench password 0123456789";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

struct Config {
    seconds: u64,
    connections: usize,
    rounds: usize,
    peer: bool,
    seed: bool,
    /// Seconds of the mixed-flow load test instead of the scenarios (0: scenarios).
    mix: u64,
}

struct Server {
    child: Child,
    env: HashMap<String, String>,
    base: String,
    database_url: Option<String>,
    dir: tempfile::TempDir,
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

fn cli(env: &HashMap<String, String>, args: &[&str]) -> Value {
    let out = warden(env).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn cli_stdin(env: &HashMap<String, String>, args: &[&str], input: &str) -> Value {
    use std::io::Write;
    let mut child = warden(env)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_ready(url: &str) {
    let http = reqwest::Client::new();
    for _ in 0..400 {
        if http.get(url).send().await.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never became ready");
}

async fn start(database_url: Option<String>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut env = HashMap::from([
        (
            "WARDEN_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
        ("WARDEN_BIND".to_owned(), format!("127.0.0.1:{port}")),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
        // One client drives each scenario far beyond any sane per-client limit: the
        // limiter is measured off (it is a per-node map lookup when on).
        ("WARDEN_TOKEN_RATE_LIMIT".to_owned(), "0".to_owned()),
    ]);
    // Pool-sizing experiments: pass the pool size through.
    if let Ok(n) = std::env::var("WARDEN_DB_MAX_CONNECTIONS") {
        env.insert("WARDEN_DB_MAX_CONNECTIONS".into(), n);
    }
    if let Some(url) = &database_url {
        env.insert("DATABASE_URL".into(), url.clone());
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
    wait_ready(&format!("{base}/readyz")).await;
    Server {
        child,
        env,
        base,
        database_url,
        dir,
    }
}

/// node oidc-provider, started by benches/peer/provider.mjs.
struct Peer {
    child: Child,
    info: Value,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_peer(format: &str, workers: usize) -> Option<Peer> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer");
    if !dir.join("node_modules/oidc-provider").exists() {
        println!("(peer skipped: run `npm ci --prefix benches/peer` or benches/run.sh)");
        return None;
    }
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("PEER_PORT", free_port().to_string())
        .env("PEER_TOKEN_FORMAT", format)
        .env("PEER_WORKERS", workers.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Some(Peer {
        child,
        info: serde_json::from_str(&line).unwrap(),
    })
}

/// Resident memory of a process and its children, in MiB: (current, peak).
fn rss_mib(pid: u32) -> (f64, f64) {
    let mut pids = vec![pid];
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    pids.extend(
        children
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok()),
    );
    let field = |status: &str, name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    pids.iter().fold((0.0, 0.0), |(now, peak), p| {
        let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
        (
            now + field(&status, "VmRSS:"),
            peak + field(&status, "VmHWM:"),
        )
    })
}

#[derive(Clone, Copy, Default)]
struct Outcome {
    rate: f64,
    errors: u64,
    p50: Duration,
    p99: Duration,
}

/// Runs `make` in `connections` loops for `seconds`; `make(http, connection, n)` returns
/// whether the response was right.
async fn scenario<F, Fut>(connections: usize, seconds: u64, make: F) -> Outcome
where
    F: Fn(reqwest::Client, usize, usize) -> Fut + Send + Sync + 'static,
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
                .redirect(reqwest::redirect::Policy::none())
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
                if !make(http.clone(), i, n).await {
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
        rate: all.len() as f64 / elapsed,
        errors,
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

/// The endpoints and credentials a target offers for the shared scenarios.
#[derive(Clone)]
struct Target {
    metadata: String,
    jwks: String,
    token: String,
    introspection: String,
    agent: (String, String),
    rs: (String, String),
}

fn pkce() -> (String, String) {
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn cookie_of(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// Everything Warden's own scenarios need, provisioned with the real CLI and browser pages.
struct Fixture {
    target: Target,
    ide: (String, String),
    session: String,
    issuer: String,
}

async fn provision(server: &Server) -> Fixture {
    let env = &server.env;
    let base = &server.base;
    let resource = cli(
        env,
        &[
            "resource",
            "create",
            "--uri",
            RESOURCE,
            "--name",
            "bench",
            "--scopes",
            "mcp:read mcp:write",
        ],
    );
    cli(
        env,
        &[
            "resource", "create", "--uri", DOWNSTREAM, "--name", "api", "--scopes", "mcp:read",
        ],
    );
    let creds = |v: &Value| {
        (
            v["client_id"].as_str().unwrap().to_owned(),
            v["client_secret"].as_str().unwrap().to_owned(),
        )
    };
    let agent = creds(&cli(
        env,
        &[
            "client",
            "create",
            "--name",
            "agent",
            "--grant-type",
            "client_credentials",
            "--resource",
            RESOURCE,
        ],
    ));
    let rs = creds(&cli(
        env,
        &[
            "client",
            "create",
            "--name",
            "rs",
            "--grant-type",
            "client_credentials",
            "--grant-type",
            EXCHANGE,
            "--serves",
            RESOURCE,
        ],
    ));
    cli(
        env,
        &[
            "downstream",
            "set",
            resource["id"].as_str().unwrap(),
            "--target",
            DOWNSTREAM,
        ],
    );
    let ide = creds(&cli(
        env,
        &[
            "client",
            "create",
            "--name",
            "ide",
            "--grant-type",
            "authorization_code",
            "--grant-type",
            "refresh_token",
            "--redirect-uri",
            REDIRECT,
            "--resource",
            RESOURCE,
        ],
    ));
    cli_stdin(env, &["user", "add", "bench", "--password-stdin"], PASSWORD);

    // Sign in once and consent once; every flow after that reuses both.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = cookie_of(&page, "warden-login").unwrap();
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let signed_in = http
        .post(format!("{base}/login"))
        .header("cookie", login_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "bench"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let session = cookie_of(&signed_in, "warden-session").unwrap();
    let (_, challenge) = pkce();
    let consent = http
        .get(authorize_url(base, &ide.0, &challenge))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 200, "expected the consent page");
    let html = consent.text().await.unwrap();
    let approved = http
        .post(format!("{base}/consent"))
        .header("cookie", &session)
        .form(&[
            ("csrf", hidden(&html, "csrf").as_str()),
            ("request", hidden(&html, "request").as_str()),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 303);
    Fixture {
        target: Target {
            metadata: format!("{base}/.well-known/oauth-authorization-server"),
            jwks: format!("{base}/jwks.json"),
            token: format!("{base}/token"),
            introspection: format!("{base}/introspect"),
            agent,
            rs,
        },
        ide,
        session,
        issuer: base.clone(),
    }
}

fn authorize_url(base: &str, client_id: &str, challenge: &str) -> String {
    let mut url = url::Url::parse(&format!("{base}/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "s")
        .append_pair("resource", RESOURCE)
        .append_pair("scope", "mcp:read");
    url.to_string()
}

/// One authorization-code flow by program: authorize (signed in, consent remembered) →
/// code → token. Returns the token response.
/// One refresh with the chain's current token; on success the chain moves to its successor.
async fn refresh_step(http: &reqwest::Client, f: &Fixture, chain: &Mutex<String>) -> bool {
    let current = chain.lock().unwrap().clone();
    let r = http
        .post(format!("{}/token", f.issuer))
        .basic_auth(&f.ide.0, Some(&f.ide.1))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", current.as_str()),
        ])
        .send()
        .await;
    let Ok(r) = r else { return false };
    if r.status() != 200 {
        return false;
    }
    let Ok(body) = r.json::<Value>().await else {
        return false;
    };
    match body["refresh_token"].as_str() {
        Some(next) => {
            *chain.lock().unwrap() = next.to_owned();
            true
        }
        None => false,
    }
}

async fn code_flow(http: &reqwest::Client, f: &Fixture) -> Option<Value> {
    let (verifier, challenge) = pkce();
    let r = http
        .get(authorize_url(&f.issuer, &f.ide.0, &challenge))
        .header("cookie", &f.session)
        .send()
        .await
        .ok()?;
    if r.status() != 303 {
        return None;
    }
    let location = r.headers().get("location")?.to_str().ok()?.to_owned();
    let url = url::Url::parse(&location).ok()?;
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())?;
    let r = http
        .post(format!("{}/token", f.issuer))
        .basic_auth(&f.ide.0, Some(&f.ide.1))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .ok()?;
    if r.status() != 200 {
        return None;
    }
    r.json().await.ok()
}

async fn mint_tokens(t: &Target, count: usize) -> Arc<Vec<String>> {
    let http = reqwest::Client::new();
    let mut tokens = Vec::new();
    for _ in 0..count {
        let body: Value = http
            .post(&t.token)
            .basic_auth(&t.agent.0, Some(&t.agent.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(body["access_token"].as_str().unwrap().to_owned());
    }
    Arc::new(tokens)
}

/// The scenarios both servers support.
async fn shared(name: &str, t: &Target, tokens: &Arc<Vec<String>>, c: &Config) -> Outcome {
    let t = t.clone();
    match name {
        "metadata" => {
            scenario(c.connections, c.seconds, move |h, _, _| {
                let url = t.metadata.clone();
                async move { ok(h.get(url).send().await, b"{\"").await }
            })
            .await
        }
        "jwks" => {
            scenario(c.connections, c.seconds, move |h, _, _| {
                let url = t.jwks.clone();
                async move { ok(h.get(url).send().await, b"{\"keys\"").await }
            })
            .await
        }
        "client_credentials (ES256 JWT)" => {
            scenario(c.connections, c.seconds, move |h, _, _| {
                let t = t.clone();
                async move {
                    let r = h
                        .post(&t.token)
                        .basic_auth(&t.agent.0, Some(&t.agent.1))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await;
                    ok(r, b"{\"access_token\":\"ey").await
                }
            })
            .await
        }
        "introspection" => {
            let tokens = tokens.clone();
            scenario(c.connections, c.seconds, move |h, i, n| {
                let t = t.clone();
                let token = tokens[(i * 7 + n) % tokens.len()].clone();
                async move {
                    let r = h
                        .post(&t.introspection)
                        .basic_auth(&t.rs.0, Some(&t.rs.1))
                        .form(&[("token", token.as_str())])
                        .send()
                        .await;
                    ok(r, b"{\"active\":true").await
                }
            })
            .await
        }
        other => unreachable!("{other}"),
    }
}

/// Warden's own scenarios: the MCP user flows.
async fn own(name: &str, f: &Arc<Fixture>, c: &Config) -> Outcome {
    let f = f.clone();
    match name {
        "authorization code flow (authorize + token)" => {
            scenario(c.connections, c.seconds, move |h, _, _| {
                let f = f.clone();
                async move { code_flow(&h, &f).await.is_some() }
            })
            .await
        }
        "refresh-token rotation" => {
            // Each connection rotates its own chain.
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let mut chains = Vec::new();
            for _ in 0..c.connections {
                let body = code_flow(&http, &f).await.unwrap();
                chains.push(Mutex::new(
                    body["refresh_token"].as_str().unwrap().to_owned(),
                ));
            }
            let chains = Arc::new(chains);
            scenario(c.connections, c.seconds, move |h, i, _| {
                let (f, chains) = (f.clone(), chains.clone());
                async move { refresh_step(&h, &f, &chains[i]).await }
            })
            .await
        }
        "token exchange (RFC 8693, delegation)" => {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let mut subjects = Vec::new();
            for _ in 0..16 {
                let body = code_flow(&http, &f).await.unwrap();
                subjects.push(body["access_token"].as_str().unwrap().to_owned());
            }
            let subjects = Arc::new(subjects);
            scenario(c.connections, c.seconds, move |h, i, n| {
                let (f, subjects) = (f.clone(), subjects.clone());
                async move {
                    let subject = &subjects[(i + n) % subjects.len()];
                    let r = h
                        .post(format!("{}/token", f.issuer))
                        .basic_auth(&f.target.rs.0, Some(&f.target.rs.1))
                        .form(&[
                            ("grant_type", EXCHANGE),
                            ("subject_token", subject.as_str()),
                            (
                                "subject_token_type",
                                "urn:ietf:params:oauth:token-type:access_token",
                            ),
                            ("resource", DOWNSTREAM),
                        ])
                        .send()
                        .await;
                    ok(r, b"{\"access_token\":\"ey").await
                }
            })
            .await
        }
        "client_credentials with a DPoP proof (ES256)" => {
            // One key for the agent; each connection keeps the last nonce it was sent.
            let key = Arc::new(
                josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap(),
            );
            let nonces: Arc<Vec<Mutex<String>>> = Arc::new(
                (0..c.connections)
                    .map(|_| Mutex::new(String::new()))
                    .collect(),
            );
            scenario(c.connections, c.seconds, move |h, i, _| {
                let (f, key, nonces) = (f.clone(), key.clone(), nonces.clone());
                async move { dpop_client_credentials(&h, &f.target, &key, &nonces[i]).await }
            })
            .await
        }
        other => unreachable!("{other}"),
    }
}

/// One DPoP-bound client_credentials token (RFC 9449): a fresh proof per request with the
/// connection's last nonce, and one retry when told `use_dpop_nonce`.
async fn dpop_client_credentials(
    h: &reqwest::Client,
    t: &Target,
    key: &josekit::jwk::Jwk,
    nonce: &Mutex<String>,
) -> bool {
    for _ in 0..2 {
        let current = nonce.lock().unwrap().clone();
        let proof = dpop_proof(key, &t.token, &current);
        let Ok(r) = h
            .post(&t.token)
            .basic_auth(&t.agent.0, Some(&t.agent.1))
            .header("DPoP", proof)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
        else {
            return false;
        };
        if let Some(next) = r.headers().get("dpop-nonce").and_then(|v| v.to_str().ok()) {
            *nonce.lock().unwrap() = next.to_owned();
        }
        let status = r.status();
        let Ok(body) = r.bytes().await else {
            return false;
        };
        if status == 200 {
            return body.starts_with(b"{\"access_token\":\"ey")
                && body.windows(16).any(|w| w == b"\"token_type\":\"DPoP");
        }
        if !body.windows(14).any(|w| w == b"use_dpop_nonce") {
            return false;
        }
    }
    false
}

fn dpop_proof(key: &josekit::jwk::Jwk, htu: &str, nonce: &str) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = serde_json::json!({
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": key.to_public_key().unwrap().as_ref(),
    });
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = serde_json::json!({
        "htm": "POST",
        "htu": htu,
        "iat": iat,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    if !nonce.is_empty() {
        claims["nonce"] = nonce.into();
    }
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signer = josekit::jws::ES256.signer_from_jwk(key).unwrap();
    let signature = josekit::jws::JwsSigner::sign(&signer, input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

const SHARED: [&str; 4] = [
    "metadata",
    "jwks",
    "client_credentials (ES256 JWT)",
    "introspection",
];
const OWN: [&str; 4] = [
    "client_credentials with a DPoP proof (ES256)",
    "authorization code flow (authorize + token)",
    "refresh-token rotation",
    "token exchange (RFC 8693, delegation)",
];

fn median(mut v: Vec<Outcome>) -> Outcome {
    v.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let mut m = v[v.len() / 2];
    m.errors = v.iter().map(|o| o.errors).sum();
    m
}

fn cell(o: &Outcome) -> String {
    format!(
        "{:.0} | {:.2} ms | {:.2} ms | {}",
        o.rate,
        o.p50.as_secs_f64() * 1e3,
        o.p99.as_secs_f64() * 1e3,
        o.errors
    )
}

/// Warden's scenarios (and the peer's, alternating) for `rounds`; returns Warden's medians.
async fn measure(
    label: &str,
    server: &Server,
    fixture: &Arc<Fixture>,
    c: &Config,
    with_peer: bool,
) -> HashMap<&'static str, Outcome> {
    let warden_tokens = mint_tokens(&fixture.target, 64).await;
    let (jwt_peer, opaque_peer) = if with_peer && c.peer {
        (
            start_peer(
                "jwt",
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            start_peer("opaque", 1),
        )
    } else {
        (None, None)
    };
    let peer_target = |p: &Peer| Target {
        metadata: p.info["metadata"].as_str().unwrap().to_owned(),
        jwks: p.info["jwks"].as_str().unwrap().to_owned(),
        token: p.info["token"].as_str().unwrap().to_owned(),
        introspection: p.info["introspection"].as_str().unwrap().to_owned(),
        agent: (
            p.info["agent"]["id"].as_str().unwrap().to_owned(),
            p.info["agent"]["secret"].as_str().unwrap().to_owned(),
        ),
        rs: (
            p.info["rs"]["id"].as_str().unwrap().to_owned(),
            p.info["rs"]["secret"].as_str().unwrap().to_owned(),
        ),
    };
    let peer_tokens = match &opaque_peer {
        Some(p) => mint_tokens(&peer_target(p), 64).await,
        None => Arc::new(Vec::new()),
    };
    let idle = rss_mib(server.child.id()).0;
    let mut ours: HashMap<&str, Vec<Outcome>> = HashMap::new();
    let mut theirs: HashMap<&str, Vec<Outcome>> = HashMap::new();
    for round in 0..c.rounds {
        for name in SHARED {
            // Introspection on the peer needs opaque tokens (it refuses to introspect JWTs).
            let peer = if name == "introspection" {
                opaque_peer.as_ref()
            } else {
                jwt_peer.as_ref()
            };
            let peer_first = round % 2 == 1;
            if peer_first && let Some(p) = peer {
                let o = shared(name, &peer_target(p), &peer_tokens, c).await;
                theirs.entry(name).or_default().push(o);
            }
            let o = shared(name, &fixture.target, &warden_tokens, c).await;
            ours.entry(name).or_default().push(o);
            if !peer_first && let Some(p) = peer {
                let o = shared(name, &peer_target(p), &peer_tokens, c).await;
                theirs.entry(name).or_default().push(o);
            }
        }
        for name in OWN {
            ours.entry(name)
                .or_default()
                .push(own(name, fixture, c).await);
        }
    }
    let (_, peak) = rss_mib(server.child.id());
    let metrics = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let metric = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let acquired = metric("warden_db_acquire_total");
    println!(
        "\n### {label}: {} connections, {} s per scenario, median of {} rounds; Warden RSS {idle:.0} MiB idle, {peak:.0} MiB peak\n",
        c.connections, c.seconds, c.rounds
    );
    println!(
        "Database pool: {} connections at most; {:.0} acquisitions, mean wait {:.3} ms, worst {:.1} ms, {:.1}% found no idle connection\n",
        metric("warden_db_pool_max_connections"),
        acquired,
        metric("warden_db_acquire_wait_seconds_total") / acquired.max(1.0) * 1e3,
        metric("warden_db_acquire_wait_seconds_max") * 1e3,
        metric("warden_db_acquire_without_idle_total") / acquired.max(1.0) * 100.0
    );
    let peers = jwt_peer.is_some();
    if peers {
        let jwt = rss_mib(jwt_peer.as_ref().unwrap().child.id()).1;
        let opaque = opaque_peer
            .as_ref()
            .map_or(0.0, |p| rss_mib(p.child.id()).1);
        println!(
            "Peer: oidc-provider {} on Node {} ({} cluster workers for JWT tokens, 1 process for opaque tokens; in-memory storage); peer RSS peak {jwt:.0} MiB (JWT), {opaque:.0} MiB (opaque)\n",
            jwt_peer.as_ref().unwrap().info["version"]
                .as_str()
                .unwrap_or("?"),
            node_version(),
            jwt_peer.as_ref().unwrap().info["workers"]
        );
        println!(
            "| scenario | Warden req/s | p50 | p99 | errors | peer req/s | p50 | p99 | errors | Warden/peer |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    } else {
        println!("| scenario | req/s | p50 | p99 | errors |");
        println!("| --- | ---: | ---: | ---: | ---: |");
    }
    let mut medians = HashMap::new();
    for name in SHARED.iter().chain(OWN.iter()) {
        let w = median(ours.remove(name).unwrap());
        medians.insert(*name, w);
        match theirs.remove(name) {
            Some(p) => {
                let p = median(p);
                println!(
                    "| {name} | {} | {} | {:.1}× |",
                    cell(&w),
                    cell(&p),
                    w.rate / p.rate
                );
            }
            None if peers => println!("| {name} | {} | — | — | — | — | — |", cell(&w)),
            None => println!("| {name} | {} |", cell(&w)),
        }
    }
    medians
}

fn node_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The hot queries, with literal parameters, for their plans.
fn hot_queries(f: &Fixture) -> Vec<(&'static str, String)> {
    let agent = &f.target.agent.0;
    vec![
        ("client by id (client authentication)", format!("SELECT * FROM clients WHERE client_id = '{agent}'")),
        ("resource with the client's live grant (client_credentials)", format!(
            "SELECT r.id, g.id FROM resources r LEFT JOIN grants g ON g.resource = r.uri AND g.client_id = '{agent}' \
             AND g.kind = 'client_credentials' AND g.revoked_at IS NULL WHERE r.uri = '{RESOURCE}'")),
        ("grant status (introspection)", "SELECT COALESCE(g.revoked_at, p.revoked_at), c.enabled, r.enabled, u.disabled \
             FROM grants g JOIN clients c ON c.client_id = g.client_id JOIN resources r ON r.uri = g.resource \
             LEFT JOIN grants p ON p.id = g.parent_id LEFT JOIN clients pc ON pc.client_id = p.client_id \
             LEFT JOIN users u ON u.id = g.subject AND g.kind <> 'client_credentials' WHERE g.id = 'seed-grant-500000'".into()),
        ("refresh token by hash", "SELECT * FROM refresh_tokens WHERE token_hash = 'seed-rt-50000'".into()),
        ("live consent grant (authorize)", format!(
            "SELECT * FROM grants WHERE client_id = '{}' AND subject = 'seed-user-7' AND resource = '{RESOURCE}' \
             AND kind = 'authorization_code' AND revoked_at IS NULL", f.ide.0)),
        ("authorization code by hash", "SELECT * FROM authorization_codes WHERE code_hash = 'x'".into()),
        ("session by hash", "SELECT * FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = 'x'".into()),
    ]
}

/// Seeds 10,000 clients, 50,000 users, 1,000,000 grants and 100,000 refresh tokens with the same SQL on
/// both databases, then prints the plans of the hot queries.
async fn seed(server: &Server, f: &Fixture) {
    let statements = [
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
         INSERT INTO clients (client_id, secret_hash, name, token_endpoint_auth_method, redirect_uris, grant_types, \
         resources, scopes, served_resources, enabled, created_at, updated_at, registration) \
         SELECT 'seed-client-' || i, NULL, 'seed', 'none', '', 'authorization_code', '', NULL, '', TRUE, 0, 0, 'admin' FROM n"
            .to_owned(),
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) \
             INSERT INTO grants (id, kind, client_id, subject, resource, scope, created_at, revoked_at, last_used_at) \
             SELECT 'seed-grant-' || i, 'authorization_code', 'seed-client-' || (i % 10000 + 1), 'seed-user-' || (i / 20), \
             '{RESOURCE}', 'mcp:read', 0, CASE WHEN i % 10 = 0 THEN 1 ELSE NULL END, NULL FROM n"
        ),
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
         INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scope, created_at, expires_at, rotated_at) \
         SELECT 'seed-rt-' || i, 'seed-grant-' || (i * 10 - 1), 'seed-client-' || ((i * 10 - 1) % 10000 + 1), 'mcp:read', 0, 4102444800, NULL FROM n"
            .to_owned(),
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999) \
         INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at) \
         SELECT 'seed-user-' || i, 'seed-user-' || i, '', FALSE, 0, 0 FROM n"
            .to_owned(),
        "ANALYZE".to_owned(),
    ];
    let started = Instant::now();
    let plans: Vec<(String, String)> = match &server.database_url {
        Some(url) => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            for s in &statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone()))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            let mut plans = Vec::new();
            for (name, q) in hot_queries(f) {
                let rows: Vec<(String,)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN ANALYZE {q}")))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                plans.push((
                    name.to_owned(),
                    rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n"),
                ));
            }
            plans
        }
        None => {
            use sqlx::Connection;
            let path = server.dir.path().join("warden.db");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
                .await
                .unwrap();
            for s in &statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(s.clone()))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            let mut plans = Vec::new();
            for (name, q) in hot_queries(f) {
                let rows: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {q}")))
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                plans.push((
                    name.to_owned(),
                    rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n"),
                ));
            }
            plans
        }
    };
    println!(
        "\nSeeded 10,000 clients, 50,000 users, 1,000,000 grants and 100,000 refresh tokens in {:.1} s. Plans of the hot queries:\n",
        started.elapsed().as_secs_f64()
    );
    for (name, plan) in plans {
        println!("{name}:\n```\n{plan}\n```");
    }
}

/// Every flow at once, for minutes: per connection and request, 4 in 10 are
/// client_credentials, 3 introspection, 1 a whole authorization-code flow, 1 a refresh
/// (each connection rotates its own chain) and 1 a token exchange.
async fn mix(label: &str, server: &Server, f: &Arc<Fixture>, c: &Config) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut chains = Vec::new();
    let mut subjects = Vec::new();
    for _ in 0..c.connections {
        let body = code_flow(&http, f).await.unwrap();
        chains.push(Mutex::new(
            body["refresh_token"].as_str().unwrap().to_owned(),
        ));
        subjects.push(body["access_token"].as_str().unwrap().to_owned());
    }
    let (chains, subjects) = (Arc::new(chains), Arc::new(subjects));
    let tokens = mint_tokens(&f.target, 64).await;
    let idle = rss_mib(server.child.id()).0;
    let fixture = f.clone();
    let o = scenario(c.connections, c.mix, move |h, i, n| {
        let (f, chains, subjects, tokens) = (
            fixture.clone(),
            chains.clone(),
            subjects.clone(),
            tokens.clone(),
        );
        async move {
            let t = &f.target;
            match n % 10 {
                0..=3 => {
                    let r = h
                        .post(&t.token)
                        .basic_auth(&t.agent.0, Some(&t.agent.1))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await;
                    ok(r, b"{\"access_token\":\"ey").await
                }
                4..=6 => {
                    let r = h
                        .post(&t.introspection)
                        .basic_auth(&t.rs.0, Some(&t.rs.1))
                        .form(&[("token", tokens[(i + n) % tokens.len()].as_str())])
                        .send()
                        .await;
                    ok(r, b"{\"active\":true").await
                }
                7 => code_flow(&h, &f).await.is_some(),
                8 => refresh_step(&h, &f, &chains[i]).await,
                _ => {
                    let r = h
                        .post(format!("{}/token", f.issuer))
                        .basic_auth(&t.rs.0, Some(&t.rs.1))
                        .form(&[
                            ("grant_type", EXCHANGE),
                            ("subject_token", subjects[i].as_str()),
                            (
                                "subject_token_type",
                                "urn:ietf:params:oauth:token-type:access_token",
                            ),
                            ("resource", DOWNSTREAM),
                        ])
                        .send()
                        .await;
                    ok(r, b"{\"access_token\":\"ey").await
                }
            }
        }
    })
    .await;
    let (now, peak) = rss_mib(server.child.id());
    println!(
        "\n### Mixed load, {label}: {} connections for {} s\n",
        c.connections, c.mix
    );
    println!("| requests/s | p50 | p99 | errors | RSS idle | RSS peak | RSS after |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {:.0} | {:.2} ms | {:.2} ms | {} | {idle:.0} MiB | {peak:.0} MiB | {now:.0} MiB |",
        o.rate,
        o.p50.as_secs_f64() * 1e3,
        o.p99.as_secs_f64() * 1e3,
        o.errors
    );
}

async fn run(label: &str, database_url: Option<String>, c: &Config) {
    let server = start(database_url).await;
    let fixture = Arc::new(provision(&server).await);
    if c.mix > 0 {
        mix(label, &server, &fixture, c).await;
        return;
    }
    let empty = measure(label, &server, &fixture, c, true).await;
    if c.seed {
        seed(&server, &fixture).await;
        let seeded = measure(&format!("{label}, seeded"), &server, &fixture, c, false).await;
        println!("\n| scenario | empty req/s | seeded req/s | change |");
        println!("| --- | ---: | ---: | ---: |");
        for name in SHARED.iter().chain(OWN.iter()) {
            let (e, s) = (empty[name].rate, seeded[name].rate);
            println!(
                "| {name} | {e:.0} | {s:.0} | {:+.0}% |",
                (s - e) / e * 100.0
            );
        }
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = Config {
        seconds: env_number("WARDEN_BENCH_SECONDS", 5u64).clamp(1, 120),
        connections: env_number("WARDEN_BENCH_CONNECTIONS", 32usize).clamp(1, 512),
        rounds: env_number("WARDEN_BENCH_ROUNDS", 3usize).clamp(1, 9),
        peer: std::env::var("WARDEN_BENCH_PEER").as_deref() != Ok("0"),
        seed: std::env::var("WARDEN_BENCH_SEED").as_deref() == Ok("1"),
        mix: env_number("WARDEN_BENCH_MIX", 0u64).min(3600),
    };
    let only = std::env::var("WARDEN_BENCH_ONLY").unwrap_or_default();
    println!(
        "Machine: {} cores, {}; load generator on the same machine, loopback.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .unwrap_or("unknown CPU")
            .trim()
    );
    if only != "postgres" {
        run("SQLite (embedded)", None, &c).await;
    }
    if only != "sqlite"
        && let Ok(admin_url) = std::env::var("WARDEN_BENCH_DATABASE_URL")
    {
        use sqlx::Connection;
        let name = format!("warden_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        run("Postgres", Some(url.to_string()), &c).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}
