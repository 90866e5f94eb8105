//! Every variable: default, range, message, `_FILE` variant and reading order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use std::collections::HashMap;

fn with(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_give_a_loopback_issuer_and_embedded_database() {
    let s = with(&[]).unwrap();
    assert_eq!(s.issuer.as_str(), "http://127.0.0.1:8080");
    assert!(matches!(s.database, DatabaseSettings::Embedded));
    assert_eq!(s.access_token_ttl, 600);
}

#[test]
fn issuer_rules_follow_rfc_8414() {
    for (value, fragment) in [
        ("http://auth.example.com", "https"),
        ("https://auth.example.com/", "slash"),
        ("https://auth.example.com?x=1", "query"),
        ("https://auth.example.com#f", "fragment"),
        ("auth.example.com", "absolute"),
        ("https://AUTH.example.com", "canonical"),
        ("https://user:pw@auth.example.com", "credentials"),
    ] {
        let err = with(&[("WARDEN_ISSUER", value)]).err().unwrap();
        assert_eq!(err.variable, "WARDEN_ISSUER");
        assert!(err.problem.contains(fragment), "{value}: {}", err.problem);
    }
    let s = with(&[("WARDEN_ISSUER", "https://auth.example.com/tenant")]).unwrap();
    assert_eq!(s.issuer.path(), "/tenant");
    assert!(with(&[("WARDEN_ISSUER", "http://localhost:9000")]).is_ok());
    assert!(with(&[("WARDEN_ISSUER", "http://[::1]:9000")]).is_ok());
}

#[test]
fn the_trailing_slash_form_changes_the_identifier_not_the_endpoints() {
    let s = with(&[
        ("WARDEN_ISSUER", "https://auth.example.com"),
        ("WARDEN_ISSUER_TRAILING_SLASH", "1"),
    ])
    .unwrap();
    assert_eq!(s.issuer.as_str(), "https://auth.example.com/");
    assert_eq!(s.issuer.path(), "");
    assert_eq!(
        s.issuer.endpoint("/token"),
        "https://auth.example.com/token"
    );
    let s = with(&[
        ("WARDEN_BIND", "127.0.0.1:9000"),
        ("WARDEN_ISSUER_TRAILING_SLASH", "1"),
    ])
    .unwrap();
    assert_eq!(s.issuer.as_str(), "http://127.0.0.1:9000/");
    let err = with(&[
        ("WARDEN_ISSUER", "https://auth.example.com/tenant"),
        ("WARDEN_ISSUER_TRAILING_SLASH", "1"),
    ])
    .err()
    .unwrap();
    assert_eq!(err.variable, "WARDEN_ISSUER_TRAILING_SLASH");
    assert!(err.problem.contains("has a path"), "{}", err.problem);
    let err = with(&[("WARDEN_ISSUER", "https://auth.example.com/")])
        .err()
        .unwrap();
    assert!(
        err.problem.contains("WARDEN_ISSUER_TRAILING_SLASH"),
        "{}",
        err.problem
    );
}

#[test]
fn durations_accept_units_and_reject_nonsense() {
    let s = with(&[("WARDEN_ACCESS_TOKEN_TTL", "15m")]).unwrap();
    assert_eq!(s.access_token_ttl, 900);
    let err = with(&[("WARDEN_ACCESS_TOKEN_TTL", "soon")]).err().unwrap();
    assert_eq!(err.variable, "WARDEN_ACCESS_TOKEN_TTL");
    let err = with(&[("WARDEN_ACCESS_TOKEN_TTL", "0")]).err().unwrap();
    assert!(err.problem.contains("out of range"));
}

#[test]
fn a_database_url_needs_a_shared_secret_key() {
    let err = with(&[("DATABASE_URL", "postgres://localhost/warden")])
        .err()
        .unwrap();
    assert_eq!(err.variable, "WARDEN_SECRET_KEY");
    let err = with(&[("DATABASE_URL", "mysql://localhost/warden")])
        .err()
        .unwrap();
    assert_eq!(err.variable, "DATABASE_URL");
}

#[test]
fn an_egress_proxy_is_used_only_when_named_and_must_be_http() {
    assert!(with(&[]).unwrap().egress_proxy.is_none());
    let s = with(&[("WARDEN_EGRESS_PROXY", "http://proxy.internal:3128")]).unwrap();
    assert_eq!(
        s.egress_proxy.map(|u| u.to_string()).as_deref(),
        Some("http://proxy.internal:3128/")
    );
    for bad in ["proxy:3128", "socks5://proxy:1080", "file:///x"] {
        let err = with(&[("WARDEN_EGRESS_PROXY", bad)]).err().unwrap();
        assert!(err.to_string().contains("WARDEN_EGRESS_PROXY"), "{bad}");
    }
}

#[test]
fn secrets_are_never_printed() {
    let s = with(&[(
        "WARDEN_SECRET_KEY",
        "0123456789abcdef0123456789abcdef-secret",
    )])
    .unwrap();
    assert!(!format!("{:?}", s.secret_key).contains("secret"));
}

fn problem(vars: &[(&str, &str)]) -> String {
    with(vars).err().map(|e| e.to_string()).unwrap_or_default()
}

#[test]
fn choices_name_the_accepted_values() {
    assert_eq!(
        problem(&[("WARDEN_LOG_FORMAT", "xml")]),
        "invalid setting WARDEN_LOG_FORMAT: \"xml\" is not text or json"
    );
    assert_eq!(
        with(&[("WARDEN_LOG_FORMAT", "json")]).unwrap().log_format,
        LogFormat::Json
    );
    assert_eq!(
        problem(&[("WARDEN_REGISTRATION", "closed")]),
        "invalid setting WARDEN_REGISTRATION: \"closed\" is not open, token or off"
    );
    assert!(matches!(
        with(&[("WARDEN_REGISTRATION", "off")])
            .unwrap()
            .registration,
        RegistrationPolicy::Off
    ));
    assert_eq!(
        problem(&[("WARDEN_SIGNING_ALG", "HS256")]),
        "invalid setting WARDEN_SIGNING_ALG: \"HS256\" is not ES256, EdDSA or RS256"
    );
    for name in ["WARDEN_PASSWORD_LOGIN", "WARDEN_DEV_ALLOW_LOOPBACK_FETCH"] {
        assert_eq!(
            problem(&[(name, "yes")]),
            format!("invalid setting {name}: \"yes\" is not 0 or 1")
        );
    }
    let s = with(&[
        ("WARDEN_PASSWORD_LOGIN", "0"),
        ("WARDEN_DEV_ALLOW_LOOPBACK_FETCH", "1"),
    ])
    .unwrap();
    assert!(!s.password_login && s.dev_allow_loopback_fetch);
    let s = with(&[("WARDEN_PASSWORD_LOGIN", "")]).unwrap();
    assert!(s.password_login && !s.dev_allow_loopback_fetch);
    assert_eq!(
        problem(&[("WARDEN_BIND", "localhost")]),
        "invalid setting WARDEN_BIND: \"localhost\" is not an address like 127.0.0.1:8080"
    );
    assert_eq!(
        problem(&[("WARDEN_BIND", "0.0.0.0:8080")]),
        "invalid setting WARDEN_ISSUER: is required when WARDEN_BIND is not a loopback address"
    );
}

#[test]
fn registration_by_token_needs_a_long_token() {
    let err = problem(&[("WARDEN_REGISTRATION", "token")]);
    assert_eq!(
        err,
        "invalid setting WARDEN_REGISTRATION_TOKEN: WARDEN_REGISTRATION=token needs a token of at least 16 characters"
    );
    let short = problem(&[
        ("WARDEN_REGISTRATION", "token"),
        ("WARDEN_REGISTRATION_TOKEN", "short"),
    ]);
    assert_eq!(short, err);
    let s = with(&[
        ("WARDEN_REGISTRATION", "token"),
        ("WARDEN_REGISTRATION_TOKEN", "0123456789abcdef"),
    ])
    .unwrap();
    assert!(
        matches!(s.registration, RegistrationPolicy::Token(t) if t.expose() == "0123456789abcdef")
    );
}

#[test]
fn secrets_come_from_the_variable_or_its_file_but_not_both() {
    let dir = std::env::temp_dir().join(format!("warden-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("metrics");
    std::fs::write(&file, "from-a-file\r\n").unwrap();
    let path = file.to_str().unwrap();
    let s = with(&[("WARDEN_METRICS_TOKEN_FILE", path)]).unwrap();
    assert_eq!(s.metrics_token.unwrap().expose(), "from-a-file");
    assert_eq!(
        problem(&[
            ("WARDEN_METRICS_TOKEN", "x"),
            ("WARDEN_METRICS_TOKEN_FILE", path)
        ]),
        "invalid setting WARDEN_METRICS_TOKEN: set either WARDEN_METRICS_TOKEN or WARDEN_METRICS_TOKEN_FILE, not both"
    );
    let empty = dir.join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let empty = empty.to_str().unwrap();
    assert_eq!(
        problem(&[
            ("WARDEN_REGISTRATION_TOKEN_FILE", empty),
            ("WARDEN_REGISTRATION", "token")
        ]),
        format!("invalid setting WARDEN_REGISTRATION_TOKEN_FILE: {empty:?} is empty")
    );
    let missing = dir.join("missing");
    let missing = missing.to_str().unwrap();
    assert!(
        problem(&[("DATABASE_URL_FILE", missing)]).starts_with(&format!(
            "invalid setting DATABASE_URL_FILE: cannot read {missing:?}"
        ))
    );
    std::fs::write(&file, "postgres://db/warden\n").unwrap();
    let s = with(&[
        ("DATABASE_URL_FILE", path),
        ("WARDEN_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ("WARDEN_DB_MAX_CONNECTIONS", "3"),
        ("WARDEN_DB_CONNECT_TIMEOUT", "1m"),
    ])
    .unwrap();
    match s.database {
        DatabaseSettings::Url {
            url,
            max_connections,
            connect_timeout,
        } => {
            assert_eq!(url.expose(), "postgres://db/warden");
            assert_eq!((max_connections, connect_timeout.as_secs()), (3, 60));
        }
        DatabaseSettings::Embedded => panic!("expected a database URL"),
    }
    assert_eq!(
        problem(&[("WARDEN_SECRET_KEY", "short")]),
        "invalid setting WARDEN_SECRET_KEY: must be at least 32 characters (try: openssl rand -base64 32)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_number_has_its_default_and_range() {
    let s = with(&[]).unwrap();
    assert_eq!(
        (
            s.access_token_max_ttl,
            s.refresh_token_ttl,
            s.refresh_grace,
            s.authorization_code_ttl,
            s.session_idle_ttl,
            s.session_ttl,
            s.key_activation_delay,
        ),
        (86_400, 30 * 86_400, 10, 60, 3600, 12 * 3600, 600)
    );
    assert_eq!(
        (
            s.key_refresh_interval.as_secs(),
            s.shutdown_drain.as_secs(),
            s.shutdown_timeout.as_secs(),
            s.registration_rate_limit,
            s.registration_cleanup_after,
            s.cache_ttl,
            s.token_rate_limit,
        ),
        (30, 0, 30, 60, 86_400, 5, 200)
    );
    assert_eq!((s.audit_retention, s.audit_log), (90 * 86_400, false));
    let l = &s.limits;
    assert_eq!(
        (
            l.hash_concurrency,
            l.hash_queue,
            l.body_timeout.as_secs(),
            l.send_timeout.as_secs(),
            l.authorize_rate_limit,
            l.pending_authorizations_max,
            l.registration_global_rate_limit,
            l.unused_registrations_max,
        ),
        (
            default_hash_concurrency(),
            8,
            10,
            10,
            120,
            100_000,
            3_600,
            10_000
        )
    );
    assert!(l.trusted_proxies.is_empty() && s.workers.is_none());
    assert!(s.metrics_token.is_none() && s.secret_key.is_none());
    assert_eq!(s.data_dir, PathBuf::from("warden-data"));

    // One variable at a time, just outside its range, names its bounds.
    for (name, value, message) in [
        (
            "WARDEN_ACCESS_TOKEN_MAX_TTL",
            "59",
            "\"59\" is out of range (60s to 604800s)",
        ),
        (
            "WARDEN_REFRESH_TOKEN_TTL",
            "366d",
            "\"366d\" is out of range (60s to 31536000s)",
        ),
        (
            "WARDEN_REFRESH_GRACE",
            "61",
            "\"61\" is out of range (0s to 60s)",
        ),
        (
            "WARDEN_AUTHORIZATION_CODE_TTL",
            "2m",
            "\"2m\" is out of range (10s to 60s)",
        ),
        (
            "WARDEN_SESSION_IDLE_TTL",
            "59",
            "\"59\" is out of range (60s to 604800s)",
        ),
        (
            "WARDEN_SESSION_TTL",
            "299",
            "\"299\" is out of range (300s to 2592000s)",
        ),
        (
            "WARDEN_KEY_REFRESH_INTERVAL",
            "0",
            "\"0\" is out of range (1s to 3600s)",
        ),
        (
            "WARDEN_KEY_ACTIVATION_DELAY",
            "29",
            "\"29\" is out of range (30s to 604800s)",
        ),
        (
            "WARDEN_SHUTDOWN_DRAIN",
            "11m",
            "\"11m\" is out of range (0s to 600s)",
        ),
        (
            "WARDEN_SHUTDOWN_TIMEOUT",
            "2h",
            "\"2h\" is out of range (0s to 3600s)",
        ),
        (
            "WARDEN_REGISTRATION_RATE_LIMIT",
            "0",
            "\"0\" is out of range (1 to 100000)",
        ),
        (
            "WARDEN_REGISTRATION_CLEANUP_AFTER",
            "1",
            "\"1\" is out of range (60s to 31536000s)",
        ),
        ("WARDEN_CACHE_TTL", "61", "\"61\" is out of range (0 to 60)"),
        (
            "WARDEN_AUDIT_RETENTION",
            "1h",
            "\"1h\" is out of range (86400s to 315360000s)",
        ),
        (
            "WARDEN_TOKEN_RATE_LIMIT",
            "-1",
            "\"-1\" is not a whole number",
        ),
        (
            "WARDEN_PASSWORD_HASH_CONCURRENCY",
            "257",
            "\"257\" is out of range (1 to 256)",
        ),
        (
            "WARDEN_PASSWORD_HASH_QUEUE",
            "10001",
            "\"10001\" is out of range (0 to 10000)",
        ),
        (
            "WARDEN_BODY_TIMEOUT",
            "0",
            "\"0\" is out of range (1s to 600s)",
        ),
        (
            "WARDEN_SEND_TIMEOUT",
            "1w",
            "\"1w\" has an unknown unit (use s, m, h or d)",
        ),
        (
            "WARDEN_AUTHORIZE_RATE_LIMIT",
            "0",
            "\"0\" is out of range (1 to 1000000)",
        ),
        (
            "WARDEN_PENDING_AUTHORIZATIONS_MAX",
            "0",
            "\"0\" is out of range (1 to 100000000)",
        ),
        (
            "WARDEN_REGISTRATION_GLOBAL_RATE_LIMIT",
            "0",
            "\"0\" is out of range (1 to 10000000)",
        ),
        (
            "WARDEN_UNUSED_REGISTRATIONS_MAX",
            "x",
            "\"x\" is not a whole number",
        ),
        ("WARDEN_WORKERS", "0", "\"0\" is out of range (1 to 256)"),
        ("WARDEN_TRUSTED_PROXIES", "not-a-net", ""),
    ] {
        let got = problem(&[(name, value)]);
        assert!(
            got.starts_with(&format!("invalid setting {name}: {message}")),
            "{name}: {got}"
        );
    }
    // The access token lifetime is bounded by the configured maximum, and a key is
    // published for at least one refresh interval before it signs.
    assert_eq!(
        problem(&[
            ("WARDEN_ACCESS_TOKEN_MAX_TTL", "120"),
            ("WARDEN_ACCESS_TOKEN_TTL", "121")
        ]),
        "invalid setting WARDEN_ACCESS_TOKEN_TTL: \"121\" is out of range (10s to 120s)"
    );
    assert_eq!(
        problem(&[
            ("WARDEN_KEY_REFRESH_INTERVAL", "5m"),
            ("WARDEN_KEY_ACTIVATION_DELAY", "4m")
        ]),
        "invalid setting WARDEN_KEY_ACTIVATION_DELAY: \"4m\" is out of range (300s to 604800s)"
    );
    let s = with(&[
        ("WARDEN_WORKERS", "3"),
        ("WARDEN_TRUSTED_PROXIES", "10.0.0.0/8"),
    ])
    .unwrap();
    assert_eq!((s.workers, s.limits.trusted_proxies.len()), (Some(3), 1));
}

#[test]
fn the_first_bad_variable_in_reading_order_is_reported() {
    // Bind and issuer first, then the database, its key, and the rest in order.
    let all_bad = [
        ("WARDEN_WORKERS", "0"),
        ("WARDEN_CACHE_TTL", "99"),
        ("WARDEN_LOG_FORMAT", "xml"),
        ("WARDEN_SECRET_KEY", "short"),
        ("DATABASE_URL", "mysql://x"),
        ("WARDEN_ISSUER", "http://example.com"),
        ("WARDEN_BIND", "nowhere"),
    ];
    for n in 1..=all_bad.len() {
        let vars = &all_bad[..n];
        let expected = vars[n - 1].0;
        let err = with(vars).err().unwrap();
        assert_eq!(err.variable, expected);
    }
}

/// Every declared variable (and the `_FILE` twin of every secret) is read, and nothing
/// undeclared is: the declarations are the whole list.
#[test]
fn the_readers_ask_for_exactly_the_declared_variables() {
    let asked = std::cell::RefCell::new(std::collections::BTreeSet::new());
    let set = HashMap::from([
        ("DATABASE_URL", "postgres://db/warden"),
        ("WARDEN_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
        ("WARDEN_REGISTRATION", "token"),
        ("WARDEN_REGISTRATION_TOKEN", "0123456789abcdef"),
    ]);
    Settings::from_lookup(|name| {
        asked.borrow_mut().insert(name.to_owned());
        set.get(name).map(|v| (*v).to_owned())
    })
    .unwrap();
    let mut declared = std::collections::BTreeSet::new();
    for s in declared::ALL {
        declared.insert(s.var.to_owned());
        if matches!(s.kind, declared::Kind::Secret) {
            declared.insert(s.file_var.to_owned());
        }
    }
    assert_eq!(asked.into_inner(), declared);
}

/// Each declared default is what the readers use, and each declared word is accepted.
#[test]
fn declared_defaults_and_words_are_the_parsed_ones() {
    let token = ("WARDEN_REGISTRATION_TOKEN", "0123456789abcdef");
    for s in declared::ALL {
        let values: Vec<String> = match s.kind {
            declared::Kind::Choice(words) => words.iter().map(|w| (*w).to_owned()).collect(),
            declared::Kind::Flag(_) => vec!["0".into(), "1".into()],
            _ => continue,
        };
        for value in values {
            assert!(with(&[(s.var, &value), token]).is_ok(), "{}={value}", s.var);
        }
    }
    let defaults = with(&[]).unwrap();
    let explicit: Vec<(&str, String)> = declared::ALL
        .iter()
        .filter_map(|s| match s.kind {
            declared::Kind::Seconds { default, .. } => Some((s.var, default.to_string())),
            declared::Kind::Number {
                default: Some(n), ..
            } => Some((s.var, n.to_string())),
            declared::Kind::Text(Some(text)) => Some((s.var, text.to_owned())),
            declared::Kind::Choice(words) => Some((s.var, words[0].to_owned())),
            declared::Kind::Flag(on) => Some((s.var, u8::from(on).to_string())),
            _ => None,
        })
        .collect();
    let explicit: Vec<(&str, &str)> = explicit.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let spelled_out = with(&explicit).unwrap();
    // Settings holds secrets and has no Debug; compare through the fields' own Debug.
    let view = |s: &Settings| {
        format!(
            "{:?} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            (
                s.access_token_ttl,
                s.access_token_max_ttl,
                s.refresh_token_ttl
            ),
            s.bind,
            s.data_dir,
            (
                s.refresh_grace,
                s.authorization_code_ttl,
                s.session_idle_ttl
            ),
            (
                s.session_ttl,
                s.key_activation_delay,
                s.key_refresh_interval
            ),
            (s.shutdown_drain, s.shutdown_timeout, &s.registration),
            (s.registration_rate_limit, s.registration_cleanup_after),
            (s.dev_allow_loopback_fetch, s.password_login, s.cache_ttl),
            (
                s.token_rate_limit,
                &s.limits,
                s.audit_retention,
                s.audit_log,
                s.dpop_nonce,
                s.log_format,
                s.signing_alg,
            ),
        )
    };
    assert_eq!(view(&spelled_out), view(&defaults));
}

/// The part of `markdown` that is table rows, in order.
fn table_rows(markdown: &str) -> Vec<&str> {
    markdown.lines().filter(|l| l.starts_with('|')).collect()
}

fn assert_same_table(document: &str, part: &str, rendered: &str) {
    let fix = "regenerate it with `warden settings`";
    let (documented, declared) = (table_rows(part), table_rows(rendered));
    for (i, (doc, decl)) in documented.iter().zip(&declared).enumerate() {
        assert_eq!(
            doc, decl,
            "{document}, table row {i} is not the declared one ({fix})"
        );
    }
    assert_eq!(
        documented.len(),
        declared.len(),
        "{document}: table rows, declared rows ({fix})"
    );
}

#[test]
fn the_documented_tables_are_the_declarations() {
    let root = env!("CARGO_MANIFEST_DIR");
    let docs = std::fs::read_to_string(format!("{root}/docs/settings.md")).unwrap();
    assert_same_table("docs/settings.md", &docs, &declared::markdown_table(false));
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let section = readme
        .split_once("\n## Settings\n")
        .and_then(|(_, rest)| rest.split("\n## ").next())
        .expect("README.md has a ## Settings section");
    assert_same_table("README.md", section, &declared::markdown_table(true));
}
