//! The provider's answer at Warden's callback: which pending sign-in it resumes (`state`
//! bound to the browser that left, RFC 6749 §10.12, and to the provider it went to),
//! whether it may go on (the linking user is still the one signed in), what it says
//! (RFC 6749 §4.1.2: a code or an error) and who says it (RFC 9207 §2.4: `iss`).
//! Every decision is a pure function; `resume` only adds the store look-ups.

use crate::crypto::random;
use crate::state::AppState;
use crate::store::upstream::UpstreamLoginRow;

use super::UpstreamError;

/// The longest `state` looked up, and the longest code sent on to the provider.
const MAX_STATE: usize = 512;
const MAX_CODE: usize = 2048;

/// The callback's query (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 §2).
pub struct Answer<'a> {
    pub state: &'a str,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
    pub iss: Option<&'a str>,
}

impl<'a> Answer<'a> {
    /// Reads the answer from the callback's query parameters (`get` finds one by name).
    pub fn read(get: impl Fn(&str) -> Option<&'a str>) -> Answer<'a> {
        Answer {
            state: get("state").unwrap_or(""),
            code: get("code"),
            error: get("error"),
            error_description: get("error_description"),
            iss: get("iss"),
        }
    }

    /// The code to redeem, or the provider's refusal (shortened: it is shown to the user).
    pub fn code(&self, provider_name: &str) -> Result<&'a str, UpstreamError> {
        if let Some(error) = self.error {
            let detail = self
                .error_description
                .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            return Err(UpstreamError::Denied(format!(
                "{provider_name} did not sign you in ({}{detail}).",
                error.chars().take(64).collect::<String>()
            )));
        }
        self.code
            .filter(|c| !c.is_empty() && c.len() <= MAX_CODE)
            .ok_or_else(|| UpstreamError::Invalid("the answer has no code".into()))
    }
}

/// Why a callback resumes no pending sign-in; each is a page, and nothing changes.
#[derive(Debug)]
pub enum Unbound {
    /// Expired, already used, or never started.
    Expired,
    /// Started, but by another browser or with another provider.
    Elsewhere,
    /// A link was asked for, but this browser is no longer signed in as that user.
    NotTheLinkingUser,
    /// Warden's own database failed.
    Internal(anyhow::Error),
}

/// The store keys a callback gives: the hash of `state` finds the pending row, and the hash
/// of the browser's cookie is needed to spend it. Nothing to look up without a readable
/// `state`; nothing to spend without the cookie.
#[derive(Debug, PartialEq, Eq)]
pub struct Keys {
    pub state_hash: String,
    pub browser_hash: Option<String>,
}

pub fn keys(state: &str, browser_secret: &str) -> Option<Keys> {
    if state.is_empty() || state.len() > MAX_STATE {
        return None;
    }
    Some(Keys {
        state_hash: random::sha256_b64(state),
        browser_hash: (!browser_secret.is_empty()).then(|| random::sha256_b64(browser_secret)),
    })
}

/// Spends the pending sign-in this answer belongs to. Only the browser that started it,
/// for the provider it was started with, can: a callback from anywhere else changes
/// nothing, so the real user can still finish.
pub async fn resume(
    state: &AppState,
    provider_id: &str,
    answer: &Answer<'_>,
    browser_secret: &str,
) -> Result<UpstreamLoginRow, Unbound> {
    let Some(keys) = keys(answer.state, browser_secret) else {
        return Err(Unbound::Expired);
    };
    let now = state.clock.now();
    let internal = |e: sqlx::Error| Unbound::Internal(e.into());
    if let Some(browser_hash) = &keys.browser_hash
        && let Some(pending) = state
            .store
            .take_upstream_login(&keys.state_hash, browser_hash, provider_id, now)
            .await
            .map_err(internal)?
    {
        return Ok(pending);
    }
    let elsewhere = state
        .store
        .upstream_login_exists(&keys.state_hash, now)
        .await
        .map_err(internal)?;
    Err(if elsewhere {
        Unbound::Elsewhere
    } else {
        Unbound::Expired
    })
}

/// Linking adds an identity to the account that asked: the browser must still be signed
/// in as that user (`signed_in_as`), not as someone who took it over meanwhile.
pub fn check_link(pending: &UpstreamLoginRow, signed_in_as: Option<&str>) -> Result<(), Unbound> {
    match &pending.link_user_id {
        Some(linking) if signed_in_as != Some(linking.as_str()) => Err(Unbound::NotTheLinkingUser),
        _ => Ok(()),
    }
}

/// RFC 9207 §2.4: an `iss` in the answer must be the issuer the browser was sent to, and a
/// provider that promises `iss` (`iss_required`) must send it.
pub fn check_issuer(
    iss: Option<&str>,
    expected: Option<&str>,
    iss_required: bool,
) -> Result<(), UpstreamError> {
    match (iss, expected) {
        (Some(iss), Some(expected)) if iss != expected => Err(UpstreamError::Invalid(
            "the answer came from another issuer".into(),
        )),
        (None, _) if iss_required => Err(UpstreamError::Invalid(
            "the answer does not name its issuer, which this provider promises to do".into(),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::oauth::params::Params;

    fn pending(link_user_id: Option<&str>) -> UpstreamLoginRow {
        UpstreamLoginRow {
            state_hash: "s".into(),
            provider_id: "p".into(),
            browser_hash: "b".into(),
            nonce: "n".into(),
            verifier_sealed: "v".into(),
            request_id: None,
            link_user_id: link_user_id.map(str::to_owned),
            created_at: 0,
            expires_at: 600,
        }
    }

    #[test]
    fn state_must_be_readable_and_the_cookie_is_needed_to_spend_it() {
        assert_eq!(keys("", "cookie"), None);
        assert_eq!(keys(&"x".repeat(513), "cookie"), None);
        let k = keys(&"x".repeat(512), "").unwrap();
        assert_eq!(k.state_hash, random::sha256_b64(&"x".repeat(512)));
        assert_eq!(k.browser_hash, None);
        let k = keys("abc", "cookie").unwrap();
        assert_eq!(k.browser_hash, Some(random::sha256_b64("cookie")));
    }

    #[test]
    fn a_link_goes_on_only_for_the_user_who_asked() {
        assert!(check_link(&pending(None), None).is_ok());
        assert!(check_link(&pending(None), Some("u1")).is_ok());
        assert!(check_link(&pending(Some("u1")), Some("u1")).is_ok());
        assert!(matches!(
            check_link(&pending(Some("u1")), Some("u2")),
            Err(Unbound::NotTheLinkingUser)
        ));
        assert!(matches!(
            check_link(&pending(Some("u1")), None),
            Err(Unbound::NotTheLinkingUser)
        ));
    }

    #[test]
    fn iss_must_name_the_provider_and_be_sent_when_promised() {
        let idp = Some("https://idp.example");
        assert!(check_issuer(Some("https://idp.example"), idp, true).is_ok());
        assert!(check_issuer(None, idp, false).is_ok());
        // A plain OAuth provider has no issuer to compare with.
        assert!(check_issuer(Some("https://any.example"), None, false).is_ok());
        assert!(matches!(
            check_issuer(Some("https://evil.example"), idp, false),
            Err(UpstreamError::Invalid(_))
        ));
        assert!(matches!(
            check_issuer(None, idp, true),
            Err(UpstreamError::Invalid(_))
        ));
    }

    #[test]
    fn the_answer_is_a_code_or_the_providers_refusal() {
        let parse = |q: &str| Params::parse(q.as_bytes()).unwrap();
        let p = parse("state=s&code=c&iss=https%3A%2F%2Fidp");
        let answer = Answer::read(|name| p.get(name));
        assert_eq!((answer.state, answer.iss), ("s", Some("https://idp")));
        assert_eq!(answer.code("IdP").unwrap(), "c");

        let p = parse("state=s&code=c&error=access_denied&error_description=no");
        match Answer::read(|name| p.get(name)).code("IdP") {
            Err(UpstreamError::Denied(m)) => {
                assert_eq!(m, "IdP did not sign you in (access_denied: no).")
            }
            other => panic!("{other:?}"),
        }
        let long = format!("error={}", "e".repeat(100));
        let p = parse(&long);
        match Answer::read(|name| p.get(name)).code("IdP") {
            Err(UpstreamError::Denied(m)) => assert!(m.contains(&format!("({})", "e".repeat(64)))),
            other => panic!("{other:?}"),
        }
        for q in [
            "state=s",
            "state=s&code=",
            &format!("code={}", "c".repeat(2049)),
        ] {
            let p = parse(q);
            assert!(matches!(
                Answer::read(|name| p.get(name)).code("IdP"),
                Err(UpstreamError::Invalid(_))
            ));
        }
    }
}
