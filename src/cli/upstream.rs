//! `warden upstream add|list|show|enable|disable|delete`: upstream identity providers.
//! The client secret comes from standard input, never the command line.

use std::io::Read;

use clap::Subcommand;

use crate::admin::upstream::{self, ProviderInput, ProviderView};
use crate::clock::{Clock, SystemClock};
use crate::domain::Actor;
use crate::settings::Settings;
use crate::startup::{load_master_key, open_database};

use super::print_json;

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum UpstreamCommand {
    /// Add a provider; prints it with the redirect URI to register at the provider.
    Add {
        /// Short id used in URLs (lowercase letters, digits, '-').
        #[arg(long)]
        id: String,
        /// oidc (endpoints from the issuer's discovery) or oauth2 (give the endpoints).
        #[arg(long)]
        kind: String,
        /// The button label: "Continue with NAME".
        #[arg(long)]
        name: String,
        #[arg(long)]
        issuer: Option<String>,
        #[arg(long)]
        authorization_endpoint: Option<String>,
        #[arg(long)]
        token_endpoint: Option<String>,
        #[arg(long)]
        userinfo_endpoint: Option<String>,
        #[arg(long)]
        client_id: String,
        /// Read the client secret from standard input (required).
        #[arg(long, required = true)]
        client_secret_stdin: bool,
        /// client_secret_basic (default) or client_secret_post.
        #[arg(long)]
        token_auth_method: Option<String>,
        /// Space-separated scopes (default: "openid email profile" for oidc, none for oauth2).
        #[arg(long)]
        scopes: Option<String>,
        /// Claim holding the stable user id (default: sub for oidc, id for oauth2).
        #[arg(long)]
        subject_claim: Option<String>,
        #[arg(long)]
        email_claim: Option<String>,
        #[arg(long)]
        name_claim: Option<String>,
        /// Treat emails without an email_verified claim as verified (GitHub-style APIs).
        #[arg(long)]
        trust_email: bool,
        /// Admit only verified emails of this domain (repeatable).
        #[arg(long = "allowed-domain")]
        allowed_domains: Vec<String>,
        /// create (default), link-by-email or existing-only.
        #[arg(long)]
        on_first_login: Option<String>,
        /// Add it disabled.
        #[arg(long)]
        disabled: bool,
    },
    List,
    Show {
        id: String,
    },
    Enable {
        id: String,
    },
    Disable {
        id: String,
    },
    /// Delete the provider and every identity linked through it (the users stay).
    Delete {
        id: String,
    },
}

pub async fn upstream(settings: &Settings, command: UpstreamCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let now = SystemClock.now();
    let view = |row| ProviderView::new(row, &settings.issuer);
    match command {
        UpstreamCommand::Add {
            id,
            kind,
            name,
            issuer,
            authorization_endpoint,
            token_endpoint,
            userinfo_endpoint,
            client_id,
            client_secret_stdin: _,
            token_auth_method,
            scopes,
            subject_claim,
            email_claim,
            name_claim,
            trust_email,
            allowed_domains,
            on_first_login,
            disabled,
        } => {
            let mut secret = String::new();
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut secret)?;
            let master = load_master_key(settings, &store).await?;
            let input = ProviderInput {
                id,
                kind,
                display_name: name,
                issuer,
                authorization_endpoint,
                token_endpoint,
                userinfo_endpoint,
                client_id,
                client_secret: Some(secret.trim_end_matches(['\n', '\r']).to_owned()),
                token_auth_method,
                scopes,
                subject_claim,
                email_claim,
                name_claim,
                trust_email,
                allowed_domains,
                on_first_login,
                enabled: !disabled,
            };
            print_json(&view(
                upstream::create(&store, &master, input, now, &Actor::cli()).await?,
            ))
        }
        UpstreamCommand::List => {
            let all: Vec<ProviderView> = upstream::list(&store)
                .await?
                .into_iter()
                .map(view)
                .collect();
            print_json(&all)
        }
        UpstreamCommand::Show { id } => print_json(&view(upstream::get(&store, &id).await?)),
        UpstreamCommand::Enable { id } => print_json(&view(
            upstream::set_enabled(&store, &id, true, now, &Actor::cli()).await?,
        )),
        UpstreamCommand::Disable { id } => print_json(&view(
            upstream::set_enabled(&store, &id, false, now, &Actor::cli()).await?,
        )),
        UpstreamCommand::Delete { id } => {
            upstream::delete(&store, &id, now, &Actor::cli()).await?;
            print_json(&serde_json::json!({ "deleted": id }))
        }
    }
}
