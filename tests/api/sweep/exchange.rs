//! Hostile-input sweep, security.md §5 H (cases 77–85): token exchange. The happy path, a
//! subject of the wrong type, revoked and expired subjects, scope escalation and the
//! target's state are `token_exchange`'s tests; here are the gaps: broken subject tokens,
//! an unregistered target, a public caller, and delegation chains and their limit.

use serde_json::{Value, json};

use super::support::{another_ide, json_error, ok_json, token_request, tokens};
use crate::helpers::browser::{Browser, interactive};
use crate::helpers::exchange::{ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE, link};
use crate::helpers::tokens::access;
use crate::helpers::tokens::decode_claims;
use crate::helpers::{TestApp, TestClient, spawn_app};

/// A token exchange request by `caller` for `subject` with `extra` parameters.
async fn exchange(
    app: &TestApp,
    caller: &TestClient,
    subject: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    form.extend_from_slice(extra);
    token_request(app, caller, &form).await
}

/// The downstream API.
const B: &str = "https://api.example.com";

/// The parameters naming `actor` as the actor, for the target B.
fn with_actor(actor: &str) -> [(&str, &str); 3] {
    [
        ("resource", B),
        ("actor_token", actor),
        ("actor_token_type", ACCESS_TOKEN_TYPE),
    ]
}

/// How deep an `act` claim nests.
fn act_depth(act: &Value) -> usize {
    match act.get("act") {
        Some(inner) => 1 + act_depth(inner),
        None => usize::from(act.is_object()),
    }
}

#[tokio::test]
async fn token_exchange_refuses_broken_subjects_public_callers_and_overlong_chains() {
    let app = spawn_app().await;
    let setup = interactive(&app, false).await;
    let a = setup.resource_uri.clone();
    app.create_resource(
        &setup.admin_token,
        json!({"uri": B, "name": "Example API", "scopes": ["mcp:read", "mcp:write"]}),
    )
    .await;
    // S serves both resources, and each is a downstream of the other, so S can chain. It
    // also holds client tokens of its own for A, to name itself as actor.
    let s = app
        .create_client(
            &setup.admin_token,
            json!({"name": "mcp server S", "grant_types": [TOKEN_EXCHANGE, "client_credentials"],
                   "served_resources": [a, B], "resources": [a]}),
        )
        .await;
    for (source, target) in [(a.as_str(), B), (B, a.as_str())] {
        link(
            &app,
            &setup.admin_token,
            source,
            json!([{"target": target}]),
        )
        .await;
    }
    let public = another_ide(&app, &setup, "public IDE", true).await;
    let mut browser = Browser::new();
    let user = tokens(
        &app,
        &setup.client,
        &mut browser,
        &[("scope", "mcp:read mcp:write")],
    )
    .await;
    let subject = access(&user);

    // Case 78 (tx-missing-or-garbled-subject), the forms token_exchange.rs does not send:
    // an empty subject_token, and a JWT truncated three ways. Never a token.
    let dot = subject.rfind('.').unwrap();
    for (why, broken) in [
        ("empty", ""),
        ("no signature segment", &subject[..dot]),
        ("empty signature", &subject[..=dot]),
        ("signature cut short", &subject[..subject.len() - 10]),
    ] {
        let response = exchange(&app, &s, broken, &[("resource", B)]).await;
        let body = json_error(response, 400, "invalid_request").await;
        assert!(body.get("access_token").is_none(), "{why}: {body}");
    }

    // Case 81 (tx-unregistered-target): audience=unknown (not even a URI).
    json_error(
        exchange(&app, &s, subject, &[("audience", "unknown")]).await,
        400,
        "invalid_target",
    )
    .await;

    // Case 83 (tx-public-client-not-holder): a public client, naming itself, may not
    // exchange the user's token (it cannot hold the grant type; a request is refused).
    json_error(
        exchange(&app, &public, subject, &[("resource", B)]).await,
        400,
        "unauthorized_client",
    )
    .await;

    // Case 85 (tx-delegation-chain): an actor_token names the actor in act, and must be
    // the caller's own (or be allowed by the subject's may_act, token_exchange.rs): another
    // client's live token is refused...
    let agent = app
        .create_client(
            &setup.admin_token,
            json!({"name": "agent", "grant_types": ["client_credentials"], "resources": [a]}),
        )
        .await;
    let foreign = app.client_credentials(&agent, Some(&a), None).await;
    json_error(
        exchange(&app, &s, subject, &with_actor(access(&foreign))).await,
        400,
        "invalid_request",
    )
    .await;
    // ...while a client token of the caller's own names the caller.
    let own = app.client_credentials(&s, Some(&a), None).await;
    let acted = ok_json(exchange(&app, &s, subject, &with_actor(access(&own))).await).await;
    assert_eq!(
        decode_claims(access(&acted))["act"],
        json!({"sub": s.client_id, "client_id": s.client_id})
    );
    // ...each exchange of an exchanged token nests one more act, and the chain stops at
    // five actors (MAX_ACT_DEPTH): the sixth exchange is refused.
    let mut current = subject.to_owned();
    for depth in 1..=5 {
        let target = if depth % 2 == 1 { B } else { a.as_str() };
        let next = ok_json(exchange(&app, &s, &current, &[("resource", target)]).await).await;
        let claims = decode_claims(access(&next));
        assert_eq!(claims["aud"], target);
        assert_eq!(act_depth(&claims["act"]), depth, "{claims}");
        current = access(&next).to_owned();
    }
    let body = json_error(
        exchange(&app, &s, &current, &[("resource", &a)]).await,
        400,
        "invalid_request",
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("chain"),
        "{body}"
    );
}
