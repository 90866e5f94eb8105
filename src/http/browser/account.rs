//! GET /account and POST /account/grants/{id}/revoke: the applications a user has
//! authorized, and taking that back.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::form::{BrowserPost, Caller};
use super::{base, current_session, form_expired, see_other, unavailable};
use crate::domain::{Actor, AuditEvent, AuditKind};
use crate::http::pages::{AccountPage, GrantLine, IdentityLine, error_page, human_time, render};
use crate::oauth::params::Params;
use crate::oauth::scope::ScopeSet;
use crate::state::AppState;

pub async fn get_account(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let session = match current_session(&state, &req).await {
        Ok(Some((_, s))) => s,
        Ok(None) => return see_other(&format!("{}/login", base(&state))),
        Err(e) => return unavailable(&state, e),
    };
    let grants = match state.store.user_grants(&session.user_id).await {
        Ok(g) => g,
        Err(e) => return unavailable(&state, e.into()),
    };
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let notice = (params.get("notice") == Some("revoked"))
        .then(|| "Access revoked. The application can no longer use it.".to_owned());
    let grants = grants
        .into_iter()
        .map(|g| GrantLine {
            id: g.id,
            client_name: g.client_name,
            resource_name: g.resource_name.unwrap_or_else(|| g.resource.clone()),
            resource_uri: g.resource,
            scopes: ScopeSet::from_stored(&g.scope)
                .iter()
                .map(str::to_owned)
                .collect(),
            created: human_time(g.created_at),
            last_used: g
                .last_used_at
                .map(human_time)
                .unwrap_or_else(|| "never".into()),
        })
        .collect();
    let identities = match state.store.identities_of(&session.user_id).await {
        Ok(rows) => rows
            .into_iter()
            .map(|i| IdentityLine {
                provider: i.provider_id,
                email: i.email,
                last_used: human_time(i.last_login_at),
            })
            .collect(),
        Err(e) => return unavailable(&state, e.into()),
    };
    let providers = super::login::enabled_providers(&state).await;
    render(
        StatusCode::OK,
        &AccountPage {
            identities,
            providers,
            base: base(&state),
            csrf: session.csrf,
            username: session.username,
            grants,
            notice,
        },
    )
}

pub async fn post_revoke(
    state: web::Data<AppState>,
    id: web::Path<String>,
    post: BrowserPost,
) -> HttpResponse {
    let session = match post.session {
        Ok(Caller::SignedIn { user, .. }) => user,
        Ok(Caller::Anonymous) => return see_other(&format!("{}/login", base(&state))),
        Ok(Caller::Forged) => return form_expired(&state),
        Err(e) => return unavailable(&state, e),
    };
    let now = state.clock.now();
    let event = AuditEvent::new(AuditKind::GrantRevoked, Actor::user(&session.user_id), now)
        .details(serde_json::json!({ "via": "account page" }));
    match state
        .store
        .revoke_user_grant(&id, &session.user_id, now, event)
        .await
    {
        Ok(true) => {
            crate::measure::grants_revoked(crate::measure::Revocation::User, 1);
            see_other(&format!("{}/account?notice=revoked", base(&state)))
        }
        Ok(false) => error_page(
            &base(&state),
            StatusCode::NOT_FOUND,
            "Nothing to revoke",
            "That access was already revoked or is not yours.",
        ),
        Err(e) => unavailable(&state, e.into()),
    }
}
