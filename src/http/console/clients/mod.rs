//! Console: OAuth clients (RFC 6749 §2; RFC 7591 for the self-registered ones). The
//! listing with its filters, a client's page with its grants, and the forms: register,
//! edit, disable, delete (saying how many grants it ends) and rotate the secret. A secret
//! exists in clear only in the page answering the form that made it (`admin::clients`
//! keeps its keyed hash); it is never put in a URL or shown again.

mod list;
mod page;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{
    Action, Admin, Chrome, Failure, FormError, admin_for_action, admin_for_page, done, failure,
    list_field, page_failure,
};
use crate::admin::clients::{self, ClientChanges, ClientView, NewClient};
use crate::admin::grants::{self, GrantListing, GrantQuery};
use crate::admin::{AdminError, Page};
use crate::domain::{GrantState, Registration};
use crate::http::browser::form::BrowserPost;
use crate::http::pages::render;
use crate::state::AppState;
use page::{Fields, detail};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clients", web::get().to(list::list))
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

async fn new(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let chrome = Chrome::new(&state, &admin, SECTION, &req);
    let fields = Fields::for_new();
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
        // Keys are registered through the API or the CLI.
        jwks: None,
        jwks_uri: None,
        dpop_bound_access_tokens: fields.dpop,
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
        dpop_bound_access_tokens: Some(fields.dpop),
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
