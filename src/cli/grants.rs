//! `warden grant list|revoke`: who holds which grants, and their revocation (one, or all of
//! a user's, a client's or a resource's), through the same service layer as the admin API.

use clap::{ArgGroup, Subcommand};

use crate::admin::MAX_PAGE;
use crate::admin::grants::{self, GrantQuery, RevokeAll};
use crate::clock::{Clock, SystemClock};
use crate::domain::Actor;
use crate::settings::Settings;
use crate::startup::open_database;

use super::print_json;

#[derive(Subcommand)]
pub enum GrantCommand {
    /// List grants as a JSON array, newest first.
    List {
        /// Only the grants this user (by id) gave.
        #[arg(long)]
        user: Option<String>,
        /// Only this client's grants.
        #[arg(long)]
        client: Option<String>,
        /// Only the grants for this resource URI.
        #[arg(long)]
        resource: Option<String>,
        /// live (default), revoked or all.
        #[arg(long)]
        status: Option<String>,
    },
    /// Revoke one grant by id, or every live grant of a user, a client or a resource:
    /// their refresh tokens stop working and their access tokens introspect inactive.
    #[command(group(ArgGroup::new("target").required(true).args(["id", "user", "client", "resource"])))]
    Revoke {
        id: Option<String>,
        /// A user id.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        client: Option<String>,
        /// A resource URI.
        #[arg(long)]
        resource: Option<String>,
    },
}

pub async fn grant(settings: &Settings, command: GrantCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let now = SystemClock.now();
    match command {
        GrantCommand::List {
            user,
            client,
            resource,
            status,
        } => {
            let mut query = GrantQuery {
                user,
                client,
                resource,
                status,
                limit: Some(MAX_PAGE),
                after: None,
            };
            let mut all = Vec::new();
            loop {
                let page = grants::list(&store, &query).await?;
                all.extend(page.items);
                match page.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
            print_json(&all)
        }
        GrantCommand::Revoke { id: Some(id), .. } => {
            print_json(&grants::revoke(&store, &id, now, &Actor::cli()).await?)
        }
        GrantCommand::Revoke {
            id: None,
            user,
            client,
            resource,
        } => {
            let target = RevokeAll {
                user,
                client,
                resource,
            };
            let revoked = grants::revoke_all(&store, &target, now, &Actor::cli()).await?;
            print_json(&serde_json::json!({ "revoked": revoked }))
        }
    }
}
