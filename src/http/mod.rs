//! The HTTP layer: actix routes, extractors and response mapping. No SQL, no protocol rules.

pub mod admin;
pub mod browser;
pub mod discovery;
pub mod errors;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod pages;
pub mod register;
pub mod resource_metadata;

use actix_web::web;

use crate::oauth::metadata::paths;
use crate::settings::Issuer;

/// The single route table. Protocol endpoints live under the issuer's path (`base`);
/// well-known documents sit at the host root with that path appended (RFC 8414 §3.1).
pub fn routes(cfg: &mut web::ServiceConfig, issuer: &Issuer) {
    let base = issuer.path();
    let at = |path: &str| format!("{base}{path}");
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(metrics::metrics))
        .route(
            &format!("/.well-known/oauth-authorization-server{base}"),
            web::get().to(discovery::metadata),
        )
        .route(
            &format!("/.well-known/openid-configuration{base}"),
            web::get().to(discovery::metadata),
        )
        .route(&at(paths::JWKS), web::get().to(discovery::jwks))
        .route(
            &at(&format!("{}/{{id}}", paths::RESOURCE_METADATA)),
            web::get().to(resource_metadata::get_resource_metadata),
        )
        .service(post_only(&at(paths::TOKEN)).post(oauth::post_token))
        .service(post_only(&at(paths::INTROSPECT)).post(oauth::post_introspect))
        .service(post_only(&at(paths::REVOKE)).post(oauth::post_revoke))
        .service(
            web::resource(at(paths::AUTHORIZE))
                .get(browser::authorize::get_authorize)
                .post(browser::authorize::post_authorize),
        )
        .route(
            &at("/authorize/continue"),
            web::get().to(browser::authorize::get_continue),
        )
        .route(
            &at("/consent"),
            web::post().to(browser::authorize::post_consent),
        )
        .service(
            web::resource(at("/login"))
                .get(browser::login::get_login)
                .post(browser::login::post_login),
        )
        .route(&at("/logout"), web::post().to(browser::login::post_logout))
        .route(
            &at("/login/upstream/{provider}"),
            web::post().to(browser::upstream::start),
        )
        .route(
            &at("/login/upstream/{provider}/callback"),
            web::get().to(browser::upstream::callback),
        )
        .route(
            &at("/account"),
            web::get().to(browser::account::get_account),
        )
        .route(
            &at("/account/grants/{id}/revoke"),
            web::post().to(browser::account::post_revoke),
        )
        .route(&at("/static/warden.css"), web::get().to(stylesheet))
        .service(post_only(&at(paths::REGISTER)).post(register::post_register))
        .service(
            web::resource(at(&format!("{}/{{client_id}}", paths::REGISTER)))
                .wrap(actix_web::middleware::from_fn(
                    middleware::forget_cached_rows,
                ))
                .get(register::get_registration)
                .put(register::put_registration)
                .delete(register::delete_registration),
        )
        .service(
            web::scope(&at(paths::ADMIN_API))
                .wrap(actix_web::middleware::from_fn(
                    middleware::forget_cached_rows,
                ))
                .configure(admin::routes),
        );
    if !base.is_empty() {
        // OpenID Connect Discovery 1.0 §4 appends the well-known suffix to the issuer instead.
        cfg.route(
            &at("/.well-known/openid-configuration"),
            web::get().to(discovery::metadata),
        );
    }
}

/// A resource that answers any method but POST with 405.
fn post_only(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(oauth::method_not_allowed))
}

async fn stylesheet() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/warden.css"))
}
