//! Crash durability: `kill -9` in the middle of authorization-code and refresh flows, then
//! a restart. Every token response a client received is still valid and its grant
//! revocable; no code or refresh token is usable twice; a refresh that was in flight at the
//! crash either happened completely or not at all.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use sha2::Digest;

use crate::helpers::{TestDb, serve_process, stdout_json, wait_ready, warden_command};

const RESOURCE: &str = "https://mcp.example.com/";
const REDIRECT: &str = "http://127.0.0.1:7777/callback";
const PASSWORD: &str = "crash test password 123";
const LOOPS: usize = 4;

fn cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    crate::helpers::browser::hidden(html, name)
}

fn authorize_url(base: &str, client_id: &str, challenge: &str) -> String {
    let mut url = url::Url::parse(&format!("{base}/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", RESOURCE)
        .append_pair("scope", "mcp:read");
    url.to_string()
}

fn pkce() -> (String, String) {
    let verifier = warden::crypto::random::token();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// What a client learned: every token response, the codes it redeemed, and per chain the
/// refresh token it holds (and whether its last request got an answer).
#[derive(Default)]
struct Seen {
    /// (user, token) of every answered token response.
    access_tokens: Vec<(usize, String)>,
    redeemed_codes: Vec<(String, String)>,
    chains: Vec<Chain>,
}

struct Chain {
    /// Whose grant it belongs to (one user per load loop).
    user: usize,
    current: String,
    /// Refresh tokens this chain rotated away (answered requests only).
    rotated: Vec<String>,
    /// The request with `current` was sent but never answered (the crash).
    in_flight: bool,
}

async fn token(
    http: &reqwest::Client,
    base: &str,
    client: &(String, String),
    form: &[(&str, &str)],
) -> Result<(u16, serde_json::Value), ()> {
    let r = http
        .post(format!("{base}/token"))
        .basic_auth(&client.0, Some(&client.1))
        .form(form)
        .send()
        .await
        .map_err(|_| ())?;
    let status = r.status().as_u16();
    let body = r.json().await.map_err(|_| ())?;
    Ok((status, body))
}

#[tokio::test]
async fn kill_9_mid_flow_loses_nothing_answered_and_nothing_is_usable_twice() {
    crate::helpers::install_crypto_provider();
    let db = TestDb::new().await;
    let port = crate::helpers::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut env: HashMap<String, String> = db.env().into_iter().collect();
    env.insert("WARDEN_BIND".into(), format!("127.0.0.1:{port}"));
    env.insert("WARDEN_TOKEN_RATE_LIMIT".into(), "0".into());
    // Strict rotation: a rotated token coming back is a reuse, whatever the timing.
    env.insert("WARDEN_REFRESH_GRACE".into(), "0".into());
    env.insert("RUST_LOG".into(), "warn".into());
    let cli = |args: &[&str]| stdout_json(&warden_command(&env).args(args).output().unwrap());
    cli(&[
        "resource", "create", "--uri", RESOURCE, "--name", "mcp", "--scopes", "mcp:read",
    ]);
    let ide = crate::helpers::credentials_of(&cli(&[
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
    ]));
    let rs = crate::helpers::credentials_of(&cli(&[
        "client",
        "create",
        "--name",
        "rs",
        "--grant-type",
        "client_credentials",
        "--serves",
        RESOURCE,
    ]));
    // One user per load loop: each loop's chains share that user's grant, so a reuse
    // detected in one loop revokes nothing of the others.
    for i in 0..LOOPS {
        use std::io::Write;
        let mut child = warden_command(&env)
            .args(["user", "add", &format!("user{i}"), "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        write!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        assert!(child.wait().unwrap().success());
    }

    let mut server = serve_process(&env);
    wait_ready(&base).await;

    // Each user signs in and consents once; every flow after that is authorize → code →
    // token.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut sessions = Vec::new();
    for i in 0..LOOPS {
        let page = http.get(format!("{base}/login")).send().await.unwrap();
        let login = cookie(&page, "warden-login");
        let csrf = hidden(&page.text().await.unwrap(), "csrf");
        let username = format!("user{i}");
        let signed_in = http
            .post(format!("{base}/login"))
            .header("cookie", login)
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", username.as_str()),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        let session = cookie(&signed_in, "warden-session");
        let (_, challenge) = pkce();
        let consent = http
            .get(authorize_url(&base, &ide.0, &challenge))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
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
        sessions.push(session);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut load = Vec::new();
    for (user, session) in sessions.iter().cloned().enumerate() {
        let (stop, seen, http) = (stop.clone(), seen.clone(), http.clone());
        let (base, ide) = (base.clone(), ide.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                // A code flow...
                let (verifier, challenge) = pkce();
                let Ok(r) = http
                    .get(authorize_url(&base, &ide.0, &challenge))
                    .header("cookie", &session)
                    .send()
                    .await
                else {
                    return;
                };
                let Some(location) = r.headers().get("location") else {
                    return;
                };
                let code = url::Url::parse(location.to_str().unwrap())
                    .unwrap()
                    .query_pairs()
                    .find(|(k, _)| k == "code")
                    .map(|(_, v)| v.into_owned())
                    .unwrap();
                let form = [
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("code_verifier", verifier.as_str()),
                    ("redirect_uri", REDIRECT),
                ];
                let Ok((200, body)) = token(&http, &base, &ide, &form).await else {
                    return;
                };
                let mut chain = Chain {
                    user,
                    current: body["refresh_token"].as_str().unwrap().to_owned(),
                    rotated: Vec::new(),
                    in_flight: false,
                };
                {
                    let mut s = seen.lock().unwrap();
                    s.access_tokens
                        .push((user, body["access_token"].as_str().unwrap().to_owned()));
                    s.redeemed_codes.push((code, verifier));
                }
                // ...then a few refreshes.
                for _ in 0..3 {
                    let form = [
                        ("grant_type", "refresh_token"),
                        ("refresh_token", chain.current.as_str()),
                    ];
                    match token(&http, &base, &ide, &form).await {
                        Ok((200, body)) => {
                            let next = body["refresh_token"].as_str().unwrap().to_owned();
                            chain
                                .rotated
                                .push(std::mem::replace(&mut chain.current, next));
                            seen.lock()
                                .unwrap()
                                .access_tokens
                                .push((user, body["access_token"].as_str().unwrap().to_owned()));
                        }
                        Ok((status, body)) => panic!("refresh answered {status}: {body}"),
                        Err(()) => {
                            chain.in_flight = true;
                            seen.lock().unwrap().chains.push(chain);
                            return;
                        }
                    }
                }
                seen.lock().unwrap().chains.push(chain);
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.0.kill().unwrap(); // SIGKILL: no shutdown, no flush, nothing.
    server.0.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    drop(server);

    let _restarted = serve_process(&env);
    wait_ready(&base).await;
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(seen.access_tokens.len() > 10, "the load ran");
    assert!(seen.chains.iter().any(|c| c.in_flight) || !seen.chains.is_empty());

    // Every answered token response is still valid after the crash.
    let introspect = |token: String| {
        let (http, base, rs) = (http.clone(), base.clone(), rs.clone());
        async move {
            let r: serde_json::Value = http
                .post(format!("{base}/introspect"))
                .basic_auth(&rs.0, Some(&rs.1))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["active"] == true
        }
    };
    for (_, t) in &seen.access_tokens {
        assert!(introspect(t.clone()).await, "an answered token was lost");
    }

    // And their grants are revocable: revoke the last user's through one of its tokens.
    let revoked_user = LOOPS - 1;
    let (_, victim) = seen
        .access_tokens
        .iter()
        .find(|(u, _)| *u == revoked_user)
        .unwrap()
        .clone();
    let revoked = http
        .post(format!("{base}/revoke"))
        .basic_auth(&ide.0, Some(&ide.1))
        .form(&[("token", victim.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    for (u, t) in &seen.access_tokens {
        assert_eq!(introspect(t.clone()).await, *u != revoked_user);
    }

    // Refresh tokens: the one a finished chain holds works (once); one whose request was
    // in flight works at most once (the rotation committed whole, or not at all). Per
    // user, finished chains go first: an in-flight token that did rotate is a reuse and
    // revokes that user's grant.
    let mut order: Vec<&Chain> = seen.chains.iter().collect();
    order.sort_by_key(|c| (c.user, c.in_flight));
    for chain in &order {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", chain.current.as_str()),
        ];
        let first = token(&http, &base, &ide, &form).await.unwrap();
        if chain.user == revoked_user {
            assert_eq!(first.0, 400, "a revoked grant still refreshes");
        } else if !chain.in_flight {
            assert_eq!(first.0, 200, "a held refresh token was lost: {}", first.1);
        }
    }
    for chain in &order {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", chain.current.as_str()),
        ];
        let second = token(&http, &base, &ide, &form).await.unwrap();
        assert_eq!(second.0, 400, "a refresh token worked twice");
        assert_eq!(second.1["error"], "invalid_grant");
    }
    // Rotated tokens and redeemed codes never work again (and their reuse revokes).
    for chain in &seen.chains {
        if let Some(old) = chain.rotated.first() {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", old.as_str()),
            ];
            assert_eq!(token(&http, &base, &ide, &form).await.unwrap().0, 400);
        }
    }
    for (code, verifier) in &seen.redeemed_codes {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        let again = token(&http, &base, &ide, &form).await.unwrap();
        assert_eq!(again.0, 400, "a code worked twice");
    }
}
