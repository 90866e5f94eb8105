//! Workload identity federation (SEP-1933): a workload with no secret sends its platform
//! JWT (a Kubernetes service-account token, a GitHub Actions OIDC token) as a jwt-bearer
//! assertion (RFC 7523 §2.1) and gets a token as for client credentials. The test issuer's
//! JWKS is served on loopback; every refusal has its RFC code and stores nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{ES256, HS256, JwsHeader};
use josekit::jwt::JwtPayload;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::doc_server::{Doc, DocServer};
use crate::helpers::{TestApp, TestClient, assert_oauth_error, scalar, setup, spawn_app_with};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const LOOPBACK_FETCH: (&str, &str) = ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1");
const K8S_SUB: &str = "system:serviceaccount:agents:reporter";

struct Issuer {
    docs: DocServer,
    key: Jwk,
    iss: String,
}

impl Issuer {
    /// A platform issuer with one ES256 key, its JWKS served on loopback.
    async fn start() -> Issuer {
        let docs = DocServer::start().await;
        let key = es256("k8s-1");
        let mut public = key.to_public_key().unwrap();
        public.set_key_id("k8s-1");
        docs.serve(
            "/jwks.json",
            Doc::json(&json!({"keys": [serde_json::to_value(public.as_ref()).unwrap()]})),
        );
        let iss = docs.url("/cluster");
        Issuer { docs, key, iss }
    }

    fn jwks_uri(&self) -> String {
        self.docs.url("/jwks.json")
    }

    fn sign(&self, payload: &JwtPayload) -> String {
        sign_with(&self.key, "k8s-1", payload)
    }
}

fn es256(kid: &str) -> Jwk {
    let mut key = Jwk::generate_ec_key(EcCurve::P256).unwrap();
    key.set_key_id(kid);
    key
}

fn sign_with(key: &Jwk, kid: &str, payload: &JwtPayload) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type("JWT");
    header.set_key_id(kid);
    let signer = ES256.signer_from_jwk(key).unwrap();
    josekit::jwt::encode_with_signer(payload, &header, &signer).unwrap()
}

/// Signs any JSON as an ES256 JWT, by hand.
fn sign_raw(key: &Jwk, claims: &Value) -> String {
    use josekit::jws::JwsSigner;
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": "k8s-1"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = ES256
        .signer_from_jwk(key)
        .unwrap()
        .sign(input.as_bytes())
        .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn now(app: &TestApp) -> i64 {
    warden::clock::Clock::now(&*app.clock)
}

/// A projected service-account token as Kubernetes issues it: `aud` an array, a `jti`,
/// and the `kubernetes.io` claim.
fn k8s_claims(iss: &str, aud: &str, sub: &str, now: i64) -> JwtPayload {
    let mut p = JwtPayload::new();
    p.set_issuer(iss);
    p.set_audience(vec![aud]);
    p.set_subject(sub);
    p.set_claim("exp", Some(json!(now + 600))).unwrap();
    p.set_claim("iat", Some(json!(now))).unwrap();
    p.set_claim("nbf", Some(json!(now))).unwrap();
    p.set_claim("jti", Some(json!(uuid::Uuid::new_v4().to_string())))
        .unwrap();
    p.set_claim(
        "kubernetes.io",
        Some(json!({"namespace": "agents", "serviceaccount": {"name": "reporter"}})),
    )
    .unwrap();
    p
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The workload client: no secret, jwt-bearer its only grant.
async fn workload_client(app: &TestApp, admin_token: &str, name: &str, resource: &str) -> String {
    let client = app
        .create_client(
            admin_token,
            json!({"name": name, "token_endpoint_auth_method": "none",
                   "grant_types": [JWT_BEARER], "resources": [resource]}),
        )
        .await;
    assert!(client.client_secret.is_empty(), "no secret is issued");
    client.client_id
}

async fn add_rule(app: &TestApp, admin_token: &str, rule: Value) -> Value {
    let (status, body) = app
        .admin_call(admin_token, Method::POST, "/workload-rules", Some(rule))
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn present(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.post_form("/token", form, None).await
}

async fn granted(response: reqwest::Response) -> Value {
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none(), "{body}");
    body
}

/// Rows a refused request must not have written: grants and remembered assertion ids.
async fn stored(app: &TestApp) -> (i64, i64) {
    (
        scalar(&app.db, "SELECT COUNT(*) FROM grants").await,
        scalar(&app.db, "SELECT COUNT(*) FROM client_assertions").await,
    )
}

/// App, resource, MCP server client, one workload client and an exact-subject rule.
struct World {
    app: TestApp,
    issuer: Issuer,
    admin_token: String,
    resource: String,
    server: TestClient,
    client_id: String,
    rule_id: String,
    /// Rows before any workload asked (the admin's own grant).
    base: (i64, i64),
}

async fn world() -> World {
    let app = spawn_app_with(&[LOOPBACK_FETCH]).await;
    let s = setup(&app).await;
    let issuer = Issuer::start().await;
    let client_id = workload_client(&app, &s.admin_token, "reporter", &s.resource_uri).await;
    let rule = add_rule(
        &app,
        &s.admin_token,
        json!({"issuer": issuer.iss, "jwks_uri": issuer.jwks_uri(), "audience": app.issuer,
               "algorithms": ["ES256"], "subject": K8S_SUB, "client_id": client_id}),
    )
    .await;
    let base = stored(&app).await;
    World {
        base,
        issuer,
        admin_token: s.admin_token,
        resource: s.resource_uri,
        server: s.server,
        client_id,
        rule_id: rule["id"].as_str().unwrap().to_owned(),
        app,
    }
}

#[tokio::test]
async fn a_kubernetes_service_account_token_gets_a_token_that_introspects_as_the_workload_client() {
    let w = world().await;
    let app = &w.app;
    let (status, listed) = app
        .admin_call(&w.admin_token, Method::GET, "/workload-rules", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["subject"], K8S_SUB);
    assert_eq!(listed["items"][0]["client_id"], w.client_id.as_str());

    let t = now(app);
    let jwt = w
        .issuer
        .sign(&k8s_claims(&w.issuer.iss, &app.issuer, K8S_SUB, t));
    let body = granted(
        present(
            app,
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", &jwt),
                ("resource", &w.resource),
                ("scope", "mcp:read"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "mcp:read");
    let token = body["access_token"].as_str().unwrap();
    let c = claims_of(token);
    assert_eq!(c["sub"], w.client_id.as_str());
    assert_eq!(c["client_id"], w.client_id.as_str());
    assert_eq!(c["aud"], w.resource.as_str());
    assert_eq!(c["iss"], app.issuer.as_str());
    let seen = app.introspect(&w.server, token).await;
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["client_id"], w.client_id.as_str());

    // A fresh token from the platform (new jti), a body client_id that agrees: same grant.
    let again = w
        .issuer
        .sign(&k8s_claims(&w.issuer.iss, &app.issuer, K8S_SUB, t));
    granted(
        present(
            app,
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", &again),
                ("client_id", &w.client_id),
                ("resource", &w.resource),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        stored(app).await.0,
        w.base.0 + 1,
        "the client's one grant carries both"
    );
    // The audit log names who added the rule.
    let (_, audit) = app
        .admin_call(
            &w.admin_token,
            Method::GET,
            "/audit?kind=workload_rule.created",
            None,
        )
        .await;
    assert_eq!(
        audit["items"][0]["client_id"],
        w.client_id.as_str(),
        "{audit}"
    );
}

/// GitHub Actions' OIDC token: `sub` names repository and ref; the rule globs the branch
/// and pins `repository_owner` and `runner_environment`.
fn github_claims(
    iss: &str,
    aud: &str,
    sub: &str,
    owner: &str,
    runner: &str,
    now: i64,
) -> JwtPayload {
    let mut p = JwtPayload::new();
    p.set_issuer(iss);
    p.set_audience(vec![aud]);
    p.set_subject(sub);
    p.set_claim("exp", Some(json!(now + 300))).unwrap();
    p.set_claim("iat", Some(json!(now))).unwrap();
    p.set_claim("jti", Some(json!(uuid::Uuid::new_v4().to_string())))
        .unwrap();
    p.set_claim("repository_owner", Some(json!(owner))).unwrap();
    p.set_claim("runner_environment", Some(json!(runner)))
        .unwrap();
    p
}

#[tokio::test]
async fn glob_subjects_and_required_claims_choose_the_rule_and_its_client() {
    let w = world().await;
    let app = &w.app;
    let deployer = workload_client(app, &w.admin_token, "deployer", &w.resource).await;
    add_rule(
        app,
        &w.admin_token,
        json!({"issuer": w.issuer.iss, "jwks_uri": w.issuer.jwks_uri(), "audience": "https://warden.example",
               "subject": "repo:acme/api:ref:refs/heads/*",
               "claims": {"repository_owner": "acme", "runner_environment": "github-hosted"},
               "client_id": deployer}),
    )
    .await;
    let t = now(app);
    let iss = &w.issuer.iss;
    let aud = "https://warden.example";
    let token_for = |p: JwtPayload| w.issuer.sign(&p);
    for branch in ["main", "release/2.0"] {
        let jwt = token_for(github_claims(
            iss,
            aud,
            &format!("repo:acme/api:ref:refs/heads/{branch}"),
            "acme",
            "github-hosted",
            t,
        ));
        let body =
            granted(present(app, &[("grant_type", JWT_BEARER), ("assertion", &jwt)]).await).await;
        assert_eq!(
            claims_of(body["access_token"].as_str().unwrap())["client_id"],
            deployer.as_str()
        );
    }
    let before = stored(app).await;
    for (sub, owner, runner) in [
        ("repo:acme/api:ref:refs/tags/v1", "acme", "github-hosted"),
        (
            "repo:acme/api2:ref:refs/heads/main",
            "acme",
            "github-hosted",
        ),
        ("repo:acme/api:ref:refs/heads/main", "evil", "github-hosted"),
        ("repo:acme/api:ref:refs/heads/main", "acme", "self-hosted"),
    ] {
        let jwt = token_for(github_claims(iss, aud, sub, owner, runner, t));
        let r = present(app, &[("grant_type", JWT_BEARER), ("assertion", &jwt)]).await;
        assert_oauth_error(r, 400, "invalid_grant").await;
    }
    // A required claim that is missing altogether.
    let mut p = github_claims(
        iss,
        aud,
        "repo:acme/api:ref:refs/heads/main",
        "acme",
        "x",
        t,
    );
    p.set_claim("runner_environment", None).unwrap();
    let r = present(
        app,
        &[("grant_type", JWT_BEARER), ("assertion", &token_for(p))],
    )
    .await;
    assert_oauth_error(r, 400, "invalid_grant").await;
    // The Kubernetes rule's subject under the GitHub audience matches neither rule.
    let jwt = token_for(k8s_claims(iss, aud, K8S_SUB, t));
    let r = present(app, &[("grant_type", JWT_BEARER), ("assertion", &jwt)]).await;
    assert_oauth_error(r, 400, "invalid_grant").await;
    assert_eq!(stored(app).await, before, "refusals store nothing");
}

/// An unsigned JWT (`alg: none`), crafted by hand.
fn unsigned(payload: &JwtPayload) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": "k8s-1"});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

#[tokio::test]
async fn hostile_assertions_get_their_rfc_error_and_store_nothing() {
    let w = world().await;
    let app = &w.app;
    let iss = w.issuer.iss.clone();
    let me = app.issuer.clone();
    let t = now(app);
    let good = || k8s_claims(&iss, &me, K8S_SUB, t);
    // Built as raw JSON: josekit refuses to set some of these values itself.
    let with = |name: &str, value: Option<Value>| {
        let mut claims = Value::Object(good().claims_set().clone());
        match value {
            Some(v) => claims[name] = v,
            None => {
                claims.as_object_mut().unwrap().remove(name);
            }
        }
        sign_raw(&w.issuer.key, &claims)
    };
    let hmac = {
        let mut header = JwsHeader::new();
        header.set_key_id("k8s-1");
        let signer = HS256
            .signer_from_bytes(b"0123456789abcdef0123456789abcdef")
            .unwrap();
        josekit::jwt::encode_with_signer(&good(), &header, &signer).unwrap()
    };
    let forged = sign_with(&es256("k8s-1"), "k8s-1", &good());
    let id_jag = {
        let mut header = JwsHeader::new();
        header.set_token_type("oauth-id-jag+jwt");
        header.set_key_id("k8s-1");
        let signer = ES256.signer_from_jwk(&w.issuer.key).unwrap();
        josekit::jwt::encode_with_signer(&good(), &header, &signer).unwrap()
    };
    let untrusted = {
        let mut p = good();
        p.set_issuer("https://other-cluster.example");
        w.issuer.sign(&p)
    };
    let two_audiences = {
        let mut p = good();
        p.set_audience(vec!["https://another-as.example", "https://api.example"]);
        w.issuer.sign(&p)
    };
    let cases: Vec<(&str, String)> = vec![
        ("alg none", unsigned(&good())),
        ("HMAC", hmac),
        ("signed by another key with the same kid", forged),
        ("untrusted issuer", untrusted),
        ("another audience", two_audiences),
        (
            "audience is another AS",
            with("aud", Some(json!("https://other-as.example"))),
        ),
        ("expired", with("exp", Some(json!(t - 120)))),
        ("no exp", with("exp", None)),
        ("issued in the future", with("iat", Some(json!(t + 600)))),
        ("not valid yet", with("nbf", Some(json!(t + 600)))),
        ("no sub", with("sub", None)),
        (
            "another subject",
            with("sub", Some(json!("system:serviceaccount:agents:other"))),
        ),
        ("jti not a string", with("jti", Some(json!(7)))),
        ("not a JWT", "not.a.jwt".to_owned()),
    ];
    for (what, assertion) in &cases {
        let r = present(
            app,
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", assertion),
                ("resource", &w.resource),
            ],
        )
        .await;
        let body = assert_oauth_error(r, 400, "invalid_grant").await;
        assert!(
            !body["error_description"].as_str().unwrap().is_empty(),
            "{what}"
        );
    }
    let fine = w.issuer.sign(&good());
    // Malformed requests: no assertion, two assertions (invalid_request); an oversized one is
    // refused before parsing, as an unreadable assertion (invalid_grant, as for an ID-JAG).
    let r = present(app, &[("grant_type", JWT_BEARER)]).await;
    assert_oauth_error(r, 400, "invalid_request").await;
    let r = present(
        app,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &fine),
            ("assertion", &fine),
        ],
    )
    .await;
    assert_oauth_error(r, 400, "invalid_request").await;
    let huge = format!("{fine}{}", "A".repeat(9 * 1024));
    let r = present(app, &[("grant_type", JWT_BEARER), ("assertion", &huge)]).await;
    assert_oauth_error(r, 400, "invalid_grant").await;
    // An ID-JAG without client authentication is not a workload's: the client must prove
    // itself.
    let r = present(app, &[("grant_type", JWT_BEARER), ("assertion", &id_jag)]).await;
    assert_oauth_error(r, 401, "invalid_client").await;
    // A body client_id naming another client than the rule's.
    let r = present(
        app,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &fine),
            ("client_id", &w.server.client_id),
        ],
    )
    .await;
    assert_oauth_error(r, 401, "invalid_client").await;
    // A resource the client may not use, a scope the resource does not accept.
    let r = present(
        app,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &w.issuer.sign(&good())),
            ("resource", "https://unknown.example/mcp"),
        ],
    )
    .await;
    assert_oauth_error(r, 400, "invalid_target").await;
    let r = present(
        app,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &w.issuer.sign(&good())),
            ("resource", &w.resource),
            ("scope", "admin:everything"),
        ],
    )
    .await;
    assert_oauth_error(r, 400, "invalid_scope").await;
    assert_eq!(stored(app).await.0, w.base.0, "nothing was granted");
    assert!(
        stored(app).await.1 <= 2,
        "only the two assertions refused after a rule matched consumed their jti"
    );
}

#[tokio::test]
async fn a_replayed_assertion_is_refused_and_stays_refused_after_it_expires() {
    let w = world().await;
    let app = &w.app;
    let t = now(app);
    let jwt = w
        .issuer
        .sign(&k8s_claims(&w.issuer.iss, &app.issuer, K8S_SUB, t));
    let form = [
        ("grant_type", JWT_BEARER),
        ("assertion", jwt.as_str()),
        ("resource", &w.resource),
    ];
    granted(present(app, &form).await).await;
    let r = present(app, &form).await;
    assert_oauth_error(r, 400, "invalid_grant").await;
    assert_eq!(stored(app).await.0, w.base.0 + 1);
    // Replayed after the assertion's expiry it is refused as expired, still.
    app.clock.advance(3600);
    let r = present(app, &form).await;
    assert_oauth_error(r, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_disabled_client_is_invalid_client_and_unreachable_keys_are_503() {
    let w = world().await;
    let app = &w.app;
    let t = now(app);
    let assertion = || {
        w.issuer
            .sign(&k8s_claims(&w.issuer.iss, &app.issuer, K8S_SUB, t))
    };
    let (status, body) = app
        .admin_call(
            &w.admin_token,
            Method::POST,
            &format!("/clients/{}/disable", w.client_id),
            None,
        )
        .await;
    assert!(status == 200 || status == 204, "{body}");
    let r = present(
        app,
        &[("grant_type", JWT_BEARER), ("assertion", &assertion())],
    )
    .await;
    assert_oauth_error(r, 401, "invalid_client").await;
    assert_eq!(
        stored(app).await,
        w.base,
        "nothing stored, not even the jti"
    );
    app.admin_call(
        &w.admin_token,
        Method::POST,
        &format!("/clients/{}/enable", w.client_id),
        None,
    )
    .await;

    // Another issuer whose JWKS answers 500: the client may retry later.
    let down = DocServer::start().await;
    down.serve("/jwks.json", Doc::json(&json!({})).status(500));
    let other = workload_client(app, &w.admin_token, "batch", &w.resource).await;
    add_rule(
        app,
        &w.admin_token,
        json!({"issuer": down.url("/cluster"), "jwks_uri": down.url("/jwks.json"), "audience": app.issuer,
               "algorithms": ["ES256"], "subject": K8S_SUB, "client_id": other}),
    )
    .await;
    let jwt = w
        .issuer
        .sign(&k8s_claims(&down.url("/cluster"), &app.issuer, K8S_SUB, t));
    let r = present(app, &[("grant_type", JWT_BEARER), ("assertion", &jwt)]).await;
    assert_oauth_error(r, 503, "temporarily_unavailable").await;
    assert_eq!(stored(app).await, w.base);
}

#[tokio::test]
async fn rules_are_validated_name_only_workload_clients_and_deleting_one_ends_its_tokens() {
    let w = world().await;
    let app = &w.app;
    let rule = |overrides: Value| {
        let mut r = json!({"issuer": w.issuer.iss, "jwks_uri": w.issuer.jwks_uri(),
                           "audience": app.issuer, "subject": K8S_SUB, "client_id": w.client_id});
        for (k, v) in overrides.as_object().unwrap() {
            r[k] = v.clone();
        }
        r
    };
    let with_secret = app
        .create_client(
            &w.admin_token,
            json!({"name": "has a secret", "grant_types": [JWT_BEARER]}),
        )
        .await;
    // No secret and jwt-bearer beside another grant: not a workload client, and refused.
    let (status, body) = app
        .admin_call(
            &w.admin_token,
            Method::POST,
            "/clients",
            Some(
                json!({"name": "public", "token_endpoint_auth_method": "none",
                        "grant_types": ["authorization_code", JWT_BEARER],
                        "redirect_uris": ["http://127.0.0.1/cb"]}),
            ),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let public_with_code = app
        .create_client(
            &w.admin_token,
            json!({"name": "public", "token_endpoint_auth_method": "none",
                   "grant_types": ["authorization_code"],
                   "redirect_uris": ["http://127.0.0.1/cb"]}),
        )
        .await;
    for bad in [
        json!({"issuer": "http://cluster.example"}),
        json!({"jwks_uri": "not a url"}),
        json!({"algorithms": ["none"]}),
        json!({"algorithms": ["HS256"]}),
        json!({"subject": "*"}),
        json!({"subject": ""}),
        json!({"claims": {"sub": "x"}}),
        json!({"claims": {"aud": "x"}}),
        json!({"audience": ""}),
        json!({"client_id": "no-such-client"}),
        json!({"client_id": with_secret.client_id}),
        json!({"client_id": public_with_code.client_id}),
        json!({"unknown": 1}),
    ] {
        let (status, body) = app
            .admin_call(
                &w.admin_token,
                Method::POST,
                "/workload-rules",
                Some(rule(bad.clone())),
            )
            .await;
        assert!((400..500).contains(&status), "{bad} → {status} {body}");
    }
    let (_, listed) = app
        .admin_call(&w.admin_token, Method::GET, "/workload-rules", None)
        .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "only the first rule"
    );

    // The workload client cannot authenticate any other way: naming it gets nothing.
    let r = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &w.client_id),
            ],
            None,
        )
        .await;
    assert!(r.status().is_client_error());
    assert_eq!(stored(app).await.0, w.base.0);

    let (status, _) = app
        .admin_call(
            &w.admin_token,
            Method::DELETE,
            &format!("/workload-rules/{}", w.rule_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .admin_call(
            &w.admin_token,
            Method::DELETE,
            &format!("/workload-rules/{}", w.rule_id),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let t = now(app);
    let jwt = w
        .issuer
        .sign(&k8s_claims(&w.issuer.iss, &app.issuer, K8S_SUB, t));
    let r = present(app, &[("grant_type", JWT_BEARER), ("assertion", &jwt)]).await;
    assert_oauth_error(r, 400, "invalid_grant").await;
}

#[tokio::test]
async fn the_cli_adds_lists_and_deletes_rules_with_warden_as_the_default_audience() {
    let w = world().await;
    let app = &w.app;
    let batch = workload_client(app, &w.admin_token, "batch", &w.resource).await;
    let added = crate::helpers::stdout_json(&app.cli(&[
        "workload",
        "add",
        "--issuer",
        "https://token.actions.githubusercontent.com",
        "--jwks-uri",
        "https://token.actions.githubusercontent.com/.well-known/jwks",
        "--alg",
        "RS256",
        "--subject",
        "repo:acme/api:environment:*",
        "--claim",
        "repository_owner=acme",
        "--claim",
        "repository_id=123456",
        "--client",
        &batch,
    ]));
    assert_eq!(added["audience"], app.issuer.as_str(), "{added}");
    assert_eq!(added["algorithms"], json!(["RS256"]));
    // GitHub sends repository_id as a string of digits: the CLI keeps it a string.
    assert_eq!(
        added["claims"],
        json!({"repository_owner": "acme", "repository_id": "123456"})
    );
    let listed = crate::helpers::stdout_json(&app.cli(&["workload", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    let refused = app.cli(&[
        "workload",
        "add",
        "--issuer",
        "https://x.example",
        "--jwks-uri",
        "https://x.example/jwks",
        "--subject",
        "*",
        "--client",
        &batch,
    ]);
    assert!(!refused.status.success());
    let id = added["id"].as_str().unwrap();
    let deleted = app.cli(&["workload", "delete", id]);
    assert!(deleted.status.success());
    let listed = crate::helpers::stdout_json(&app.cli(&["workload", "list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
}
