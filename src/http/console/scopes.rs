//! Console: the scope catalogue. Each scope's name (RFC 6749 §3.3 syntax), the description
//! the consent page shows end users, what it implies (SEP-835), and the MCP servers that
//! accept it; add, edit the description and implications, delete (refused by
//! `admin::scopes` while a server accepts the scope or another scope implies it).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    Action, Admin, Chrome, Failure, FormError, admin_for_action, admin_for_page, done, failure,
    page_failure,
};
use crate::admin::AdminError;
use crate::admin::scopes::{self, NewScope, ScopeChanges, ScopeUse};
use crate::http::browser::form::BrowserPost;
use crate::http::pages::render;
use crate::oauth::metadata::catalogue_changed;
use crate::oauth::params::Params;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/scopes", web::get().to(list))
        .route("/scopes", web::post().to(create))
        .route("/scopes/{name}", web::get().to(show))
        .route("/scopes/{name}", web::post().to(update))
        .route("/scopes/{name}/delete", web::get().to(confirm_delete))
        .route("/scopes/{name}/delete", web::post().to(delete));
}

const SECTION: &str = "/scopes";

/// A scope name as one path segment: scope tokens may hold `/`, `?`, `#` or `%`.
pub fn segment(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes()).collect()
}

/// The form's values, as typed (kept when the form comes back with an error).
#[derive(Default)]
struct Fields {
    name: String,
    description: String,
    is_default: bool,
    /// What the scope implies (typed as a space- or comma-separated list).
    implies: Vec<String>,
}

impl Fields {
    fn of(params: &Params) -> Fields {
        Fields {
            name: params.get("name").unwrap_or("").trim().to_owned(),
            description: params.get("description").unwrap_or("").to_owned(),
            is_default: params.get("is_default").is_some(),
            implies: params
                .get("implies")
                .unwrap_or("")
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    fn from_use(s: &ScopeUse) -> Fields {
        Fields {
            name: s.scope.name.clone(),
            description: s.scope.description.clone(),
            is_default: s.scope.is_default,
            implies: s.implies.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/scopes.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ScopeUse>,
    /// The "add a scope" form.
    fields: Fields,
    error: FormError,
}

impl ListPage {
    fn href(&self, name: &str) -> String {
        segment(name)
    }
}

#[derive(Template)]
#[template(path = "admin/scope.html")]
struct DetailPage {
    chrome: Chrome,
    scope: ScopeUse,
    fields: Fields,
    error: FormError,
}

impl DetailPage {
    fn href(&self) -> String {
        segment(&self.scope.scope.name)
    }
}

async fn list_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    fields: Fields,
    error: FormError,
) -> HttpResponse {
    match scopes::catalogue(&state.store).await {
        Ok(rows) => {
            let status = error.status();
            render(
                status,
                &ListPage {
                    chrome: Chrome::new(state, admin, SECTION, req),
                    rows,
                    fields,
                    error,
                },
            )
        }
        Err(e) => page_failure(state, e),
    }
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    list_page(&state, &req, &admin, Fields::default(), FormError::none()).await
}

async fn create(state: web::Data<AppState>, req: HttpRequest, post: BrowserPost) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let fields = Fields::of(&params);
    let input = NewScope {
        name: fields.name.clone(),
        description: fields.description.clone(),
        is_default: fields.is_default,
        implies: fields.implies.clone(),
    };
    let now = state.clock.now();
    match scopes::create(&state.store, input, now, &admin.actor()).await {
        Ok(row) => {
            catalogue_changed(&state).await;
            done(
                &state,
                &format!("/scopes/{}", segment(&row.scope.name)),
                "created",
            )
        }
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => list_page(&state, &req, &admin, fields, error).await,
            Failure::Page(r) => r,
        },
    }
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    detail(&state, &req, &admin, &name, None, FormError::none()).await
}

/// The scope's page; `fields` are what was typed when a form comes back with `error`.
async fn detail(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    name: &str,
    fields: Option<Fields>,
    error: FormError,
) -> HttpResponse {
    let scope = match scopes::usage(&state.store, name).await {
        Ok(s) => s,
        Err(e) => return page_failure(state, e),
    };
    let fields = fields.unwrap_or_else(|| Fields::from_use(&scope));
    render(
        error.status(),
        &DetailPage {
            chrome: Chrome::new(state, admin, SECTION, req),
            scope,
            fields,
            error,
        },
    )
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut fields = Fields::of(&params);
    fields.name = name.to_string();
    let changes = ScopeChanges {
        description: Some(fields.description.clone()),
        is_default: Some(fields.is_default),
        implies: Some(fields.implies.clone()),
    };
    let now = state.clock.now();
    match scopes::update(&state.store, &name, changes, now, &admin.actor()).await {
        Ok(s) => {
            catalogue_changed(&state).await;
            done(
                &state,
                &format!("/scopes/{}", segment(&s.scope.name)),
                "saved",
            )
        }
        Err(e) => again(&state, &req, &admin, &name, Some(fields), e).await,
    }
}

async fn confirm_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let scope = match scopes::usage(&state.store, &name).await {
        Ok(s) => s,
        Err(e) => return page_failure(&state, e),
    };
    let name = &scope.scope.name;
    let message = if scope.used_by.is_empty() {
        format!(
            "{name} leaves the catalogue: clients can no longer ask for it, and it is no \
             longer listed in the server's metadata."
        )
    } else {
        let servers: Vec<&str> = scope.used_by.iter().map(|r| r.name.as_str()).collect();
        format!(
            "{name} is accepted by {}: Warden will refuse to delete it until it is removed \
             from those MCP servers.",
            servers.join(", ")
        )
    };
    super::confirm_page(
        &state,
        Chrome::new(&state, &admin, SECTION, &req),
        &format!("Delete the scope {name}?"),
        &message,
        &format!("/scopes/{}/delete", segment(name)),
        "Delete scope",
    )
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, _) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = state.clock.now();
    match scopes::delete(&state.store, &name, now, &admin.actor()).await {
        Ok(()) => {
            catalogue_changed(&state).await;
            done(&state, "/scopes", "deleted")
        }
        // In use: the scope's page again, with the service's reason.
        Err(e) => again(&state, &req, &admin, &name, None, e).await,
    }
}

/// The scope's page again with the error, or the page the error calls for.
async fn again(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    name: &str,
    fields: Option<Fields>,
    e: AdminError,
) -> HttpResponse {
    match failure(state, e) {
        Failure::Form(error) => detail(state, req, admin, name, fields, error).await,
        Failure::Page(r) => r,
    }
}
