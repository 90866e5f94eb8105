//! The words of the authorization pages: the error pages `oauth::authorize` names by
//! `PageError`, and the consent page's provenance line and reason for asking again.

use actix_web::http::StatusCode;

use crate::oauth::authorize::{AskedAgain, MAX_REQUEST_BYTES, PageError, Provenance};

const START_AGAIN: &str = "Go back to the application and start again.";

/// The status, title and message of an authorization error page.
pub fn error_page(e: PageError) -> (StatusCode, &'static str, String) {
    let (title, message): (&str, String) = match e {
        PageError::TooLong => (
            "Invalid request",
            format!("The authorization request is longer than {MAX_REQUEST_BYTES} bytes."),
        ),
        PageError::Malformed(why) => ("Invalid request", why),
        PageError::MissingClientId => (
            "Invalid request",
            "The request names no application (client_id is missing).".into(),
        ),
        PageError::UnknownClient => (
            "Unknown application",
            "This application is not registered with Warden, or it has been disabled.".into(),
        ),
        PageError::UnusableClient { detail } => ("This application cannot be used", detail),
        PageError::UnregisteredRedirectUri => (
            "Invalid redirect address",
            "The application asked to return to an address it has not registered, so Warden will not send you there.".into(),
        ),
        PageError::RedirectUriRequired => (
            "Invalid request",
            "redirect_uri is required for this application.".into(),
        ),
        PageError::Refused { code, description } => (
            "The application's request was refused",
            format!("{}: {description}", code.as_str()),
        ),
        PageError::Expired => ("This sign-in has expired", START_AGAIN.into()),
        PageError::NotYours => ("This request belongs to someone else", START_AGAIN.into()),
        PageError::Unavailable => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "Warden cannot complete this request right now. Try again in a moment.".into(),
            );
        }
    };
    (StatusCode::BAD_REQUEST, title, message)
}

/// The consent page's line on who vouches for the application.
pub fn provenance(p: Provenance) -> &'static str {
    match p {
        Provenance::Admin => "Registered by an administrator of this server",
        Provenance::TrustedDomain => "Published by a domain this server's administrators trust",
        Provenance::MetadataDocument => "Identified only by a metadata document it publishes",
        Provenance::SelfRegistered => "Registered itself with this server",
    }
}

/// Why the consent page asks again for what the user allowed before.
pub fn asked_again(why: AskedAgain) -> &'static str {
    match why {
        AskedAgain::NativeApp => {
            "This application runs on your device, where another program could claim to be it, so Warden asks you every time."
        }
        AskedAgain::ClientChanged => {
            "The application changed its name or where it sends you back since you last allowed it."
        }
    }
}
