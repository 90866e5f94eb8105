//! `warden admin bootstrap`: the first admin client, whose credentials open the admin API.

use crate::admin::clients::{self, NewClient};
use crate::admin::resources::ADMIN_AUDIENCE_PATH;
use crate::clock::{Clock, SystemClock};
use crate::domain::Actor;
use crate::domain::GrantType;
use crate::oauth::scope::ADMIN_SCOPE;
use crate::settings::Settings;
use crate::startup::{load_master_key, open_database};

use super::print_json;

pub async fn bootstrap(settings: &Settings, name: String) -> anyhow::Result<()> {
    let store = open_database(settings).await?;
    let master = load_master_key(settings, &store).await?;
    let audience = settings.issuer.endpoint(ADMIN_AUDIENCE_PATH);
    let input = NewClient {
        name,
        grant_types: vec![GrantType::ClientCredentials.as_str().into()],
        resources: vec![audience.clone()],
        scopes: Some(vec![ADMIN_SCOPE.into()]),
        ..Default::default()
    };
    let client = clients::create(&store, &master, input, SystemClock.now(), &Actor::cli()).await?;
    print_json(&serde_json::json!({
        "client": client,
        "token_endpoint": settings.issuer.endpoint(crate::oauth::metadata::paths::TOKEN),
        "resource": audience,
        "scope": ADMIN_SCOPE,
    }))
}
