//! `spawn_app()` and the helpers every test module shares.

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

fn install_crypto_provider() {
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
    env.insert("WARDEN_SHUTDOWN_TIMEOUT".into(), "1".into());
    for (k, v) in overrides {
        env.insert((*k).to_owned(), v.replace("{port}", &port.to_string()));
    }
    let settings = Settings::from_lookup(|k| env.get(k).cloned())?;
    let clock = Arc::new(ManualClock::default());
    let app = Application::build(settings, clock.clone(), Some(listener)).await?;
    let state = app.state().clone();
    let issuer = state.settings.issuer.to_string();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Ok(TestApp {
        issuer,
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

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// The `warden` binary with a clean environment plus `env`.
pub fn warden_command(env: &HashMap<String, String>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
    command
        .env_clear()
        .envs(env)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
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
