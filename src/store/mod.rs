//! Storage: the only module with SQL. One `Store` over Postgres (the system of record) or an
//! embedded SQLite file. Both run the same SQL text (`$N` placeholders, `ON CONFLICT`,
//! `RETURNING`, times as BIGINT epoch seconds); the `on_pool!` macro expands each query once
//! per backend, so there is no dynamic dispatch and no second copy of any statement. The
//! migrations are one folder for both, written in the SQL the two share; a migration that
//! must differ would split the folder then, not before.

pub mod admin_setup;
pub mod audit;
pub mod authorization;
pub mod changes;
pub mod clients;
pub mod device;
pub mod exchange;
pub mod grants;
pub mod id_jag;
pub mod idps;
pub mod pool_metrics;
pub mod registration;
pub mod resources;
pub mod scopes;
pub mod sessions;
pub mod signing_keys;
pub mod tx;
pub mod upstream;
pub mod users;
pub mod workload;

use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Runs `$body` with `$pool` bound to a connection of either backend, taken from the pool
/// with its wait timed (`pool_metrics`). The closure-like syntax is only syntax: it lets
/// rustfmt format the bodies.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {{
        // From the wait for a connection to the statement's end (see `db_span`).
        let _db_span = $crate::store::db_span(&$store.db, "query", module_path!());
        match &$store.db {
            $crate::store::Db::Postgres(p) => {
                #[allow(unused_imports)]
                use sqlx::Connection as _;
                let mut conn = $crate::store::pool_metrics::acquire(p, &$store.health).await?;
                let $pool = &mut *conn;
                $body
            }
            $crate::store::Db::Sqlite(p) => {
                #[allow(unused_imports)]
                use sqlx::Connection as _;
                let mut conn = $crate::store::pool_metrics::acquire(p, &$store.health).await?;
                let $pool = &mut *conn;
                $body
            }
        }
    }};
}
pub(crate) use on_pool;

/// The trace span of one store call (`operation` "query") or transaction
/// ("transaction"): the backend and the store module it ran from (`code.namespace`),
/// never a statement or its parameters. DEBUG, so free while traces are off.
pub(crate) fn db_span(db: &Db, operation: &'static str, module: &'static str) -> tracing::Span {
    let system = match db {
        Db::Postgres(_) => "postgresql",
        Db::Sqlite(_) => "sqlite",
    };
    let span = tracing::debug_span!(
        "db",
        otel.name = tracing::field::Empty,
        otel.kind = "client",
        db.system.name = system,
        db.operation.name = operation,
        code.namespace = module,
    );
    if span.is_disabled() {
        return span;
    }
    // Outside a request (startup, the sweeps) a statement would be a trace of its own.
    if tracing::Span::current().is_none() {
        return tracing::Span::none();
    }
    let mut parts = module.trim_end_matches(".rs").rsplit(['/', ':']);
    let aggregate = match parts.next() {
        Some("mod") => parts.next().unwrap_or(module),
        last => last.unwrap_or(module),
    };
    span.record("otel.name", format!("db.{operation} {aggregate}"));
    span
}

#[derive(Clone, Debug)]
pub(crate) enum Db {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    /// Whether the database failed just now (outages answer 503 at once, see `pool_metrics`).
    pub(crate) health: std::sync::Arc<pool_metrics::Health>,
    /// Who hears of the changes writes make (`changes`).
    pub(crate) changes: std::sync::Arc<changes::ChangeHub>,
    /// `WARDEN_AUDIT_LOG`: whether audit events are also logged (`audit`).
    pub(crate) audit_log: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Where the database is, in a form safe to print.
#[derive(Clone, Debug)]
pub enum Location {
    Postgres { redacted_url: String },
    Sqlite { path: String },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Postgres { redacted_url } => write!(f, "Postgres at {redacted_url}"),
            Location::Sqlite { path } => write!(f, "SQLite file {path}"),
        }
    }
}

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The embedded database holds password hashes, refresh-token hashes and the encrypted
/// signing keys: it is created readable by its owner only (SQLite gives its `-wal` and
/// `-shm` files the same mode), and a file left group- or world-readable by an older
/// version is tightened.
fn owner_only(path: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        if file.exists() {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot restrict {}", file.display()))?;
        }
    }
    Ok(())
}

impl Store {
    /// Connects to `url` (`postgres://…` or `sqlite:…`), retrying with backoff until
    /// `patience` has passed, so a database that starts a little after Warden is waited for.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        patience: Duration,
    ) -> anyhow::Result<Store> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid sqlite URL: {e}"))?;
            return Self::open_sqlite(options, max_connections).await;
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| anyhow::anyhow!("DATABASE_URL is not a valid postgres URL"))?;
        let started = Instant::now();
        let mut delay = Duration::from_millis(200);
        loop {
            let attempt = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options.clone())
                .await;
            match attempt {
                Ok(pool) => {
                    return Ok(Store {
                        db: Db::Postgres(pool),
                        health: Default::default(),
                        changes: changes::hub(),
                        audit_log: Default::default(),
                    });
                }
                Err(e) if started.elapsed() + delay < patience => {
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "database \
                        not reachable yet");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    bail!(
                        "cannot reach the database at {} after {}s: {e}",
                        redact(url),
                        started.elapsed().as_secs()
                    )
                }
            }
        }
    }

    /// Opens (creating if needed) the embedded SQLite file.
    pub async fn open_embedded(path: &std::path::Path) -> anyhow::Result<Store> {
        owner_only(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        Self::open_sqlite(options, 8).await
    }

    async fn open_sqlite(
        options: SqliteConnectOptions,
        max_connections: u32,
    ) -> anyhow::Result<Store> {
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let filename = options.get_filename().display().to_string();
        // Two processes creating the file at once: switching a new file to WAL can answer
        // SQLITE_BUSY (5) without waiting for the busy timeout, so retry for a while.
        let started = Instant::now();
        loop {
            let attempt = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options.clone())
                .await;
            match attempt {
                Ok(pool) => {
                    return Ok(Store {
                        db: Db::Sqlite(pool),
                        health: Default::default(),
                        changes: changes::hub(),
                        audit_log: Default::default(),
                    });
                }
                Err(sqlx::Error::Database(d))
                    if is_sqlite_busy(d.code().as_deref())
                        && started.elapsed() < ACQUIRE_TIMEOUT =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot open the SQLite database {filename}"));
                }
            }
        }
    }

    /// Applies the embedded migrations. On Postgres sqlx holds an advisory lock meanwhile,
    /// so several processes starting at once migrate exactly once.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.db {
            Db::Postgres(pool) => sqlx::migrate!("./migrations").run(pool).await,
            Db::Sqlite(pool) => {
                // sqlx has no migration lock for SQLite: hold an OS file lock beside the
                // database instead, so two processes on one file migrate one at a time.
                let _guard = lock_beside(pool.connect_options().get_filename()).await?;
                sqlx::migrate!("./migrations").run(pool).await
            }
        }
        .context("database migration failed")
    }

    /// The pool's limit, its open connections and the idle ones among them.
    pub fn pool_stats(&self) -> (u32, u32, usize) {
        match &self.db {
            Db::Postgres(p) => (p.options().get_max_connections(), p.size(), p.num_idle()),
            Db::Sqlite(p) => (p.options().get_max_connections(), p.size(), p.num_idle()),
        }
    }

    /// One round trip: is the database answering?
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| sqlx::query("SELECT 1")
            .execute(&mut *pool)
            .await
            .map(|_| ()))
    }

    pub fn location(&self) -> Location {
        match &self.db {
            Db::Postgres(pool) => {
                let o = pool.connect_options();
                Location::Postgres {
                    redacted_url: format!(
                        "postgres://{}@{}:{}/{}",
                        o.get_username(),
                        o.get_host(),
                        o.get_port(),
                        o.get_database().unwrap_or("")
                    ),
                }
            }
            Db::Sqlite(pool) => Location::Sqlite {
                path: pool.connect_options().get_filename().display().to_string(),
            },
        }
    }

    /// Closes every connection; used at shutdown and by tests that simulate an outage.
    pub async fn close(&self) {
        match &self.db {
            Db::Postgres(pool) => pool.close().await,
            Db::Sqlite(pool) => pool.close().await,
        }
    }
}

async fn lock_beside(database: &std::path::Path) -> anyhow::Result<Option<std::fs::File>> {
    if database.as_os_str().is_empty() || database.as_os_str() == ":memory:" {
        return Ok(None);
    }
    let mut path = database.as_os_str().to_owned();
    path.push(".migrate-lock");
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        file.lock()?;
        Ok(file)
    })
    .await?
    .context("cannot lock the SQLite database for migration")?;
    Ok(Some(file))
}

/// `postgres://user:***@host/db`: a URL fit for an error message.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "(unparseable URL)".to_owned(),
    }
}

/// SQLITE_BUSY, or one of its extended codes (`BUSY_RECOVERY`, `BUSY_SNAPSHOT`, ...).
fn is_sqlite_busy(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == 5)
}

/// True when `e` means the database cannot be reached right now (the pool is closed or
/// starved, the connection broke, or the server is shutting down or refusing connections:
/// SQLSTATE classes 08 and 57P): callers answer 503 and clients may retry.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        // Protocol: the connection broke mid-conversation (seen when a proxy in front of
        // a stopped Postgres accepts and hangs up), not a fault of the request.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        // 25006: a write on a read-only server, as while a replica is being promoted.
        sqlx::Error::Database(d) => d.code().is_some_and(|c| {
            c.starts_with("08") || c.starts_with("57P") || c == "3D000" || c == "25006"
        }),
        _ => false,
    }
}

/// True when `e` is a unique-constraint violation (a conflict, not a failure).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}
