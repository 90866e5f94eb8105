//! Requests that are wrong at the HTTP level: garbage that must not flood the log,
//! oversized bodies (413), unknown methods (501) and known ones a path does not serve (405).

use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::{Warden, read_to_close, status_line};
use crate::helpers::assert_oauth_error;

/// Request lines and heads no HTTP server should accept.
fn garbage(n: usize) -> Vec<u8> {
    let mut bytes = match n % 7 {
        // A TLS ClientHello on the plain-HTTP port.
        0 => b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x9a\x8b\x00\x00\r\n\r\n".to_vec(),
        1 => b"NOT A REQUEST AT ALL\r\n\r\n".to_vec(),
        2 => b"GET / HTTP/1.1\r\nHost\r\n\r\n".to_vec(),
        3 => b"GET /\x00\x01\x02 HTTP/1.1\r\n\r\n".to_vec(),
        4 => b"GET / HTTP/7.3\r\n\r\n".to_vec(),
        5 => b"\xff\xfe\xfd garbage \x7f\x80\x81\r\n\r\n".to_vec(),
        _ => format!("POST /token HTTP/1.1\r\nContent-Length: -{n}\r\n\r\n").into_bytes(),
    };
    bytes.extend_from_slice(format!("{n}\r\n").as_bytes());
    bytes
}

#[tokio::test]
async fn malformed_requests_do_not_flood_the_log() {
    let mut warden = Warden::new(&[]).await;
    // The default log level (info), as in production.
    warden.env.remove("RUST_LOG");
    let log = warden.serve_logging().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at_start = log.lock().unwrap().len();
    assert!(
        at_start > 0,
        "the server logs at startup: the capture works"
    );

    let mut connections = Vec::new();
    for n in 0..200 {
        let mut stream = warden.connect().await;
        connections.push(tokio::spawn(async move {
            let _ = stream.write_all(&garbage(n)).await;
            read_to_close(&mut stream, Duration::from_secs(10)).await
        }));
    }
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    for c in connections {
        let (answer, _) = c.await.unwrap();
        *answers.entry(status_line(&answer)).or_default() += 1;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let lines: Vec<String> = log.lock().unwrap()[at_start..].to_vec();
    println!(
        "log flood: 200 malformed requests answered {answers:?}; {} log lines:\n{}",
        lines.len(),
        lines.join("\n")
    );
    assert!(
        lines.len() <= 10,
        "{} log lines for 200 malformed requests",
        lines.len()
    );
    assert!(
        !lines.iter().any(|l| l.contains("ERROR")),
        "malformed requests are the client's error, not ours"
    );
    let response = reqwest::get(warden.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn oversized_form_and_registration_bodies_get_413() {
    let warden = Warden::start(&[]).await;
    let http = reqwest::Client::new();

    // Form bodies over 16 KiB, declared up front.
    let big = "x".repeat(17 * 1024);
    for path in ["/token", "/introspect", "/revoke"] {
        let response = http
            .post(warden.url(path))
            .form(&[("grant_type", "client_credentials"), ("padding", &big)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{path}");
        assert_oauth_error(response, 413, "invalid_request").await;
    }
    // The same, chunked: found while reading.
    let mut stream = warden.connect().await;
    let mut request = "POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                       Content-Type: application/x-www-form-urlencoded\r\n\
                       Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_owned();
    for _ in 0..20 {
        request.push_str(&format!("400\r\n{}\r\n", "y".repeat(0x400)));
    }
    request.push_str("0\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let (answer, _) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert!(
        status_line(&answer).starts_with("HTTP/1.1 413"),
        "chunked: {:?}",
        status_line(&answer)
    );

    // Registration metadata over its limit.
    let response = http
        .post(warden.url("/register"))
        .json(&serde_json::json!({
            "client_name": "x".repeat(17 * 1024),
            "redirect_uris": [crate::helpers::browser::REDIRECT],
            "token_endpoint_auth_method": "none",
        }))
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 413, "invalid_client_metadata").await;
}

#[tokio::test]
async fn unknown_methods_get_501_and_known_methods_a_path_does_not_serve_405() {
    let warden = Warden::start(&[]).await;
    let mut wrong = Vec::new();
    // Methods HTTP does not know, on paths that exist and one that does not.
    for (method, path) in [
        ("FOO", "/token"),
        ("BREW", "/jwks.json"),
        ("FOO", "/nowhere"),
    ] {
        let mut stream = warden.connect().await;
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let (answer, _) = read_to_close(&mut stream, Duration::from_secs(7)).await;
        let status = status_line(&answer);
        if !status.starts_with("HTTP/1.1 501") {
            wrong.push(format!("{method} {path}: {status}"));
        }
    }
    // Known methods a path does not serve.
    let http = reqwest::Client::new();
    for (method, path) in [
        (reqwest::Method::PUT, "/token"),
        (reqwest::Method::GET, "/revoke"),
        (reqwest::Method::DELETE, "/login"),
        (reqwest::Method::PUT, "/authorize"),
        (reqwest::Method::PATCH, "/jwks.json"),
        (
            reqwest::Method::PUT,
            "/.well-known/oauth-authorization-server",
        ),
        (reqwest::Method::DELETE, "/healthz"),
        (reqwest::Method::POST, "/metrics"),
    ] {
        let response = http
            .request(method.clone(), warden.url(path))
            .send()
            .await
            .unwrap();
        if response.status() != 405 {
            wrong.push(format!("{method} {path}: {}", response.status()));
        }
    }
    println!("methods: {} wrong answers {wrong:?}", wrong.len());
    // Every route is a resource with a 405 default (`http::get_only` / `post_only`): a path
    // registered as a bare GET route answered 404 here before.
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[tokio::test]
async fn a_low_open_file_limit_is_warned_about_at_start_up() {
    let mut warden = Warden::new(&[]).await;
    let log = warden.serve_logging_with_open_files(1024).await;
    let lines = log.lock().unwrap().clone();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("open-file limit is low") && l.contains("1024")),
        "no warning under ulimit -n 1024: {lines:#?}"
    );
    // Above the threshold: no warning.
    let mut roomy = Warden::new(&[]).await;
    let log = roomy.serve_logging_with_open_files(16384).await;
    assert!(
        !log.lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("open-file limit")),
        "warned with room to spare"
    );
}
