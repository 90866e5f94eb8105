//! The HTTP layer: actix routes, extractors and response mapping. No SQL, no protocol rules.

pub mod discovery;
pub mod errors;
pub mod health;
pub mod middleware;

use actix_web::web;

use crate::oauth::metadata::paths;
use crate::settings::Issuer;

/// The single route table. Protocol endpoints live under the issuer's path; well-known
/// documents sit at the host root with the issuer path appended (RFC 8414 §3.1).
pub fn routes(cfg: &mut web::ServiceConfig, issuer: &Issuer) {
    let base = issuer.path();
    let suffix = if base.is_empty() {
        String::new()
    } else {
        base.to_owned()
    };
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route(
            &format!("/.well-known/oauth-authorization-server{suffix}"),
            web::get().to(discovery::metadata),
        )
        .route(
            &format!("/.well-known/openid-configuration{suffix}"),
            web::get().to(discovery::metadata),
        )
        .route(
            &format!("{base}{}", paths::JWKS),
            web::get().to(discovery::jwks),
        );
    if !base.is_empty() {
        // OpenID Connect Discovery 1.0 §4 appends the well-known suffix to the issuer instead.
        cfg.route(
            &format!("{base}/.well-known/openid-configuration"),
            web::get().to(discovery::metadata),
        );
    }
}
