//! `warden idjag allow|list|deny`: which clients may obtain ID-JAGs from Warden for which
//! other authorization servers and MCP servers.

use clap::Subcommand;

use crate::admin::id_jag::{self, NewPolicy};
use crate::clock::{Clock, SystemClock};
use crate::domain::Actor;
use crate::settings::Settings;
use crate::startup::open_database;

use super::print_json;

#[derive(Subcommand)]
pub enum IdJagCommand {
    /// Let CLIENT obtain ID-JAGs for RESOURCE at the authorization server AUDIENCE (adds or
    /// replaces the policy for that client, audience and resource).
    Allow {
        #[arg(long)]
        client: String,
        /// The other authorization server's issuer (the ID-JAG's `aud`).
        #[arg(long)]
        audience: String,
        /// Its MCP server (the ID-JAG's `resource`).
        #[arg(long)]
        resource: String,
        /// The client's id at the other authorization server (the ID-JAG's `client_id`).
        #[arg(long)]
        remote_client_id: String,
        /// The scopes the ID-JAG may carry, space-separated.
        #[arg(long, default_value = "")]
        scopes: String,
        /// Put the user's verified email in the ID-JAG.
        #[arg(long)]
        email: bool,
    },
    List,
    /// Remove policy ID.
    Deny {
        id: String,
    },
}

pub async fn run(settings: &Settings, command: IdJagCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let now = SystemClock.now();
    match command {
        IdJagCommand::Allow {
            client,
            audience,
            resource,
            remote_client_id,
            scopes,
            email,
        } => {
            let input = NewPolicy {
                client_id: client,
                audience,
                resource,
                remote_client_id,
                scopes: scopes
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                include_email: email,
            };
            print_json(&id_jag::allow(&store, input, now, &Actor::cli()).await?)
        }
        IdJagCommand::List => print_json(&id_jag::list(&store).await?),
        IdJagCommand::Deny { id } => {
            id_jag::deny(&store, &id, now, &Actor::cli()).await?;
            print_json(&serde_json::json!({ "deleted": id }))
        }
    }
}
