//! `/metrics` after the main flows, scraped for real: every metric the Grafana dashboard
//! in `docs/` charts is in the output, and the labelled series the flows touched moved.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::helpers::browser::{self, Browser};
use crate::helpers::{TestApp, assert_oauth_error, spawn_app};

/// One scrape: each series (name and sorted labels) with its value, and each family's type.
struct Scrape {
    series: HashMap<(String, BTreeMap<String, String>), f64>,
    types: HashMap<String, String>,
}

impl Scrape {
    async fn of(app: &TestApp) -> Scrape {
        let response = app.get("/metrics").await;
        assert_eq!(response.status(), 200);
        Scrape::parse(&response.text().await.unwrap())
    }

    fn parse(text: &str) -> Scrape {
        let mut series = HashMap::new();
        let mut types = HashMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (head, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match head.split_once('{') {
                Some((name, rest)) => (name, labels(rest.strip_suffix('}').unwrap())),
                None => (head, BTreeMap::new()),
            };
            let value = value
                .parse()
                .unwrap_or_else(|_| panic!("a number in {line:?}"));
            series.insert((name.to_owned(), labels), value);
        }
        Scrape { series, types }
    }

    /// The value of the series `name` with exactly these labels (0 when absent).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.series
            .get(&(name.to_owned(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// The sum over every series of `name` whose labels include `subset`.
    fn sum(&self, name: &str, subset: &[(&str, &str)]) -> f64 {
        self.series
            .iter()
            .filter(|((n, labels), _)| {
                n == name
                    && subset
                        .iter()
                        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v)| v)
            .sum()
    }

    fn has_sample(&self, name: &str) -> bool {
        self.series.keys().any(|(n, _)| n == name)
    }

    /// Whether a PromQL selector `name` selects something here: a sample name, or the
    /// `_bucket`/`_sum`/`_count` series of a histogram (a histogram's own name selects
    /// nothing in Prometheus).
    fn selects(&self, name: &str) -> bool {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && self.types.get(base).map(String::as_str) == Some("histogram")
            {
                return self.has_sample(name);
            }
        }
        self.types.get(name).is_some_and(|t| t != "histogram") && self.has_sample(name)
    }
}

/// `a="x",b="y\"z"` into a map (the exporter escapes `\`, `"` and newlines).
fn labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap();
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().unwrap() {
                (_, '\\') => match chars.next().unwrap().1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        out.insert(key.to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    out
}

/// Every `warden_…` identifier in the dashboard's queries (`expr` of each target, `query`
/// of each variable), however deep the panels nest.
fn dashboard_metrics() -> BTreeSet<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/grafana-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    let mut queries = Vec::new();
    collect_queries(&dashboard, &mut queries);
    assert!(queries.len() >= 15, "{queries:?}");
    let mut names = BTreeSet::new();
    for query in &queries {
        let mut rest = query.as_str();
        while let Some(at) = rest.find("warden_") {
            let preceded_by_ident = rest[..at]
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            let tail = &rest[at..];
            let len = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if !preceded_by_ident {
                names.insert(tail[..len].to_owned());
            }
            rest = &tail[len..];
        }
    }
    names
}

fn collect_queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    ("query", serde_json::Value::String(s)) if s.contains("warden_") => {
                        out.push(s.clone())
                    }
                    ("query", serde_json::Value::Object(q)) => {
                        if let Some(s) = q.get("query").and_then(|s| s.as_str()) {
                            out.push(s.to_owned());
                        }
                    }
                    _ => collect_queries(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_queries(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_main_flows_move_their_series_and_the_dashboard_charts_only_real_metrics() {
    let app = spawn_app().await;
    let before = Scrape::of(&app).await;
    let admin_audience = app.state.settings.issuer.endpoint("/admin");

    // client_credentials (the admin token), then a code flow with consent.
    let setup = browser::interactive(&app, false).await;
    let pkce = browser::pkce();
    let mut chrome = Browser::new();
    let url = browser::authorize_url(&app, &setup.client, &pkce.challenge, &[]);
    let query = browser::authorize(&app, &mut chrome, &url, &setup.username).await;
    let tokens: serde_json::Value =
        browser::redeem(&app, &setup.client, &query["code"], &pkce.verifier)
            .await
            .json()
            .await
            .unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let first_refresh = tokens["refresh_token"].as_str().unwrap();

    // Introspection by the MCP server (active), then with no credentials (refused).
    assert_eq!(app.introspect(&setup.server, access).await["active"], true);
    let refused = app
        .post_form("/introspect", &[("token", access)], None)
        .await;
    assert_eq!(refused.status(), 401);

    // A refresh, then the spent refresh token again: reuse, the grant revoked.
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", first_refresh),
    ];
    let refreshed = app.post_form("/token", &refresh, Some(&setup.client)).await;
    assert_eq!(refreshed.status(), 200);
    // Past the grace window for a lost response.
    app.clock.advance(11);
    let reused = app.post_form("/token", &refresh, Some(&setup.client)).await;
    assert_oauth_error(reused, 400, "invalid_grant").await;
    assert_eq!(app.introspect(&setup.server, access).await["active"], false);

    // A token request for a grant type nobody supports.
    let unsupported = app
        .post_form("/token", &[("grant_type", "password")], Some(&setup.client))
        .await;
    assert_oauth_error(unsupported, 400, "unsupported_grant_type").await;

    // A wrong password.
    let mut other = Browser::new();
    let url = browser::authorize_url(&app, &setup.client, &pkce.challenge, &[]);
    let first = other.get(&url).await;
    let login = other.follow(&app, first).await;
    let wrong =
        browser::sign_in(&app, &mut other, login, &setup.username, "not the password").await;
    assert_eq!(wrong.status(), 401, "the login page again, refused");

    // The admin client revokes its own token (RFC 7009).
    let admin = app.admin_client().await;
    let token = app
        .client_credentials(&admin, Some(&admin_audience), None)
        .await;
    let revoked = app
        .post_form(
            "/revoke",
            &[("token", token["access_token"].as_str().unwrap())],
            Some(&admin),
        )
        .await;
    assert_eq!(revoked.status(), 200);

    // A client metadata document at a private address: refused without a connection.
    let cimd = url::Url::parse_with_params(
        &format!("{}/authorize", app.issuer),
        &[
            ("response_type", "code"),
            ("client_id", "https://127.0.0.1/client.json"),
            ("redirect_uri", "https://127.0.0.1/cb"),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let _ = Browser::new().get(cimd.as_str()).await;

    let after = Scrape::of(&app).await;
    // The route label is the template under the issuer's path, as actix matched it.
    let issuer_path = url::Url::parse(&app.issuer)
        .unwrap()
        .path()
        .trim_end_matches('/')
        .to_owned();
    let token_route = format!("{issuer_path}/token");
    let moved = |name: &str, labels: &[(&str, &str)]| {
        let (b, a) = (before.sum(name, labels), after.sum(name, labels));
        assert!(a > b, "{name}{labels:?} did not move: {b} -> {a}");
    };
    // Exact series: the labels are exactly these, so no request value leaked into them.
    let cc = [
        ("grant_type", "client_credentials"),
        ("resource", admin_audience.as_str()),
    ];
    assert!(
        after.value("warden_tokens_issued_total", &cc)
            >= before.value("warden_tokens_issued_total", &cc) + 2.0
    );
    let code = [
        ("grant_type", "authorization_code"),
        ("resource", setup.resource_uri.as_str()),
    ];
    assert!(
        after.value("warden_tokens_issued_total", &code)
            > before.value("warden_tokens_issued_total", &code)
    );
    moved(
        "warden_tokens_issued_total",
        &[("grant_type", "refresh_token")],
    );
    moved(
        "warden_token_errors_total",
        &[("error", "unsupported_grant_type")],
    );
    moved("warden_token_errors_total", &[("error", "invalid_grant")]);
    moved("warden_signins_total", &[("outcome", "success")]);
    moved("warden_signins_total", &[("outcome", "wrong_password")]);
    moved("warden_consents_total", &[("answer", "given")]);
    moved("warden_refresh_token_reuse_total", &[]);
    moved("warden_grants_revoked_total", &[("reason", "replay")]);
    moved("warden_grants_revoked_total", &[("reason", "client")]);
    moved("warden_introspections_total", &[("result", "active")]);
    moved("warden_introspections_total", &[("result", "inactive")]);
    moved("warden_introspections_total", &[("result", "refused")]);
    moved("warden_hot_cache_lookups_total", &[("result", "miss")]);
    moved(
        "warden_external_fetches_total",
        &[("kind", "client_metadata"), ("outcome", "refused")],
    );
    moved(
        "warden_http_requests_total",
        &[
            ("route", token_route.as_str()),
            ("method", "POST"),
            ("status_class", "2xx"),
        ],
    );
    moved(
        "warden_http_requests_total",
        &[
            ("route", token_route.as_str()),
            ("method", "POST"),
            ("status_class", "4xx"),
        ],
    );
    moved(
        "warden_http_request_duration_seconds_count",
        &[("route", token_route.as_str()), ("method", "POST")],
    );
    assert!(after.value("warden_signing_key_age_seconds", &[]) >= 0.0);
    assert!(after.has_sample("warden_signing_key_age_seconds"));

    // No raw path, user name or secret in any label.
    let secret = setup.client.client_secret.as_str();
    for (name, labels) in after.series.keys() {
        for value in labels.values() {
            assert!(
                !value.contains(secret) && !value.contains(access) && value != "alice",
                "{name} {labels:?}"
            );
        }
        if let Some(route) = labels.get("route") {
            assert!(
                route == "unmatched" || route == "other" || route.starts_with('/'),
                "{name} {labels:?}"
            );
        }
    }

    let missing: Vec<_> = dashboard_metrics()
        .into_iter()
        .filter(|name| !after.selects(name))
        .collect();
    assert!(
        missing.is_empty(),
        "the dashboard charts metrics /metrics does not have: {missing:?}"
    );
}

#[tokio::test]
async fn an_unknown_path_counts_as_unmatched_not_as_itself() {
    let app = spawn_app().await;
    let path = format!("/no-such-page-{}", uuid::Uuid::new_v4().simple());
    assert_eq!(app.get(&path).await.status(), 404);
    let after = Scrape::of(&app).await;
    assert!(
        after.sum(
            "warden_http_requests_total",
            &[("route", "unmatched"), ("status_class", "4xx")]
        ) >= 1.0
    );
    assert!(
        !after
            .series
            .keys()
            .any(|(_, labels)| labels.values().any(|v| v.contains(&path))),
        "the path became a label"
    );
}

#[test]
fn the_label_parser_reads_escapes() {
    let parsed = labels(r#"a="x",b="y\"z",c="p\\q""#);
    assert_eq!(parsed["a"], "x");
    assert_eq!(parsed["b"], "y\"z");
    assert_eq!(parsed["c"], "p\\q");
}
