//! In-process cost of the hot paths, without HTTP: signing an access token, the whole
//! client_credentials exchange (client auth, policy, grant read, signing) and the whole
//! introspection, on the embedded SQLite store, the exchange with a DPoP proof and a
//! device-code poll answered `authorization_pending` (RFC 8628 §3.5); and sealing a
//! refresh-token successor.
//! `cargo bench --bench issuance`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use base64::Engine;
use criterion::{Criterion, criterion_group, criterion_main};
use warden::admin::clients::{self, NewClient};
use warden::admin::resources::{self, NewResource};
use warden::clock::{Clock, SystemClock};
use warden::crypto::keys::JwtType;
use warden::crypto::{random, successor};
use warden::oauth::dpop::DpopHeader;
use warden::oauth::params::Params;
use warden::oauth::{introspect, token};
use warden::settings::Settings;
use warden::startup::{load_master_key, load_signing_keys, open_database};
use warden::state::AppState;

struct Fixture {
    state: AppState,
    agent_basic: String,
    server_basic: String,
    /// `grant_type=…device_code&device_code=…&client_id=…` of a code no user answers.
    device_poll: String,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    // No per-client rate limit: the benchmark calls as one client, far above 200/s, and
    // would otherwise time the limiter's `slow_down` answers.
    let settings = Settings::from_lookup(|k| match k {
        "WARDEN_DATA_DIR" => Some(data.clone()),
        "WARDEN_TOKEN_RATE_LIMIT" => Some("0".into()),
        _ => None,
    })
    .unwrap();
    let store = open_database(&settings).await.unwrap();
    let master = load_master_key(&settings, &store).await.unwrap();
    let keys = load_signing_keys(&settings, &store, &master, SystemClock.now())
        .await
        .unwrap();
    let state = AppState::new(store, settings, keys, master, Arc::new(SystemClock))
        .await
        .unwrap();
    let now = SystemClock.now();
    let resource = NewResource {
        uri: "https://mcp.bench.example".into(),
        name: "bench".into(),
        description: String::new(),
        scopes: vec!["mcp:read".into()],
        default_scopes: None,
        access_token_ttl: None,
        allowed_clients: None,
        enabled: None,
        require_dpop: false,
    };
    resources::create(
        &state.store,
        &state.settings,
        resource,
        now,
        &warden::domain::Actor::cli(),
    )
    .await
    .unwrap();
    let make = |serves: bool| NewClient {
        name: "c".into(),
        grant_types: vec!["client_credentials".into()],
        resources: if serves {
            vec![]
        } else {
            vec!["https://mcp.bench.example".into()]
        },
        served_resources: if serves {
            vec!["https://mcp.bench.example".into()]
        } else {
            vec![]
        },
        ..Default::default()
    };
    let basic = |v: &clients::ClientView| {
        let raw = format!("{}:{}", v.client_id, v.client_secret.as_deref().unwrap());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    };
    let agent = clients::create(
        &state.store,
        &state.master_key,
        make(false),
        now,
        &warden::domain::Actor::cli(),
    )
    .await
    .unwrap();
    let server = clients::create(
        &state.store,
        &state.master_key,
        make(true),
        now,
        &warden::domain::Actor::cli(),
    )
    .await
    .unwrap();
    // A public device client and a code waiting for its user. Its interval is 0, so every
    // poll is answered authorization_pending (at 5 s, all but the first would be slow_down,
    // which costs the same statement).
    let device = clients::create(
        &state.store,
        &state.master_key,
        NewClient {
            name: "cli".into(),
            grant_types: vec!["urn:ietf:params:oauth:grant-type:device_code".into()],
            resources: vec!["https://mcp.bench.example".into()],
            token_endpoint_auth_method: Some("none".into()),
            ..Default::default()
        },
        now,
        &warden::domain::Actor::cli(),
    )
    .await
    .unwrap();
    let device_code = random::token();
    state
        .store
        .insert_device_code(&warden::store::device::NewDeviceCode {
            id: &random::token(),
            device_code_hash: &random::sha256_b64(&device_code),
            user_code_hash: &random::sha256_b64("BCDFGHJK"),
            client_id: &device.client_id,
            resource: "https://mcp.bench.example",
            scope: "mcp:read",
            poll_interval: 0,
            created_at: now,
            expires_at: now + 86_400,
        })
        .await
        .unwrap();
    Fixture {
        device_poll: format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={device_code}&client_id={}",
            device.client_id
        ),
        agent_basic: basic(&agent),
        server_basic: basic(&server),
        state,
        _dir: dir,
    }
}

fn hot_paths(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let f = rt.block_on(fixture());
    let cc = Params::parse(b"grant_type=client_credentials").unwrap();

    c.bench_function("sign an access token (ES256)", |b| {
        let claims = serde_json::json!({"iss": "x", "sub": "y", "aud": "z", "scope": "mcp:read", "exp": 1, "iat": 0});
        b.iter(|| f.state.keys.sign(SystemClock.now(), JwtType::AccessToken, &claims).unwrap())
    });
    // Paid once per refresh rotation while WARDEN_REFRESH_GRACE is on.
    c.bench_function("seal a refresh-token successor", |b| {
        let (rotated, successor) = (random::token(), random::token());
        b.iter(|| successor::seal(&rotated, &successor).unwrap())
    });
    c.bench_function("client_credentials exchange (SQLite)", |b| {
        b.to_async(&rt)
            .iter(|| token::handle(&f.state, Some(&f.agent_basic), DpopHeader::Absent, &cc))
    });
    // The same exchange with a DPoP proof (RFC 9449): the proofs are made beforehand, so
    // what is timed is Warden's side: one signature check, the nonce HMAC, the jti insert.
    let dpop_key =
        josekit::jwk::Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap();
    let (fx, params) = (&f, &cc);
    c.bench_function(
        "client_credentials exchange with a DPoP proof (SQLite)",
        |b| {
            b.to_async(&rt).iter_batched(
                || dpop_proof(&fx.state, &dpop_key),
                |proof| async move {
                    let response = token::handle(
                        &fx.state,
                        Some(&fx.agent_basic),
                        DpopHeader::One(&proof),
                        params,
                    )
                    .await
                    .unwrap();
                    assert_eq!(response.token_type, "DPoP");
                },
                criterion::BatchSize::SmallInput,
            )
        },
    );
    let issued = rt
        .block_on(token::handle(
            &f.state,
            Some(&f.agent_basic),
            DpopHeader::Absent,
            &cc,
        ))
        .unwrap();
    let form = format!("token={}", issued.access_token);
    let introspection = Params::parse(form.as_bytes()).unwrap();
    c.bench_function("introspection (SQLite)", |b| {
        b.to_async(&rt)
            .iter(|| introspect::handle(&f.state, Some(&f.server_basic), &introspection))
    });

    let poll = Params::parse(f.device_poll.as_bytes()).unwrap();
    let answer = rt
        .block_on(token::handle(&f.state, None, DpopHeader::Absent, &poll))
        .unwrap_err();
    assert_eq!(answer.code.as_str(), "authorization_pending");
    c.bench_function("device-code poll, authorization_pending (SQLite)", |b| {
        b.to_async(&rt)
            .iter(|| token::handle(&f.state, None, DpopHeader::Absent, &poll))
    });
}

/// A fresh proof for the token endpoint, with the current nonce.
fn dpop_proof(state: &AppState, key: &josekit::jwk::Jwk) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = SystemClock.now();
    let header = serde_json::json!({
        "typ": "dpop+jwt",
        "alg": "ES256",
        "jwk": key.to_public_key().unwrap().as_ref(),
    });
    let claims = serde_json::json!({
        "htm": "POST",
        "htu": state.settings.issuer.endpoint("/token"),
        "iat": now,
        "jti": random::token(),
        "nonce": warden::oauth::dpop::nonce::issue(state.master_key.dpop_nonce_key(), now),
    });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signer = josekit::jws::ES256.signer_from_jwk(key).unwrap();
    let signature = josekit::jws::JwsSigner::sign(&signer, input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);
