//! `spawn_app()` and the helpers every test module shares.

pub mod assertions;
pub mod browser;
pub mod clients;
pub mod console;
pub mod doc_server;
pub mod dpop;
pub mod exchange;
pub mod mcp_server;
pub mod pages;
pub mod proxy;
pub mod tokens;
pub mod upstream;
pub mod upstream_idp;

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Once};

use tempfile::TempDir;
use warden::clock::ManualClock;
use warden::settings::Settings;
use warden::startup::Application;
use warden::state::AppState;

/// A secret for tests that need `WARDEN_SECRET_KEY` (Postgres always does).
pub const TEST_SECRET: &str = "test-secret-key-that-is-long-enough-0123456789";

pub struct TestApp {
    pub issuer: String,
    /// Where this node answers (`http://127.0.0.1:{port}` plus the issuer's path); equal to
    /// the issuer unless several nodes share one issuer.
    pub base: String,
    pub port: u16,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub db: Arc<TestDb>,
    pub env: HashMap<String, String>,
    handle: actix_web::dev::ServerHandle,
}

/// The database behind one test; dropped (Postgres) or deleted (SQLite) afterwards.
pub struct TestDb {
    pub data_dir: TempDir,
    pub postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> Arc<TestDb> {
        let data_dir = tempfile::tempdir().unwrap();
        let postgres = match std::env::var("WARDEN_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("warden_test_{}", uuid::Uuid::new_v4().simple());
                postgres_exec(&admin_url, &format!("CREATE DATABASE {name}")).await;
                Some((admin_url, name))
            }
            _ => None,
        };
        Arc::new(TestDb { data_dir, postgres })
    }

    /// The environment that points Warden at this database.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "WARDEN_DATA_DIR".to_owned(),
            self.data_dir.path().display().to_string(),
        )];
        if let Some((admin_url, name)) = &self.postgres {
            env.push(("DATABASE_URL".to_owned(), with_database(admin_url, name)));
            env.push(("WARDEN_SECRET_KEY".to_owned(), TEST_SECRET.to_owned()));
        }
        env
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs inside the test's runtime: do the async clean-up on its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(postgres_exec(
                    &admin_url,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ));
            })
            .join();
        }
    }
}

pub async fn postgres_exec(admin_url: &str, sql: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("WARDEN_TEST_DATABASE_URL must be reachable");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap();
}

pub fn with_database(url: &str, name: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts Warden with extra settings; `{port}` in a value is replaced by the bound port.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_on(TestDb::new().await, overrides).await
}

/// Starts another Warden on an existing test database (several nodes, restarts).
pub async fn spawn_app_on(db: Arc<TestDb>, overrides: &[(&str, &str)]) -> TestApp {
    try_spawn_app_on(db, overrides).await.unwrap()
}

pub async fn try_spawn_app_on(
    db: Arc<TestDb>,
    overrides: &[(&str, &str)],
) -> anyhow::Result<TestApp> {
    install_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut env: HashMap<String, String> = db.env().into_iter().collect();
    env.insert("WARDEN_ISSUER".into(), format!("http://127.0.0.1:{port}"));
    env.insert("WARDEN_BIND".into(), format!("127.0.0.1:{port}"));
    env.insert("WARDEN_WORKERS".into(), "1".into());
    // Tests sign in in parallel bursts (case 98): room for them all at the hashers. The
    // abuse tests set their own, small, bounds.
    env.insert("WARDEN_PASSWORD_HASH_QUEUE".into(), "64".into());
    env.insert("WARDEN_SHUTDOWN_TIMEOUT".into(), "1".into());
    for (k, v) in overrides {
        env.insert((*k).to_owned(), v.replace("{port}", &port.to_string()));
    }
    let settings = Settings::from_lookup(|k| env.get(k).cloned())?;
    let clock = Arc::new(ManualClock::default());
    let app = Application::build(settings, clock.clone(), Some(listener)).await?;
    let state = app.state().clone();
    let issuer = state.settings.issuer.to_string();
    let base = format!("http://127.0.0.1:{port}{}", state.settings.issuer.path());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Ok(TestApp {
        issuer,
        base,
        port,
        http,
        clock,
        state,
        db,
        env,
        handle,
    })
}

impl TestApp {
    /// `http://127.0.0.1:{port}{path}`: a URL on this server's host (not under the issuer path).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Runs the real `warden` binary against this server's database and settings.
    pub fn cli(&self, args: &[&str]) -> Output {
        warden_command(&self.env).args(args).output().unwrap()
    }

    /// `cli`, writing `input` to the command's standard input (passwords).
    pub fn cli_with_stdin(&self, args: &[&str], input: &str) -> Output {
        cli_with_stdin(&self.env, args, input)
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    /// Moves this server's frozen clock up to the wall clock (never back), for when another
    /// party that reads the wall clock has acted: the `warden` CLI dating a key's
    /// activation, say.
    pub fn catch_up_with_wall_clock(&self) {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let behind = wall - warden::clock::Clock::now(self.clock.as_ref());
        if behind > 0 {
            self.clock.advance(behind);
        }
    }
}

/// The path of the `warden` binary under test.
pub fn warden_binary() -> String {
    std::env::var("WARDEN_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_warden").into())
}

/// The `warden` binary with a clean environment plus `env`. `WARDEN_TEST_BIN` names
/// another build of it (the abuse suite's full-size runs use a release binary).
pub fn warden_command(env: &HashMap<String, String>) -> Command {
    let mut command = Command::new(warden_binary());
    command
        .env_clear()
        .envs(env)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// The real `warden` binary with `env` (see `warden_command`), `input` written to its
/// standard input and closed, so `--password-stdin` reads to the end.
pub fn cli_with_stdin(env: &HashMap<String, String>, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = warden_command(env)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout_json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

impl TestDb {
    /// Runs raw SQL against this test's database, behind Warden's back (fault injection).
    pub async fn exec(&self, sql: &str) {
        use sqlx::Connection;
        match &self.postgres {
            Some((admin_url, name)) => postgres_exec(&with_database(admin_url, name), sql).await,
            None => {
                let path = self.data_dir.path().join("warden.db");
                let mut conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite:{}", path.display()))
                        .await
                        .unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }
}

/// Credentials of a client the test registered.
#[derive(Clone, Debug)]
pub struct TestClient {
    pub client_id: String,
    pub client_secret: String,
}

impl TestClient {
    pub fn from_view(view: &serde_json::Value) -> TestClient {
        TestClient {
            client_id: view["client_id"].as_str().unwrap().to_owned(),
            client_secret: view["client_secret"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

/// Checks an RFC 6749 §5.2 error: status, code, JSON, `no-store`. Returns the body.
pub async fn assert_oauth_error(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status(), status, "expected {code}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}

impl TestApp {
    /// A bootstrap admin client, as `warden admin bootstrap` makes it.
    pub async fn admin_client(&self) -> TestClient {
        let audience = self.state.settings.issuer.endpoint("/admin");
        let view = warden::admin::clients::create(
            &self.state.store,
            &self.state.master_key,
            warden::admin::clients::NewClient {
                name: "test admin".into(),
                grant_types: vec!["client_credentials".into()],
                resources: vec![audience],
                scopes: Some(vec!["warden:admin".into()]),
                ..Default::default()
            },
            warden::clock::Clock::now(&*self.clock),
            &warden::domain::Actor::cli(),
        )
        .await
        .unwrap();
        TestClient {
            client_id: view.client_id,
            client_secret: view.client_secret.unwrap(),
        }
    }

    /// An access token for the admin API.
    pub async fn admin_token(&self) -> String {
        let admin = self.admin_client().await;
        let resource = self.state.settings.issuer.endpoint("/admin");
        let body = self.client_credentials(&admin, Some(&resource), None).await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Calls the admin API with `token`; returns the status and the JSON body (or null).
    pub async fn admin_call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .http
            .request(method, format!("{}/admin/v1{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Registers a resource through the admin API (asserting 201).
    pub async fn create_resource(&self, token: &str, body: serde_json::Value) -> serde_json::Value {
        let (status, view) = self
            .admin_call(token, reqwest::Method::POST, "/resources", Some(body))
            .await;
        assert_eq!(status, 201, "{view}");
        view
    }

    /// Registers a client through the admin API (asserting 201).
    pub async fn create_client(&self, token: &str, body: serde_json::Value) -> TestClient {
        let (status, view) = self
            .admin_call(token, reqwest::Method::POST, "/clients", Some(body))
            .await;
        assert_eq!(status, 201, "{view}");
        TestClient::from_view(&view)
    }

    /// POSTs a form to `path` (under the issuer), with Basic credentials when given.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        basic: Option<&TestClient>,
    ) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(client) = basic {
            request = request.basic_auth(&client.client_id, Some(&client.client_secret));
        }
        request.send().await.unwrap()
    }

    /// A successful client_credentials grant (asserting 200); returns the token response.
    pub async fn client_credentials(
        &self,
        client: &TestClient,
        resource: Option<&str>,
        scope: Option<&str>,
    ) -> serde_json::Value {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(r) = resource {
            form.push(("resource", r));
        }
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        let response = self.post_form("/token", &form, Some(client)).await;
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store")
        );
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Introspects `token` as `caller` (asserting 200).
    pub async fn introspect(&self, caller: &TestClient, token: &str) -> serde_json::Value {
        let response = self
            .post_form("/introspect", &[("token", token)], Some(caller))
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        response.json().await.unwrap()
    }

    /// How many grants exist: proves that a rejected request wrote nothing.
    pub async fn grant_count(&self) -> usize {
        let mut total = 0;
        for client in self.state.store.clients_page("", 1000).await.unwrap() {
            total += self
                .state
                .store
                .grants_of_client(&client.client_id)
                .await
                .unwrap()
                .len();
        }
        total
    }

    /// The id of the user `username`, read from the store.
    pub async fn user_id(&self, username: &str) -> String {
        self.state
            .store
            .user_by_name(username)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// The id of the resource registered at `uri`, read from the store.
    pub async fn resource_id(&self, uri: &str) -> String {
        self.state
            .store
            .resource_by_uri(uri)
            .await
            .unwrap()
            .unwrap()
            .id
    }
}

/// An MCP server with an agent that may use it and the server's own client (which serves
/// it and may introspect its tokens): the usual arrangement of a test.
pub struct Setup {
    pub admin_token: String,
    pub resource: serde_json::Value,
    pub resource_uri: String,
    pub agent: TestClient,
    pub server: TestClient,
}

pub async fn setup(app: &TestApp) -> Setup {
    let admin_token = app.admin_token().await;
    let resource = app
        .create_resource(
            &admin_token,
            serde_json::json!({"uri": "https://mcp.example.com/mcp", "name": "Example MCP", "scopes": ["mcp:read", "mcp:write"]}),
        )
        .await;
    let resource_uri = resource["uri"].as_str().unwrap().to_owned();
    let agent = app
        .create_client(
            &admin_token,
            serde_json::json!({"name": "agent", "grant_types": ["client_credentials"], "resources": [resource_uri]}),
        )
        .await;
    let server = app
        .create_client(
            &admin_token,
            serde_json::json!({"name": "mcp server", "grant_types": ["client_credentials"], "served_resources": [resource_uri]}),
        )
        .await;
    Setup {
        admin_token,
        resource,
        resource_uri,
        agent,
        server,
    }
}

/// The `oauth2` crate's HTTP seam over our reqwest 0.13 (its own adapter targets 0.12).
pub struct Oauth2Http(pub reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for Oauth2Http {
    type Error = oauth2::HttpClientError<reqwest::Error>;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, Self::Error>>
                + Send
                + Sync
                + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let response = self
                .0
                .execute(request.try_into().map_err(Box::new)?)
                .await
                .map_err(Box::new)?;
            let mut builder = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            builder
                .body(response.bytes().await.map_err(Box::new)?.to_vec())
                .map_err(oauth2::HttpClientError::Http)
        })
    }
}

/// `warden serve` as a real process (quiet), killed if the test ends before it is stopped.
pub struct ServeProcess(pub std::process::Child);

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn serve_process(env: &HashMap<String, String>) -> ServeProcess {
    ServeProcess(
        warden_command(env)
            .arg("serve")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Waits (up to 10 s) for `{base}/readyz` to answer 200.
pub async fn wait_ready(base: &str) {
    for _ in 0..200 {
        if reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("warden never became ready");
}

/// A loopback port free a moment ago, for a server process the test starts itself.
/// A port for a `warden serve` process this test starts. Ports come from below the
/// kernel's ephemeral range (32768 and up, where `bind(0)` and outgoing connections take
/// theirs) and each is handed out once per test process: a port picked by bind(0) and
/// released could be taken by another test's listener before the server binds it, and the
/// test would then talk to someone else's Warden (seen once in a full Postgres run).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    let start = std::process::id() % SPAN;
    loop {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = (FIRST + (start + n) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// `client_id` and `client_secret` of a client as the CLI or admin API prints it.
pub fn credentials_of(view: &serde_json::Value) -> (String, String) {
    (
        view["client_id"].as_str().unwrap().to_owned(),
        view["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// One number from this test's database, read behind Warden's back.
pub async fn scalar(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    match &db.postgres {
        Some((admin_url, name)) => {
            let url = crate::helpers::with_database(admin_url, name);
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
        None => {
            let url = format!("sqlite:{}", db.data_dir.path().join("warden.db").display());
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    }
}
