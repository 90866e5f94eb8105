//! Consent (OAuth 2.1 §4.1.1 step 2; RFC 8252 §8.6 for native apps): what the user already
//! granted, whether that answers for them, and what the consent page must show when not.

use url::Url;

use crate::crypto::random;
use crate::domain::{AuthMethod, Client, Registration};
use crate::oauth::domain_policy::{self, DomainTrust};
use crate::oauth::scope::{self, ScopeSet};
use crate::oauth::token::issues_refresh_token;
use crate::oauth::{policy, redirect_uri};
use crate::state::AppState;

use super::Failure;
use super::request::Loaded;

/// Everything the consent page shows.
#[derive(Debug)]
pub struct ConsentPrompt {
    pub request_id: String,
    pub client_name: String,
    pub client_id: String,
    pub provenance: Provenance,
    pub redirect_host: String,
    pub resource_name: String,
    pub resource_uri: String,
    /// What the user is asked for now, each scope once: a scope another listed one
    /// implies is not listed, the broader one names it (`ScopeItem::includes`).
    pub new_scopes: Vec<ScopeItem>,
    pub granted_scopes: Vec<ScopeItem>,
    /// A refresh token will be issued (`token::issues_refresh_token`): the page says the
    /// application will stay signed in.
    pub stays_signed_in: bool,
    /// Why the user is asked again for what they allowed before, if they are.
    pub asked_again: Option<AskedAgain>,
    /// A metadata-document client whose every redirect is loopback: whoever controls the
    /// document's domain, any program on this device could be the one receiving the code.
    pub loopback_only: bool,
}

/// One line of the consent page's scope lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeItem {
    pub name: String,
    pub description: String,
    /// What holding it also grants (SEP-835), directly or not.
    pub includes: Vec<String>,
}

/// How the client came to be known here, which is what the user can trust about its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Registered by an administrator.
    Admin,
    /// A metadata document on a domain the administrators trust.
    TrustedDomain,
    /// A metadata document on any other domain: unverified.
    MetadataDocument,
    /// Dynamic registration: unverified.
    SelfRegistered,
}

impl Provenance {
    /// Whether nobody vouches for the client's name.
    pub fn unverified(self) -> bool {
        matches!(
            self,
            Provenance::MetadataDocument | Provenance::SelfRegistered
        )
    }
}

/// Why remembered consent did not answer for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskedAgain {
    /// A public client returning to a loopback address or a private-use scheme: its
    /// identity cannot be proven, so every request needs the user (RFC 8252 §8.6).
    NativeApp,
    /// The client's name or redirect URIs changed since the user consented.
    ClientChanged,
}

/// A hash of what the user saw and what decides where codes go: the client's name and its
/// redirect URIs (sorted, so order alone is no change). JSON keeps the parts unambiguous.
pub fn consent_fingerprint(client: &Client) -> String {
    let mut uris: Vec<&str> = client.redirect_uris.iter().map(|u| u.as_str()).collect();
    uris.sort();
    uris.dedup();
    let encoded = serde_json::json!([client.name, uris]).to_string();
    random::sha256_b64(&encoded)
}

/// Must this request be shown to the user even when consent is remembered? A public
/// client returning to a loopback or private-use redirect can be impersonated by any
/// program on the device (RFC 8252 §8.6), so it is "processed as if no previous request had
/// been approved". A confidential client proves itself with its credentials at the token
/// endpoint, and an https redirect belongs to its domain.
fn needs_user(client: &Client, redirect: &str) -> bool {
    client.token_endpoint_auth_method == AuthMethod::None && redirect_uri::is_native(redirect)
}

/// What the user already granted this client for this resource.
pub(super) struct Remembered {
    /// The live grant that holds it.
    pub grant: Option<String>,
    /// Its scopes that the admin still permits.
    pub scopes: ScopeSet,
    /// `scopes` with what they imply: what the consent covers (a step-up to an implied
    /// scope needs no new consent).
    pub covers: ScopeSet,
    /// Whether it was given to the client as it is now (same name and redirect URIs).
    pub current: bool,
}

/// What the user already granted this client for this resource (the remembered consent).
/// Only what the admin still permits counts (`policy::still_permitted`): a scope taken
/// from the client or the resource is asked for again, and a consent that grows drops
/// what is no longer permitted.
pub(super) async fn remembered(
    state: &AppState,
    loaded: &Loaded,
    user_id: &str,
) -> Result<Remembered, sqlx::Error> {
    let Some(grant) = state
        .store
        .live_user_grant(&loaded.client.client_id, user_id, &loaded.request.resource)
        .await?
    else {
        return Ok(Remembered {
            grant: None,
            scopes: ScopeSet::default(),
            covers: ScopeSet::default(),
            current: false,
        });
    };
    let current =
        grant.consent_fingerprint.as_deref() == Some(consent_fingerprint(&loaded.client).as_str());
    let scopes = match crate::oauth::lookup::resource(state, &loaded.request.resource).await? {
        Some(resource) => policy::still_permitted(
            &ScopeSet::from_stored(&grant.scope),
            &loaded.client,
            &resource,
        ),
        None => ScopeSet::default(),
    };
    Ok(Remembered {
        grant: Some(grant.id),
        covers: scope::implications(state).closure(&scopes),
        scopes,
        current,
    })
}

/// Whether the remembered consent answers for the user.
pub(super) enum Answer {
    Remembered,
    /// Ask the user, saying why when they allowed all of it before.
    AskUser(Option<AskedAgain>),
}

pub(super) fn answer(loaded: &Loaded, remembered: &Remembered) -> Answer {
    let covered = loaded.requested().is_subset(&remembered.covers);
    if !covered || loaded.prompt.consent {
        return Answer::AskUser(None);
    }
    // What was granted before stays granted on the page (the user confirms it with one
    // click); only the reason for asking again is new.
    if needs_user(&loaded.client, &loaded.request.redirect_uri) {
        Answer::AskUser(Some(AskedAgain::NativeApp))
    } else if remembered.current {
        Answer::Remembered
    } else if remembered.grant.is_some() {
        Answer::AskUser(Some(AskedAgain::ClientChanged))
    } else {
        Answer::AskUser(None)
    }
}

/// The consent page's content for request `loaded`.
pub(super) async fn prompt(
    state: &AppState,
    loaded: &Loaded,
    remembered: &Remembered,
    asked_again: Option<AskedAgain>,
) -> Result<ConsentPrompt, Failure> {
    let requested = loaded.requested();
    let granted = &remembered.covers;
    let new: ScopeSet = requested.difference(granted).map(str::to_owned).collect();
    let (new_scopes, granted_scopes) =
        listed(state, &new, &requested.intersection(granted)).await?;
    let resource = state
        .store
        .resource_by_uri(&loaded.request.resource)
        .await?;
    Ok(ConsentPrompt {
        request_id: loaded.request.id.clone(),
        client_name: loaded.client.name.clone(),
        client_id: loaded.client.client_id.clone(),
        provenance: provenance(state, &loaded.client).await?,
        redirect_host: redirect_host(&loaded.request.redirect_uri),
        resource_name: resource.map(|r| r.name).unwrap_or_default(),
        resource_uri: loaded.request.resource.clone(),
        new_scopes,
        granted_scopes,
        stays_signed_in: issues_refresh_token(&loaded.client),
        asked_again,
        // A device authorization redirects nowhere.
        loopback_only: !loaded.request.redirect_uri.is_empty() && loopback_only(&loaded.client),
    })
}

async fn provenance(state: &AppState, client: &Client) -> Result<Provenance, sqlx::Error> {
    Ok(match client.registration {
        Registration::Admin => Provenance::Admin,
        Registration::Dynamic => Provenance::SelfRegistered,
        Registration::MetadataDocument => {
            let host = Url::parse(&client.client_id)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            match domain_policy::trust_for(&state.store, &host).await? {
                Some(DomainTrust::Trusted) => Provenance::TrustedDomain,
                _ => Provenance::MetadataDocument,
            }
        }
    })
}

/// The host the code goes to, or the scheme of a private-use redirect.
fn redirect_host(redirect: &str) -> String {
    Url::parse(redirect)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(str::to_owned)
                .or_else(|| Some(u.scheme().to_owned()))
        })
        .unwrap_or_default()
}

fn loopback_only(client: &Client) -> bool {
    let uris = &client.redirect_uris;
    client.registration == Registration::MetadataDocument
        && !uris.is_empty()
        && uris.iter().all(|u| redirect_uri::is_loopback(u.as_str()))
}

/// The page's two lists, new and already granted, each scope with its description: a
/// scope that another one on the page implies is left out (the broader one lists it under
/// `includes`), so nothing is listed twice.
async fn listed(
    state: &AppState,
    new: &ScopeSet,
    granted: &ScopeSet,
) -> Result<(Vec<ScopeItem>, Vec<ScopeItem>), sqlx::Error> {
    let all: ScopeSet = new
        .iter()
        .chain(granted.iter())
        .map(str::to_owned)
        .collect();
    let (mut new_lines, mut granted_lines) = (Vec::new(), Vec::new());
    for (name, includes) in scope::implications(state).broadest(&all) {
        let description = state
            .store
            .scope(&name)
            .await?
            .map(|s| s.description)
            .unwrap_or_default();
        let line = ScopeItem {
            includes: includes.iter().map(str::to_owned).collect(),
            name,
            description,
        };
        if new.contains(&line.name) {
            new_lines.push(line);
        } else {
            granted_lines.push(line);
        }
    }
    Ok((new_lines, granted_lines))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn client(name: &str, uris: &[&str]) -> Client {
        let id = "https://app.example.com/client.json";
        let doc = serde_json::json!({"client_id": id, "client_name": name,
                                     "redirect_uris": uris, "token_endpoint_auth_method": "none"});
        crate::oauth::cimd::validate(id, doc.to_string().as_bytes(), 0).unwrap()
    }

    #[test]
    fn the_consent_fingerprint_follows_the_name_and_redirects_but_not_their_order() {
        let a = "https://app.example.com/cb";
        let b = "http://127.0.0.1/cb";
        let base = consent_fingerprint(&client("App", &[a, b]));
        assert_eq!(base, consent_fingerprint(&client("App", &[b, a])));
        assert_ne!(base, consent_fingerprint(&client("App", &[a])));
        assert_ne!(
            base,
            consent_fingerprint(&client("App", &[a, b, "https://evil.example/cb"]))
        );
        assert_ne!(base, consent_fingerprint(&client("App 2", &[a, b])));
    }

    #[test]
    fn only_public_clients_on_native_redirects_need_the_user_every_time() {
        let mut c = client("App", &["https://app.example.com/cb"]);
        assert!(needs_user(&c, "http://127.0.0.1:9999/cb"));
        assert!(needs_user(&c, "com.example.app:/cb"));
        assert!(!needs_user(&c, "https://app.example.com/cb"));
        c.token_endpoint_auth_method = AuthMethod::ClientSecretBasic;
        assert!(!needs_user(&c, "http://127.0.0.1:9999/cb"));
    }
}
