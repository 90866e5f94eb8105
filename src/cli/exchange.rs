//! `warden issuer add|list|delete` and `warden downstream set|list`: token exchange policy.

use std::collections::BTreeMap;

use clap::Subcommand;

use crate::admin::exchange::{self, Downstream, NewIssuer};
use crate::clock::{Clock, SystemClock};
use crate::domain::Actor;
use crate::settings::Settings;
use crate::startup::open_database;

use super::print_json;

#[derive(Subcommand)]
pub enum IssuerCommand {
    /// Trust subject tokens from an external issuer for token exchange.
    Add {
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        jwks_uri: String,
        /// The `aud` its tokens carry: the URI of the Warden resource they count as.
        #[arg(long)]
        audience: String,
        /// Accepted algorithms (repeatable; default ES256 and RS256).
        #[arg(long = "alg")]
        algorithms: Vec<String>,
        /// keep (use `sub` as is) or username (map `sub` to the Warden user of that name).
        #[arg(long, default_value = "keep")]
        subject: String,
    },
    List,
    Delete {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum DownstreamCommand {
    /// Let tokens for resource ID be exchanged for tokens to TARGET (adds or replaces that link).
    Set {
        id: String,
        #[arg(long)]
        target: String,
        /// SOURCE_SCOPE=TARGET_SCOPE (repeatable): scopes that become other scopes.
        #[arg(long = "map")]
        maps: Vec<String>,
        /// A client that may exchange without `act` (impersonation; repeatable).
        #[arg(long = "impersonator")]
        impersonators: Vec<String>,
    },
    /// Remove the link from resource ID to TARGET.
    Remove {
        id: String,
        #[arg(long)]
        target: String,
    },
    List {
        id: String,
    },
}

pub async fn issuer(settings: &Settings, command: IssuerCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    match command {
        IssuerCommand::Add {
            issuer,
            jwks_uri,
            audience,
            algorithms,
            subject,
        } => {
            let algorithms = if algorithms.is_empty() {
                vec!["ES256".into(), "RS256".into()]
            } else {
                algorithms
            };
            let input = NewIssuer {
                issuer,
                jwks_uri,
                audience,
                algorithms,
                subject: Some(subject),
            };
            print_json(
                &exchange::add_issuer(&store, input, SystemClock.now(), &Actor::cli()).await?,
            )
        }
        IssuerCommand::List => print_json(&exchange::issuers(&store).await?),
        IssuerCommand::Delete { id } => {
            exchange::remove_issuer(&store, &id, SystemClock.now(), &Actor::cli()).await?;
            print_json(&serde_json::json!({ "deleted": id }))
        }
    }
}

pub async fn downstream(settings: &Settings, command: DownstreamCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let now = SystemClock.now();
    match command {
        DownstreamCommand::Set {
            id,
            target,
            maps,
            impersonators,
        } => {
            let mut scope_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for m in maps {
                let (from, to) = m
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--map takes SOURCE_SCOPE=TARGET_SCOPE"))?;
                scope_map
                    .entry(from.to_owned())
                    .or_default()
                    .push(to.to_owned());
            }
            let mut links: Vec<Downstream> = exchange::downstreams(&store, &id).await?;
            let canonical =
                crate::oauth::resource::canonicalize(&target).map_err(anyhow::Error::msg)?;
            links.retain(|l| l.target != canonical);
            links.push(Downstream {
                target,
                scope_map,
                impersonation_clients: impersonators,
            });
            print_json(&exchange::set_downstreams(&store, &id, links, now, &Actor::cli()).await?)
        }
        DownstreamCommand::Remove { id, target } => {
            let canonical =
                crate::oauth::resource::canonicalize(&target).map_err(anyhow::Error::msg)?;
            let mut links = exchange::downstreams(&store, &id).await?;
            links.retain(|l| l.target != canonical);
            print_json(&exchange::set_downstreams(&store, &id, links, now, &Actor::cli()).await?)
        }
        DownstreamCommand::List { id } => print_json(&exchange::downstreams(&store, &id).await?),
    }
}
