//! Where a foreign issuer's keys come from, as an admin gives it: the issuer and JWKS URLs
//! and the algorithms allowed (token-exchange issuers, ID-JAG IdPs and workload rules).
//! One rule for all three, so no kind of trust is looser than another.

use crate::admin::AdminError;
use crate::crypto::foreign_jwt::ASYMMETRIC_ALGS;

/// An https URL (plain http only on loopback, for development and tests).
pub fn https_url(field: &'static str, value: &str) -> Result<(), AdminError> {
    let parsed = url::Url::parse(value)
        .map_err(|e| AdminError::invalid(field, format!("not a URL ({e})")))?;
    let loopback = crate::net::is_loopback_host(&parsed);
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(AdminError::invalid(field, "must be an https URL"));
    }
    Ok(())
}

/// The OpenAPI schema of an `algorithms` list: names from [`ASYMMETRIC_ALGS`].
pub fn algorithms_schema() -> utoipa::openapi::Array {
    utoipa::openapi::ArrayBuilder::new()
        .items(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::Type::String)
                .enum_values(Some(ASYMMETRIC_ALGS)),
        )
        .build()
}

/// The allowed signing algorithms: asymmetric ones only (never `none` or an HMAC, whose
/// key would be public), at least one.
pub fn algorithms(list: &[String]) -> Result<(), AdminError> {
    if list.is_empty() || list.iter().any(|a| !ASYMMETRIC_ALGS.contains(&a.as_str())) {
        return Err(AdminError::invalid(
            "algorithms",
            format!("choose from {}", ASYMMETRIC_ALGS.join(", ")),
        ));
    }
    Ok(())
}
