//! `warden domain trust|block|forget|list`: policies for metadata-document domains.

use clap::Subcommand;

use crate::admin::domains;
use crate::clock::{Clock, SystemClock};
use crate::domain::Actor;
use crate::settings::Settings;
use crate::startup::open_database;

use super::print_json;

#[derive(Subcommand)]
pub enum DomainCommand {
    /// Clients whose metadata documents live on DOMAIN are shown without a warning.
    Trust {
        domain: String,
    },
    /// Clients whose metadata documents live on DOMAIN are refused.
    Block {
        domain: String,
    },
    /// Remove the policy for DOMAIN.
    Forget {
        domain: String,
    },
    List,
}

pub async fn domain(settings: &Settings, command: DomainCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let now = SystemClock.now();
    match command {
        DomainCommand::Trust { domain } => {
            print_json(&domains::set(&store, &domain, "trusted", now, &Actor::cli()).await?)
        }
        DomainCommand::Block { domain } => {
            print_json(&domains::set(&store, &domain, "blocked", now, &Actor::cli()).await?)
        }
        DomainCommand::Forget { domain } => {
            domains::forget(&store, &domain, now, &Actor::cli()).await?;
            print_json(&serde_json::json!({ "forgotten": domain }))
        }
        DomainCommand::List => print_json(&domains::list(&store).await?),
    }
}
