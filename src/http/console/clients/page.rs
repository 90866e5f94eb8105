//! A client's page and its form: what is stored, its newest grants, the form's values as
//! typed, and the secret when the answered form just made one.

use askama::Template;

use super::registration_label;
use crate::admin::Page;
use crate::admin::clients::ClientView;
use crate::admin::grants::GrantListing;
use crate::domain::{AuthMethod, GrantState, GrantType, ResourceUri};
use crate::http::console::{Chrome, FormError};
use crate::http::pages::human_time;
use crate::oauth::params::Params;

/// The auth methods the form offers: a shared secret or none. `private_key_jwt` needs a
/// key set, which clients bring when they register themselves.
const AUTH_METHODS: [(AuthMethod, &str); 3] = [
    (
        AuthMethod::ClientSecretBasic,
        "client_secret_basic (confidential, HTTP Basic)",
    ),
    (
        AuthMethod::ClientSecretPost,
        "client_secret_post (confidential, in the form)",
    ),
    (AuthMethod::None, "none (public client, PKCE only)"),
];

/// The checkbox of a grant type: one field per type, as a form may not repeat a name.
fn grant_field(g: GrantType) -> &'static str {
    match g {
        GrantType::AuthorizationCode => "grant_authorization_code",
        GrantType::RefreshToken => "grant_refresh_token",
        GrantType::ClientCredentials => "grant_client_credentials",
        GrantType::DeviceCode => "grant_device_code",
        GrantType::TokenExchange => "grant_token_exchange",
        GrantType::JwtBearer => "grant_jwt_bearer",
    }
}

/// The form's values, as typed (kept when the form comes back with an error).
#[derive(Default)]
pub(super) struct Fields {
    pub(super) name: String,
    /// One per line.
    redirect_uris: String,
    pub(super) grants: Vec<GrantType>,
    pub(super) auth_method: String,
    resources: String,
    scopes: String,
    served_resources: String,
    /// RFC 9449 §5.2 `dpop_bound_access_tokens`: a checkbox, so absent is false.
    pub(super) dpop: bool,
}

impl Fields {
    pub(super) fn of(params: &Params) -> Fields {
        let get = |n: &str| params.get(n).unwrap_or("").to_owned();
        Fields {
            name: get("name"),
            redirect_uris: get("redirect_uris"),
            grants: GrantType::ALL
                .into_iter()
                .filter(|g| params.get(grant_field(*g)).is_some())
                .collect(),
            auth_method: get("token_endpoint_auth_method"),
            resources: get("resources"),
            scopes: get("scopes"),
            served_resources: get("served_resources"),
            dpop: params.get("dpop_bound_access_tokens").is_some(),
        }
    }

    fn from_view(c: &ClientView) -> Fields {
        let join = |v: &[ResourceUri]| v.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" ");
        Fields {
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.join("\n"),
            grants: c.grant_types.clone(),
            auth_method: c.token_endpoint_auth_method.as_str().to_owned(),
            resources: join(&c.resources),
            scopes: c.scopes.clone().unwrap_or_default().join(" "),
            served_resources: join(&c.served_resources),
            dpop: c.dpop_bound_access_tokens,
        }
    }

    /// A new client most often signs users in: authorization_code with refresh tokens.
    pub(super) fn for_new() -> Fields {
        Fields {
            grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            ..Fields::default()
        }
    }

    pub(super) fn grant_names(&self) -> Vec<String> {
        self.grants.iter().map(|g| g.as_str().to_owned()).collect()
    }

    /// Empty means no limit of the client's own: whatever each resource accepts.
    pub(super) fn scopes(&self) -> Option<Vec<String>> {
        let scopes: Vec<String> = self.scopes.split_whitespace().map(str::to_owned).collect();
        Some(scopes).filter(|s| !s.is_empty())
    }
}

/// A grant type's checkbox on the form.
struct GrantOption {
    field: &'static str,
    name: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "admin/client.html")]
pub(super) struct DetailPage {
    chrome: Chrome,
    /// `None` on the registration form.
    client: Option<ClientView>,
    /// The newest of its grants, live or not.
    grants: Vec<GrantListing>,
    /// More grants than shown: the grants page lists them all.
    more_grants: bool,
    fields: Fields,
    error: FormError,
    /// The secret just made, on the page answering the form that made it: shown once.
    pub(super) secret: Option<String>,
}

impl DetailPage {
    fn grant_options(&self) -> Vec<GrantOption> {
        GrantType::ALL
            .into_iter()
            .map(|g| GrantOption {
                field: grant_field(g),
                name: g.as_str(),
                checked: self.fields.grants.contains(&g),
            })
            .collect()
    }

    fn auth_methods(&self) -> Vec<(&'static str, &'static str, bool)> {
        let chosen = if self.fields.auth_method.is_empty() {
            AuthMethod::ClientSecretBasic.as_str()
        } else {
            self.fields.auth_method.as_str()
        };
        AUTH_METHODS
            .iter()
            .map(|(m, label)| (m.as_str(), *label, m.as_str() == chosen))
            .collect()
    }

    fn registration(&self) -> &'static str {
        self.client
            .as_ref()
            .map_or("", |c| registration_label(c.registration))
    }

    fn has_secret(&self) -> bool {
        self.client
            .as_ref()
            .is_some_and(|c| c.token_endpoint_auth_method.uses_secret())
    }

    fn when(&self, t: &i64) -> String {
        human_time(*t)
    }

    fn last_used(&self) -> String {
        self.client
            .as_ref()
            .and_then(|c| c.last_used_at)
            .map_or_else(|| "never".into(), human_time)
    }

    fn grant_used(&self, g: &GrantListing) -> String {
        g.last_used_at.map_or_else(|| "never".into(), human_time)
    }

    fn grants_link(&self) -> String {
        let q = self.client.as_ref().map_or(String::new(), |c| {
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client", &c.client_id)
                .append_pair("status", GrantState::All.as_str())
                .finish()
        });
        format!("{}/admin/grants?{q}", self.chrome.base)
    }
}

pub(super) fn detail(
    chrome: Chrome,
    client: Option<ClientView>,
    grants: Option<Page<GrantListing>>,
    fields: Option<Fields>,
    error: FormError,
) -> DetailPage {
    let (grants, more_grants) = grants.map_or((Vec::new(), false), |p| (p.items, p.next.is_some()));
    let fields =
        fields.unwrap_or_else(|| client.as_ref().map(Fields::from_view).unwrap_or_default());
    DetailPage {
        chrome,
        client,
        grants,
        more_grants,
        fields,
        error,
        secret: None,
    }
}
