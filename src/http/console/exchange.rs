//! Console: token exchange (RFC 8693) policy over `admin::exchange`: the external issuers
//! whose tokens Warden accepts as subject tokens, and per MCP server the downstream
//! servers it may exchange its tokens for (with scope mappings and the clients allowed to
//! impersonate), edited one link at a time.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    Action, Admin, Chrome, Failure, FormError, admin_for_action, admin_for_page, done, failure,
    list_field, page_failure,
};
use crate::admin::exchange::{self, Downstream, IssuerView, NewIssuer};
use crate::admin::resources;
use crate::admin::{AdminError, MAX_PAGE, PageQuery};
use crate::domain::{Resource, SubjectMode};
use crate::http::browser::form::BrowserPost;
use crate::http::pages::render;
use crate::oauth::external_token::ALLOWED_ALGS;
use crate::oauth::params::Params;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/exchange", web::get().to(overview))
        .route("/exchange/issuers", web::post().to(add_issuer))
        .route(
            "/exchange/issuers/{id}/remove",
            web::get().to(confirm_remove_issuer),
        )
        .route(
            "/exchange/issuers/{id}/remove",
            web::post().to(remove_issuer),
        )
        .route("/exchange/{id}", web::get().to(links))
        .route("/exchange/{id}/links", web::post().to(put_link))
        .route(
            "/exchange/{id}/links/{target}/remove",
            web::get().to(confirm_remove_link),
        )
        .route(
            "/exchange/{id}/links/{target}/remove",
            web::post().to(remove_link),
        );
}

const SECTION: &str = "/exchange";

/// The algorithms an issuer's form starts with (the API's default).
const DEFAULT_ALGS: [&str; 2] = ["ES256", "RS256"];

/// The checkbox of one algorithm: a field of its own, since a form may not repeat a name.
fn alg_field(alg: &str) -> String {
    format!("alg-{alg}")
}

/// The trusted-issuer form, as typed.
struct IssuerFields {
    issuer: String,
    jwks_uri: String,
    audience: String,
    algorithms: Vec<String>,
    subject: String,
}

impl Default for IssuerFields {
    fn default() -> IssuerFields {
        IssuerFields {
            issuer: String::new(),
            jwks_uri: String::new(),
            audience: String::new(),
            algorithms: DEFAULT_ALGS.iter().map(|a| (*a).to_owned()).collect(),
            subject: SubjectMode::Keep.as_str().to_owned(),
        }
    }
}

impl IssuerFields {
    fn of(params: &Params) -> IssuerFields {
        let get = |n: &str| params.get(n).unwrap_or("").trim().to_owned();
        IssuerFields {
            issuer: get("issuer"),
            jwks_uri: get("jwks_uri"),
            audience: get("audience"),
            algorithms: ALLOWED_ALGS
                .iter()
                .filter(|a| params.get(&alg_field(a)).is_some())
                .map(|a| (*a).to_owned())
                .collect(),
            subject: get("subject"),
        }
    }

    fn input(&self) -> NewIssuer {
        NewIssuer {
            issuer: self.issuer.clone(),
            jwks_uri: self.jwks_uri.clone(),
            audience: self.audience.clone(),
            algorithms: self.algorithms.clone(),
            subject: Some(self.subject.clone()).filter(|s| !s.is_empty()),
        }
    }
}

/// A resource and the links it has.
struct Source {
    resource: Resource,
    targets: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin/exchange.html")]
struct OverviewPage {
    chrome: Chrome,
    issuers: Vec<IssuerView>,
    fields: IssuerFields,
    error: FormError,
    sources: Vec<Source>,
}

impl OverviewPage {
    fn algorithms(&self) -> &'static [&'static str] {
        &ALLOWED_ALGS
    }

    fn subject_modes(&self) -> &'static [SubjectMode] {
        SubjectMode::VARIANTS
    }

    fn alg_field(&self, alg: &str) -> String {
        alg_field(alg)
    }

    fn has_alg(&self, alg: &str) -> bool {
        self.fields.algorithms.iter().any(|a| a == alg)
    }
}

/// Every registered MCP server but Warden's own (the admin API exchanges for nothing).
async fn servers(state: &AppState) -> Result<Vec<Resource>, AdminError> {
    let query = PageQuery {
        limit: Some(MAX_PAGE),
        after: None,
    };
    let page = resources::list(&state.store, &query).await?;
    Ok(page.items.into_iter().filter(|r| !r.builtin).collect())
}

async fn overview(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    overview_page(
        &state,
        &req,
        &admin,
        IssuerFields::default(),
        FormError::none(),
    )
    .await
}

async fn overview_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    fields: IssuerFields,
    error: FormError,
) -> HttpResponse {
    let issuers = match exchange::issuers(&state.store).await {
        Ok(i) => i,
        Err(e) => return page_failure(state, e),
    };
    let servers = match servers(state).await {
        Ok(s) => s,
        Err(e) => return page_failure(state, e),
    };
    let mut sources = Vec::new();
    for resource in servers {
        let targets = match exchange::downstreams(&state.store, &resource.id).await {
            Ok(l) => l.into_iter().map(|l| l.target).collect(),
            Err(e) => return page_failure(state, e),
        };
        sources.push(Source { resource, targets });
    }
    render(
        error.status(),
        &OverviewPage {
            chrome: Chrome::new(state, admin, SECTION, req),
            issuers,
            fields,
            error,
            sources,
        },
    )
}

async fn add_issuer(
    state: web::Data<AppState>,
    req: HttpRequest,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let fields = IssuerFields::of(&params);
    let (now, actor) = (state.clock.now(), admin.actor());
    match exchange::add_issuer(&state.store, fields.input(), now, &actor).await {
        Ok(_) => done(&state, "/exchange", "created"),
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => overview_page(&state, &req, &admin, fields, error).await,
            Failure::Page(r) => r,
        },
    }
}

async fn confirm_remove_issuer(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let issuer = match exchange::issuers(&state.store).await {
        Ok(i) => i.into_iter().find(|i| i.id == *id),
        Err(e) => return page_failure(&state, e),
    };
    let Some(issuer) = issuer else {
        return super::not_found(&state, &format!("no trusted issuer {id}"));
    };
    super::confirm_page(
        &state,
        Chrome::new(&state, &admin, SECTION, &req),
        &format!("Stop trusting {}?", issuer.issuer),
        &format!(
            "Its tokens are no longer accepted as subject tokens for {}. Tokens already \
             exchanged live until they expire.",
            issuer.audience
        ),
        &format!("/exchange/issuers/{}/remove", issuer.id),
        "Remove trusted issuer",
    )
}

async fn remove_issuer(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, _) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match exchange::remove_issuer(&state.store, &id, state.clock.now(), &admin.actor()).await {
        Ok(()) => done(&state, "/exchange", "deleted"),
        Err(e) => page_failure(&state, e),
    }
}

/// The link form, as typed.
#[derive(Default)]
struct LinkFields {
    target: String,
    /// One line per source scope: `source = target target`.
    scope_map: String,
    impersonation_clients: String,
}

impl LinkFields {
    fn of(params: &Params) -> LinkFields {
        let get = |n: &str| params.get(n).unwrap_or("").trim().to_owned();
        LinkFields {
            target: get("target"),
            scope_map: get("scope_map"),
            impersonation_clients: get("impersonation_clients"),
        }
    }

    fn from_link(link: &Downstream) -> LinkFields {
        LinkFields {
            target: link.target.clone(),
            scope_map: link
                .scope_map
                .iter()
                .map(|(from, to)| format!("{from} = {}", to.join(" ")))
                .collect::<Vec<_>>()
                .join("\n"),
            impersonation_clients: link.impersonation_clients.join(" "),
        }
    }

    fn link(&self, params: &Params) -> Result<Downstream, AdminError> {
        let mut scope_map = BTreeMap::new();
        for line in self.scope_map.lines().filter(|l| !l.trim().is_empty()) {
            let parsed = line.split_once('=').and_then(|(from, to)| {
                let from = from.trim();
                let to: Vec<String> = to.split_whitespace().map(str::to_owned).collect();
                let one_word = !from.is_empty() && !from.contains(char::is_whitespace);
                (one_word && !to.is_empty()).then(|| (from.to_owned(), to))
            });
            let Some((from, to)) = parsed else {
                return Err(AdminError::invalid(
                    "scope_map",
                    format!(
                        "{line:?}: each line is a source scope, '=', and the target scopes it may become"
                    ),
                ));
            };
            if scope_map.insert(from, to).is_some() {
                return Err(AdminError::invalid(
                    "scope_map",
                    format!("{line:?}: a source scope appears twice"),
                ));
            }
        }
        Ok(Downstream {
            target: self.target.clone(),
            scope_map,
            impersonation_clients: list_field(params, "impersonation_clients"),
        })
    }
}

/// A link as its row shows it, with the target's id for the remove button.
struct LinkRow {
    link: Downstream,
    target_id: String,
}

impl LinkRow {
    /// The query string that opens this link in the form.
    fn edit_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("edit", &self.link.target)
            .finish()
    }

    fn mapping(&self) -> String {
        self.link
            .scope_map
            .iter()
            .map(|(from, to)| format!("{from} → {}", to.join(" ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Template)]
#[template(path = "admin/exchange_links.html")]
struct LinksPage {
    chrome: Chrome,
    source: Resource,
    rows: Vec<LinkRow>,
    /// What the target select offers: every other MCP server.
    targets: Vec<Resource>,
    fields: LinkFields,
    /// Whether the form edits an existing link (its target stays).
    editing: bool,
    error: FormError,
}

async fn links(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let edit = params.get("edit").map(str::to_owned);
    links_page(&state, &req, &admin, &id, edit, None, FormError::none()).await
}

/// The links of resource `id`; the form edits the link to `edit` (a target uri), or shows
/// `fields` as typed.
async fn links_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    id: &str,
    edit: Option<String>,
    fields: Option<LinkFields>,
    error: FormError,
) -> HttpResponse {
    let source = match resources::get(&state.store, id).await {
        Ok(r) => r,
        Err(e) => return page_failure(state, e),
    };
    let current = match exchange::downstreams(&state.store, id).await {
        Ok(l) => l,
        Err(e) => return page_failure(state, e),
    };
    let servers = match servers(state).await {
        Ok(s) => s,
        Err(e) => return page_failure(state, e),
    };
    let editing = edit.and_then(|t| current.iter().find(|l| l.target == t));
    let fields = match (fields, editing) {
        (Some(f), _) => f,
        (None, Some(link)) => LinkFields::from_link(link),
        (None, None) => LinkFields::default(),
    };
    let editing = editing.is_some();
    let rows = current
        .into_iter()
        .map(|link| LinkRow {
            target_id: servers
                .iter()
                .find(|s| s.uri == link.target)
                .map(|s| s.id.clone())
                .unwrap_or_default(),
            link,
        })
        .collect();
    let targets = servers.into_iter().filter(|s| s.id != source.id).collect();
    render(
        error.status(),
        &LinksPage {
            chrome: Chrome::new(state, admin, SECTION, req),
            source,
            rows,
            targets,
            fields,
            editing,
            error,
        },
    )
}

async fn put_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let fields = LinkFields::of(&params);
    let editing = params.get("editing").is_some();
    let (now, actor) = (state.clock.now(), admin.actor());
    let saved = match fields.link(&params) {
        Ok(link) => exchange::put_downstream(&state.store, &id, link, now, &actor).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => done(&state, &format!("/exchange/{id}"), "saved"),
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => {
                let edit = editing.then(|| fields.target.clone());
                links_page(&state, &req, &admin, &id, edit, Some(fields), error).await
            }
            Failure::Page(r) => r,
        },
    }
}

async fn confirm_remove_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (id, target) = path.into_inner();
    let (source, target) = match (
        resources::get(&state.store, &id).await,
        resources::get(&state.store, &target).await,
    ) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(e), _) | (_, Err(e)) => return page_failure(&state, e),
    };
    super::confirm_page(
        &state,
        Chrome::new(&state, &admin, SECTION, &req),
        &format!("Remove the link to {}?", target.name),
        &format!(
            "{} ({}) can no longer exchange its tokens for {} ({}). Tokens already exchanged \
             live until they expire.",
            source.name, source.uri, target.name, target.uri
        ),
        &format!("/exchange/{}/links/{}/remove", source.id, target.id),
        "Remove link",
    )
}

async fn remove_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, _) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (id, target) = path.into_inner();
    let (now, actor) = (state.clock.now(), admin.actor());
    match exchange::remove_downstream(&state.store, &id, &target, now, &actor).await {
        Ok(_) => done(&state, &format!("/exchange/{id}"), "deleted"),
        Err(e) => page_failure(&state, e),
    }
}
