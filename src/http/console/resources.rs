//! Console: MCP servers (the registry's resources). Register, edit, disable, delete with
//! the count of grants it ends, the exact lines to paste into the MCP server, and the
//! "Check" button (`admin::resource_check`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    Action, Admin, Chrome, Failure, FormError, admin_for_action, admin_for_page, done, failure,
    list_field, page_failure,
};
use crate::admin::resource_check;
use crate::admin::resources::{self, NewResource, ResourceChanges, ResourceView};
use crate::admin::{AdminError, PageQuery};
use crate::http::browser::form::BrowserPost;
use crate::http::browser::unavailable;
use crate::http::pages::{human_time, render};
use crate::oauth::metadata::paths;
use crate::oauth::params::Params;
use crate::oauth::resource_check::{CheckReport, Prober};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/resources", web::get().to(list))
        .route("/resources", web::post().to(create))
        .route("/resources/new", web::get().to(new))
        .route("/resources/{id}", web::get().to(show))
        .route("/resources/{id}", web::post().to(update))
        .route("/resources/{id}/check", web::post().to(check))
        .route("/resources/{id}/disable", web::post().to(disable))
        .route("/resources/{id}/enable", web::post().to(enable))
        .route("/resources/{id}/delete", web::get().to(confirm_delete))
        .route("/resources/{id}/delete", web::post().to(delete));
}

const SECTION: &str = "/resources";

#[derive(Template)]
#[template(path = "admin/resources.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<ResourceView>,
    next: Option<String>,
}

impl ListPage {
    fn checked(&self, r: &ResourceView) -> String {
        match &r.last_check {
            Some(c) => format!("{} · {}", c.outcome.as_str(), human_time(c.at)),
            None => "never".into(),
        }
    }
}

/// The form's values, as typed (kept when the form comes back with an error).
#[derive(Default)]
struct Fields {
    uri: String,
    name: String,
    description: String,
    scopes: String,
    default_scopes: String,
    access_token_ttl: String,
    allowed_clients: String,
    /// A checkbox, so absent is false.
    require_dpop: bool,
}

impl Fields {
    fn of(params: &Params) -> Fields {
        let get = |n: &str| params.get(n).unwrap_or("").to_owned();
        Fields {
            uri: get("uri"),
            name: get("name"),
            description: get("description"),
            scopes: get("scopes"),
            default_scopes: get("default_scopes"),
            access_token_ttl: get("access_token_ttl"),
            allowed_clients: get("allowed_clients"),
            require_dpop: params.get("require_dpop").is_some(),
        }
    }

    fn from_view(r: &ResourceView) -> Fields {
        Fields {
            uri: r.uri.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            scopes: r.scopes.join(" "),
            default_scopes: r.default_scopes.join(" "),
            access_token_ttl: r.access_token_ttl.to_string(),
            allowed_clients: r.allowed_clients.clone().unwrap_or_default().join(" "),
            require_dpop: r.require_dpop,
        }
    }

    /// The lifetime, or a 422 on its field; empty is the server's default.
    fn ttl(&self) -> Result<Option<i64>, AdminError> {
        let t = self.access_token_ttl.trim();
        if t.is_empty() {
            return Ok(None);
        }
        t.parse()
            .map(Some)
            .map_err(|_| AdminError::invalid("access_token_ttl", "must be a number of seconds"))
    }
}

#[derive(Template)]
#[template(path = "admin/resource.html")]
struct DetailPage {
    chrome: Chrome,
    /// `None` on the registration form.
    resource: Option<ResourceView>,
    fields: Fields,
    error: FormError,
    /// What to paste into the MCP server.
    www_authenticate: String,
    issuer: String,
    jwks_uri: String,
    alg: &'static str,
    default_ttl: i64,
    report: Option<CheckReport>,
}

impl DetailPage {
    /// The built-in admin resource is Warden's own; it has no form.
    fn editable(&self) -> bool {
        self.resource.as_ref().is_none_or(|r| !r.builtin)
    }

    fn last_checked(&self) -> Option<String> {
        let c = self.resource.as_ref()?.last_check.as_ref()?;
        Some(format!("{} on {}", c.outcome.as_str(), human_time(c.at)))
    }

    fn last_failed(&self) -> Vec<String> {
        self.resource
            .as_ref()
            .and_then(|r| r.last_check.as_ref())
            .map(|c| c.failed.clone())
            .unwrap_or_default()
    }
}

fn detail(
    state: &AppState,
    chrome: Chrome,
    resource: Option<ResourceView>,
    fields: Option<Fields>,
    error: FormError,
    report: Option<CheckReport>,
) -> DetailPage {
    let fields =
        fields.unwrap_or_else(|| resource.as_ref().map(Fields::from_view).unwrap_or_default());
    let www_authenticate = match &resource {
        Some(r) if r.scopes.is_empty() => {
            format!("Bearer resource_metadata=\"{}\"", r.resource_metadata)
        }
        Some(r) => format!(
            "Bearer resource_metadata=\"{}\", scope=\"{}\"",
            r.resource_metadata,
            r.default_scopes.join(" ")
        ),
        None => String::new(),
    };
    DetailPage {
        chrome,
        resource,
        fields,
        error,
        www_authenticate,
        issuer: state.settings.issuer.to_string(),
        jwks_uri: state.settings.issuer.endpoint(paths::JWKS),
        alg: state.settings.signing_alg.as_str(),
        default_ttl: state.settings.access_token_ttl,
        report,
    }
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let query = PageQuery {
        limit: Some(100),
        after: params.get("after").map(str::to_owned),
    };
    match resources::list(&state.store, &query).await {
        Ok(page) => render(
            StatusCode::OK,
            &ListPage {
                chrome: Chrome::new(&state, &admin, SECTION, &req),
                next: page.next,
                rows: page
                    .items
                    .into_iter()
                    .map(|r| ResourceView::new(r, &state.settings))
                    .collect(),
            },
        ),
        Err(e) => page_failure(&state, e),
    }
}

async fn new(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let chrome = Chrome::new(&state, &admin, SECTION, &req);
    render(
        StatusCode::OK,
        &detail(&state, chrome, None, None, FormError::none(), None),
    )
}

async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match resources::get(&state.store, &id).await {
        Ok(r) => {
            let chrome = Chrome::new(&state, &admin, SECTION, &req);
            let view = ResourceView::new(r, &state.settings);
            render(
                StatusCode::OK,
                &detail(&state, chrome, Some(view), None, FormError::none(), None),
            )
        }
        Err(e) => page_failure(&state, e),
    }
}

async fn create(state: web::Data<AppState>, req: HttpRequest, post: BrowserPost) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let fields = Fields::of(&params);
    let input = fields.ttl().map(|ttl| NewResource {
        uri: fields.uri.trim().to_owned(),
        name: fields.name.trim().to_owned(),
        description: fields.description.clone(),
        scopes: list_field(&params, "scopes"),
        default_scopes: Some(list_field(&params, "default_scopes")),
        access_token_ttl: ttl,
        allowed_clients: Some(list_field(&params, "allowed_clients")).filter(|c| !c.is_empty()),
        enabled: None,
        require_dpop: fields.require_dpop,
    });
    let now = state.clock.now();
    let created = match input {
        Ok(input) => {
            resources::create(&state.store, &state.settings, input, now, &admin.actor()).await
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(r) => done(&state, &format!("/resources/{}", r.id), "created"),
        Err(e) => form_again(&state, &req, &admin, None, fields, e),
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
    let current = match resources::get(&state.store, &id).await {
        Ok(r) => ResourceView::new(r, &state.settings),
        Err(e) => return page_failure(&state, e),
    };
    let fields = Fields::of(&params);
    let changes = fields.ttl().map(|ttl| ResourceChanges {
        uri: Some(fields.uri.trim().to_owned()),
        name: Some(fields.name.trim().to_owned()),
        description: Some(fields.description.clone()),
        scopes: Some(list_field(&params, "scopes")),
        default_scopes: Some(list_field(&params, "default_scopes")),
        access_token_ttl: Some(ttl),
        allowed_clients: Some(
            Some(list_field(&params, "allowed_clients")).filter(|c| !c.is_empty()),
        ),
        enabled: None,
        require_dpop: Some(fields.require_dpop),
    });
    let now = state.clock.now();
    let updated = match changes {
        Ok(c) => {
            resources::update(&state.store, &state.settings, &id, c, now, &admin.actor()).await
        }
        Err(e) => Err(e),
    };
    match updated {
        Ok(r) => done(&state, &format!("/resources/{}", r.id), "saved"),
        Err(e) => form_again(&state, &req, &admin, Some(current), fields, e),
    }
}

async fn check(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, _) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let prober = Prober {
        settings: &state.settings,
        keys: &state.keys,
        fetcher: &state.fetcher,
        clock: state.clock.as_ref(),
    };
    let report = match resource_check::check(&state.store, &prober, &id).await {
        Ok(r) => r,
        Err(e) => return page_failure(&state, e),
    };
    let view = match resources::get(&state.store, &id).await {
        Ok(r) => ResourceView::new(r, &state.settings),
        Err(e) => return page_failure(&state, e),
    };
    let chrome = Chrome::new(&state, &admin, SECTION, &req);
    render(
        StatusCode::OK,
        &detail(
            &state,
            chrome,
            Some(view),
            None,
            FormError::none(),
            Some(report),
        ),
    )
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
    let changes = ResourceChanges {
        enabled: Some(enabled),
        ..Default::default()
    };
    let now = state.clock.now();
    match resources::update(
        &state.store,
        &state.settings,
        id,
        changes,
        now,
        &admin.actor(),
    )
    .await
    {
        Ok(_) => done(
            state,
            &format!("/resources/{id}"),
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

async fn confirm_delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = match resources::get(&state.store, &id).await {
        Ok(r) => r,
        Err(e) => return page_failure(&state, e),
    };
    let grants = match state.store.live_grants_for_resource(&r.uri).await {
        Ok(n) => n,
        Err(e) => return unavailable(&state, e.into()),
    };
    let consequence = match grants {
        0 => "No one holds access to it now.".to_owned(),
        1 => "This ends 1 grant: its tokens stop working at once.".to_owned(),
        n => format!("This ends {n} grants: their tokens stop working at once."),
    };
    super::confirm_page(
        &state,
        Chrome::new(&state, &admin, SECTION, &req),
        &format!("Delete {}?", r.name),
        &format!("{} ({}). {consequence}", r.name, r.uri),
        &format!("/resources/{}/delete", r.id),
        "Delete MCP server",
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
    match resources::delete(&state.store, &state.settings, &id, now, &admin.actor()).await {
        Ok(()) => done(&state, "/resources", "deleted"),
        Err(AdminError::Conflict(m)) => super::refused(&state, &m),
        Err(e) => page_failure(&state, e),
    }
}

/// The form again, with what was typed and the error beside its field.
fn form_again(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    resource: Option<ResourceView>,
    fields: Fields,
    e: AdminError,
) -> HttpResponse {
    match failure(state, e) {
        Failure::Form(error) => {
            let chrome = Chrome::new(state, admin, SECTION, req);
            let status = error.status();
            render(
                status,
                &detail(state, chrome, resource, Some(fields), error, None),
            )
        }
        Failure::Page(r) => r,
    }
}
