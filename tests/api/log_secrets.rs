//! Secrets never leak: the real `warden serve` at debug level (Warden's own lines, actix,
//! sqlx, rustls) and the CLI commands an operator runs go through every flow; then their
//! logs are searched for every token, code, secret and password the test saw.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::browser::{Browser, hidden, location, pkce, query};
use crate::helpers::{TestDb, stdout_json, warden_command};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const DOWNSTREAM: &str = "https://api.example.com/v1";
const REDIRECT: &str = "http://127.0.0.1:7777/callback";
const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
// Spaces and punctuation, so that a form-encoded or JSON-escaped echo is searched for too.
const PASSWORD: &str = "alice's right password: 7Q2m-Kx9 v";
const WRONG_PASSWORD: &str = "not alice's password: J4w!0pz";
const WRONG_SECRET: &str = "a-wrong-client-secret-Vq8n3LmZ";

/// The kinds of audit event the run below must produce (each is searched for secrets).
const AUDITED: &[&str] = &[
    "token_exchange",
    "signin.failed",
    "signin.succeeded",
    "consent.given",
    "grant.revoked",
    "client.registered",
    "client.created",
    "resource.created",
    "user.created",
];

/// `warden serve`, killed if the test fails before it is stopped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every secret the test saw, with what it is (for the failure message).
#[derive(Default)]
struct Secrets(Vec<(&'static str, String)>);

impl Secrets {
    fn add(&mut self, kind: &'static str, value: &str) -> String {
        // Shorter values could match by chance and would prove nothing.
        assert!(value.len() >= 8, "{kind} is too short to search for");
        self.0.push((kind, value.to_owned()));
        value.to_owned()
    }

    fn field(&mut self, kind: &'static str, body: &Value, field: &str) -> String {
        let value = body[field].as_str();
        self.add(
            kind,
            value.unwrap_or_else(|| panic!("no {field} in {body}")),
        )
    }

    /// A client's id and (collected) secret from the CLI's or the API's view of it.
    fn client(&mut self, kind: &'static str, view: &Value) -> (String, String) {
        let id = view["client_id"].as_str().unwrap().to_owned();
        (id, self.field(kind, view, "client_secret"))
    }

    /// Each secret in every form a log line could hold it: as is, JSON-escaped,
    /// form-encoded, and in part (a JWT's signature; either end of an opaque value).
    fn needles(&self) -> Vec<(String, String)> {
        let mut needles: Vec<(String, String)> = Vec::new();
        for (kind, value) in &self.0 {
            let escaped = serde_json::to_string(value).unwrap();
            let escaped = escaped[1..escaped.len() - 1].to_owned();
            let encoded = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
            let mut forms = vec![("", value.clone()), (" (JSON-escaped)", escaped)];
            forms.push((" (form-encoded)", encoded));
            let segments: Vec<&str> = value.split('.').collect();
            if value.starts_with("eyJ") && segments.len() == 3 {
                // Header and claims are not secret (and shared between tokens).
                forms.push((" (JWT signature)", segments[2].to_owned()));
            } else if value.len() >= 32 && value.is_ascii() && !value.contains(' ') {
                forms.push((" (first 16 characters)", value[..16].to_owned()));
                forms.push((
                    " (last 16 characters)",
                    value[value.len() - 16..].to_owned(),
                ));
            }
            for (how, needle) in forms {
                if !needles.iter().any(|(_, n)| *n == needle) {
                    needles.push((format!("{kind}{how}"), needle));
                }
            }
        }
        needles
    }
}

/// Runs CLI commands as an operator would, in the server's environment (`.0`). Their
/// stderr is kept (`.1`) as logs under test; their stdout prints new credentials by design.
struct Operator(HashMap<String, String>, String);

impl Operator {
    /// `args` is split on spaces.
    fn run(&mut self, args: &str, stdin: &str) -> Value {
        use std::io::Write;
        let mut child = warden_command(&self.0)
            .args(args.split_whitespace())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Closed after the write, so `--password-stdin` reads to the end.
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
        drop(input);
        let output = child.wait_with_output().unwrap();
        self.1.push_str(&String::from_utf8_lossy(&output.stderr));
        stdout_json(&output)
    }
}

/// A form POST with Basic credentials: the status and the JSON body (null if none).
async fn post(url: &str, client: &(String, String), form: &[(&str, &str)]) -> (u16, Value) {
    let request = reqwest::Client::new().post(url).form(form);
    let response = request.basic_auth(&client.0, Some(&client.1)).send().await;
    let response = response.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A POST (token, introspection, revocation) that must answer 200; its JSON body.
async fn token(url: &str, client: &(String, String), form: &[(&str, &str)]) -> Value {
    let (status, body) = post(url, client, form).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Follows the redirects that stay on Warden (at most 10).
async fn follow(browser: &mut Browser, base: &str, mut r: reqwest::Response) -> reqwest::Response {
    for _ in 0..10 {
        if !r.status().is_redirection() {
            break;
        }
        let to = location(&r);
        let Some(path) = to
            .strip_prefix(base)
            .or(to.starts_with('/').then_some(&*to))
        else {
            break;
        };
        r = browser.get(&format!("{base}{path}")).await;
    }
    r
}

/// The match at `at` in a log line, with up to 200 bytes either side.
fn around(line: &str, at: usize, len: usize) -> &str {
    let (mut start, mut end) = (at.saturating_sub(200), (at + len + 200).min(line.len()));
    while !line.is_char_boundary(start) {
        start -= 1;
    }
    while !line.is_char_boundary(end) {
        end += 1;
    }
    &line[start..end]
}

#[tokio::test]
async fn a_full_run_at_debug_level_logs_no_token_code_secret_or_password() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    let db = TestDb::new().await;
    let port = crate::helpers::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut env: HashMap<String, String> = db.env().into_iter().collect();
    let settings = [
        ("WARDEN_ISSUER", base.clone()),
        ("WARDEN_BIND", format!("127.0.0.1:{port}")),
        ("WARDEN_WORKERS", "1".into()),
        ("WARDEN_SHUTDOWN_TIMEOUT", "1".into()),
        // Everything on: Warden's own lines and its dependencies' (sqlx, actix, rustls).
        ("RUST_LOG", "debug".into()),
        ("WARDEN_LOG_FORMAT", "json".into()),
        // Every audit event is a log line too, searched like the others.
        ("WARDEN_AUDIT_LOG", "1".into()),
    ];
    env.extend(settings.map(|(k, v)| (k.to_owned(), v)));
    let mut secrets = Secrets::default();
    if let Some(key) = env.get("WARDEN_SECRET_KEY") {
        secrets.add("WARDEN_SECRET_KEY", key);
    }
    if let Some(url) = env.get_mut("DATABASE_URL") {
        // A password in the URL must not be logged either. With no password (trust
        // authentication, as in CI) we add one: the server never asks for it.
        let mut parsed = url::Url::parse(url).unwrap();
        if parsed.password().is_none() {
            parsed.set_password(Some("db-password-Ub7Kq2Wd")).unwrap();
            *url = parsed.to_string();
        }
        secrets.add("database password", parsed.password().unwrap());
    }
    let mut op = Operator(env.clone(), String::new());

    // Provisioned before `serve` starts, so that no cache holds a row the CLI then changes.
    let admin = op.run("admin bootstrap", "");
    let admin = secrets.client("admin client secret", &admin["client"]);
    let args = format!("resource create --uri {RESOURCE} --name MCP --scopes mcp:read");
    let resource = op.run(&args, "");
    let args = format!("resource create --uri {DOWNSTREAM} --name API --scopes mcp:read");
    op.run(&args, "");
    let cc = "--grant-type client_credentials";
    let args = format!("client create --name agent {cc} --resource {RESOURCE}");
    let agent = secrets.client("agent client secret", &op.run(&args, ""));
    let args = format!("client create --name rs {cc} --grant-type {EXCHANGE} --serves {RESOURCE}");
    let rs = secrets.client("resource server secret", &op.run(&args, ""));
    let code = "--grant-type authorization_code --grant-type refresh_token";
    let args = format!("client create --name ide {code} --redirect-uri {REDIRECT}");
    let args = format!("{args} --resource {RESOURCE}");
    let ide = secrets.client("interactive secret", &op.run(&args, ""));
    let id = resource["id"].as_str().unwrap();
    op.run(&format!("downstream set {id} --target {DOWNSTREAM}"), "");
    let password = secrets.add("password", PASSWORD);
    op.run("user add alice --password-stdin", &password);
    secrets.add("wrong password", WRONG_PASSWORD);
    secrets.add("wrong client secret", WRONG_SECRET);
    if !db.is_postgres() {
        // Embedded mode: the key file that the first command above wrote.
        let key = std::fs::read_to_string(db.data_dir.path().join("secret.key")).unwrap();
        secrets.add("secret.key", key.trim());
    }

    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("stdout.log"), dir.path().join("stderr.log"));
    let mut serve = warden_command(&env);
    serve.arg("serve").stdin(Stdio::null());
    serve.stdout(std::fs::File::create(&out_path).unwrap());
    serve.stderr(std::fs::File::create(&err_path).unwrap());
    let mut server = Serve(serve.spawn().unwrap());
    let ready = format!("{base}/readyz");
    let starting = Instant::now();
    while !reqwest::get(&ready).await.is_ok_and(|r| r.status() == 200) {
        let running = server.0.try_wait().unwrap().is_none();
        let log = std::fs::read_to_string(&err_path).unwrap();
        assert!(
            running && starting.elapsed() < Duration::from_secs(30),
            "not ready: {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token_url = format!("{base}/token");

    // The admin API, with a token from the bootstrap client.
    let admin_resource = format!("{base}/admin");
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", &*admin_resource),
    ];
    let body = token(&token_url, &admin, &form).await;
    let admin_token = secrets.field("admin access token", &body, "access_token");
    let listed = reqwest::Client::new().get(format!("{base}/admin/v1/clients"));
    let listed = listed.bearer_auth(&admin_token).send().await.unwrap();
    assert_eq!(listed.status(), 200);

    // client_credentials; introspected by the resource server, revoked by the agent.
    let form = [("grant_type", "client_credentials"), ("resource", RESOURCE)];
    let body = token(&token_url, &agent, &form).await;
    let agent_token = secrets.field("client_credentials access token", &body, "access_token");
    let introspect = format!("{base}/introspect");
    let body = token(&introspect, &rs, &[("token", &agent_token)]).await;
    assert_eq!(body["active"], true, "{body}");
    let revoke = format!("{base}/revoke");
    token(&revoke, &agent, &[("token", &agent_token)]).await;
    let body = token(&introspect, &rs, &[("token", &agent_token)]).await;
    assert_eq!(body["active"], false, "{body}");
    // A failed client authentication; what was typed must not be logged.
    let wrong = (agent.0.clone(), WRONG_SECRET.to_owned());
    let (status, body) = post(&token_url, &wrong, &[("grant_type", "client_credentials")]).await;
    assert_eq!(status, 401, "{body}");

    // The browser leg: authorize → login (a wrong password first) → consent → code.
    let p = pkce();
    let verifier = secrets.add("PKCE code_verifier", &p.verifier);
    let state = secrets.add("state", &warden::crypto::random::token());
    let mut authorize = url::Url::parse(&format!("{base}/authorize")).unwrap();
    authorize.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", ide.0.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", state.as_str()),
        ("resource", RESOURCE),
        ("scope", "mcp:read"),
    ]);
    let mut browser = Browser::new();
    let first = browser.get(authorize.as_str()).await;
    let mut page = follow(&mut browser, &base, first).await;
    assert_eq!(page.url().path(), "/login");
    for (password, status) in [(WRONG_PASSWORD, 401), (PASSWORD, 303)] {
        let html = page.text().await.unwrap();
        let csrf = secrets.add("login csrf", &hidden(&html, "csrf"));
        let request = hidden(&html, "request");
        let form = [("csrf", csrf.as_str()), ("request", &request)];
        let form = [&form[..], &[("username", "alice"), ("password", password)]].concat();
        page = browser.post(&format!("{base}/login"), &form).await;
        assert_eq!(page.status(), status);
    }
    secrets.add("session cookie", &browser.cookies["warden-session"]);
    let consent = follow(&mut browser, &base, page).await;
    assert_eq!(consent.status(), 200, "expected the consent page");
    let html = consent.text().await.unwrap();
    let csrf = secrets.add("consent csrf", &hidden(&html, "csrf"));
    let request = hidden(&html, "request");
    let form = [("csrf", &*csrf), ("request", &request)];
    let form = [&form[..], &[("decision", "approve")]].concat();
    let approved = browser.post(&format!("{base}/consent"), &form).await;
    assert_eq!(approved.status(), 303);
    let answer = query(&location(&approved));
    assert_eq!(answer["state"], state);
    let code = secrets.add("authorization code", &answer["code"]);

    // Code → tokens → two rotations → an exchange toward the downstream API.
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", &verifier),
        ("redirect_uri", REDIRECT),
    ];
    let body = token(&token_url, &ide, &form).await;
    let mut access = secrets.field("user access token", &body, "access_token");
    let mut refresh = secrets.field("refresh token", &body, "refresh_token");
    for _ in 0..2 {
        let form = [("grant_type", "refresh_token"), ("refresh_token", &refresh)];
        let body = token(&token_url, &ide, &form).await;
        access = secrets.field("refreshed access token", &body, "access_token");
        let next = secrets.field("rotated refresh token", &body, "refresh_token");
        assert_ne!(next, refresh, "refresh tokens rotate");
        refresh = next;
    }
    let form = [
        ("grant_type", EXCHANGE),
        ("subject_token", &access),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("resource", DOWNSTREAM),
    ];
    let body = token(&token_url, &rs, &form).await;
    secrets.field("exchanged access token", &body, "access_token");

    // Dynamic registration, then a read with the registration access token.
    let metadata = json!({"client_name": "Native App", "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"], "application_type": "native"});
    let http = reqwest::Client::new();
    let registered = http.post(format!("{base}/register")).json(&metadata).send();
    let registered: Value = registered.await.unwrap().json().await.unwrap();
    secrets.field("registered client secret", &registered, "client_secret");
    let rat = "registration_access_token";
    let rat = secrets.field("registration access token", &registered, rat);
    let uri = registered["registration_client_uri"].as_str().unwrap();
    let read = http.get(uri).bearer_auth(&rat).send().await.unwrap();
    assert_eq!(read.status(), 200);

    // SIGTERM, as an operator stops it; the shutdown is logged too.
    let pid = server.0.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    let stopping = Instant::now();
    while server.0.try_wait().unwrap().is_none() && stopping.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stdout = std::fs::read_to_string(&out_path).unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();

    // Sanity: JSON lines, at debug level, with a request line for every endpoint used.
    let parse = |l: &str| serde_json::from_str(l).unwrap();
    let lines: Vec<Value> = stderr.lines().map(parse).collect();
    let debug = |l: &Value| l["level"] == "DEBUG" && l["target"] == "sqlx::query";
    assert!(lines.iter().any(debug), "no sqlx debug line from serve");
    assert!(op.1.contains(r#""level":"DEBUG""#), "no CLI debug line");
    let endpoints = ["/token", "/admin/v1/clients", "/introspect", "/revoke"];
    for path in endpoints
        .iter()
        .chain(&["/authorize", "/login", "/consent", "/register"])
    {
        let handled = |l: &Value| l["message"] == "handled" && l["url.path"] == *path;
        assert!(lines.iter().any(handled), "no request line for {path}");
    }
    assert!(stderr.contains("Warden stopped"), "no clean stop");
    // The audit log, as log lines (of serve and the CLI) and as `warden audit export`, is
    // searched too.
    let cli_lines: Vec<Value> =
        op.1.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
    let audited = |kind: &str| {
        lines
            .iter()
            .chain(&cli_lines)
            .any(|l| l["target"] == "audit" && l["kind"] == kind)
    };
    for kind in AUDITED {
        assert!(audited(kind), "no audit log line of kind {kind}");
    }
    let export = warden_command(&env)
        .args(["audit", "export", "--since", "0"])
        .output()
        .unwrap();
    assert!(export.status.success());
    let export = String::from_utf8(export.stdout).unwrap();
    for kind in AUDITED {
        assert!(
            export.contains(&format!("\"kind\":\"{kind}\"")),
            "no exported event of kind {kind}"
        );
    }

    let needles = secrets.needles();
    let mut leaks = Vec::new();
    let sources = [
        ("serve stdout", &stdout),
        ("serve stderr", &stderr),
        ("audit export", &export),
    ];
    for (source, text) in sources.into_iter().chain([("CLI", &op.1)]) {
        for line in text.lines() {
            for (kind, needle) in &needles {
                if let Some(at) = line.find(needle.as_str()) {
                    let shown = around(line, at, needle.len());
                    leaks.push(format!("{kind} in {source}: …{shown}…"));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "leaked:\n{}", leaks.join("\n"));
    let total = lines.len() + op.1.lines().count();
    let (count, forms) = (secrets.0.len(), needles.len());
    let elapsed = started.elapsed().as_secs_f64();
    println!("{total} log lines, {count} secrets ({forms} forms), none found; {elapsed:.1} s");
}
