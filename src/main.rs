//! The `warden` binary: parses the command line and hands over to the library.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use warden::cli::domains::DomainCommand;
use warden::cli::exchange::{DownstreamCommand, IssuerCommand};
use warden::cli::grants::GrantCommand;
use warden::cli::registry::{ClientCommand, ResourceCommand, ScopeCommand};
use warden::cli::users::UserCommand;
use warden::clock::SystemClock;
use warden::settings::Settings;
use warden::startup::{Application, open_database};
use warden::{cli, telemetry};

/// Warden, an OAuth 2.1 authorization server for MCP. Settings come from the environment
/// (`warden serve --help` lists them).
#[derive(Parser)]
#[command(name = "warden", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve,
    /// Print every setting as a markdown table (the one in docs/settings.md).
    Settings {
        /// Only the settings a first deployment sets (the README's table).
        #[arg(long)]
        first_deployment: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the scope catalogue.
    #[command(subcommand)]
    Scope(ScopeCommand),
    /// Manage MCP resources (the MCP servers Warden issues tokens for).
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// Manage clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage local user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Who holds which grants; revoke one, or all of a user, client or resource.
    #[command(subcommand)]
    Grant(GrantCommand),
    /// Trust or block the domains that host client metadata documents.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Trusted external issuers of subject tokens for token exchange.
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Enterprise identity providers whose ID-JAGs the jwt-bearer grant accepts.
    #[command(subcommand)]
    Idp(warden::cli::idps::IdpCommand),
    /// Upstream identity providers users can sign in with (OpenID Connect, OAuth 2.0).
    #[command(subcommand)]
    Upstream(warden::cli::upstream::UpstreamCommand),
    /// Which resources may exchange tokens toward which (RFC 8693 policy).
    #[command(subcommand)]
    Downstream(DownstreamCommand),
    /// Which clients may obtain ID-JAGs for which other authorization servers and MCP
    /// servers (Warden as the enterprise IdP).
    #[command(subcommand)]
    Idjag(warden::cli::id_jag::IdJagCommand),
    /// Workload identity rules: platform JWTs that authenticate a client (SEP-1933).
    #[command(subcommand)]
    Workload(warden::cli::workload::WorkloadCommand),
    /// Set up administration.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Read the audit log (JSON lines).
    #[command(subcommand)]
    Audit(warden::cli::audit::AuditCommand),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin client (client_credentials for the admin API) and print its
    /// credentials once.
    Bootstrap {
        #[arg(long, default_value = "Warden admin")]
        name: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List the stored signing keys as JSON.
    List,
    /// Add a signing key: published now, used for signing after the activation delay.
    Rotate {
        /// Seconds until the new key signs (default: WARDEN_KEY_ACTIVATION_DELAY).
        #[arg(long)]
        activate_in: Option<i64>,
    },
}

fn main() -> ExitCode {
    // The settings section of `serve --help` is rendered from the declarations, so it is
    // attached at run time rather than written in a doc comment.
    let command = Cli::command().mut_subcommand("serve", |serve| {
        serve.after_help(warden::settings::declared::help_text())
    });
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Printing the table needs no valid settings: it is how an operator learns them.
    if let Command::Settings { first_deployment } = cli.command {
        print!(
            "{}",
            warden::settings::declared::markdown_table(first_deployment)
        );
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("warden: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = rustls::crypto::ring::default_provider().install_default() {
        eprintln!("warden: cannot install the TLS crypto provider: {e:?}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warden: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // After the TLS provider and the runtime: the trace exporter's client needs both.
    let telemetry = telemetry::init(settings.log_format, runtime.handle());
    let code = match runtime.block_on(run(cli.command, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("warden: {e:#}");
            ExitCode::FAILURE
        }
    };
    // The runtime still runs (its workers outlive `block_on`): the last export runs on it.
    telemetry.shutdown();
    code
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    if let Command::Resource(ResourceCommand::Check { resource, json }) = &command {
        return cli::resource_check::run(&settings, resource, *json).await;
    }
    run_to_success(command, settings)
        .await
        .map(|()| ExitCode::SUCCESS)
}

async fn run_to_success(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            warden::startup::warn_if_few_open_files();
            let app = Application::build(settings, Arc::new(SystemClock), None).await?;
            let state = app.state();
            tracing::info!(
                issuer = %state.settings.issuer,
                listening = %format!("http://{}:{}", state.settings.bind.ip(), app.port()),
                database = %state.store.location(),
                "Warden is serving"
            );
            warden::startup::announce_setup_link(state).await;
            app.run_until_stopped().await?;
            tracing::info!("Warden stopped");
            Ok(())
        }
        // Answered in `main` before the settings are read.
        Command::Settings { .. } => Ok(()),
        Command::Migrate => {
            let store = open_database(&settings).await?;
            tracing::info!(database = %store.location(), "migrations applied");
            Ok(())
        }
        Command::Keys(KeysCommand::List) => cli::keys::list(&settings).await,
        Command::Keys(KeysCommand::Rotate { activate_in }) => {
            cli::keys::rotate(&settings, activate_in).await
        }
        Command::Scope(command) => cli::registry::scope(&settings, command).await,
        Command::Resource(command) => cli::registry::resource(&settings, command).await,
        Command::Client(command) => cli::registry::client(&settings, command).await,
        Command::User(command) => cli::users::user(&settings, command).await,
        Command::Grant(command) => cli::grants::grant(&settings, command).await,
        Command::Domain(command) => cli::domains::domain(&settings, command).await,
        Command::Issuer(command) => cli::exchange::issuer(&settings, command).await,
        Command::Idp(command) => cli::idps::idp(&settings, command).await,
        Command::Upstream(command) => cli::upstream::upstream(&settings, command).await,
        Command::Downstream(command) => cli::exchange::downstream(&settings, command).await,
        Command::Idjag(command) => cli::id_jag::run(&settings, command).await,
        Command::Workload(command) => cli::workload::workload(&settings, command).await,
        Command::Admin(AdminCommand::Bootstrap { name }) => {
            cli::bootstrap::bootstrap(&settings, name).await
        }
        Command::Audit(command) => cli::audit::audit(&settings, command).await,
    }
}
