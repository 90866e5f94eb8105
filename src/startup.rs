//! Start-up: open and migrate the database, load the master key and signing keys, build
//! the actix application and bind it.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::{App, web};
use anyhow::Context;

use crate::admin;
use crate::clock::{Clock, SystemClock};
use crate::crypto::keys::{self, KeySet};
use crate::crypto::master_key::{self, MasterKey};
use crate::http;
use crate::settings::{DatabaseSettings, Settings};
use crate::state::AppState;
use crate::store::Store;

/// Opens the database exactly as every subcommand must: `DATABASE_URL`, else the embedded
/// file in the data directory (created on first use), then applies the migrations.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Store> {
    let store = match &settings.database {
        DatabaseSettings::Url {
            url,
            max_connections,
            connect_timeout,
        } => Store::connect(url.expose(), *max_connections, *connect_timeout).await?,
        DatabaseSettings::Embedded => {
            let dir = &settings.data_dir;
            std::fs::create_dir_all(dir).with_context(|| {
                format!(
                    "cannot create the data directory {} (WARDEN_DATA_DIR)",
                    dir.display()
                )
            })?;
            // An absolute path, so the start-up line says exactly where the data lives.
            let path = std::fs::canonicalize(dir)
                .map(|d| d.join("warden.db"))
                .unwrap_or_else(|_| settings.embedded_database_path());
            Store::open_embedded(&path).await.with_context(|| {
                format!(
                    "the data directory {} is not usable (WARDEN_DATA_DIR)",
                    dir.display()
                )
            })?
        }
    };
    store.migrate().await?;
    store.log_audit_events(settings.audit_log);
    admin::resources::ensure_builtin(&store, settings, SystemClock.now()).await?;
    Ok(store)
}

/// The master key: `WARDEN_SECRET_KEY`, or in embedded mode the generated key file. A new
/// key file is only ever made for a database that holds no signing keys yet, so an existing
/// key is never replaced.
pub async fn load_master_key(settings: &Settings, store: &Store) -> anyhow::Result<MasterKey> {
    if let Some(secret) = &settings.secret_key {
        return Ok(MasterKey::from_secret(secret.expose()));
    }
    let database_is_new = store.signing_keys().await?.is_empty();
    let secret = master_key::load_or_create_key_file(&settings.secret_key_path(), database_is_new)?;
    Ok(MasterKey::from_secret(&secret))
}

/// Makes sure a signing key exists and loads every published key; refuses to go on when
/// a stored key cannot be opened (and changes nothing in that case).
pub async fn load_signing_keys(
    settings: &Settings,
    store: &Store,
    master: &MasterKey,
    now: i64,
) -> anyhow::Result<KeySet> {
    if store.signing_keys().await?.is_empty() {
        let (alg, sealer) = (settings.signing_alg, master.clone());
        let key = tokio::task::spawn_blocking(move || keys::generate(alg, &sealer)).await??;
        if store.insert_initial_signing_key(&key.row(now, now)).await? {
            tracing::info!(kid = %key.kid, alg = alg.as_str(), "generated the first signing key");
        }
    }
    let set = KeySet::new(master.clone(), settings.access_token_max_ttl + 300);
    set.install(store.signing_keys().await?, now)
        .context("refusing to start; the stored keys were left untouched")?;
    Ok(set)
}

/// Connections Warden should be able to hold at once before the open-file limit bites:
/// every connection is a file descriptor, and when they run out nobody is served at all.
pub const RECOMMENDED_OPEN_FILES: u64 = 65_536;
const LOW_OPEN_FILES: u64 = 8_192;

/// Warns at start-up when the process's open-file limit (`ulimit -n`, systemd's
/// `LimitNOFILE`) is low enough for a connection flood to exhaust it.
pub fn warn_if_few_open_files() {
    let Some(soft) = open_file_limit() else {
        return;
    };
    if soft < LOW_OPEN_FILES {
        tracing::warn!(
            open_file_limit = soft,
            recommended = RECOMMENDED_OPEN_FILES,
            "the open-file limit is low: each connection takes one, and a flood of slow \
             connections could leave none for real clients; raise it (ulimit -n, or \
             LimitNOFILE= in the systemd unit)"
        );
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux); `None` elsewhere.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    /// Everything but serving. `listener` lets tests bind port 0 before choosing the issuer.
    pub async fn build(
        settings: Settings,
        clock: Arc<dyn Clock>,
        listener: Option<TcpListener>,
    ) -> anyhow::Result<Application> {
        let store = open_database(&settings).await?;
        let master_key = load_master_key(&settings, &store).await?;
        let keys = load_signing_keys(&settings, &store, &master_key, clock.now()).await?;
        let state = AppState::new(store, settings, keys, master_key, clock).await?;
        let listener = match listener {
            Some(l) => l,
            None => TcpListener::bind(state.settings.bind).with_context(|| {
                format!("cannot listen on {} (WARDEN_BIND)", state.settings.bind)
            })?,
        };
        let port = listener.local_addr()?.port();
        let server = serve(state.clone(), listener)?;
        spawn_key_refresh(state.clone());
        spawn_change_listener(state.clone());
        Ok(Application {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT; then reports not ready and keeps serving for
    /// `WARDEN_SHUTDOWN_DRAIN` (so a load balancer stops sending), stops accepting, lets
    /// in-flight requests finish (`WARDEN_SHUTDOWN_TIMEOUT`) and closes the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let state = self.state.clone();
        let signals = tokio::spawn(async move {
            stop_signal().await;
            state
                .draining
                .store(true, std::sync::atomic::Ordering::SeqCst);
            let drain = state.settings.shutdown_drain;
            tracing::info!(
                drain_seconds = drain.as_secs(),
                "stopping: not ready any more, draining"
            );
            tokio::time::sleep(drain).await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        signals.abort();
        self.state.store.close().await;
        result
    }
}

/// SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The HTTP server. Built from actix's parts rather than `HttpServer` for one reason: each
/// connection's socket is wrapped in a `SendDeadline` (actix has no write timeout), which
/// `HttpServer` offers no hook for. Everything else is as `HttpServer::listen` sets it up.
fn serve(state: AppState, listener: TcpListener) -> anyhow::Result<Server> {
    use actix_http::{HttpService, Protocol};
    use actix_service::{ServiceFactoryExt, fn_service, map_config};
    use actix_web::dev::AppConfig;
    use actix_web::rt::net::TcpStream;

    let settings = state.settings.clone();
    let data = web::Data::new(state);
    let https = settings.issuer.is_https();
    let send_timeout = settings.limits.send_timeout;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let mut builder = actix_server::Server::build()
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        // Signals are ours (run_until_stopped): the drain comes before actix stops accepting.
        .disable_signals();
    if let Some(workers) = settings.workers {
        builder = builder.workers(workers);
    }
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .listen("warden", listener, move || {
            let (data, issuer, shutdown) =
                (data.clone(), settings.issuer.clone(), shutdown.clone());
            let app = App::new()
                .app_data(data)
                .wrap(from_fn(http::middleware::known_methods))
                .wrap(from_fn(http::connection::body_deadline))
                .wrap(http::middleware::security_headers(https))
                .wrap(from_fn(http::middleware::request_context))
                // Outermost: every answer counts, those of the layers above included.
                .wrap(from_fn(crate::measure::http_metrics))
                .configure(|cfg| http::routes(cfg, &issuer))
                .default_service(web::to(http::errors::not_found));
            let service = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                // HttpServer's defaults, stated: head within 5 s, idle keep-alive 5 s,
                // 1 s of lingering after a close.
                .client_request_timeout(std::time::Duration::from_secs(5))
                .keep_alive(std::time::Duration::from_secs(5))
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .local_addr(addr)
                .finish(map_config(app, |_| AppConfig::default()));
            fn_service(move |io: TcpStream| {
                let peer = io.peer_addr().ok();
                let io = http::connection::SendDeadline::new(io, send_timeout);
                async move { Ok((io, Protocol::Http1, peer)) }
            })
            .and_then(service)
        })?
        .run();
    Ok(server)
}

/// Re-reads the signing keys from the database (rotation by another process).
/// While no admin account exists, logs a one-time link that creates the first one in a
/// browser (issue 17). The link is the one credential Warden ever logs: it is worth nothing
/// once an admin exists or after an hour, and whoever reads the server's log already runs
/// the server.
pub async fn announce_setup_link(state: &AppState) {
    match crate::admin::setup::issue_link(&state.store, &state.settings.issuer, state.clock.now())
        .await
    {
        Ok(Some(link)) => tracing::warn!(
            setup_url = %link,
            "no admin account yet: open this link within an hour to create the first one \
             (or run `warden user add NAME --admin --password-stdin`)"
        ),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot issue an admin setup link"),
    }
}

pub async fn reload_keys(state: &AppState) -> anyhow::Result<()> {
    admin::keys::reload(&state.store, &state.keys, state.clock.now()).await
}

/// Re-reads the key table (and the scope catalogue, for the metadata) every
/// `WARDEN_KEY_REFRESH_INTERVAL`, so a key rotated by another process (or `warden keys
/// rotate`) is published here too, well before it signs.
fn spawn_key_refresh(state: AppState) {
    let every = state.settings.key_refresh_interval;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            if let Err(e) = reload_keys(&state).await {
                tracing::warn!(error = format!("{e:#}"), "could not refresh signing keys");
            }
            if let Err(e) = crate::oauth::metadata::refresh(&state).await {
                tracing::warn!(error = format!("{e:#}"), "could not refresh the metadata");
            }
            if let Err(e) = maintain(&state).await {
                tracing::warn!(error = format!("{e:#}"), "periodic clean-up failed");
            }
        }
    });
}

/// Applies the changes other nodes (and the CLI) announce on Postgres (`store::changes`).
/// While the listener is down, entries still expire after WARDEN_CACHE_TTL, and on every
/// (re)connection this node forgets everything, since notifications may have been missed.
fn spawn_change_listener(state: AppState) {
    use crate::store::changes::Change;
    tokio::spawn(async move {
        loop {
            match state.store.changes_listener().await {
                None => return,
                Some(Ok(mut listener)) => {
                    state.store.heard(&Change::Everything);
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(n)) => state.store.heard(&Change::from_payload(n.payload())),
                            // The connection dropped; the next call reconnects.
                            Ok(None) => state.store.heard(&Change::Everything),
                            // Shutting down.
                            Err(sqlx::Error::PoolClosed) => return,
                            Err(e) => {
                                tracing::warn!(error = %e, "change listener failed; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Some(Err(sqlx::Error::PoolClosed)) => return,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for changes; retrying");
                }
            }
            state.store.heard(&Change::Everything);
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}

/// Deletes what can no longer be used: expired codes, requests, refresh tokens, sessions
/// and assertion ids, dynamic registrations never used within the clean-up delay, and audit
/// events older than `WARDEN_AUDIT_RETENTION`.
async fn maintain(state: &AppState) -> anyhow::Result<()> {
    let now = state.clock.now();
    state.store.purge_expired(now).await?;
    state
        .store
        .purge_throttle(now - crate::limits::LONGEST_WINDOW)
        .await?;
    let abandoned = state
        .store
        .delete_abandoned_registrations(now - state.settings.registration_cleanup_after, now)
        .await?;
    if abandoned > 0 {
        tracing::info!(
            count = abandoned,
            "deleted dynamically registered clients that were never used"
        );
    }
    state
        .store
        .purge_audit(now - state.settings.audit_retention)
        .await?;
    Ok(())
}
