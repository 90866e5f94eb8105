//! The HTTP layer: actix routes, extractors and response mapping. No SQL, no protocol rules.

pub mod admin;
pub mod browser;
pub mod connection;
pub mod console;
pub mod discovery;
pub mod errors;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod oauth;
pub mod pages;
pub mod peer;
pub mod register;
pub mod resource_metadata;

use actix_web::web;

use crate::http::middleware::public_cors;
use crate::oauth::metadata::paths;
use crate::settings::Issuer;

/// The single route table. Protocol endpoints live under the issuer's path (`base`);
/// well-known documents sit at the host root with that path appended (RFC 8414 §3.1).
/// The resources browser-based clients may call cross-origin are the ones wrapped in
/// `public_cors()`: the policy is the route table, matched exactly as routing matches.
pub fn routes(cfg: &mut web::ServiceConfig, issuer: &Issuer) {
    let base = issuer.path();
    let at = |path: &str| format!("{base}{path}");
    cfg.service(get_only("/healthz").get(health::healthz))
        .service(get_only("/readyz").get(health::readyz))
        .service(get_only("/metrics").get(metrics::metrics))
        .service(
            get_only(&format!("/.well-known/oauth-authorization-server{base}"))
                .get(discovery::metadata)
                .wrap(public_cors()),
        )
        .service(
            get_only(&format!("/.well-known/openid-configuration{base}"))
                .get(discovery::metadata)
                .wrap(public_cors()),
        )
        .service(
            get_only(&at(paths::JWKS))
                .get(discovery::jwks)
                .wrap(public_cors()),
        )
        .service(
            get_only(&at(&format!("{}/{{id}}", paths::RESOURCE_METADATA)))
                .get(resource_metadata::get_resource_metadata)
                .wrap(public_cors()),
        )
        .service(
            post_only(&at(paths::TOKEN))
                .post(oauth::post_token)
                .wrap(public_cors()),
        )
        .service(post_only(&at(paths::INTROSPECT)).post(oauth::post_introspect))
        .service(
            post_only(&at(paths::REVOKE))
                .post(oauth::post_revoke)
                .wrap(public_cors()),
        )
        .service(post_only(&at(paths::DEVICE_AUTHORIZATION)).post(oauth::post_device_authorization))
        .service(
            web::resource(at(paths::DEVICE_VERIFICATION))
                .get(browser::device::get_device)
                .post(browser::device::post_device),
        )
        .service(post_only(&at("/device/consent")).post(browser::device::post_device_consent))
        .service(
            web::resource(at(paths::AUTHORIZE))
                .get(browser::authorize::get_authorize)
                .post(browser::authorize::post_authorize),
        )
        .service(get_only(&at("/authorize/continue")).get(browser::authorize::get_continue))
        .service(post_only(&at("/consent")).post(browser::authorize::post_consent))
        .service(
            web::resource(at("/login"))
                .get(browser::login::get_login)
                .post(browser::login::post_login),
        )
        .service(post_only(&at("/logout")).post(browser::login::post_logout))
        .service(post_only(&at("/login/upstream/{provider}")).post(browser::upstream::start))
        .service(
            get_only(&at("/login/upstream/{provider}/callback")).get(browser::upstream::callback),
        )
        .service(get_only(&at("/account")).get(browser::account::get_account))
        .service(post_only(&at("/account/grants/{id}/revoke")).post(browser::account::post_revoke))
        .service(get_only(&at("/static/warden.css")).get(stylesheet))
        .service(
            post_only(&at(paths::REGISTER))
                .post(register::post_register)
                .wrap(public_cors()),
        )
        .service(
            web::resource(at(&format!("{}/{{client_id}}", paths::REGISTER)))
                .get(register::get_registration)
                .put(register::put_registration)
                .delete(register::delete_registration)
                .wrap(public_cors()),
        )
        .service(web::scope(&at(paths::ADMIN_API)).configure(admin::routes))
        // After the API: the console's scope would otherwise take `/admin/v1` too.
        .service(
            web::scope(&at("/admin"))
                .configure(console::routes)
                .default_service(web::to(console::unknown_page)),
        );
    if !base.is_empty() {
        // OpenID Connect Discovery 1.0 §4 appends the well-known suffix to the issuer instead.
        cfg.service(
            get_only(&at("/.well-known/openid-configuration"))
                .get(discovery::metadata)
                .wrap(public_cors()),
        );
    }
}

/// A resource that answers any method but POST with 405.
fn post_only(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(oauth::method_not_allowed))
}

/// A resource that answers any method but GET with 405.
fn get_only(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        actix_web::HttpResponse::MethodNotAllowed()
            .insert_header((actix_web::http::header::ALLOW, "GET"))
            .json(serde_json::json!({"error": "invalid_request", "error_description": "use GET"}))
    }))
}

async fn stylesheet() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../static/warden.css"))
}
