//! `warden workload add|list|delete`: workload identity rules (SEP-1933).

use std::collections::BTreeMap;

use clap::Subcommand;
use serde_json::Value;

use crate::admin::workload::{self, NewWorkloadRule};
use crate::clock::{Clock, SystemClock};
use crate::domain::Actor;
use crate::settings::Settings;
use crate::startup::open_database;

use super::print_json;

#[derive(Subcommand)]
pub enum WorkloadCommand {
    /// Let workload JWTs from ISSUER that match the rule authenticate as CLIENT.
    Add {
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        jwks_uri: String,
        /// The `aud` the workload JWT must carry (default: Warden's issuer).
        #[arg(long)]
        audience: Option<String>,
        /// Accepted algorithms (repeatable; default ES256 and RS256).
        #[arg(long = "alg")]
        algorithms: Vec<String>,
        /// The `sub`, exact or with `*` for any run of characters.
        #[arg(long)]
        subject: String,
        /// NAME=VALUE (repeatable): a string claim that must equal VALUE (the admin API
        /// takes any JSON value).
        #[arg(long = "claim")]
        claims: Vec<String>,
        /// The workload client: no secret, jwt-bearer as its only grant type.
        #[arg(long)]
        client: String,
    },
    List,
    Delete {
        id: String,
    },
}

pub async fn workload(settings: &Settings, command: WorkloadCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    match command {
        WorkloadCommand::Add {
            issuer,
            jwks_uri,
            audience,
            algorithms,
            subject,
            claims,
            client,
        } => {
            let mut required = BTreeMap::new();
            for c in claims {
                let (name, value) = c
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--claim takes NAME=VALUE"))?;
                // Always a string: platforms send ids such as GitHub's `repository_id` as
                // strings of digits, which a number would never equal.
                required.insert(name.to_owned(), Value::from(value));
            }
            let input = NewWorkloadRule {
                issuer,
                jwks_uri,
                audience: audience.unwrap_or_else(|| settings.issuer.as_str().to_owned()),
                algorithms: if algorithms.is_empty() {
                    vec!["ES256".into(), "RS256".into()]
                } else {
                    algorithms
                },
                subject,
                claims: required,
                client_id: client,
            };
            print_json(&workload::add(&store, input, SystemClock.now(), &Actor::cli()).await?)
        }
        WorkloadCommand::List => print_json(&workload::list(&store).await?),
        WorkloadCommand::Delete { id } => {
            workload::remove(&store, &id, SystemClock.now(), &Actor::cli()).await?;
            print_json(&serde_json::json!({ "deleted": id }))
        }
    }
}
