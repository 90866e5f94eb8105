//! `warden idp add|list|delete`: enterprise identity providers whose ID-JAGs the jwt-bearer
//! grant accepts.

use clap::Subcommand;

use crate::admin::idps::{self, NewIdp, NewLink};
use crate::clock::{Clock, SystemClock};
use crate::domain::Actor;
use crate::settings::Settings;
use crate::startup::open_database;

use super::print_json;

#[derive(Subcommand)]
pub enum IdpCommand {
    /// Trust ID-JAGs (Enterprise-Managed Authorization) from an identity provider.
    Add {
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        jwks_uri: String,
        /// Accepted algorithms (repeatable; default ES256 and RS256).
        #[arg(long = "alg")]
        algorithms: Vec<String>,
        /// What an unlinked subject with a verified email becomes: link (to the user with
        /// that username), create (a new user if none), or refuse.
        #[arg(long, default_value = "refuse")]
        email: String,
        /// An accepted ID-JAG also buys a refresh token (for clients with the refresh_token
        /// grant); without it the client comes back with a new ID-JAG.
        #[arg(long)]
        refresh_tokens: bool,
    },
    List,
    Delete {
        id: String,
    },
    /// Link an IdP's subject to a Warden user (for users the IdP does not name by a verified
    /// email).
    Link {
        /// The IdP's id (from `warden idp list`).
        id: String,
        /// The `sub` its ID-JAGs carry.
        #[arg(long)]
        subject: String,
        /// The Warden user it becomes.
        #[arg(long)]
        user: String,
    },
}

pub async fn idp(settings: &Settings, command: IdpCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    match command {
        IdpCommand::Add {
            issuer,
            jwks_uri,
            algorithms,
            email,
            refresh_tokens,
        } => {
            let input = NewIdp {
                issuer,
                jwks_uri,
                algorithms,
                email_rule: Some(email),
                refresh_tokens,
            };
            print_json(&idps::add(&store, input, SystemClock.now(), &Actor::cli()).await?)
        }
        IdpCommand::List => print_json(&idps::list(&store).await?),
        IdpCommand::Link { id, subject, user } => {
            let input = NewLink {
                subject,
                username: user,
            };
            print_json(&idps::link(&store, &id, input, SystemClock.now(), &Actor::cli()).await?)
        }
        IdpCommand::Delete { id } => {
            idps::remove(&store, &id, SystemClock.now(), &Actor::cli()).await?;
            print_json(&serde_json::json!({ "deleted": id }))
        }
    }
}
