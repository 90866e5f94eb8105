//! Console: grants. Who has access to which MCP server with which scopes, since when, last
//! used; revoke one, or every live grant of a user, a client or an MCP server
//! (`admin::grants`, as the API and `warden grant` do).

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    Action, Chrome, Failure, FormError, admin_for_action, admin_for_page, done, failure,
    page_failure,
};
use crate::admin::grants::{self, GrantListing, GrantQuery, RevokeAll};
use crate::admin::{AdminError, users};
use crate::http::browser::form::BrowserPost;
use crate::http::pages::{human_time, render};
use crate::oauth::params::Params;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/grants", web::get().to(list))
        .route("/grants/revoke", web::post().to(revoke_all))
        .route("/grants/{id}/revoke", web::post().to(revoke));
}

const SECTION: &str = "/grants";

/// The filter form as typed: a user by name (or id), a client id, a resource URI.
#[derive(Default)]
struct Filters {
    user: String,
    client: String,
    resource: String,
    status: String,
}

impl Filters {
    fn of(params: &Params) -> Filters {
        let get = |n: &str| params.get(n).unwrap_or("").trim().to_owned();
        Filters {
            user: get("user"),
            client: get("client"),
            resource: get("resource"),
            status: get("status"),
        }
    }

    /// The one holder named, for "revoke all": only when exactly one filter is set.
    fn single_holder(&self) -> Option<(Holder, &str)> {
        let named: Vec<(Holder, &str)> = [
            (Holder::User, self.user.as_str()),
            (Holder::Client, self.client.as_str()),
            (Holder::Resource, self.resource.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        match named.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

/// Whose grants "revoke all" ends.
#[derive(Clone, Copy)]
enum Holder {
    User,
    Client,
    Resource,
}

impl Holder {
    /// The form field that names it.
    fn field(self) -> &'static str {
        match self {
            Holder::User => "user",
            Holder::Client => "client",
            Holder::Resource => "resource",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Holder::User => "user",
            Holder::Client => "client",
            Holder::Resource => "MCP server",
        }
    }
}

struct Row {
    id: String,
    who: String,
    client_name: String,
    client_id: String,
    resource: String,
    resource_name: String,
    scopes: Vec<String>,
    kind: &'static str,
    since: String,
    last_used: String,
    live: bool,
}

impl Row {
    fn of(g: GrantListing) -> Row {
        Row {
            who: g
                .username
                .unwrap_or_else(|| format!("{} (itself)", g.client_id)),
            client_name: g.client_name,
            client_id: g.client_id,
            resource_name: g.resource_name.unwrap_or_else(|| g.resource.clone()),
            resource: g.resource,
            scopes: g.scope,
            kind: g.kind.as_str(),
            since: human_time(g.created_at),
            last_used: g
                .last_used_at
                .map(human_time)
                .unwrap_or_else(|| "never".into()),
            live: g.revoked_at.is_none(),
            id: g.id,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/grants.html")]
struct GrantsPage {
    chrome: Chrome,
    filters: Filters,
    error: FormError,
    rows: Vec<Row>,
    next: Option<String>,
    /// The query string of the current filters, for the next page's link.
    query: String,
}

impl GrantsPage {
    fn holder(&self) -> Option<(Holder, &str)> {
        self.filters.single_holder()
    }

    fn live_count(&self) -> usize {
        self.rows.iter().filter(|r| r.live).count()
    }
}

/// The user filter as the service wants it: an id, from a username or an id.
async fn user_id(state: &AppState, user: &str) -> Result<Option<String>, AdminError> {
    if user.is_empty() {
        return Ok(None);
    }
    match users::get(&state.store, user).await {
        Ok(u) => Ok(Some(u.id)),
        Err(AdminError::NotFound(_)) => Err(AdminError::invalid("user", "no such user")),
        Err(e) => Err(e),
    }
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let filters = Filters::of(&params);
    let mut query_string = url::form_urlencoded::Serializer::new(String::new());
    for (n, v) in [
        ("user", &filters.user),
        ("client", &filters.client),
        ("resource", &filters.resource),
        ("status", &filters.status),
    ] {
        if !v.is_empty() {
            query_string.append_pair(n, v);
        }
    }
    let listed = match user_id(&state, &filters.user).await {
        Ok(user) => {
            let query = GrantQuery {
                user,
                client: Some(filters.client.clone()),
                resource: Some(filters.resource.clone()),
                status: Some(filters.status.clone()),
                limit: Some(100),
                after: params.get("after").map(str::to_owned),
            };
            grants::list(&state.store, &query).await
        }
        Err(e) => Err(e),
    };
    let chrome = Chrome::new(&state, &admin, SECTION, &req);
    let (rows, next, error) = match listed {
        Ok(page) => (
            page.items.into_iter().map(Row::of).collect(),
            page.next,
            FormError::none(),
        ),
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => (Vec::new(), None, error),
            Failure::Page(r) => return r,
        },
    };
    let status = error.status();
    render(
        status,
        &GrantsPage {
            chrome,
            filters,
            error,
            rows,
            next,
            query: query_string.finish(),
        },
    )
}

async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, _) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match grants::revoke(&state.store, &id, state.clock.now(), &admin.actor()).await {
        Ok(_) => done(&state, SECTION, "revoked"),
        Err(e) => page_failure(&state, e),
    }
}

async fn revoke_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let filters = Filters::of(&params);
    let user = match user_id(&state, &filters.user).await {
        Ok(u) => u,
        Err(e) => return page_failure(&state, e),
    };
    let target = RevokeAll {
        user,
        client: Some(filters.client).filter(|c| !c.is_empty()),
        resource: Some(filters.resource).filter(|r| !r.is_empty()),
    };
    match grants::revoke_all(&state.store, &target, state.clock.now(), &admin.actor()).await {
        Ok(_) => done(&state, SECTION, "revoked"),
        Err(e) => page_failure(&state, e),
    }
}
