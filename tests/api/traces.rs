//! Traces: the real `warden serve`, pointed by `OTEL_EXPORTER_OTLP_ENDPOINT` at an OTLP/HTTP
//! receiver in this test, exports a server span per request (named by route, the child of
//! the caller's `traceparent`) with `db.*` and `password.verify` children, and no span,
//! event or resource attribute holds a secret, a password, a code or a token. The batch
//! delay is a minute, so every span arrives through the flush at shutdown.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::browser::{Browser, hidden, location, pkce, query};
use crate::helpers::{TestDb, cli_with_stdin, stdout_json, warden_command};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const REDIRECT: &str = "http://127.0.0.1:7777/callback";
const PASSWORD: &str = "alice's traced password: 5Tz-Qw8 p";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// An OTLP/HTTP receiver: every `POST /v1/traces` body, decoded. It also serves a client
/// metadata document at `/client.json` (`.1`: the heads of the requests for it).
#[derive(Clone, Default)]
struct Receiver(
    Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
    Arc<Mutex<Vec<String>>>,
);

impl Receiver {
    async fn start(&self) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = self.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(receive(socket, receiver.clone(), port));
            }
        });
        port
    }

    /// Every span received, with its resource's attributes.
    fn spans(&self) -> Vec<(Vec<KeyValue>, Span)> {
        let received = self.0.lock().unwrap();
        let mut spans = Vec::new();
        for request in received.iter() {
            for resource in &request.resource_spans {
                let attributes = resource
                    .resource
                    .as_ref()
                    .map(|r| r.attributes.clone())
                    .unwrap_or_default();
                for scope in &resource.scope_spans {
                    for span in &scope.spans {
                        spans.push((attributes.clone(), span.clone()));
                    }
                }
            }
        }
        spans
    }
}

/// One HTTP/1.1 request per connection: the head, then `Content-Length` bytes of body.
async fn receive(mut socket: tokio::net::TcpStream, receiver: Receiver, port: u16) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    if head.starts_with("get /client.json ") {
        receiver.1.lock().unwrap().push(head);
        let id = format!("http://127.0.0.1:{port}/client.json");
        let body = crate::helpers::clients::document(&id).to_string();
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: no-store\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = socket.write_all(answer.as_bytes()).await;
        return;
    }
    assert!(head.starts_with("post /v1/traces "), "{head}");
    assert!(
        head.contains("content-type: application/x-protobuf"),
        "{head}"
    );
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("no content-length");
    while data.len() < head_end + length {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let body = &data[head_end..head_end + length];
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
    receiver.0.lock().unwrap().push(request);
    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n\
                  content-length: 0\r\nconnection: close\r\n\r\n";
    let _ = socket.write_all(answer.as_bytes()).await;
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .map(text)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every string a span carries: name, attributes, events, links, status.
fn strings(resource: &[KeyValue], span: &Span) -> Vec<String> {
    let mut all = vec![span.name.clone()];
    let pairs = |kvs: &[KeyValue]| -> Vec<String> {
        kvs.iter()
            .flat_map(|kv| {
                [
                    kv.key.clone(),
                    kv.value.as_ref().map(text).unwrap_or_default(),
                ]
            })
            .collect()
    };
    all.extend(pairs(resource));
    all.extend(pairs(&span.attributes));
    for event in &span.events {
        all.push(event.name.clone());
        all.extend(pairs(&event.attributes));
    }
    for link in &span.links {
        all.extend(pairs(&link.attributes));
    }
    if let Some(status) = &span.status {
        all.push(status.message.clone());
    }
    all
}

/// `warden serve`, killed if the test fails before it is stopped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cli(env: &HashMap<String, String>, args: &str, stdin: &str) -> Value {
    let args: Vec<&str> = args.split_whitespace().collect();
    stdout_json(&cli_with_stdin(env, &args, stdin))
}

fn credentials(view: &Value) -> (String, String) {
    let id = view["client_id"].as_str().unwrap().to_owned();
    (id, view["client_secret"].as_str().unwrap().to_owned())
}

async fn token(base: &str, client: &(String, String), form: &[(&str, &str)]) -> Value {
    let request = reqwest::Client::new()
        .post(format!("{base}/token"))
        .form(form);
    let request = request.basic_auth(&client.0, Some(&client.1));
    let request = request.header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"));
    let request = request.header("user-agent", "traces-test/1");
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_client_credentials_request_and_a_code_flow_export_their_spans_and_no_secret() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let receiver = Receiver::default();
    let otlp = receiver.start().await;
    let db = TestDb::new().await;
    let port = crate::helpers::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut env: HashMap<String, String> = db.env().into_iter().collect();
    let settings = [
        ("WARDEN_ISSUER", base.clone()),
        ("WARDEN_BIND", format!("127.0.0.1:{port}")),
        ("WARDEN_WORKERS", "1".into()),
        ("WARDEN_SHUTDOWN_TIMEOUT", "1".into()),
        ("WARDEN_LOG_FORMAT", "json".into()),
        ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1".into()),
    ];
    env.extend(settings.map(|(k, v)| (k.to_owned(), v)));
    let args = format!("resource create --uri {RESOURCE} --name MCP --scopes mcp:read");
    cli(&env, &args, "");
    let cc = "--grant-type client_credentials";
    let args = format!("client create --name agent {cc} --resource {RESOURCE}");
    let agent = cli(&env, &args, "");
    let agent = credentials(&agent);
    let code = "--grant-type authorization_code --grant-type refresh_token";
    let args = format!("client create --name ide {code} --redirect-uri {REDIRECT}");
    let ide = credentials(&cli(&env, &format!("{args} --resource {RESOURCE}"), ""));
    cli(&env, "user add alice --password-stdin", PASSWORD);

    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr.log");
    let mut serve = warden_command(&env);
    serve
        .arg("serve")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{otlp}"),
        )
        // Nothing leaves before the shutdown, whose flush must then send everything.
        .env("OTEL_BSP_SCHEDULE_DELAY", "60000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut server = Serve(serve.spawn().unwrap());
    let starting = Instant::now();
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        let log = std::fs::read_to_string(&err_path).unwrap();
        assert!(server.0.try_wait().unwrap().is_none(), "exited: {log}");
        assert!(
            starting.elapsed() < Duration::from_secs(30),
            "not ready: {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // client_credentials, as the child of a caller's span.
    let form = [("grant_type", "client_credentials"), ("resource", RESOURCE)];
    let body = token(&base, &agent, &form).await;
    let agent_token = body["access_token"].as_str().unwrap().to_owned();

    // The code flow: authorize → sign-in → consent → token.
    let p = pkce();
    let mut authorize = url::Url::parse(&format!("{base}/authorize")).unwrap();
    authorize.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", ide.0.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "traced-state-value"),
        ("resource", RESOURCE),
        ("scope", "mcp:read"),
    ]);
    let mut browser = Browser::new();
    let mut page = browser.get(authorize.as_str()).await;
    while page.status().is_redirection() && location(&page).starts_with('/') {
        page = browser.get(&format!("{base}{}", location(&page))).await;
    }
    let html = page.text().await.unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("request", hidden(&html, "request")),
        ("username", "alice".to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut page = browser.post(&format!("{base}/login"), &form).await;
    assert_eq!(page.status(), 303);
    while page.status().is_redirection() && location(&page).starts_with('/') {
        page = browser.get(&format!("{base}{}", location(&page))).await;
    }
    let html = page.text().await.unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("request", hidden(&html, "request")),
        ("decision", "approve".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let approved = browser.post(&format!("{base}/consent"), &form).await;
    assert_eq!(approved.status(), 303);
    let code = query(&location(&approved))["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", &p.verifier),
        ("redirect_uri", REDIRECT),
    ];
    let body = token(&base, &ide, &form).await;
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    // A client known by its metadata document: Warden fetches it, passing the trace on.
    let document = format!("http://127.0.0.1:{otlp}/client.json");
    let mut authorize = url::Url::parse(&format!("{base}/authorize")).unwrap();
    authorize.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", document.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("resource", RESOURCE),
    ]);
    Browser::new().get(authorize.as_str()).await;

    assert!(receiver.spans().is_empty(), "exported before the shutdown");
    let pid = server.0.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    let stopping = Instant::now();
    while server.0.try_wait().unwrap().is_none() && stopping.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(&err_path).unwrap();
    let spans = receiver.spans();
    let names: Vec<&str> = spans.iter().map(|(_, s)| s.name.as_str()).collect();
    let (resource, _) = spans.first().unwrap_or_else(|| panic!("no span: {log}"));
    assert_eq!(
        attribute(resource, "service.name").as_deref(),
        Some("warden")
    );

    // The traced token requests: server spans under the caller's span, with db children.
    let system = if db.is_postgres() {
        "postgresql"
    } else {
        "sqlite"
    };
    let servers: Vec<&Span> = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.name == "POST /token")
        .collect();
    assert_eq!(servers.len(), 2, "{names:?}");
    for server in &servers {
        assert_eq!(hex(&server.trace_id), TRACE_ID);
        assert_eq!(hex(&server.parent_span_id), PARENT_ID);
        assert_eq!(server.kind, SpanKind::Server as i32);
        let attributes = &server.attributes;
        for (key, value) in [
            ("http.request.method", "POST"),
            ("http.route", "/token"),
            ("url.path", "/token"),
            ("http.response.status_code", "200"),
            ("client.address", "127.0.0.1"),
        ] {
            assert_eq!(attribute(attributes, key).as_deref(), Some(value), "{key}");
        }
        assert!(attribute(attributes, "request_id").is_some());
        let children: Vec<&Span> = spans
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s.parent_span_id == server.span_id)
            .collect();
        let db_children: Vec<&&Span> = children
            .iter()
            .filter(|s| s.name.starts_with("db."))
            .collect();
        assert!(!db_children.is_empty(), "no db span under POST /token");
        for child in db_children {
            assert_eq!(child.trace_id, server.trace_id);
            let system_name = attribute(&child.attributes, "db.system.name");
            assert_eq!(system_name.as_deref(), Some(system));
            assert!(attribute(&child.attributes, "db.operation.name").is_some());
        }
    }

    // The code flow: a span per request, named by route; the password check under sign-in.
    for name in [
        "GET /authorize",
        "GET /login",
        "POST /login",
        "POST /consent",
    ] {
        assert!(names.contains(&name), "no {name} span in {names:?}");
    }
    let login = spans
        .iter()
        .find(|(_, s)| s.name == "POST /login")
        .map(|(_, s)| s)
        .unwrap();
    let verify = spans
        .iter()
        .find(|(_, s)| s.name == "password.verify")
        .map(|(_, s)| s);
    let verify = verify.unwrap_or_else(|| panic!("no password.verify span in {names:?}"));
    assert_eq!(verify.parent_span_id, login.span_id);
    assert_eq!(verify.trace_id, login.trace_id);
    // Not the query (where the code and state travel): only the path.
    let authorize_span = spans.iter().find(|(_, s)| s.name == "GET /authorize");
    let (_, authorize_span) = authorize_span.unwrap();
    let path = attribute(&authorize_span.attributes, "url.path");
    assert_eq!(path.as_deref(), Some("/authorize"));

    // The fetch: a client span under that request's span, whose ids went out in
    // `traceparent`.
    let fetch = spans.iter().map(|(_, s)| s).find(|s| s.name == "GET");
    let fetch = fetch.unwrap_or_else(|| panic!("no fetch span in {names:?}"));
    assert_eq!(fetch.kind, SpanKind::Client as i32);
    let parent = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.span_id == fetch.parent_span_id);
    assert_eq!(parent.map(|s| s.name.as_str()), Some("GET /authorize"));
    for (key, value) in [
        ("http.request.method", "GET"),
        ("server.address", "127.0.0.1"),
        ("url.full", document.as_str()),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(
            attribute(&fetch.attributes, key).as_deref(),
            Some(value),
            "{key}"
        );
    }
    let heads = receiver.1.lock().unwrap().clone();
    let sent = format!(
        "traceparent: 00-{}-{}-01",
        hex(&fetch.trace_id),
        hex(&fetch.span_id)
    );
    assert!(
        heads.iter().any(|h| h.contains(&sent)),
        "{sent} not in {heads:?}"
    );

    let secrets = [
        ("agent client secret", agent.1.as_str()),
        ("ide client secret", &ide.1),
        ("password", PASSWORD),
        ("authorization code", &code),
        ("PKCE verifier", &p.verifier),
        ("state", "traced-state-value"),
        ("client_credentials access token", &agent_token),
        ("access token", &access),
        ("refresh token", &refresh),
    ];
    for (resource, span) in &spans {
        for value in strings(resource, span) {
            for (kind, secret) in secrets {
                assert!(
                    !value.contains(secret),
                    "{kind} in span {}: {value}",
                    span.name
                );
            }
        }
    }

    // The access log line of the first traced request: OpenTelemetry's field names, and
    // the ids of its span.
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let handled = lines
        .iter()
        .find(|l| l["message"] == "handled" && l["url.path"] == "/token")
        .unwrap_or_else(|| panic!("no request line for /token: {log}"));
    assert_eq!(handled["http.request.method"], "POST");
    assert_eq!(handled["http.route"], "/token");
    assert_eq!(handled["http.response.status_code"], 200);
    assert_eq!(handled["client.address"], "127.0.0.1");
    assert_eq!(handled["user_agent.original"], "traces-test/1");
    assert_eq!(handled["trace_id"], TRACE_ID);
    let span_id = handled["span_id"].as_str().unwrap_or_default();
    assert!(
        servers.iter().any(|s| hex(&s.span_id) == span_id),
        "{handled}"
    );
    assert!(log.contains("Warden stopped"), "no clean stop: {log}");
    println!("{} spans: {names:?}", spans.len());
}
