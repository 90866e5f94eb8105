//! Abuse benchmark: drives one `warden` binary (any version: it uses only the HTTP
//! endpoints, the CLI and /proc) through the attacks of docs/abuse.md, each on a fresh
//! server process, and prints one result line per scenario.
//!
//! `ABUSE_BIN=/path/to/warden cargo bench --bench abuse`, with
//! - `ABUSE_ONLY=signin,slow_bodies,nonreaders` (default: all three);
//! - `ABUSE_SIGNINS` (64) sign-in loops for `ABUSE_SECONDS` (30), spread over source
//!   addresses 127.x.y.z, each moving to a fresh address when throttled (429), while
//!   client_credentials throughput is measured against the unloaded figure;
//! - `ABUSE_SLOW_BODIES` (1100) connections that send a head and 10 of 100 body bytes;
//! - `ABUSE_NONREADERS` (2000) connections that pipeline 64 requests and never read;
//! - `ABUSE_RSS_LIMIT_MIB` (8192): a server whose RSS passes it is killed (and reported).
//!
//! Raise the bench's own open-file limit first (`ulimit -n 20000`): the server inherits it,
//! and `slow_bodies` also runs under a soft limit of 1024 when the inherited one is higher.
//!
//! Loopback only; every loop is bounded in time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpSocket, TcpStream};

const RESOURCE: &str = "https://mcp.abuse.example";
const CC_LOOPS: usize = 16;
const CC_SECONDS: u64 = 10;

struct Config {
    bin: String,
    signins: usize,
    seconds: u64,
    slow_bodies: usize,
    nonreaders: usize,
    rss_limit_mib: f64,
}

struct Server {
    child: Child,
    env: HashMap<String, String>,
    base: String,
    addr: SocketAddr,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lines the server wrote to stderr, and the last one.
    fn log_summary(&self) -> String {
        let raw = std::fs::read_to_string(&self.log).unwrap_or_default();
        // Without the terminal colours.
        let mut text = String::with_capacity(raw.len());
        let mut escape = false;
        for ch in raw.chars() {
            match (escape, ch) {
                (false, '\u{1b}') => escape = true,
                (false, _) => text.push(ch),
                (true, 'm') => escape = false,
                (true, _) => {}
            }
        }
        let last: String = text
            .lines()
            .last()
            .unwrap_or("")
            .chars()
            .take(160)
            .collect();
        format!("{} log lines; last: {last:?}", text.lines().count())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(c: &Config, env: &HashMap<String, String>) -> Command {
    let mut cmd = Command::new(&c.bin);
    cmd.env_clear()
        .envs(env)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

fn cli(c: &Config, env: &HashMap<String, String>, args: &[&str]) -> serde_json::Value {
    let out = command(c, env).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh server with every limit at its default (the per-client token limit off);
/// `nofile`: run it under that soft open-file limit.
async fn start(c: &Config, nofile: Option<u32>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = HashMap::from([
        (
            "WARDEN_DATA_DIR".to_owned(),
            dir.path().display().to_string(),
        ),
        ("WARDEN_BIND".to_owned(), format!("127.0.0.1:{port}")),
        ("WARDEN_ISSUER".to_owned(), base.clone()),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
        ("WARDEN_TOKEN_RATE_LIMIT".to_owned(), "0".to_owned()),
    ]);
    let log = dir.path().join("server.log");
    let mut cmd = match nofile {
        None => {
            let mut cmd = command(c, &env);
            cmd.arg("serve");
            cmd
        }
        Some(n) => {
            let mut cmd = Command::new("bash");
            cmd.env_clear()
                .envs(&env)
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .arg("-c")
                .arg(format!("ulimit -Sn {n} && exec \"$0\" serve"))
                .arg(&c.bin);
            cmd
        }
    };
    let child = cmd
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        env,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        base,
        log,
        _dir: dir,
    };
    let http = reqwest::Client::new();
    for _ in 0..400 {
        let ready = http
            .get(format!("{}/readyz", server.base))
            .timeout(Duration::from_secs(1))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{} never became ready: {}",
        server.base,
        server.log_summary()
    );
}

fn status_field(pid: u32, name: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Resident memory in MiB (0 once the process is gone).
fn rss_mib(pid: u32) -> f64 {
    status_field(pid, "VmRSS:") / 1024.0
}

/// The kernel's high-water mark of resident memory, in MiB.
fn hwm_mib(pid: u32) -> f64 {
    status_field(pid, "VmHWM:") / 1024.0
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// The soft and hard open-file limits of a process.
fn nofile(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let mut fields = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| l.split_whitespace().skip(3).map(str::to_owned).collect())
        .unwrap_or_else(Vec::new)
        .into_iter();
    (
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
    )
}

#[derive(Clone, Copy, Default)]
struct Sample {
    t: f64,
    rss: f64,
    fds: usize,
}

/// Samples the server's RSS and open descriptors every `every` until stopped, and kills
/// it (SIGKILL) when its RSS passes the limit.
struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    killed: Arc<Mutex<Option<Sample>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    fn start(pid: u32, t0: Instant, every: Duration, limit_mib: f64) -> Sampler {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let killed = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, k, st) = (samples.clone(), killed.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // Bounded: at most an hour of samples.
            for _ in 0..(3_600_000 / every.as_millis().max(1)) {
                tick.tick().await;
                if st.load(Ordering::Relaxed) {
                    break;
                }
                let sample = Sample {
                    t: t0.elapsed().as_secs_f64(),
                    rss: rss_mib(pid),
                    fds: fd_count(pid),
                };
                s.lock().unwrap().push(sample);
                if sample.rss > limit_mib && k.lock().unwrap().is_none() {
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                    *k.lock().unwrap() = Some(sample);
                }
            }
        });
        Sampler {
            samples,
            killed,
            stop,
            task,
        }
    }

    fn killed(&self) -> Option<Sample> {
        *self.killed.lock().unwrap()
    }

    fn peak(&self, from: f64, to: f64) -> Sample {
        self.samples
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.t >= from && s.t <= to)
            .fold(Sample::default(), |a, s| Sample {
                t: if s.rss > a.rss { s.t } else { a.t },
                rss: a.rss.max(s.rss),
                fds: a.fds.max(s.fds),
            })
    }

    /// The last sample taken at or before `t`.
    fn at(&self, t: f64) -> Sample {
        self.samples
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|s| s.t <= t)
            .copied()
            .unwrap_or_default()
    }

    async fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
        self.samples.lock().unwrap().clone()
    }
}

/// RSS (MiB) and open descriptors every `step` seconds: "t:rss/fds …".
fn timeline(samples: &[Sample], step: f64) -> String {
    let mut out = Vec::new();
    let mut next = 0.0;
    for s in samples {
        if s.t >= next {
            out.push(format!("{:.0}:{:.0}/{}", s.t, s.rss, s.fds));
            next = (s.t / step).floor() * step + step;
        }
    }
    out.join(" ")
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

struct Throughput {
    ok_per_second: f64,
    ok: u64,
    failed: u64,
    p50: Duration,
    p99: Duration,
}

/// `CC_LOOPS` keep-alive loops POSTing client_credentials for `seconds`; only 200s count.
/// Requests still in flight at the end are dropped; one that times out (10 s) counts as a
/// failure with a 10 s latency.
async fn cc_throughput(base: &str, client: &(String, String), seconds: u64) -> Throughput {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(1 << 16)));
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..CC_LOOPS {
        let (ok, failed, latencies) = (ok.clone(), failed.clone(), latencies.clone());
        let (url, id, secret) = (format!("{base}/token"), client.0.clone(), client.1.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            while Instant::now() < end {
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .basic_auth(&id, Some(&secret))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await;
                let good = match r {
                    Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                    Ok(r) => {
                        let _ = r.bytes().await;
                        false
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        false
                    }
                };
                if Instant::now() > end {
                    break;
                }
                latencies.lock().unwrap().push(t.elapsed());
                if good {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep_until(end.into()).await;
    for t in &tasks {
        t.abort();
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut all = latencies.lock().unwrap().clone();
    all.sort();
    let ok = ok.load(Ordering::Relaxed);
    Throughput {
        ok_per_second: ok as f64 / seconds as f64,
        ok,
        failed: failed.load(Ordering::Relaxed),
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
    }
}

/// The n-th source address: 127.10.0.1, 127.10.0.2, … (never 127.0.0.1, the server's).
fn source_address(n: u32) -> IpAddr {
    let host = n % 254 + 1;
    let rest = n / 254;
    IpAddr::V4(Ipv4Addr::new(
        127,
        (10 + rest / 256 % 240) as u8,
        (rest % 256) as u8,
        host as u8,
    ))
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_owned())
}

fn login_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("warden-login=") || v.starts_with("__Host-warden-login="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

type Tally = Arc<Mutex<BTreeMap<String, u64>>>;

fn count(tally: &Tally, key: String) {
    *tally.lock().unwrap().entry(key).or_default() += 1;
}

/// One attacker: signs in with made-up names and a wrong password from one address until
/// it is throttled, then from the next.
async fn signin_loop(
    base: String,
    id: usize,
    next: Arc<AtomicU32>,
    tally: Tally,
    stop: Arc<AtomicBool>,
) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let address = next.fetch_add(1, Ordering::Relaxed);
        let http = reqwest::Client::builder()
            .local_address(source_address(address))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let page = match http.get(format!("{base}/login")).send().await {
            Ok(p) => p,
            Err(_) => {
                count(&tally, "GET /login error".into());
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let status = page.status().as_u16();
        let cookie = login_cookie(&page);
        let csrf = page.text().await.ok().and_then(|h| hidden(&h, "csrf"));
        let (Some(cookie), Some(csrf)) = (cookie, csrf) else {
            count(&tally, format!("GET /login {status} without form"));
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let username = format!("nobody-{id}-{address}-{n}");
            let r = http
                .post(format!("{base}/login"))
                .header("cookie", &cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", username.as_str()),
                    ("password", "wrong"),
                ])
                .send()
                .await;
            match r {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    count(&tally, status.to_string());
                    if status == 429 {
                        break;
                    }
                }
                Err(e) => {
                    count(
                        &tally,
                        if e.is_timeout() { "timeout" } else { "error" }.into(),
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn scenario_signin(c: &Config) {
    let server = start(c, None).await;
    let pid = server.pid();
    cli(
        c,
        &server.env,
        &[
            "resource", "create", "--uri", RESOURCE, "--name", "abuse", "--scopes", "mcp:read",
        ],
    );
    let created = cli(
        c,
        &server.env,
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
    );
    let client = (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    );
    let unloaded = cc_throughput(&server.base, &client, CC_SECONDS).await;
    let before = rss_mib(pid);

    let t0 = Instant::now();
    let sampler = Sampler::start(pid, t0, Duration::from_millis(250), c.rss_limit_mib);
    let tally: Tally = Arc::default();
    let next = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut loops = Vec::new();
    for id in 0..c.signins {
        loops.push(tokio::spawn(signin_loop(
            server.base.clone(),
            id,
            next.clone(),
            tally.clone(),
            stop.clone(),
        )));
    }
    // Token throughput in the middle of the flood: after a third of it (at most 10 s).
    let warmup = (c.seconds / 3).min(10);
    let window = (c.seconds - warmup).clamp(1, CC_SECONDS);
    let flood_end = t0 + Duration::from_secs(c.seconds);
    let mut during = None;
    // Bounded: the flood ends at `flood_end`, or early once the server is killed.
    while Instant::now() < flood_end && sampler.killed().is_none() {
        if during.is_none() && t0.elapsed() >= Duration::from_secs(warmup) {
            during = Some(cc_throughput(&server.base, &client, window).await);
            continue;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for l in &loops {
        l.abort();
    }
    for l in loops {
        let _ = l.await;
    }
    let flood = t0.elapsed().as_secs_f64();
    let peak = sampler.peak(0.0, flood);
    let hwm = hwm_mib(pid);
    let after = rss_mib(pid);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let later = rss_mib(pid);
    let killed = sampler.killed();
    let samples = sampler.finish().await;

    let statuses = tally.lock().unwrap().clone();
    let posts: u64 = statuses
        .iter()
        .filter(|(k, _)| k.parse::<u16>().is_ok())
        .map(|(_, v)| v)
        .sum();
    let statuses = statuses
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let during_text = match &during {
        Some(d) => format!(
            "{:.0}/s ({} ok, {} failed; {:.2}× unloaded), token p50 {} p99 {}",
            d.ok_per_second,
            d.ok,
            d.failed,
            d.ok_per_second / unloaded.ok_per_second.max(f64::MIN_POSITIVE),
            ms(d.p50),
            ms(d.p99)
        ),
        None => "not measured".to_owned(),
    };
    let killed_text = match killed {
        Some(s) => format!(
            "; KILLED at {:.1} s of the flood with RSS {:.0} MiB",
            s.t, s.rss
        ),
        None => String::new(),
    };
    println!(
        "signin: {} loops for {flood:.1} s from {} addresses; sign-in POSTs {posts} ({:.0}/s), statuses {{{statuses}}}; \
         RSS before {before:.0} MiB, peak {:.0} MiB (at {:.1} s; VmHWM {hwm:.0} MiB), after {after:.0} MiB, 10 s after {later:.0} MiB; \
         cc unloaded {:.0}/s ({} failed, p50 {} p99 {}), during {during_text}{killed_text}; server {}; RSS MiB/fds by 5 s: {}",
        c.signins,
        next.load(Ordering::Relaxed),
        posts as f64 / flood,
        peak.rss,
        peak.t,
        unloaded.ok_per_second,
        unloaded.failed,
        ms(unloaded.p50),
        ms(unloaded.p99),
        server.log_summary(),
        timeline(&samples, 5.0)
    );
}

/// Writes all of `data` without any read half (no io-util needed); false on timeout or error.
async fn write_all(stream: &TcpStream, mut data: &[u8], deadline: Duration) -> bool {
    let work = async {
        while !data.is_empty() {
            if stream.writable().await.is_err() {
                return false;
            }
            match stream.try_write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
        }
        true
    };
    tokio::time::timeout(deadline, work).await.unwrap_or(false)
}

/// Opens `n` connections 100 at a time with `open`, keeping those that succeed.
async fn open_batches<F, Fut>(n: usize, open: F) -> (Vec<TcpStream>, usize)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<TcpStream>> + Send + 'static,
{
    let mut streams = Vec::with_capacity(n);
    let mut failed = 0;
    let mut left = n;
    while left > 0 {
        let batch: Vec<_> = (0..left.min(100)).map(|_| tokio::spawn(open())).collect();
        left -= batch.len();
        for t in batch {
            match t.await.ok().flatten() {
                Some(s) => streams.push(s),
                None => failed += 1,
            }
        }
    }
    (streams, failed)
}

async fn probe(url: String) -> bool {
    let Ok(http) = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return false;
    };
    match http.get(url).send().await {
        Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
        _ => false,
    }
}

async fn slow_bodies(c: &Config, nofile_limit: Option<u32>) {
    let server = start(c, nofile_limit).await;
    let pid = server.pid();
    let (soft, hard) = nofile(pid);
    let t0 = Instant::now();
    let sampler = Sampler::start(pid, t0, Duration::from_millis(250), c.rss_limit_mib);
    let before = rss_mib(pid);
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type",
        server.addr
    );
    let addr = server.addr;
    let (streams, failed) = open_batches(c.slow_bodies, || {
        let head = head.clone();
        async move {
            let s = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
                .await
                .ok()?
                .ok()?;
            write_all(&s, head.as_bytes(), Duration::from_secs(2))
                .await
                .then_some(s)
        }
    })
    .await;
    let opened = t0.elapsed().as_secs_f64();
    let mut streams: Vec<Option<TcpStream>> = streams.into_iter().map(Some).collect();
    let (mut closed, mut answered_408, mut answered_other) = (0usize, 0usize, 0usize);
    let mut closed_at = BTreeMap::new();
    let mut per_second = Vec::new();
    let metadata = format!("{}/.well-known/oauth-authorization-server", server.base);
    let mut probes = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    for second in 1..=30u32 {
        tick.tick().await;
        let mut buf = [0u8; 4096];
        for slot in streams.iter_mut() {
            let Some(s) = slot else { continue };
            let done = match s.try_read(&mut buf) {
                Ok(0) => true,
                Ok(n) => {
                    if buf[..n].windows(3).any(|w| w == b"408") {
                        answered_408 += 1;
                        true
                    } else {
                        answered_other += 1;
                        false
                    }
                }
                Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            };
            if done {
                closed += 1;
                *slot = None;
            }
        }
        closed_at.insert(second, closed);
        per_second.push(closed.to_string());
        probes.push((second, tokio::spawn(probe(metadata.clone()))));
    }
    let mut timeline = String::new();
    let (mut first_fail, mut first_ok_after_fail, mut oks) = (None, None, 0);
    for (second, p) in probes {
        let ok = p.await.unwrap_or(false);
        timeline.push(if ok { '+' } else { '-' });
        if ok {
            oks += 1;
            if first_fail.is_some() && first_ok_after_fail.is_none() {
                first_ok_after_fail = Some(second);
            }
        } else if first_fail.is_none() {
            first_fail = Some(second);
        }
    }
    let peak = sampler.peak(0.0, f64::MAX);
    let killed = sampler.killed();
    let open_at_end = streams.iter().flatten().count();
    drop(streams);
    sampler.finish().await;
    let label = match nofile_limit {
        Some(n) => format!("slow_bodies (server soft nofile {n})"),
        None => "slow_bodies".to_owned(),
    };
    let second = |s: Option<u32>| s.map_or("never".to_owned(), |s| format!("{s} s"));
    println!(
        "{label}: server nofile soft {soft} hard {hard}; {} connections opened in {opened:.1} s ({failed} failed to open); \
         closed by the server after 5 s {}, 15 s {}, 30 s {} ({answered_408} with a 408, {answered_other} other answers; {open_at_end} still open; closed by second: {}); \
         probes ok {oks}/30, first failure {}, first success after a failure {}, timeline {timeline}; \
         RSS before {before:.0} MiB, peak {:.0} MiB, fds peak {}{}; server {}",
        c.slow_bodies - failed,
        closed_at[&5],
        closed_at[&15],
        closed_at[&30],
        per_second.join(" "),
        second(first_fail),
        second(first_ok_after_fail),
        peak.rss,
        peak.fds,
        killed.map_or(String::new(), |s| format!(
            "; KILLED at {:.1} s with RSS {:.0} MiB",
            s.t, s.rss
        )),
        server.log_summary()
    );
}

async fn scenario_slow_bodies(c: &Config) {
    // The server's open-file limit decides when accepting stops: learn it on a throwaway.
    let soft = {
        let s = start(c, None).await;
        nofile(s.pid()).0
    };
    slow_bodies(c, None).await;
    if soft == "unlimited" || soft.parse::<u64>().is_ok_and(|n| n > 1100) {
        slow_bodies(c, Some(1024)).await;
    }
}

async fn scenario_nonreaders(c: &Config) {
    let server = start(c, None).await;
    let pid = server.pid();
    let before = Sample {
        t: 0.0,
        rss: rss_mib(pid),
        fds: fd_count(pid),
    };
    let t0 = Instant::now();
    let sampler = Sampler::start(pid, t0, Duration::from_millis(500), c.rss_limit_mib);
    let requests = "GET /admin/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(64);
    let addr = server.addr;
    let (streams, failed) = open_batches(c.nonreaders, || {
        let requests = requests.clone();
        async move {
            let socket = TcpSocket::new_v4().ok()?;
            socket.set_recv_buffer_size(4096).ok()?;
            let s = tokio::time::timeout(Duration::from_secs(2), socket.connect(addr))
                .await
                .ok()?
                .ok()?;
            // A write that cannot finish still leaves a connection that never reads.
            let _ = write_all(&s, requests.as_bytes(), Duration::from_secs(2)).await;
            Some(s)
        }
    })
    .await;
    let opened = t0.elapsed().as_secs_f64();
    tokio::time::sleep_until((t0 + Duration::from_secs(40)).into()).await;
    let at40 = sampler.at(40.0);
    let open = streams.len();
    drop(streams);
    tokio::time::sleep_until((t0 + Duration::from_secs(50)).into()).await;
    let peak = sampler.peak(0.0, 40.5);
    let at20 = sampler.at(20.0);
    let killed = sampler.killed();
    let samples = sampler.finish().await;
    let after = samples.last().copied().unwrap_or_default();
    println!(
        "nonreaders: {open} connections opened in {opened:.1} s ({failed} failed), 64 pipelined requests each, never read; \
         RSS before {:.0} MiB, peak {:.0} MiB (at {:.1} s), at 40 s {:.0} MiB, 10 s after closing {:.0} MiB; \
         fds before {}, peak {}, at 20 s {}, at 40 s {}, 10 s after closing {}{}; server {}; RSS MiB/fds by 5 s: {}",
        before.rss,
        peak.rss,
        peak.t,
        at40.rss,
        after.rss,
        before.fds,
        peak.fds,
        at20.fds,
        at40.fds,
        after.fds,
        killed.map_or(String::new(), |s| format!(
            "; KILLED at {:.1} s with RSS {:.0} MiB",
            s.t, s.rss
        )),
        server.log_summary(),
        timeline(&samples, 5.0)
    );
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
    let Ok(bin) = std::env::var("ABUSE_BIN") else {
        println!("abuse: set ABUSE_BIN to the warden binary to test (skipped)");
        return;
    };
    let c = Config {
        bin,
        signins: env_number("ABUSE_SIGNINS", 64usize).clamp(1, 4096),
        seconds: env_number("ABUSE_SECONDS", 30u64).clamp(3, 600),
        slow_bodies: env_number("ABUSE_SLOW_BODIES", 1100usize).clamp(1, 15_000),
        nonreaders: env_number("ABUSE_NONREADERS", 2000usize).clamp(1, 15_000),
        rss_limit_mib: env_number("ABUSE_RSS_LIMIT_MIB", 8192.0f64),
    };
    let only = std::env::var("ABUSE_ONLY").unwrap_or_default();
    let wanted = |name: &str| only.is_empty() || only.split(',').any(|s| s.trim() == name);
    let own = nofile(std::process::id());
    println!(
        "abuse: {} ({} cores); bench nofile soft {} hard {}",
        c.bin,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        own.0,
        own.1
    );
    if wanted("signin") {
        scenario_signin(&c).await;
    }
    if wanted("slow_bodies") {
        scenario_slow_bodies(&c).await;
    }
    if wanted("nonreaders") {
        scenario_nonreaders(&c).await;
    }
}
