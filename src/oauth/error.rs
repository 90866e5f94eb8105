//! The closed set of OAuth error codes (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
//! RFC 7009 §2.2.1; RFC 7591 §3.2.2; RFC 8628 §3.5; RFC 8707 §2; RFC 9449 §5, §8; OIDC Core §3.1.2.6) and the JSON error body.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    InvalidTarget,
    InvalidRedirectUri,
    InvalidClientMetadata,
    InvalidToken,
    InsufficientScope,
    UnsupportedTokenType,
    LoginRequired,
    ConsentRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    /// RFC 8628 §3.5: the client asks too often (429 with Retry-After on /token).
    SlowDown,
    /// RFC 9449 §5: the DPoP proof is missing where required, malformed or replayed.
    InvalidDpopProof,
    /// RFC 9449 §8: retry with the nonce in the `DPoP-Nonce` header.
    UseDpopNonce,
    /// RFC 8628 §3.5: the user has not answered yet.
    AuthorizationPending,
    /// RFC 8628 §3.5: the device code expired; start again.
    ExpiredToken,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            // OpenID Connect Core 1.0 §3.1.2.6, used by OAuth clients alike.
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::ExpiredToken => "expired_token",
        }
    }
}

/// `{"error": ..., "error_description": ...}` as the token-style endpoints send it.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<&'a str>,
}

/// An error of a JSON endpoint (token, introspection, revocation): the RFC code, a
/// description safe to show the client, and for internal failures the cause, which is
/// logged and never sent.
#[derive(Debug)]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: std::borrow::Cow<'static, str>,
    /// `invalid_client` after Basic authentication answers with a Basic challenge.
    pub used_basic: bool,
    /// The request body was over the endpoint's limit (HTTP 413, whatever the code).
    pub too_large: bool,
    /// A nonce for the `DPoP-Nonce` header (RFC 9449 §8): sent with `use_dpop_nonce`.
    pub dpop_nonce: Option<String>,
    /// An answer to a device-code poll (RFC 8628 §3.5): 400 whatever the code, and no
    /// `Retry-After` (the client waits its interval, which `slow_down` grew).
    pub polling: bool,
    pub cause: Option<anyhow::Error>,
}

impl OAuthError {
    pub fn new(
        code: ErrorCode,
        description: impl Into<std::borrow::Cow<'static, str>>,
    ) -> OAuthError {
        OAuthError {
            code,
            description: rfc6749_description(description.into()),
            used_basic: false,
            too_large: false,
            dpop_nonce: None,
            polling: false,
            cause: None,
        }
    }

    pub fn invalid_request(d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, d)
    }

    /// A body over the endpoint's limit: `code` with HTTP 413.
    pub fn too_large(code: ErrorCode, d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
        OAuthError {
            too_large: true,
            ..OAuthError::new(code, d)
        }
    }

    pub fn invalid_client(used_basic: bool) -> OAuthError {
        OAuthError {
            used_basic,
            ..OAuthError::new(ErrorCode::InvalidClient, "client authentication failed")
        }
    }

    /// A device-code poll's answer (RFC 8628 §3.5).
    pub fn polling(code: ErrorCode, d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
        OAuthError {
            polling: true,
            ..OAuthError::new(code, d)
        }
    }

    pub fn invalid_grant(d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidGrant, d)
    }

    pub fn invalid_scope(d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidScope, d)
    }

    pub fn invalid_target(d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidTarget, d)
    }

    pub fn unauthorized_client(d: impl Into<std::borrow::Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::UnauthorizedClient, d)
    }
}

/// Database and other unexpected failures: `temporarily_unavailable` when the database
/// cannot be reached (the client may retry), `server_error` otherwise.
impl<E: Into<anyhow::Error>> From<E> for OAuthError {
    fn from(e: E) -> OAuthError {
        let cause: anyhow::Error = e.into();
        let unavailable = cause
            .downcast_ref::<sqlx::Error>()
            .is_some_and(crate::store::is_unavailable);
        let (code, description) = if unavailable {
            (
                ErrorCode::TemporarilyUnavailable,
                "the service is temporarily unavailable",
            )
        } else {
            (
                ErrorCode::ServerError,
                "the server could not complete the request",
            )
        };
        OAuthError {
            cause: Some(cause),
            ..OAuthError::new(code, description)
        }
    }
}

/// RFC 6749 §5.2: `error_description` is limited to %x20-21 / %x23-5B / %x5D-7E. A
/// description that quotes the request could carry a quote, backslash or control
/// character (even a CR LF); those become `'`, `/` and `?`.
pub fn rfc6749_description(d: std::borrow::Cow<'static, str>) -> std::borrow::Cow<'static, str> {
    let allowed = |c: char| matches!(c, ' '..='~') && c != '"' && c != '\\';
    if d.chars().all(allowed) {
        return d;
    }
    d.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            c if allowed(c) => c,
            _ => '?',
        })
        .collect::<String>()
        .into()
}
