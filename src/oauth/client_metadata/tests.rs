//! One test per row of the origin table, and the rules all three origins share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn check(doc: Value, origin: Origin) -> Result<ValidMetadata, MetadataError> {
    validate(ClientMetadata::from_json(&doc)?, origin)
}

fn kind(doc: Value, origin: Origin) -> &'static str {
    match check(doc, origin) {
        Ok(_) => "ok",
        Err(e) if e.kind == MetadataErrorKind::InvalidRedirectUri => "invalid_redirect_uri",
        Err(_) => "invalid_client_metadata",
    }
}

const CB: &str = "https://app.example.com/cb";
const ALL: [Origin; 3] = [Origin::Admin, Origin::Dynamic, Origin::Document];

#[test]
fn default_auth_method_differs_by_origin() {
    let doc = serde_json::json!({"client_name": "A", "redirect_uris": [CB]});
    for (origin, method) in [
        (Origin::Admin, AuthMethod::ClientSecretBasic),
        (Origin::Dynamic, AuthMethod::ClientSecretBasic),
        (Origin::Document, AuthMethod::None),
    ] {
        assert_eq!(
            check(doc.clone(), origin).unwrap().auth_method,
            method,
            "{origin:?}"
        );
    }
}

#[test]
fn auth_methods_differ_by_origin() {
    let with = |m: &str| serde_json::json!({"client_name": "A", "redirect_uris": [CB], "token_endpoint_auth_method": m});
    let jwt = serde_json::json!({"client_name": "A", "redirect_uris": [CB], "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://app.example.com/jwks"});
    for origin in ALL {
        assert_eq!(kind(jwt.clone(), origin), "ok", "{origin:?}");
    }
    assert_eq!(kind(with("client_secret_post"), Origin::Admin), "ok");
    assert_eq!(kind(with("client_secret_post"), Origin::Dynamic), "ok");
    assert_eq!(
        kind(with("client_secret_basic"), Origin::Document),
        "invalid_client_metadata"
    );
    for origin in ALL {
        assert_eq!(
            kind(with("client_secret_jwt"), origin),
            "invalid_client_metadata"
        );
    }
}

#[test]
fn machine_grants_are_for_admins() {
    let doc = serde_json::json!({"client_name": "A", "grant_types": ["client_credentials"]});
    assert_eq!(kind(doc.clone(), Origin::Admin), "ok");
    assert_eq!(
        kind(doc.clone(), Origin::Dynamic),
        "invalid_client_metadata"
    );
    // Documents drop what they cannot use, which leaves no authorization_code here.
    assert_eq!(kind(doc, Origin::Document), "invalid_client_metadata");
    let public = serde_json::json!({"client_name": "A", "grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"});
    assert_eq!(kind(public, Origin::Admin), "invalid_client_metadata");
}

#[test]
fn documents_ignore_unsupported_grants() {
    let doc = serde_json::json!({"client_name": "A", "redirect_uris": [CB], "grant_types": ["authorization_code", "password"]});
    assert_eq!(kind(doc.clone(), Origin::Admin), "invalid_client_metadata");
    assert_eq!(
        kind(doc.clone(), Origin::Dynamic),
        "invalid_client_metadata"
    );
    let valid = check(doc, Origin::Document).unwrap();
    assert_eq!(valid.grant_types.to_space_separated(), "authorization_code");
}

#[test]
fn sign_in_origins_need_authorization_code() {
    let doc = serde_json::json!({"client_name": "A", "redirect_uris": [CB], "grant_types": ["refresh_token"]});
    assert_eq!(kind(doc.clone(), Origin::Admin), "ok");
    assert_eq!(
        kind(doc.clone(), Origin::Dynamic),
        "invalid_client_metadata"
    );
    assert_eq!(kind(doc, Origin::Document), "invalid_client_metadata");
    let no_redirect = serde_json::json!({"client_name": "A"});
    for origin in ALL {
        assert_eq!(
            kind(no_redirect.clone(), origin),
            "invalid_redirect_uri",
            "{origin:?}"
        );
    }
    let no_grants = serde_json::json!({"client_name": "A", "grant_types": []});
    for origin in ALL {
        assert_eq!(
            kind(no_grants.clone(), origin),
            "invalid_client_metadata",
            "{origin:?}"
        );
    }
}

#[test]
fn names_are_required_except_for_self_registration() {
    let doc = serde_json::json!({"redirect_uris": [CB], "client_name": "  "});
    assert_eq!(kind(doc.clone(), Origin::Admin), "invalid_client_metadata");
    assert_eq!(check(doc.clone(), Origin::Dynamic).unwrap().name, UNNAMED);
    assert_eq!(kind(doc, Origin::Document), "invalid_client_metadata");
    let bell = serde_json::json!({"redirect_uris": [CB], "client_name": "\u{0007}"});
    for origin in ALL {
        assert_eq!(
            kind(bell.clone(), origin),
            "invalid_client_metadata",
            "{origin:?}"
        );
    }
}

#[test]
fn shared_rules_apply_to_every_origin() {
    let base = |extra: Value| {
        let mut doc = serde_json::json!({"client_name": "A", "redirect_uris": [CB]});
        doc.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        doc
    };
    let many: Vec<String> = (0..21).map(|i| format!("https://x.example/{i}")).collect();
    for (doc, expected) in [
        (
            base(serde_json::json!({"redirect_uris": ["javascript:alert(1)"]})),
            "invalid_redirect_uri",
        ),
        (
            base(serde_json::json!({"redirect_uris": ["http://evil.example.com/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            base(serde_json::json!({"redirect_uris": many})),
            "invalid_redirect_uri",
        ),
        (
            base(
                serde_json::json!({"application_type": "web", "redirect_uris": ["http://localhost:3000/cb"]}),
            ),
            "invalid_redirect_uri",
        ),
        (
            base(serde_json::json!({"response_types": ["token"]})),
            "invalid_client_metadata",
        ),
        (
            base(serde_json::json!({"redirect_uris": "https://a/cb"})),
            "invalid_client_metadata",
        ),
        (
            base(serde_json::json!({"logo_uri": "http://app.example.com/logo.png"})),
            "invalid_client_metadata",
        ),
        (
            base(
                serde_json::json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": {"kty": "EC"}}),
            ),
            "invalid_client_metadata",
        ),
        (
            base(
                serde_json::json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://keys.example.com/jwks"}),
            ),
            "invalid_client_metadata",
        ),
        (
            base(serde_json::json!({"token_endpoint_auth_method": "private_key_jwt"})),
            "invalid_client_metadata",
        ),
        (
            base(
                serde_json::json!({"token_endpoint_auth_method": "none", "jwks_uri": "https://keys.example.com/jwks"}),
            ),
            "invalid_client_metadata",
        ),
        (
            base(
                serde_json::json!({"application_type": "native", "redirect_uris": ["http://127.0.0.1:3000/cb", "com.example.app:/cb"], "token_endpoint_auth_method": "none"}),
            ),
            "ok",
        ),
    ] {
        for origin in ALL {
            assert_eq!(kind(doc.clone(), origin), expected, "{origin:?} {doc}");
        }
    }
}

#[test]
fn application_type_is_echoed_from_the_redirects() {
    let loopback = serde_json::json!({"redirect_uris": ["http://localhost:3000/cb"]});
    assert_eq!(
        check(loopback, Origin::Dynamic).unwrap().echo["application_type"],
        "native"
    );
    let web = serde_json::json!({"redirect_uris": [CB]});
    assert_eq!(
        check(web, Origin::Dynamic).unwrap().echo["application_type"],
        "web"
    );
}
