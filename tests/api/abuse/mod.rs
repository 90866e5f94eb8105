//! Warden stays up and small under abuse: the real `warden serve` binary, with small limits
//! set through its environment, against floods a single machine can send over loopback.
//! Each test asserts the bounds from outside the process: resident memory and open file
//! descriptors read from /proc, token latency during a flood, connections closed by the
//! deadlines, and row counts in the database after the floods.
//!
//! Scaled down for CI (debug build, 2 cores). The sizes can be raised to the full-size
//! run against a release build with `ABUSE_SIGNINS=64 ABUSE_SECONDS=30
//! ABUSE_SLOW_BODIES=1100 ABUSE_NONREADERS=2000`.

mod connections;
mod fail_fast;
mod forwarded;
mod protocol;
mod signin_flood;
mod storage;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;

use crate::helpers::{
    ServeProcess, TestDb, free_port, scalar, serve_process, stdout_json, wait_ready,
};

/// The resident-memory ceiling every flood must stay under.
const RSS_CEILING_MB: f64 = 200.0;

/// A size of the attack: `default`, or the environment variable `name` when set.
fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One `warden serve` process on its own port and its own database.
struct Warden {
    db: Arc<TestDb>,
    env: HashMap<String, String>,
    port: u16,
    base: String,
    process: Option<ServeProcess>,
}

impl Warden {
    /// A server on a fresh database with these settings, not started yet (run the CLI
    /// first, then `serve`).
    async fn new(settings: &[(&str, &str)]) -> Warden {
        Warden::on(TestDb::new().await, settings)
    }

    fn on(db: Arc<TestDb>, settings: &[(&str, &str)]) -> Warden {
        crate::helpers::install_crypto_provider();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut env: HashMap<String, String> = db.env().into_iter().collect();
        env.insert("WARDEN_BIND".into(), format!("127.0.0.1:{port}"));
        env.insert("WARDEN_ISSUER".into(), base.clone());
        env.insert("RUST_LOG".into(), "warn".into());
        for (k, v) in settings {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        Warden {
            db,
            env,
            port,
            base,
            process: None,
        }
    }

    /// Started and ready.
    async fn start(settings: &[(&str, &str)]) -> Warden {
        let mut warden = Warden::new(settings).await;
        warden.serve().await;
        warden
    }

    async fn serve(&mut self) {
        self.process = Some(serve_process(&self.env));
        wait_ready(&self.base).await;
    }

    /// Starts the server with its stderr collected line by line into the returned log.
    async fn serve_logging(&mut self) -> Arc<Mutex<Vec<String>>> {
        self.serve_logging_with(crate::helpers::warden_command(&self.env).arg("serve"))
            .await
    }

    /// The same, under a soft open-file limit of `limit` (set by the shell before exec).
    async fn serve_logging_with_open_files(&mut self, limit: u32) -> Arc<Mutex<Vec<String>>> {
        let mut command = std::process::Command::new("bash");
        command
            .arg("-c")
            .arg(format!("ulimit -Sn {limit} && exec \"$0\" serve"))
            .arg(crate::helpers::warden_binary())
            .env_clear()
            .envs(&self.env)
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        self.serve_logging_with(&mut command).await
    }

    async fn serve_logging_with(
        &mut self,
        command: &mut std::process::Command,
    ) -> Arc<Mutex<Vec<String>>> {
        let mut child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        self.process = Some(ServeProcess(child));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                sink.lock().unwrap().push(line);
            }
        });
        wait_ready(&self.base).await;
        lines
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs the `warden` CLI on this server's database; returns its JSON output.
    fn cli(&self, args: &[&str]) -> serde_json::Value {
        stdout_json(
            &crate::helpers::warden_command(&self.env)
                .args(args)
                .output()
                .unwrap(),
        )
    }

    fn pid(&self) -> u32 {
        self.process.as_ref().expect("the server runs").0.id()
    }

    fn is_running(&mut self) -> bool {
        let process = self.process.as_mut().expect("the server runs");
        process.0.try_wait().unwrap().is_none()
    }

    fn rss_mb(&self) -> f64 {
        rss_mb(self.pid())
    }

    /// Open file descriptors of the server process (sockets included).
    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .unwrap()
            .count()
    }

    async fn metrics(&self) -> String {
        let response = reqwest::get(self.url("/metrics")).await.unwrap();
        assert_eq!(response.status(), 200, "GET /metrics from loopback");
        response.text().await.unwrap()
    }

    /// The value of one series of /metrics (name with its labels, as printed).
    async fn metric(&self, series: &str) -> f64 {
        let text = self.metrics().await;
        metric_value(&text, series).unwrap_or_else(|| panic!("no {series} in /metrics:\n{text}"))
    }

    /// One number from the server's database, read behind its back.
    async fn count(&self, sql: &str) -> i64 {
        scalar(&self.db, sql).await
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(("127.0.0.1", self.port)).await.unwrap()
    }
}

/// VmRSS of a process, in MB.
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Samples a process's VmRSS every 250 ms until `finish`, keeping the peak.
struct RssWatch {
    peak_kb: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        let peak_kb = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (peak, halt) = (peak_kb.clone(), stop.clone());
        let task = tokio::spawn(async move {
            while !halt.load(Ordering::SeqCst) {
                peak.fetch_max((rss_mb(pid) * 1024.0) as u64, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        RssWatch {
            peak_kb,
            stop,
            task,
        }
    }

    /// Stops sampling; returns the peak in MB.
    async fn finish(self, pid: u32) -> f64 {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap();
        let last = (rss_mb(pid) * 1024.0) as u64;
        self.peak_kb.fetch_max(last, Ordering::SeqCst).max(last) as f64 / 1024.0
    }
}

/// The value of `series` (a metric name with its labels, as printed) in Prometheus text.
fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| match l.rsplit_once(' ') {
            Some((name, value)) if name == series => value.parse().ok(),
            _ => None,
        })
}

/// The refusals counted for one limit in /metrics.
fn refusals(limit: &str) -> String {
    format!("warden_limit_refusals_total{{limit=\"{limit}\"}}")
}

/// An HTTP client whose connections come from `address` (any 127.x.y.z is loopback).
fn client_from(address: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The `name=value` pair of a cookie a response sets.
fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

/// Someone at one address with the login form's double-submit pair (cookie and field), which
/// stays good for any number of attempts.
struct SignInForm {
    http: reqwest::Client,
    url: String,
    cookie: String,
    csrf: String,
}

impl SignInForm {
    async fn load(warden: &Warden, address: IpAddr) -> SignInForm {
        let http = client_from(address);
        let url = warden.url("/login");
        let page = http.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let cookie = set_cookie(&page, "warden-login");
        let csrf = crate::helpers::browser::hidden(&page.text().await.unwrap(), "csrf");
        SignInForm {
            http,
            url,
            cookie,
            csrf,
        }
    }

    async fn attempt(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(&self.url)
            .header("cookie", &self.cookie)
            .form(&[
                ("csrf", self.csrf.as_str()),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }
}

/// How a read of a connection ended.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// The server closed the connection.
    Closed,
    /// The server reset it.
    Reset,
    /// Still open when we stopped waiting.
    StillOpen,
}

/// Reads until the peer closes or resets the connection, or `limit` passes.
async fn read_to_close(
    stream: &mut (impl AsyncRead + Unpin),
    limit: Duration,
) -> (Vec<u8>, Ending) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (got, Ending::StillOpen),
            Ok(Ok(0)) => return (got, Ending::Closed),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => return (got, Ending::Reset),
        }
    }
}

/// The status line of a raw HTTP answer.
fn status_line(answer: &[u8]) -> String {
    String::from_utf8_lossy(answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The `p` quantile (0..=1) of sorted durations, in ms.
fn quantile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// A resource and an interactive client (as crash.rs makes them), created with the CLI.
/// Returns the client's credentials.
fn interactive_client(warden: &Warden) -> (String, String) {
    client_with(
        warden,
        &[
            "--grant-type",
            "authorization_code",
            "--redirect-uri",
            crate::helpers::browser::REDIRECT,
        ],
    )
}

/// A resource and a client_credentials client, created with the CLI: its credentials.
fn agent_client(warden: &Warden) -> (String, String) {
    client_with(warden, &["--grant-type", "client_credentials"])
}

fn client_with(warden: &Warden, grant: &[&str]) -> (String, String) {
    warden.cli(&[
        "resource", "create", "--uri", RESOURCE, "--name", "mcp", "--scopes", "mcp:read",
    ]);
    let mut args = vec![
        "client",
        "create",
        "--name",
        "client",
        "--resource",
        RESOURCE,
    ];
    args.extend_from_slice(grant);
    crate::helpers::credentials_of(&warden.cli(&args))
}

const RESOURCE: &str = "https://mcp.example.com/";

/// A valid authorization request for `client_id`: stored as pending until sign-in.
fn authorize_url(warden: &Warden, client_id: &str) -> String {
    let p = crate::helpers::browser::pkce();
    let mut url = url::Url::parse(&warden.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", crate::helpers::browser::REDIRECT)
        .append_pair("code_challenge", &p.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", RESOURCE)
        .append_pair("scope", "mcp:read")
        .append_pair("state", "s");
    url.to_string()
}
