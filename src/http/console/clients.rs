//! Console: OAuth clients (RFC 6749 §2; RFC 7591 for the self-registered ones). The
//! listing with its filters, a client's page with its grants, and the forms: register,
//! edit, disable, delete (saying how many grants it ends) and rotate the secret. A secret
//! exists in clear only in the page answering the form that made it (`admin::clients`
//! keeps its keyed hash); it is never put in a URL or shown again.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    Action, Admin, Chrome, Failure, FormError, admin_for_action, admin_for_page, done, failure,
    list_field, page_failure,
};
use crate::admin::clients::{self, ClientChanges, ClientQuery, ClientView, NewClient};
use crate::admin::grants::{self, GrantListing, GrantQuery};
use crate::admin::{AdminError, Page};
use crate::domain::{AuthMethod, GrantState, GrantType, Registration};
use crate::http::browser::form::BrowserPost;
use crate::http::pages::{human_time, render};
use crate::oauth::params::Params;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clients", web::get().to(list))
        .route("/clients", web::post().to(create))
        .route("/clients/new", web::get().to(new))
        .route("/clients/{id}", web::get().to(show))
        .route("/clients/{id}", web::post().to(update))
        .route("/clients/{id}/disable", web::post().to(disable))
        .route("/clients/{id}/enable", web::post().to(enable))
        .route("/clients/{id}/secret", web::get().to(confirm_rotate))
        .route("/clients/{id}/secret", web::post().to(rotate_secret))
        .route("/clients/{id}/delete", web::get().to(confirm_delete))
        .route("/clients/{id}/delete", web::post().to(delete));
}

const SECTION: &str = "/clients";

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
        GrantType::TokenExchange => "grant_token_exchange",
    }
}

/// `/clients/{client_id}{rest}`, the id percent-encoded: a metadata document's client id
/// is an https URL.
fn client_path(client_id: &str, rest: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    format!("/clients/{id}{rest}")
}

fn registration_label(r: Registration) -> &'static str {
    match r {
        Registration::Admin => "admin",
        Registration::Dynamic => "dynamic (RFC 7591)",
        Registration::MetadataDocument => "metadata document",
    }
}

const DAY: i64 = 86_400;
/// A century: further back than any client, and far from overflowing.
const MAX_DAYS: i64 = 36_500;

/// The listing's filters, as typed (kept when one is refused). Last use is asked in days
/// back from now; the service takes epoch seconds.
#[derive(Default)]
struct Filters {
    registration: String,
    /// Used in the last N days.
    used_within: String,
    /// Used, but not in the last N days.
    idle_for: String,
    /// Never completed an authorization (no grant ever).
    never_authorized: bool,
}

impl Filters {
    fn of(params: &Params) -> Filters {
        let get = |n: &str| params.get(n).unwrap_or("").trim().to_owned();
        Filters {
            registration: get("registration"),
            used_within: get("used_within"),
            idle_for: get("idle_for"),
            never_authorized: params.get("never_authorized").is_some(),
        }
    }

    fn query(&self, after: Option<String>, now: i64) -> Result<ClientQuery, AdminError> {
        let since = |field: &'static str, days: &str| -> Result<Option<String>, AdminError> {
            if days.is_empty() {
                return Ok(None);
            }
            match days.parse::<i64>() {
                Ok(d) if (1..=MAX_DAYS).contains(&d) => {
                    Ok(Some((now - d * DAY).max(0).to_string()))
                }
                _ => Err(AdminError::invalid(
                    field,
                    format!("must be a whole number of days, from 1 to {MAX_DAYS}"),
                )),
            }
        };
        Ok(ClientQuery {
            limit: Some(100),
            after,
            registration: Some(self.registration.clone()).filter(|r| !r.is_empty()),
            used_since: since("used_within", &self.used_within)?,
            last_used_before: since("idle_for", &self.idle_for)?,
            never_authorized: self.never_authorized.then(|| "true".to_owned()),
        })
    }

    /// The query string of the next page: these filters and the cursor.
    fn next_page(&self, after: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("registration", self.registration.as_str()),
            ("used_within", self.used_within.as_str()),
            ("idle_for", self.idle_for.as_str()),
            (
                "never_authorized",
                if self.never_authorized { "true" } else { "" },
            ),
        ] {
            if !value.is_empty() {
                q.append_pair(name, value);
            }
        }
        q.append_pair("after", after);
        q.finish()
    }
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ListPage {
    chrome: Chrome,
    filters: Filters,
    error: FormError,
    rows: Vec<ClientView>,
    next: Option<String>,
}

impl ListPage {
    fn registrations(&self) -> Vec<(&'static str, &'static str, bool)> {
        [
            Registration::Admin,
            Registration::Dynamic,
            Registration::MetadataDocument,
        ]
        .into_iter()
        .map(|r| {
            (
                r.as_str(),
                registration_label(r),
                self.filters.registration == r.as_str(),
            )
        })
        .collect()
    }

    fn registration(&self, c: &ClientView) -> &'static str {
        registration_label(c.registration)
    }

    fn last_used(&self, c: &ClientView) -> String {
        c.last_used_at.map_or_else(|| "never".into(), human_time)
    }
}

/// The form's values, as typed (kept when the form comes back with an error).
#[derive(Default)]
struct Fields {
    name: String,
    /// One per line.
    redirect_uris: String,
    grants: Vec<GrantType>,
    auth_method: String,
    resources: String,
    scopes: String,
    served_resources: String,
}

impl Fields {
    fn of(params: &Params) -> Fields {
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
        }
    }

    fn from_view(c: &ClientView) -> Fields {
        let join = |v: &[crate::domain::ResourceUri]| {
            v.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" ")
        };
        Fields {
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.join("\n"),
            grants: c.grant_types.clone(),
            auth_method: c.token_endpoint_auth_method.as_str().to_owned(),
            resources: join(&c.resources),
            scopes: c.scopes.clone().unwrap_or_default().join(" "),
            served_resources: join(&c.served_resources),
        }
    }

    fn grant_names(&self) -> Vec<String> {
        self.grants.iter().map(|g| g.as_str().to_owned()).collect()
    }

    /// Empty means no limit of the client's own: whatever each resource accepts.
    fn scopes(&self) -> Option<Vec<String>> {
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
struct DetailPage {
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
    secret: Option<String>,
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

fn detail(
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

/// How many of a client's grants its page shows, newest first.
const GRANTS_SHOWN: i64 = 50;

/// The client's newest grants, live or revoked.
async fn grants_of(state: &AppState, client_id: &str) -> Result<Page<GrantListing>, AdminError> {
    let query = GrantQuery {
        client: Some(client_id.to_owned()),
        status: Some(GrantState::All.as_str().to_owned()),
        limit: Some(GRANTS_SHOWN),
        ..GrantQuery::default()
    };
    grants::list(&state.store, &query).await
}

/// The client as its page shows it, with its newest grants.
async fn client_and_grants(
    state: &AppState,
    client_id: &str,
) -> Result<(ClientView, Page<GrantListing>), AdminError> {
    let client = clients::show(&state.store, client_id).await?;
    let grants = grants_of(state, client_id).await?;
    Ok((client, grants))
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let filters = Filters::of(&params);
    let query = filters.query(params.get("after").map(str::to_owned), state.clock.now());
    let chrome = Chrome::new(&state, &admin, SECTION, &req);
    let listed = match query {
        Ok(query) => clients::list(&state.store, &query).await,
        Err(e) => Err(e),
    };
    match listed {
        Ok(page) => render(
            StatusCode::OK,
            &ListPage {
                chrome,
                next: page.next.map(|after| filters.next_page(&after)),
                filters,
                error: FormError::none(),
                rows: page.items,
            },
        ),
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => render(
                error.status(),
                &ListPage {
                    chrome,
                    filters,
                    error,
                    rows: Vec::new(),
                    next: None,
                },
            ),
            Failure::Page(r) => r,
        },
    }
}

async fn new(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let chrome = Chrome::new(&state, &admin, SECTION, &req);
    // A new client most often signs users in: authorization_code with refresh tokens.
    let fields = Fields {
        grants: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        ..Fields::default()
    };
    render(
        StatusCode::OK,
        &detail(chrome, None, None, Some(fields), FormError::none()),
    )
}

async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match client_and_grants(&state, &id).await {
        Ok((client, grants)) => {
            let chrome = Chrome::new(&state, &admin, SECTION, &req);
            render(
                StatusCode::OK,
                &detail(chrome, Some(client), Some(grants), None, FormError::none()),
            )
        }
        Err(e) => page_failure(&state, e),
    }
}

/// The page answering a form that made a secret: the client's page with the secret, once.
/// Status 200 to the POST itself (a redirect would need the secret in its URL or stored).
fn with_secret(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    mut client: ClientView,
    grants: Option<Page<GrantListing>>,
) -> HttpResponse {
    let secret = client.client_secret.take();
    let chrome = Chrome::new(state, admin, SECTION, req);
    let mut page = detail(chrome, Some(client), grants, None, FormError::none());
    page.secret = secret;
    render(StatusCode::OK, &page)
}

async fn create(state: web::Data<AppState>, req: HttpRequest, post: BrowserPost) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let fields = Fields::of(&params);
    let input = NewClient {
        name: fields.name.trim().to_owned(),
        redirect_uris: list_field(&params, "redirect_uris"),
        grant_types: fields.grant_names(),
        resources: list_field(&params, "resources"),
        scopes: fields.scopes(),
        served_resources: list_field(&params, "served_resources"),
        token_endpoint_auth_method: Some(fields.auth_method.clone()).filter(|m| !m.is_empty()),
    };
    let now = state.clock.now();
    match clients::create(&state.store, &state.master_key, input, now, &admin.actor()).await {
        Ok(view) if view.client_secret.is_some() => with_secret(&state, &req, &admin, view, None),
        Ok(view) => done(&state, &client_path(&view.client_id, ""), "created"),
        Err(e) => form_again(&state, &req, &admin, None, fields, e).await,
    }
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let current = match clients::show(&state.store, &id).await {
        Ok(c) => c,
        Err(e) => return page_failure(&state, e),
    };
    let fields = Fields::of(&params);
    let changes = ClientChanges {
        name: Some(fields.name.trim().to_owned()),
        redirect_uris: Some(list_field(&params, "redirect_uris")),
        grant_types: Some(fields.grant_names()),
        resources: Some(list_field(&params, "resources")),
        scopes: Some(fields.scopes()),
        served_resources: Some(list_field(&params, "served_resources")),
        enabled: None,
    };
    let now = state.clock.now();
    match clients::update(&state.store, &id, changes, now, &admin.actor()).await {
        Ok(c) => done(&state, &client_path(&c.client_id, ""), "saved"),
        Err(e) => form_again(&state, &req, &admin, Some(current), fields, e).await,
    }
}

async fn set_enabled(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    post: BrowserPost,
    enabled: bool,
) -> HttpResponse {
    let action = if enabled {
        Action::Change
    } else {
        Action::Destructive
    };
    let (admin, _) = match admin_for_action(state, req, post, action).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let changes = ClientChanges {
        enabled: Some(enabled),
        ..Default::default()
    };
    let now = state.clock.now();
    match clients::update(&state.store, id, changes, now, &admin.actor()).await {
        Ok(_) => done(
            state,
            &client_path(id, ""),
            if enabled { "enabled" } else { "disabled" },
        ),
        Err(e) => page_failure(state, e),
    }
}

async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    set_enabled(&state, &req, &id, post, false).await
}

async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    set_enabled(&state, &req, &id, post, true).await
}

async fn confirm_rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let c = match clients::get(&state.store, &id).await {
        Ok(c) => c,
        Err(e) => return page_failure(&state, e),
    };
    super::confirm_page(
        &state,
        Chrome::new(&state, &admin, SECTION, &req),
        &format!("Rotate the secret of {}?", c.name),
        &format!(
            "{} ({}). The current secret stops working at once; the new one is shown on \
             the next page, once. Tokens already issued stay valid until they expire.",
            c.name, c.client_id
        ),
        &client_path(&c.client_id, "/secret"),
        "Rotate secret",
    )
}

async fn rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, _) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = state.clock.now();
    let view =
        match clients::rotate_secret(&state.store, &state.master_key, &id, now, &admin.actor())
            .await
        {
            Ok(v) => v,
            Err(e) => return page_failure(&state, e),
        };
    match grants_of(&state, &id).await {
        Ok(grants) => with_secret(&state, &req, &admin, view, Some(grants)),
        Err(e) => page_failure(&state, e),
    }
}

async fn confirm_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let c = match clients::get(&state.store, &id).await {
        Ok(c) => c,
        Err(e) => return page_failure(&state, e),
    };
    // Counted whole, not a page: the admin is told exactly what ends.
    let live = match grants::of_client(&state.store, &id).await {
        Ok(all) => all.iter().filter(|g| g.revoked_at.is_none()).count(),
        Err(e) => return page_failure(&state, e),
    };
    let consequence = match live {
        0 => "It holds no live grants.".to_owned(),
        1 => "This revokes its 1 grant: its tokens stop working at once.".to_owned(),
        n => format!("This revokes its {n} grants: their tokens stop working at once."),
    };
    super::confirm_page(
        &state,
        Chrome::new(&state, &admin, SECTION, &req),
        &format!("Delete {}?", c.name),
        &format!("{} ({}). {consequence}", c.name, c.client_id),
        &client_path(&c.client_id, "/delete"),
        "Delete client",
    )
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, _) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = state.clock.now();
    match clients::delete(&state.store, &id, now, &admin.actor()).await {
        Ok(()) => done(&state, "/clients", "deleted"),
        Err(e) => page_failure(&state, e),
    }
}

/// The form again, with what was typed and the error beside its field.
async fn form_again(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    client: Option<ClientView>,
    fields: Fields,
    e: AdminError,
) -> HttpResponse {
    match failure(state, e) {
        Failure::Form(error) => {
            let grants = match &client {
                Some(c) => match grants_of(state, &c.client_id).await {
                    Ok(g) => Some(g),
                    Err(e) => return page_failure(state, e),
                },
                None => None,
            };
            let chrome = Chrome::new(state, admin, SECTION, req);
            let status = error.status();
            render(status, &detail(chrome, client, grants, Some(fields), error))
        }
        Failure::Page(r) => r,
    }
}
