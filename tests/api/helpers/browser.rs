//! A minimal browser for tests: a cookie jar, no automatic redirects, and helpers that
//! read the hidden fields of Warden's forms. Plus the helpers that run the code flow.

use std::collections::HashMap;

use base64::Engine;
use sha2::Digest;

use crate::helpers::{TestApp, TestClient};

pub struct Browser {
    pub http: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = text.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
            if expired {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let response = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.absorb(&response);
        response
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let response = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.absorb(&response);
        response
    }

    /// Follows redirects that stay on Warden; returns the first response that does not,
    /// or that is not a redirect.
    pub async fn follow(
        &mut self,
        app: &TestApp,
        mut response: reqwest::Response,
    ) -> reqwest::Response {
        for _ in 0..10 {
            if !response.status().is_redirection() {
                return response;
            }
            let location = location(&response);
            let absolute = if location.starts_with('/') {
                app.url(&location)
            } else {
                location.clone()
            };
            if !absolute.starts_with(&app.url("")) {
                return response;
            }
            response = self.get(&absolute).await;
        }
        response
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The value of a hidden input named `name` in an HTML page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The query parameters of a redirect URL.
pub fn query(url: &str) -> HashMap<String, String> {
    let parsed = url::Url::parse(url).unwrap();
    parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let verifier = warden::crypto::random::token();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

pub const REDIRECT: &str = "http://127.0.0.1:7777/callback";
/// The `state` every `authorize_url` carries.
pub const STATE: &str = "xyz-state";
pub const PASSWORD: &str = "correct horse battery staple";

/// A resource, a user and an interactive client (confidential unless `public`).
#[allow(dead_code)]
pub struct Interactive {
    pub admin_token: String,
    pub resource_uri: String,
    pub client: TestClient,
    pub server: TestClient,
    pub username: String,
}

pub async fn interactive(app: &TestApp, public: bool) -> Interactive {
    let admin_token = app.admin_token().await;
    let resource = app
        .create_resource(
            &admin_token,
            serde_json::json!({"uri": "https://mcp.example.com", "name": "Example MCP", "scopes": ["mcp:read", "mcp:write"]}),
        )
        .await;
    let resource_uri = resource["uri"].as_str().unwrap().to_owned();
    let mut body = serde_json::json!({"name": "Example IDE", "grant_types": ["authorization_code", "refresh_token"],
                                      "redirect_uris": [REDIRECT, "https://app.example.com/cb"]});
    if public {
        body["token_endpoint_auth_method"] = "none".into();
    }
    let client = app.create_client(&admin_token, body).await;
    let server = app
        .create_client(
            &admin_token,
            serde_json::json!({"name": "mcp server", "grant_types": ["client_credentials"], "served_resources": [resource_uri]}),
        )
        .await;
    let (status, _) = app
        .admin_call(
            &admin_token,
            reqwest::Method::POST,
            "/users",
            Some(serde_json::json!({"username": "alice", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    Interactive {
        admin_token,
        resource_uri,
        client,
        server,
        username: "alice".into(),
    }
}

/// The /authorize URL for `client` with `extra` parameters over sensible defaults.
pub fn authorize_url(
    app: &TestApp,
    client: &TestClient,
    challenge: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", app.issuer)).unwrap();
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &client.client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("state", STATE),
        ("resource", "https://mcp.example.com/"),
    ];
    for (k, v) in extra {
        pairs.retain(|(name, _)| name != k);
        if !v.is_empty() {
            pairs.push((k, v));
        }
    }
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

/// Signs in on the login page the browser is looking at; returns the next response.
pub async fn sign_in(
    app: &TestApp,
    browser: &mut Browser,
    login_page: reqwest::Response,
    username: &str,
    password: &str,
) -> reqwest::Response {
    assert_eq!(login_page.status(), 200);
    let html = login_page.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("username", username),
        ("password", password),
    ];
    let request = html
        .contains("name=\"request\"")
        .then(|| hidden(&html, "request"));
    if let Some(r) = &request {
        form.push(("request", r));
    }
    let next = html
        .contains("name=\"next\"")
        .then(|| hidden(&html, "next"));
    if let Some(n) = &next {
        form.push(("next", n));
    }
    let response = browser.post(&format!("{}/login", app.issuer), &form).await;
    browser.follow(app, response).await
}

/// Approves (or denies) on the consent page; returns Warden's redirect to the client.
pub async fn answer_consent(
    app: &TestApp,
    browser: &mut Browser,
    consent_page: reqwest::Response,
    approve: bool,
) -> reqwest::Response {
    assert_eq!(consent_page.status(), 200);
    let html = consent_page.text().await.unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("request", hidden(&html, "request")),
        (
            "decision",
            if approve {
                "approve".into()
            } else {
                "deny".into()
            },
        ),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser
        .post(&format!("{}/consent", app.issuer), &form)
        .await
}

/// Starts an authorization in `browser` and signs `username` in when asked; returns the
/// response that follows (the consent page, an error page, or the redirect to the client).
pub async fn through_sign_in(
    app: &TestApp,
    browser: &mut Browser,
    url: &str,
    username: &str,
) -> reqwest::Response {
    let first = browser.get(url).await;
    let response = browser.follow(app, first).await;
    if response.status() == 200
        && response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
        && response.url().path().ends_with("/login")
    {
        return sign_in(app, browser, response, username, PASSWORD).await;
    }
    response
}

/// The whole browser leg: authorize, sign in if needed, approve if asked. Returns the
/// target of Warden's redirect back to the client, wherever it goes.
pub async fn run_to_client(
    app: &TestApp,
    browser: &mut Browser,
    url: &str,
    username: &str,
) -> String {
    let mut response = through_sign_in(app, browser, url, username).await;
    if response.status() == 200 {
        response = answer_consent(app, browser, response, true).await;
    }
    assert_eq!(
        response.status(),
        303,
        "expected the redirect to the client"
    );
    location(&response)
}

/// The whole browser leg to `REDIRECT`. Returns the query of the final redirect to the
/// client.
pub async fn authorize(
    app: &TestApp,
    browser: &mut Browser,
    url: &str,
    username: &str,
) -> HashMap<String, String> {
    let target = run_to_client(app, browser, url, username).await;
    assert!(
        target.starts_with("http://127.0.0.1:7777/callback"),
        "{target}"
    );
    query(&target)
}

/// Exchanges a code at the token endpoint with `client`'s credentials (Basic, or
/// client_id in the body for public clients).
pub async fn redeem(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: &str,
) -> reqwest::Response {
    redeem_at(app, client, code, verifier, Some(REDIRECT)).await
}

/// `redeem`, naming `redirect` as the redirect URI, or none at all.
pub async fn redeem_at(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: &str,
    redirect: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
    ];
    if let Some(r) = redirect {
        form.push(("redirect_uri", r));
    }
    form.push(("client_id", client.client_id.as_str()));
    let basic = (!client.client_secret.is_empty()).then_some(client);
    app.post_form("/token", &form, basic).await
}

/// A browser whose connections come from `address` (another client on the network).
pub fn browser_from(address: [u8; 4]) -> Browser {
    Browser {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(std::net::IpAddr::from(address))
            .build()
            .unwrap(),
        cookies: Default::default(),
    }
}

/// A PKCE challenge for any verifier, well formed or not.
pub fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}
