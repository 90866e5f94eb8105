//! Console: sign-in providers (upstream OpenID Connect and OAuth 2.0 servers,
//! `admin::upstream`) and, on the same page, the trust policies of the domains that host
//! client metadata documents (`admin::domains`). A provider's client secret goes in and
//! never comes back: the edit form's secret field is always empty, and left empty it keeps
//! the stored secret (the API's PUT without `client_secret`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{
    Action, Admin, Chrome, Failure, FormError, admin_for_action, admin_for_page, done, failure,
    page_failure,
};
use crate::admin::AdminError;
use crate::admin::domains;
use crate::admin::upstream::{
    self, AUTH_METHODS, FIRST_LOGIN_RULES, KINDS, ProviderInput, ProviderView,
};
use crate::domain::{AuthMethod, OnFirstLogin, ProviderKind};
use crate::http::browser::form::BrowserPost;
use crate::http::pages::render;
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::store::registration::DomainPolicy;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/providers", web::get().to(list))
        .route("/providers", web::post().to(create))
        .route("/providers/new", web::get().to(new))
        .route("/providers/{id}", web::get().to(show))
        .route("/providers/{id}", web::post().to(update))
        .route("/providers/{id}/disable", web::post().to(disable))
        .route("/providers/{id}/enable", web::post().to(enable))
        .route("/providers/{id}/delete", web::get().to(confirm_delete))
        .route("/providers/{id}/delete", web::post().to(delete))
        .route("/metadata-domains", web::post().to(set_domain))
        .route(
            "/metadata-domains/{domain}/forget",
            web::get().to(confirm_forget),
        )
        .route("/metadata-domains/{domain}/forget", web::post().to(forget));
}

const SECTION: &str = "/providers";

#[derive(Template)]
#[template(path = "admin/providers.html")]
struct ListPage {
    chrome: Chrome,
    providers: Vec<ProviderView>,
    domains: Vec<DomainPolicy>,
    /// The metadata-domain form, as typed, and its error.
    domain: String,
    policy: String,
    error: FormError,
}

impl ListPage {
    fn policies(&self) -> &'static [&'static str] {
        &domains::POLICIES
    }

    fn is_policy(&self, p: &str) -> bool {
        self.policy == p
    }
}

/// The provider form's values, as typed (kept when the form comes back with an error).
/// There is no secret here: what was typed into the secret field is never shown again.
#[derive(Default)]
struct Fields {
    id: String,
    kind: String,
    display_name: String,
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    client_id: String,
    token_auth_method: String,
    scopes: String,
    subject_claim: String,
    email_claim: String,
    name_claim: String,
    trust_email: bool,
    allowed_domains: String,
    on_first_login: String,
}

impl Fields {
    fn of(params: &Params) -> Fields {
        let get = |n: &str| params.get(n).unwrap_or("").trim().to_owned();
        Fields {
            id: get("id"),
            kind: get("kind"),
            display_name: get("display_name"),
            issuer: get("issuer"),
            authorization_endpoint: get("authorization_endpoint"),
            token_endpoint: get("token_endpoint"),
            userinfo_endpoint: get("userinfo_endpoint"),
            client_id: get("client_id"),
            token_auth_method: get("token_auth_method"),
            scopes: get("scopes"),
            subject_claim: get("subject_claim"),
            email_claim: get("email_claim"),
            name_claim: get("name_claim"),
            trust_email: params.get("trust_email").is_some(),
            allowed_domains: get("allowed_domains"),
            on_first_login: get("on_first_login"),
        }
    }

    fn from_view(p: &ProviderView) -> Fields {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Fields {
            id: p.id.clone(),
            kind: p.kind.as_str().to_owned(),
            display_name: p.display_name.clone(),
            issuer: text(&p.issuer),
            authorization_endpoint: text(&p.authorization_endpoint),
            token_endpoint: text(&p.token_endpoint),
            userinfo_endpoint: text(&p.userinfo_endpoint),
            client_id: p.client_id.clone(),
            token_auth_method: p.token_auth_method.as_str().to_owned(),
            scopes: p.scopes.clone(),
            subject_claim: p.subject_claim.clone(),
            email_claim: p.email_claim.clone(),
            name_claim: p.name_claim.clone(),
            trust_email: p.trust_email,
            allowed_domains: p.allowed_domains.join(" "),
            on_first_login: p.on_first_login.as_str().to_owned(),
        }
    }

    /// The API's input: an empty field is an absent member (the service's default; for
    /// the secret on an edit, the stored one).
    fn input(&self, params: &Params, id: String, enabled: bool) -> ProviderInput {
        let opt = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
        ProviderInput {
            id,
            kind: self.kind.clone(),
            display_name: self.display_name.clone(),
            issuer: opt(&self.issuer),
            authorization_endpoint: opt(&self.authorization_endpoint),
            token_endpoint: opt(&self.token_endpoint),
            userinfo_endpoint: opt(&self.userinfo_endpoint),
            client_id: self.client_id.clone(),
            client_secret: params
                .get("client_secret")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            token_auth_method: opt(&self.token_auth_method),
            scopes: opt(&self.scopes),
            subject_claim: opt(&self.subject_claim),
            email_claim: opt(&self.email_claim),
            name_claim: opt(&self.name_claim),
            trust_email: self.trust_email,
            allowed_domains: self
                .allowed_domains
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            on_first_login: opt(&self.on_first_login),
            enabled,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/provider.html")]
struct DetailPage {
    chrome: Chrome,
    /// `None` on the form that adds one.
    provider: Option<ProviderView>,
    fields: Fields,
    error: FormError,
    /// Where providers send browsers back, before the id is known (`{id}` in it).
    redirect_pattern: String,
}

impl DetailPage {
    fn kinds(&self) -> &'static [ProviderKind] {
        &KINDS
    }

    fn kind_label(&self, k: &ProviderKind) -> &'static str {
        match k {
            ProviderKind::Oidc => "OpenID Connect",
            ProviderKind::Oauth2 => "OAuth 2.0",
        }
    }

    fn auth_methods(&self) -> &'static [AuthMethod] {
        &AUTH_METHODS
    }

    fn first_login_rules(&self) -> &'static [OnFirstLogin] {
        &FIRST_LOGIN_RULES
    }

    /// A select's current value: what was typed, or the service's default.
    fn is_kind(&self, k: &ProviderKind) -> bool {
        self.fields.kind == k.as_str()
    }

    fn is_auth_method(&self, m: &AuthMethod) -> bool {
        match self.fields.token_auth_method.as_str() {
            "" => *m == AuthMethod::ClientSecretBasic,
            typed => typed == m.as_str(),
        }
    }

    fn is_first_login(&self, r: &OnFirstLogin) -> bool {
        match self.fields.on_first_login.as_str() {
            "" => *r == OnFirstLogin::Create,
            typed => typed == r.as_str(),
        }
    }
}

fn detail(
    state: &AppState,
    chrome: Chrome,
    provider: Option<ProviderView>,
    fields: Option<Fields>,
    error: FormError,
) -> DetailPage {
    let fields =
        fields.unwrap_or_else(|| provider.as_ref().map(Fields::from_view).unwrap_or_default());
    DetailPage {
        chrome,
        provider,
        fields,
        error,
        redirect_pattern: state
            .settings
            .issuer
            .endpoint("/login/upstream/{id}/callback"),
    }
}

fn view(state: &AppState, p: crate::domain::Provider) -> ProviderView {
    ProviderView::new(p, &state.settings.issuer)
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    list_page(
        &state,
        &req,
        &admin,
        String::new(),
        domains::POLICIES[0].to_owned(),
        FormError::none(),
    )
    .await
}

/// The list page, with the metadata-domain form as given.
async fn list_page(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    domain: String,
    policy: String,
    error: FormError,
) -> HttpResponse {
    let providers = match upstream::list(&state.store).await {
        Ok(p) => p.into_iter().map(|p| view(state, p)).collect(),
        Err(e) => return page_failure(state, e),
    };
    let domains = match domains::list(&state.store).await {
        Ok(d) => d,
        Err(e) => return page_failure(state, e),
    };
    render(
        error.status(),
        &ListPage {
            chrome: Chrome::new(state, admin, SECTION, req),
            providers,
            domains,
            domain,
            policy,
            error,
        },
    )
}

async fn new(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let chrome = Chrome::new(&state, &admin, SECTION, &req);
    let fields = Fields {
        kind: ProviderKind::Oidc.as_str().to_owned(),
        ..Default::default()
    };
    render(
        StatusCode::OK,
        &detail(&state, chrome, None, Some(fields), FormError::none()),
    )
}

async fn show(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match upstream::get(&state.store, &id).await {
        Ok(p) => {
            let chrome = Chrome::new(&state, &admin, SECTION, &req);
            let page = detail(
                &state,
                chrome,
                Some(view(&state, p)),
                None,
                FormError::none(),
            );
            render(StatusCode::OK, &page)
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
    let input = fields.input(&params, fields.id.clone(), true);
    let (now, actor) = (state.clock.now(), admin.actor());
    match upstream::create(&state.store, &state.master_key, input, now, &actor).await {
        Ok(p) => done(&state, &format!("/providers/{}", p.id), "created"),
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
    let current = match upstream::get(&state.store, &id).await {
        Ok(p) => view(&state, p),
        Err(e) => return page_failure(&state, e),
    };
    let mut fields = Fields::of(&params);
    // The id is the path's; enabling and disabling have their own buttons.
    fields.id = current.id.clone();
    let input = fields.input(&params, current.id.clone(), current.enabled);
    let (now, actor) = (state.clock.now(), admin.actor());
    match upstream::replace(&state.store, &state.master_key, &id, input, now, &actor).await {
        Ok(p) => done(&state, &format!("/providers/{}", p.id), "saved"),
        Err(e) => form_again(&state, &req, &admin, Some(current), fields, e),
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
    let (now, actor) = (state.clock.now(), admin.actor());
    match upstream::set_enabled(&state.store, id, enabled, now, &actor).await {
        Ok(_) => done(
            state,
            &format!("/providers/{id}"),
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
    let p = match upstream::get(&state.store, &id).await {
        Ok(p) => p,
        Err(e) => return page_failure(&state, e),
    };
    super::confirm_page(
        &state,
        Chrome::new(&state, &admin, SECTION, &req),
        &format!("Delete {}?", p.display_name),
        &format!(
            "{} ({}). Every account linked through it is unlinked: the users stay, but can \
             no longer sign in with {}.",
            p.display_name, p.id, p.display_name
        ),
        &format!("/providers/{}/delete", p.id),
        "Delete sign-in provider",
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
    match upstream::delete(&state.store, &id, state.clock.now(), &admin.actor()).await {
        Ok(()) => done(&state, "/providers", "deleted"),
        Err(e) => page_failure(&state, e),
    }
}

async fn set_domain(
    state: web::Data<AppState>,
    req: HttpRequest,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, params) = match admin_for_action(&state, &req, post, Action::Change).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let domain = params.get("domain").unwrap_or("").trim().to_owned();
    let policy = params.get("policy").unwrap_or("").trim().to_owned();
    let (now, actor) = (state.clock.now(), admin.actor());
    match domains::set(&state.store, &domain, &policy, now, &actor).await {
        Ok(_) => done(&state, "/providers", "saved"),
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => list_page(&state, &req, &admin, domain, policy, error).await,
            Failure::Page(r) => r,
        },
    }
}

async fn confirm_forget(
    state: web::Data<AppState>,
    req: HttpRequest,
    domain: web::Path<String>,
) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let entry = match domains::list(&state.store).await {
        Ok(d) => d.into_iter().find(|d| d.domain == *domain),
        Err(e) => return page_failure(&state, e),
    };
    let Some(entry) = entry else {
        return super::not_found(&state, &format!("no policy for {domain}"));
    };
    let consequence = if entry.policy == "blocked" {
        "Its clients may register and ask for consent again."
    } else {
        "The consent screen warns about its clients again."
    };
    super::confirm_page(
        &state,
        Chrome::new(&state, &admin, SECTION, &req),
        &format!("Forget the policy for {}?", entry.domain),
        &format!("{} is {} now. {consequence}", entry.domain, entry.policy),
        &format!("/metadata-domains/{}/forget", entry.domain),
        "Forget policy",
    )
}

async fn forget(
    state: web::Data<AppState>,
    req: HttpRequest,
    domain: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let (admin, _) = match admin_for_action(&state, &req, post, Action::Destructive).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match domains::forget(&state.store, &domain, state.clock.now(), &admin.actor()).await {
        Ok(()) => done(&state, "/providers", "deleted"),
        Err(AdminError::Validation { message, .. }) => super::not_found(&state, &message),
        Err(e) => page_failure(&state, e),
    }
}

/// The form again, with what was typed and the error beside its field.
fn form_again(
    state: &AppState,
    req: &HttpRequest,
    admin: &Admin,
    provider: Option<ProviderView>,
    fields: Fields,
    e: AdminError,
) -> HttpResponse {
    match failure(state, e) {
        Failure::Form(error) => {
            let chrome = Chrome::new(state, admin, SECTION, req);
            let status = error.status();
            render(
                status,
                &detail(state, chrome, provider, Some(fields), error),
            )
        }
        Failure::Page(r) => r,
    }
}
