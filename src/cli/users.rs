//! `warden user add|role|passwd|disable|enable|delete|list`. Passwords come from standard input
//! (never the command line, where other users could see them in the process list).

use std::io::Read;

use clap::Subcommand;

use crate::admin::PageQuery;
use crate::admin::users::{self, NewUser, UserChanges, UserView};
use crate::clock::{Clock, SystemClock};
use crate::domain::{Actor, Role};
use crate::settings::Settings;
use crate::startup::open_database;

use super::print_json;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a local account.
    Add {
        username: String,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Make the account an admin (it can open the console at {issuer}/admin).
        #[arg(long)]
        admin: bool,
    },
    /// Set the account's role: `admin` opens the console, `none` takes that away (works
    /// for accounts made by an upstream sign-in too).
    Role {
        username: String,
        #[arg(value_parser = ["admin", "none"])]
        role: String,
    },
    /// Set a new password; ends the user's sessions and revokes their grants (refresh and
    /// access tokens), unless --keep-grants.
    Passwd {
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Keep the user's grants and tokens (sessions still end).
        #[arg(long)]
        keep_grants: bool,
    },
    /// Block sign-in and end the user's sessions; their tokens stop introspecting active.
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
    /// Delete the account and revoke everything it authorized.
    Delete {
        username: String,
    },
    List,
    /// The upstream identities linked to the account.
    Identities {
        username: String,
    },
    /// Remove a linked upstream identity (the next sign-in with it follows the provider's
    /// first-sign-in rule again).
    Unlink {
        username: String,
        #[arg(long)]
        provider: String,
        #[arg(long)]
        subject: String,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut buffer = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut buffer)?;
    Ok(buffer.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn user(settings: &Settings, command: UserCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let now = SystemClock.now();
    match command {
        UserCommand::Add {
            username, admin, ..
        } => {
            let input = NewUser {
                username,
                password: read_password()?,
                role: if admin { Role::Admin } else { Role::None },
            };
            print_json(&UserView::from(
                users::create(&store, input, now, &Actor::cli()).await?,
            ))
        }
        UserCommand::Passwd {
            username,
            keep_grants,
            ..
        } => {
            let changes = UserChanges {
                password: Some(read_password()?),
                keep_grants: Some(keep_grants),
                ..Default::default()
            };
            print_json(&UserView::from(
                users::update(&store, &username, changes, now, &Actor::cli()).await?,
            ))
        }
        UserCommand::Role { username, role } => {
            let changes = UserChanges {
                role: Some(role.parse()?),
                ..Default::default()
            };
            print_json(&UserView::from(
                users::update(&store, &username, changes, now, &Actor::cli()).await?,
            ))
        }
        UserCommand::Disable { username } => {
            let changes = UserChanges {
                disabled: Some(true),
                ..Default::default()
            };
            print_json(&UserView::from(
                users::update(&store, &username, changes, now, &Actor::cli()).await?,
            ))
        }
        UserCommand::Enable { username } => {
            let changes = UserChanges {
                disabled: Some(false),
                ..Default::default()
            };
            print_json(&UserView::from(
                users::update(&store, &username, changes, now, &Actor::cli()).await?,
            ))
        }
        UserCommand::Delete { username } => {
            users::delete(&store, &username, now, &Actor::cli()).await?;
            print_json(&serde_json::json!({ "deleted": username }))
        }
        UserCommand::Identities { username } => {
            print_json(&crate::admin::upstream::identities(&store, &username).await?)
        }
        UserCommand::Unlink {
            username,
            provider,
            subject,
        } => {
            crate::admin::upstream::unlink(
                &store,
                &username,
                &provider,
                &subject,
                now,
                &Actor::cli(),
            )
            .await?;
            print_json(
                &serde_json::json!({ "unlinked": { "provider": provider, "subject": subject } }),
            )
        }
        UserCommand::List => {
            let mut query = PageQuery {
                limit: Some(crate::admin::MAX_PAGE),
                after: None,
            };
            let mut all = Vec::new();
            loop {
                let page = users::list(&store, &query).await?;
                query.after = page.items.last().map(|u| u.username.clone());
                let more = page.next.is_some();
                all.extend(page.items.into_iter().map(UserView::from));
                if !more {
                    break;
                }
            }
            print_json(&all)
        }
    }
}
