//! Console: local user accounts. List, add (optionally as an admin), and per user: enable
//! or disable, reset the password (ends their sessions and, unless kept, revokes their
//! grants), make or remove admin, their linked upstream identities (unlink), the access
//! they have given (revoke), delete. Every rule, including "the last enabled admin stays",
//! is `admin::users`'s, shared with the API and the CLI.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    Action, Admin, Chrome, Failure, FormError, admin_for_action, admin_for_page, done, failure,
    page_failure,
};
use crate::admin::grants::{self, GrantListing, GrantQuery};
use crate::admin::users::{self, NewUser, UserChanges, UserView};
use crate::admin::{AdminError, MAX_PAGE, Page, PageQuery, upstream};
use crate::domain::Role;
use crate::http::browser::form::BrowserPost;
use crate::http::pages::{human_time, render};
use crate::oauth::params::Params;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/new", web::get().to(new))
        .route("/users/{id}", web::get().to(show))
        .route("/users/{id}/password", web::post().to(password))
        .route("/users/{id}/role", web::post().to(role))
        .route("/users/{id}/disable", web::post().to(disable))
        .route("/users/{id}/enable", web::post().to(enable))
        .route("/users/{id}/unlink", web::post().to(unlink))
        .route("/users/{id}/grants/{grant}/revoke", web::post().to(revoke))
        .route("/users/{id}/delete", web::get().to(confirm_delete))
        .route("/users/{id}/delete", web::post().to(delete));
}

const SECTION: &str = "/users";

#[derive(Template)]
#[template(path = "admin/users.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<UserView>,
    next: Option<String>,
}

impl ListPage {
    fn is_admin(&self, u: &UserView) -> bool {
        u.role == Role::Admin
    }

    fn created(&self, u: &UserView) -> String {
        human_time(u.created_at)
    }
}

/// The add form's values, as typed (the password is never sent back).
#[derive(Default)]
struct Fields {
    username: String,
    admin: bool,
}

#[derive(Template)]
#[template(path = "admin/user_new.html")]
struct NewPage {
    chrome: Chrome,
    fields: Fields,
    error: FormError,
}

/// A linked upstream identity, as the page shows it.
struct IdentityLine {
    provider: String,
    subject: String,
    email: String,
    last_used: String,
}

/// A live grant the user gave, as the page shows it.
struct GrantLine {
    id: String,
    client_name: String,
    resource: String,
    scopes: Vec<String>,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct DetailPage {
    chrome: Chrome,
    user: UserView,
    /// The admin looking at their own account.
    is_self: bool,
    identities: Vec<IdentityLine>,
    grants: Vec<GrantLine>,
    error: FormError,
    /// The reset form's checkbox, as last sent.
    keep_grants: bool,
}

impl DetailPage {
    fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    fn created(&self) -> String {
        human_time(self.user.created_at)
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
    match users::list(&state.store, &query).await {
        Ok(page) => render(
            StatusCode::OK,
            &ListPage {
                chrome: Chrome::new(&state, &admin, SECTION, &req),
                next: page.next,
                rows: page.items.into_iter().map(UserView::from).collect(),
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
    render(
        StatusCode::OK,
        &NewPage {
            chrome: Chrome::new(&state, &admin, SECTION, &req),
            fields: Fields::default(),
            error: FormError::none(),
        },
    )
}

async fn create(state: web::Data<AppState>, req: HttpRequest, post: BrowserPost) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let fields = Fields {
        username: params.get("username").unwrap_or("").trim().to_owned(),
        admin: params.get("admin").is_some(),
    };
    let input = NewUser {
        username: fields.username.clone(),
        password: params.get("password").unwrap_or("").to_owned(),
        role: if fields.admin {
            Role::Admin
        } else {
            Role::None
        },
    };
    let now = state.clock.now();
    match users::create(&state.store, input, now, &admin.actor()).await {
        Ok(u) => done(&state, &format!("/users/{}", u.id), "created"),
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => render(
                error.status(),
                &NewPage {
                    chrome: Chrome::new(&state, &admin, SECTION, &req),
                    fields,
                    error,
                },
            ),
            Failure::Page(r) => r,
        },
    }
}

async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    detail(&state, &req, &admin, &id, FormError::none(), false).await
}

/// The user's page, with `error` from the form that came back (and its checkbox).
async fn detail(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    id: &str,
    error: FormError,
    keep_grants: bool,
) -> HttpResponse {
    let user = match users::get(&state.store, id).await {
        Ok(u) => UserView::from(u),
        Err(e) => return page_failure(state, e),
    };
    let identities = match upstream::identities(&state.store, &user.id).await {
        Ok(rows) => rows
            .into_iter()
            .map(|i| IdentityLine {
                provider: i.provider_id,
                subject: i.subject,
                email: i.email.unwrap_or_default(),
                last_used: human_time(i.last_login_at),
            })
            .collect(),
        Err(e) => return page_failure(state, e),
    };
    let grants = match live_grants(state, &user.id).await {
        Ok(page) => page
            .items
            .into_iter()
            .map(|g| GrantLine {
                id: g.id,
                client_name: g.client_name,
                resource: g.resource_name.unwrap_or(g.resource),
                scopes: g.scope,
                created: human_time(g.created_at),
                last_used: g
                    .last_used_at
                    .map(human_time)
                    .unwrap_or_else(|| "never".into()),
            })
            .collect(),
        Err(e) => return page_failure(state, e),
    };
    render(
        error.status(),
        &DetailPage {
            chrome: Chrome::new(state, admin, SECTION, req),
            is_self: user.id == admin.user_id,
            user,
            identities,
            grants,
            error,
            keep_grants,
        },
    )
}

/// The live grants the user gave, newest first: one page of the Grants listing (the
/// Grants page, linked from here, has the rest and "revoke all").
async fn live_grants(state: &AppState, user_id: &str) -> Result<Page<GrantListing>, AdminError> {
    let query = GrantQuery {
        user: Some(user_id.to_owned()),
        limit: Some(MAX_PAGE),
        ..Default::default()
    };
    grants::list(&state.store, &query).await
}

/// After a change on the user's page: back to it with `notice`, or the page with the
/// service's error (422 beside its field, 409 at the top), or a 404.
async fn answer(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    id: &str,
    result: Result<(), AdminError>,
    notice: &str,
    keep_grants: bool,
) -> HttpResponse {
    match result {
        Ok(()) => done(state, &format!("/users/{id}"), notice),
        Err(e) => match failure(state, e) {
            Failure::Form(error) => detail(state, req, admin, id, error, keep_grants).await,
            Failure::Page(r) => r,
        },
    }
}

async fn change(
    state: &AppState,
    admin: &Admin,
    id: &str,
    changes: UserChanges,
) -> Result<(), AdminError> {
    let now = state.clock.now();
    users::update(&state.store, id, changes, now, &admin.actor())
        .await
        .map(|_| ())
}

async fn password(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let keep_grants = params.get("keep_grants").is_some();
    let changes = UserChanges {
        password: Some(params.get("password").unwrap_or("").to_owned()),
        keep_grants: Some(keep_grants),
        ..Default::default()
    };
    let result = change(&state, &admin, &id, changes).await;
    let notice = if keep_grants {
        "password_kept"
    } else {
        "password"
    };
    answer(&state, &req, &admin, &id, result, notice, keep_grants).await
}

async fn role(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = match params.get("role").unwrap_or("").parse::<Role>() {
        Ok(role) => {
            let changes = UserChanges {
                role: Some(role),
                ..Default::default()
            };
            change(&state, &admin, &id, changes).await
        }
        Err(_) => Err(AdminError::invalid("role", "must be admin or none")),
    };
    answer(&state, &req, &admin, &id, result, "saved", false).await
}

async fn set_disabled(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    post: BrowserPost,
    disabled: bool,
) -> HttpResponse {
    let action = if disabled {
        Action::Destructive
    } else {
        Action::Change
    };
    let (admin, _) = match admin_for_action(state, req, post, action).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let changes = UserChanges {
        disabled: Some(disabled),
        ..Default::default()
    };
    let result = change(state, &admin, id, changes).await;
    let notice = if disabled { "disabled" } else { "enabled" };
    answer(state, req, &admin, id, result, notice, false).await
}

async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    set_disabled(&state, &req, &id, post, true).await
}

async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    set_disabled(&state, &req, &id, post, false).await
}

async fn unlink(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let provider = params.get("provider").unwrap_or("");
    let subject = params.get("subject").unwrap_or("");
    let now = state.clock.now();
    let result = upstream::unlink(&state.store, &id, provider, subject, now, &admin.actor()).await;
    answer(&state, &req, &admin, &id, result, "unlinked", false).await
}

async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    post: BrowserPost,
) -> HttpResponse {
    let (id, grant) = path.into_inner();
    let (admin, _) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let now = state.clock.now();
    let result = grants::revoke(&state.store, &grant, now, &admin.actor())
        .await
        .map(|_| ());
    answer(&state, &req, &admin, &id, result, "revoked", false).await
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
    let user = match users::get(&state.store, &id).await {
        Ok(u) => u,
        Err(e) => return page_failure(&state, e),
    };
    let grants = match live_grants(&state, &user.id).await {
        Ok(page) => (page.items.len(), page.next.is_some()),
        Err(e) => return page_failure(&state, e),
    };
    let consequence = match grants {
        (0, _) => "They have given no application access.".to_owned(),
        (1, false) => {
            "This revokes the 1 access they gave: its tokens stop working at once.".to_owned()
        }
        (n, more) => format!(
            "This revokes the {}{n} accesses they gave: their tokens stop working at once.",
            if more { "more than " } else { "" }
        ),
    };
    super::confirm_page(
        &state,
        Chrome::new(&state, &admin, SECTION, &req),
        &format!("Delete {}?", user.username),
        &format!(
            "The account {} is deleted and its sessions end. {consequence}",
            user.username
        ),
        &format!("/users/{}/delete", user.id),
        "Delete user",
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
    match users::delete(&state.store, &id, now, &admin.actor()).await {
        Ok(()) => done(&state, "/users", "deleted"),
        // The last admin: their page again, with the reason.
        Err(e) => answer(&state, &req, &admin, &id, Err(e), "deleted", false).await,
    }
}
