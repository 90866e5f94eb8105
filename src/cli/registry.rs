//! `warden scope|resource|client …`: the admin API's operations, straight on the database.

use clap::Subcommand;

use crate::admin::clients::{self, ClientChanges, ClientView, NewClient};
use crate::admin::resources::{self, NewResource, ResourceChanges, ResourceView};
use crate::admin::scopes::{self, NewScope, ScopeChanges};
use crate::admin::{Page, PageQuery};
use crate::clock::{Clock, SystemClock};
use crate::domain::{Actor, AuthMethod};
use crate::settings::Settings;
use crate::startup::{load_master_key, open_database};

use super::print_json;

#[derive(Subcommand)]
pub enum ScopeCommand {
    /// Add a scope to the catalogue.
    #[command(alias = "add")]
    Create {
        #[arg(long)]
        name: String,
        /// Shown to end users on the consent screen.
        #[arg(long)]
        description: String,
        /// Resources that accept the scope grant it when a request names none.
        #[arg(long)]
        default: bool,
        /// Scopes that holding this one also grants, comma-separated (e.g. mcp:read).
        #[arg(long)]
        implies: Option<String>,
    },
    /// Change a scope's description, default flag or implications.
    Update {
        name: String,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        default: Option<bool>,
        /// Replaces what the scope implies, comma-separated; "" for nothing.
        #[arg(long)]
        implies: Option<String>,
    },
    /// List the catalogue.
    List,
    /// Remove a scope no resource accepts.
    Delete { name: String },
}

#[derive(Subcommand)]
pub enum ResourceCommand {
    /// Register an MCP server.
    Create {
        #[arg(long)]
        uri: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Space-separated catalogue scopes the resource accepts.
        #[arg(long)]
        scopes: String,
        /// Space-separated subset granted by default (default: the catalogue's defaults).
        #[arg(long)]
        default_scopes: Option<String>,
        /// Access-token lifetime in seconds (default: WARDEN_ACCESS_TOKEN_TTL).
        #[arg(long)]
        access_token_ttl: Option<i64>,
        /// Only these clients may get tokens for it (repeatable; default: any client).
        #[arg(long = "allowed-client")]
        allowed_clients: Vec<String>,
        /// Issue tokens for it only with a DPoP proof (RFC 9449).
        #[arg(long)]
        require_dpop: bool,
    },
    /// Change a resource's settings.
    Update {
        id: String,
        /// Issue tokens for it only with a DPoP proof (RFC 9449): true or false.
        #[arg(long)]
        require_dpop: Option<bool>,
    },
    List,
    /// Show one resource, with its last check.
    #[command(alias = "show")]
    Get {
        id: String,
    },
    /// Probe the MCP server as a client and an attacker would: one PASS/FAIL/WARN line per
    /// point. Exits 1 if a point failed, 2 if there is no such resource.
    Check {
        /// The resource's id or URI.
        resource: String,
        /// Print the structured result as JSON.
        #[arg(long)]
        json: bool,
    },
    Disable {
        id: String,
    },
    Enable {
        id: String,
    },
    Delete {
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a client; a confidential client's secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// Repeatable.
        #[arg(long = "grant-type", required = true)]
        grant_types: Vec<String>,
        /// Resource URIs the client may get tokens for (repeatable).
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// Space-separated scopes the client may request (default: what each resource accepts).
        #[arg(long)]
        scope: Option<String>,
        /// Repeatable.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Resource URIs this client serves, so it may introspect their tokens (repeatable).
        #[arg(long = "serves")]
        served_resources: Vec<String>,
        /// A public client: no secret.
        #[arg(long, conflicts_with = "auth_method")]
        public: bool,
        /// client_secret_basic (default), client_secret_post, or private_key_jwt (with
        /// --jwks-uri or --jwks).
        #[arg(long)]
        auth_method: Option<String>,
        /// Where a private_key_jwt client publishes its public keys.
        #[arg(long, conflicts_with = "jwks")]
        jwks_uri: Option<String>,
        /// A private_key_jwt client's public keys: a JWK Set as JSON.
        #[arg(long)]
        jwks: Option<String>,
        /// Refuse it a token without a DPoP proof (RFC 9449 §5.2 dpop_bound_access_tokens).
        #[arg(long)]
        dpop_bound_access_tokens: bool,
    },
    /// Change a client's settings.
    Update {
        client_id: String,
        /// RFC 9449 §5.2 dpop_bound_access_tokens: true or false.
        #[arg(long)]
        dpop_bound_access_tokens: Option<bool>,
    },
    List {
        /// Only clients that came to be this way: admin, dynamic or metadata_document.
        #[arg(long)]
        registration: Option<String>,
        /// Only clients last used before this time (epoch seconds; never-used ones excluded).
        #[arg(long)]
        last_used_before: Option<i64>,
        /// Only clients used at or after this time (epoch seconds).
        #[arg(long)]
        used_since: Option<i64>,
        /// Only clients that never obtained a grant (abandoned registrations, say).
        #[arg(long)]
        never_authorized: bool,
    },
    Get {
        client_id: String,
    },
    /// Give a confidential client a new secret, printed once; the old one stops working.
    RotateSecret {
        client_id: String,
    },
    Disable {
        client_id: String,
    },
    Enable {
        client_id: String,
    },
    Delete {
        client_id: String,
    },
}

fn words(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_owned).collect()
}

/// A comma- (or space-) separated list; empty items are dropped, so "" is the empty list.
fn list(value: &str) -> Vec<String> {
    value
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

pub async fn scope(settings: &Settings, command: ScopeCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    match command {
        ScopeCommand::Create {
            name,
            description,
            default,
            implies,
        } => {
            let input = NewScope {
                name,
                description,
                is_default: default,
                implies: implies.as_deref().map(list).unwrap_or_default(),
            };
            print_json(&scopes::create(&store, input, SystemClock.now(), &Actor::cli()).await?)
        }
        ScopeCommand::Update {
            name,
            description,
            default,
            implies,
        } => {
            let changes = ScopeChanges {
                description,
                is_default: default,
                implies: implies.as_deref().map(list),
            };
            let now = SystemClock.now();
            print_json(&scopes::update(&store, &name, changes, now, &Actor::cli()).await?)
        }
        ScopeCommand::List => print_json(&scopes::catalogue(&store).await?),
        ScopeCommand::Delete { name } => {
            scopes::delete(&store, &name, SystemClock.now(), &Actor::cli()).await?;
            print_json(&serde_json::json!({ "deleted": name }))
        }
    }
}

pub async fn resource(settings: &Settings, command: ResourceCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let now = SystemClock.now();
    let view = |row| ResourceView::new(row, settings);
    let change = |enabled| ResourceChanges {
        enabled: Some(enabled),
        ..Default::default()
    };
    match command {
        ResourceCommand::Create {
            uri,
            name,
            description,
            scopes,
            default_scopes,
            access_token_ttl,
            allowed_clients,
            require_dpop,
        } => {
            let input = NewResource {
                uri,
                name,
                description,
                scopes: words(&scopes),
                default_scopes: default_scopes.as_deref().map(words),
                access_token_ttl,
                allowed_clients: (!allowed_clients.is_empty()).then_some(allowed_clients),
                enabled: None,
                require_dpop,
            };
            print_json(&view(
                resources::create(&store, settings, input, now, &Actor::cli()).await?,
            ))
        }
        ResourceCommand::Update { id, require_dpop } => {
            let changes = ResourceChanges {
                require_dpop,
                ..Default::default()
            };
            print_json(&view(
                resources::update(&store, settings, &id, changes, now, &Actor::cli()).await?,
            ))
        }
        ResourceCommand::List => {
            let items = all_pages(
                |q| {
                    let store = &store;
                    async move { resources::list(store, &q).await }
                },
                |r| r.id.clone(),
            )
            .await?;
            print_json(&items.into_iter().map(view).collect::<Vec<_>>())
        }
        ResourceCommand::Get { id } => print_json(&view(
            crate::admin::resource_check::find(&store, &id).await?,
        )),
        ResourceCommand::Check { .. } => {
            anyhow::bail!("resource check runs through cli::resource_check::run")
        }
        ResourceCommand::Disable { id } => print_json(&view(
            resources::update(&store, settings, &id, change(false), now, &Actor::cli()).await?,
        )),
        ResourceCommand::Enable { id } => print_json(&view(
            resources::update(&store, settings, &id, change(true), now, &Actor::cli()).await?,
        )),
        ResourceCommand::Delete { id } => {
            resources::delete(&store, settings, &id, now, &Actor::cli()).await?;
            print_json(&serde_json::json!({ "deleted": id }))
        }
    }
}

pub async fn client(settings: &Settings, command: ClientCommand) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let now = SystemClock.now();
    let change = |enabled| ClientChanges {
        enabled: Some(enabled),
        ..Default::default()
    };
    match command {
        ClientCommand::Create {
            name,
            grant_types,
            resources,
            scope,
            redirect_uris,
            served_resources,
            public,
            auth_method,
            jwks_uri,
            jwks,
            dpop_bound_access_tokens,
        } => {
            let jwks = jwks
                .map(|j| serde_json::from_str(&j))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--jwks is not JSON: {e}"))?;
            let master = load_master_key(settings, &store).await?;
            let input = NewClient {
                name,
                redirect_uris,
                grant_types,
                resources,
                scopes: scope.as_deref().map(words),
                served_resources,
                token_endpoint_auth_method: if public {
                    Some(AuthMethod::None.as_str().into())
                } else {
                    auth_method
                },
                jwks,
                jwks_uri,
                dpop_bound_access_tokens,
            };
            print_json(&clients::create(&store, &master, input, now, &Actor::cli()).await?)
        }
        ClientCommand::List {
            registration,
            last_used_before,
            used_since,
            never_authorized,
        } => {
            let items = all_pages(
                |q| {
                    let store = &store;
                    let query = clients::ClientQuery {
                        limit: q.limit,
                        after: q.after,
                        registration: registration.clone(),
                        last_used_before: last_used_before.map(|t| t.to_string()),
                        used_since: used_since.map(|t| t.to_string()),
                        never_authorized: never_authorized.then(|| "true".to_owned()),
                    };
                    async move { clients::list(store, &query).await }
                },
                |c| c.client_id.clone(),
            )
            .await?;
            print_json(&items)
        }
        ClientCommand::Update {
            client_id,
            dpop_bound_access_tokens,
        } => {
            let changes = ClientChanges {
                dpop_bound_access_tokens,
                ..Default::default()
            };
            print_json(&ClientView::from(
                clients::update(&store, &client_id, changes, now, &Actor::cli()).await?,
            ))
        }
        ClientCommand::Get { client_id } => print_json(&clients::show(&store, &client_id).await?),
        ClientCommand::RotateSecret { client_id } => {
            let master = load_master_key(settings, &store).await?;
            print_json(
                &clients::rotate_secret(&store, &master, &client_id, now, &Actor::cli()).await?,
            )
        }
        ClientCommand::Disable { client_id } => print_json(&ClientView::from(
            clients::update(&store, &client_id, change(false), now, &Actor::cli()).await?,
        )),
        ClientCommand::Enable { client_id } => print_json(&ClientView::from(
            clients::update(&store, &client_id, change(true), now, &Actor::cli()).await?,
        )),
        ClientCommand::Delete { client_id } => {
            clients::delete(&store, &client_id, now, &Actor::cli()).await?;
            print_json(&serde_json::json!({ "deleted": client_id }))
        }
    }
}

/// Follows the `next` cursors of a listing to the end.
async fn all_pages<T, F, Fut>(mut fetch: F, cursor: impl Fn(&T) -> String) -> anyhow::Result<Vec<T>>
where
    F: FnMut(PageQuery) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, crate::admin::AdminError>>,
{
    let mut all = Vec::new();
    let mut query = PageQuery {
        limit: Some(crate::admin::MAX_PAGE),
        after: None,
    };
    loop {
        let page = fetch(query.clone()).await?;
        let next = page.next.is_some();
        query.after = page.items.last().map(&cursor);
        all.extend(page.items);
        if !next {
            return Ok(all);
        }
    }
}
