//! The admin console at `{issuer}/admin` (issue 17): server-rendered askama pages over the
//! same `admin/` service layer as the JSON API and the CLI, so a rule and its message are
//! the same everywhere. Every page needs a signed-in admin (`gate`); every form carries the
//! session's CSRF token; destructive forms want a password from the last five minutes.

mod audit;
mod clients;
mod exchange;
pub mod gate;
mod grants;
mod keys;
mod providers;
mod resources;
mod scopes;
mod setup;
mod users;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::admin::AdminError;
use crate::http::browser::{base, see_other, unavailable};
use crate::http::pages::{error_page, render};
use crate::oauth::params::Params;
use crate::state::AppState;
use askama::Template;

pub use gate::{Action, Admin, admin_for_action, admin_for_page};

/// Mounts the console under `{issuer path}/admin` (after the API's `/admin/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(home))
        .route("/", web::get().to(home))
        .route("/setup", web::get().to(setup::get))
        .route("/setup", web::post().to(setup::post));
    resources::routes(cfg);
    grants::routes(cfg);
    providers::routes(cfg);
    exchange::routes(cfg);
    audit::routes(cfg);
    clients::routes(cfg);
    keys::routes(cfg);
    scopes::routes(cfg);
    users::routes(cfg);
}

/// The console's sections, in the order of the navigation.
pub const SECTIONS: &[(&str, &str)] = &[
    ("/resources", "MCP servers"),
    ("/scopes", "Scopes"),
    ("/clients", "Clients"),
    ("/users", "Users"),
    ("/grants", "Grants"),
    ("/providers", "Sign-in"),
    ("/exchange", "Token exchange"),
    ("/keys", "Keys"),
    ("/audit", "Audit log"),
];

/// What every console page shows around its content.
pub struct Chrome {
    pub base: String,
    pub csrf: String,
    pub username: String,
    /// The section the page belongs to (a `SECTIONS` path).
    pub section: &'static str,
    /// A one-line confirmation of what the last form did.
    pub notice: Option<String>,
}

impl Chrome {
    pub fn new(
        state: &AppState,
        admin: &Admin,
        section: &'static str,
        req: &HttpRequest,
    ) -> Chrome {
        Chrome {
            base: base(state),
            csrf: admin.csrf.clone(),
            username: admin.username.clone(),
            section,
            notice: notice(req),
        }
    }

    pub fn sections(&self) -> &'static [(&'static str, &'static str)] {
        SECTIONS
    }

    pub fn is_current(&self, path: &str) -> bool {
        self.section == path
    }
}

/// The notices a redirect after a form may name (`?done=…`): a closed set, so a link
/// cannot make the console say anything else.
const NOTICES: &[(&str, &str)] = &[
    ("created", "Created."),
    ("saved", "Saved."),
    ("deleted", "Deleted."),
    ("disabled", "Disabled."),
    ("enabled", "Enabled."),
    ("revoked", "Revoked."),
    ("checked", "Check finished; the results are below."),
    ("rotated", "Rotated."),
    ("unlinked", "Unlinked."),
    (
        "password",
        "New password set: their sessions ended and their grants were revoked.",
    ),
    (
        "password_kept",
        "New password set: their sessions ended; their grants were kept.",
    ),
];

fn notice(req: &HttpRequest) -> Option<String> {
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let done = params.get("done")?;
    NOTICES
        .iter()
        .find(|(k, _)| *k == done)
        .map(|(_, text)| (*text).to_owned())
}

/// A form's problem, shown beside its field: the service layer's own message.
#[derive(Debug, Default)]
pub struct FormError(Option<(Option<&'static str>, String)>);

impl FormError {
    pub fn none() -> FormError {
        FormError(None)
    }

    /// A problem with the form as a whole (a conflict, an expired form).
    pub fn conflict(message: impl Into<String>) -> FormError {
        FormError(Some((None, message.into())))
    }

    pub fn is_for(&self, field: &str) -> bool {
        matches!(&self.0, Some((Some(f), _)) if *f == field)
    }

    pub fn message(&self) -> Option<&str> {
        self.0.as_ref().map(|(_, m)| m.as_str())
    }

    /// The status to answer with: 422 for a field, 409 for a conflict.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            Some((Some(_), _)) => StatusCode::UNPROCESSABLE_ENTITY,
            Some((None, _)) => StatusCode::CONFLICT,
            None => StatusCode::OK,
        }
    }
}

/// What a failed service call becomes: a form to show again with its error, or a page.
pub enum Failure {
    Form(FormError),
    Page(HttpResponse),
}

/// Sorts a service-layer error: validation and conflicts go back to the form; a missing
/// entity is a 404 page; anything else is logged and a 503 page.
pub fn failure(state: &AppState, e: AdminError) -> Failure {
    match e {
        AdminError::Validation { field, message } => {
            Failure::Form(FormError(Some((Some(field), message))))
        }
        AdminError::Conflict(m) => Failure::Form(FormError(Some((None, m)))),
        AdminError::NotFound(m) => Failure::Page(not_found(state, &m)),
        AdminError::Internal(e) => Failure::Page(unavailable(state, e)),
    }
}

/// A service error where no form can show it: 409 as a page, the rest as `failure` says.
pub fn page_failure(state: &AppState, e: AdminError) -> HttpResponse {
    match failure(state, e) {
        Failure::Form(error) => refused(state, error.message().unwrap_or("Refused.")),
        Failure::Page(r) => r,
    }
}

/// 409: the change conflicts with what is stored; nothing was changed.
pub fn refused(state: &AppState, message: &str) -> HttpResponse {
    error_page(&base(state), StatusCode::CONFLICT, "Not done", message)
}

#[derive(Template)]
#[template(path = "admin/confirm.html")]
struct ConfirmPage<'a> {
    chrome: Chrome,
    title: &'a str,
    message: &'a str,
    /// Where the confirmed form posts, under `/admin`.
    action: &'a str,
    button: &'a str,
}

/// "Are you sure?" before a destructive form: says what it ends, posts to `action`.
pub fn confirm_page(
    _state: &AppState,
    chrome: Chrome,
    title: &str,
    message: &str,
    action: &str,
    button: &str,
) -> HttpResponse {
    render(
        StatusCode::OK,
        &ConfirmPage {
            chrome,
            title,
            message,
            action,
            button,
        },
    )
}

pub fn not_found(state: &AppState, message: &str) -> HttpResponse {
    error_page(&base(state), StatusCode::NOT_FOUND, "Not found", message)
}

/// After a form: back to `path` (under `/admin`) with a notice.
pub fn done(state: &AppState, path: &str, notice: &str) -> HttpResponse {
    see_other(&format!("{}/admin{path}?done={notice}", base(state)))
}

/// A form field as a list: one item per line or space (textareas of URIs, scopes).
pub fn list_field(params: &Params, name: &str) -> Vec<String> {
    params
        .get(name)
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// A console path that names no page: an HTML 404 (the API's JSON one is for `/admin/v1`).
pub async fn unknown_page(state: web::Data<AppState>) -> HttpResponse {
    not_found(&state, "There is no such page in the admin console.")
}

async fn home(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match admin_for_page(&state, &req).await {
        Ok(_) => see_other(&format!("{}/admin/resources", base(&state))),
        Err(response) => response,
    }
}
