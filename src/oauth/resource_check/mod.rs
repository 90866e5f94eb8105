//! `resource check`: Warden probes a registered MCP server the way a client and an attacker
//! would, and says in words what is wrong.
//!
//! 1. an unauthenticated MCP `initialize` POST answers 401 with a `Bearer` challenge
//!    (RFC 6750 §3) carrying `resource_metadata` (RFC 9728 §5.1);
//! 2. that protected resource metadata (RFC 9728 §3, fetched as §3.1/§3.3 say) names this
//!    resource and lists Warden's issuer exactly;
//! 3. a token for another audience is refused (RFC 8707 §2, RFC 9068 §4: `aud` must be
//!    checked);
//! 4. an expired token, a token signed by an unknown key and a token whose `typ` is not
//!    `at+jwt` are refused (RFC 9068 §4);
//! 5. a valid token for the resource with its default scopes is accepted;
//! 6. (a warning only) a token without scope gets 403 `insufficient_scope` naming the
//!    needed `scope` (RFC 6750 §3.1);
//! 7. a DPoP-bound token (`cnf.jkt`) sent as a plain `Bearer` token is refused (RFC 9449
//!    §7.1): otherwise whoever steals a DPoP token uses it without the key. A failure when
//!    the resource requires DPoP, a warning otherwise (Warden binds the tokens of any
//!    client that sends a proof).
//!
//! The check's tokens have `sub` and `client_id` `warden-resource-check` and a `gid` that is
//! a fresh random id, not a grant: introspection answers `active: false` for every one of
//! them, and none lives longer than 5 s. Every request goes through the SSRF-safe fetcher
//! and no redirect is followed.

pub mod challenge;
mod judge;
pub mod metadata;
mod probe;

use serde::Serialize;

use crate::clock::UnixTime;
use crate::domain::{CheckOutcome, LastCheck};

pub use probe::{Prober, run};

/// The points of the check, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckPoint {
    Challenge,
    Metadata,
    Audience,
    Expired,
    UnknownKey,
    Typ,
    ValidToken,
    InsufficientScope,
    DpopAsBearer,
}

impl CheckPoint {
    /// The point's number in the documentation (4 has three parts).
    pub fn number(self) -> u8 {
        match self {
            CheckPoint::Challenge => 1,
            CheckPoint::Metadata => 2,
            CheckPoint::Audience => 3,
            CheckPoint::Expired | CheckPoint::UnknownKey | CheckPoint::Typ => 4,
            CheckPoint::ValidToken => 5,
            CheckPoint::InsufficientScope => 6,
            CheckPoint::DpopAsBearer => 7,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CheckPoint::Challenge => "challenge",
            CheckPoint::Metadata => "metadata",
            CheckPoint::Audience => "audience",
            CheckPoint::Expired => "expired",
            CheckPoint::UnknownKey => "unknown_key",
            CheckPoint::Typ => "typ",
            CheckPoint::ValidToken => "valid_token",
            CheckPoint::InsufficientScope => "insufficient_scope",
            CheckPoint::DpopAsBearer => "dpop_as_bearer",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not required, but clients would do better.
    Warn,
    /// Not run: an earlier answer made it meaningless.
    Skip,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Warn => "WARN",
            Verdict::Skip => "SKIP",
        }
    }
}

/// For a newcomer: what is wrong, why it probably is, and what to change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Explanation {
    pub wrong: String,
    pub cause: String,
    pub fix: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Finding {
    pub point: CheckPoint,
    /// The point's number in docs/admin.md (4 has three parts).
    pub number: u8,
    pub verdict: Verdict,
    pub summary: String,
    /// Present for failures and warnings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

impl Finding {
    fn new(
        point: CheckPoint,
        verdict: Verdict,
        summary: String,
        explanation: Option<Explanation>,
    ) -> Finding {
        Finding {
            point,
            number: point.number(),
            verdict,
            summary,
            explanation,
        }
    }

    pub fn pass(point: CheckPoint, summary: impl Into<String>) -> Finding {
        Finding::new(point, Verdict::Pass, summary.into(), None)
    }

    pub fn fail(point: CheckPoint, summary: impl Into<String>, why: Explanation) -> Finding {
        Finding::new(point, Verdict::Fail, summary.into(), Some(why))
    }

    pub fn warn(point: CheckPoint, summary: impl Into<String>, why: Explanation) -> Finding {
        Finding::new(point, Verdict::Warn, summary.into(), Some(why))
    }

    pub fn skip(point: CheckPoint, summary: impl Into<String>) -> Finding {
        Finding::new(point, Verdict::Skip, summary.into(), None)
    }
}

/// The whole answer, as the CLI's `--json` and the admin API return it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ResourceCheck)]
pub struct CheckReport {
    #[schema(format = "uuid")]
    pub resource_id: String,
    #[schema(format = "uri")]
    pub resource: String,
    /// Unix time, seconds.
    #[schema(value_type = i64)]
    pub checked_at: UnixTime,
    /// `fail` when any finding failed; warnings and skips do not fail.
    pub outcome: CheckOutcome,
    pub findings: Vec<Finding>,
}

impl CheckReport {
    pub fn new(
        resource_id: String,
        resource: String,
        checked_at: UnixTime,
        findings: Vec<Finding>,
    ) -> CheckReport {
        let outcome = if findings.iter().any(|f| f.verdict == Verdict::Fail) {
            CheckOutcome::Fail
        } else {
            CheckOutcome::Pass
        };
        CheckReport {
            resource_id,
            resource,
            checked_at,
            outcome,
            findings,
        }
    }

    /// The points that failed, in order.
    pub fn failed(&self) -> Vec<CheckPoint> {
        self.findings
            .iter()
            .filter(|f| f.verdict == Verdict::Fail)
            .map(|f| f.point)
            .collect()
    }

    /// What is stored on the resource.
    pub fn last_check(&self) -> LastCheck {
        LastCheck {
            at: self.checked_at,
            outcome: self.outcome,
            failed: self
                .failed()
                .into_iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        }
    }

    /// One `PASS`/`FAIL`/`WARN`/`SKIP` line per point, each failure or warning followed
    /// by its explanation.
    pub fn to_text(&self) -> String {
        let mut out = format!("Checking {} ({})\n", self.resource, self.resource_id);
        for f in &self.findings {
            out.push_str(&format!(
                "{} {} {}: {}\n",
                f.verdict.label(),
                f.number,
                f.point.as_str(),
                f.summary
            ));
            if let Some(e) = &f.explanation {
                out.push_str(&format!("     what is wrong: {}\n", e.wrong));
                out.push_str(&format!("     likely cause:  {}\n", e.cause));
                out.push_str(&format!("     fix:           {}\n", e.fix));
            }
        }
        out.push_str(match self.outcome {
            CheckOutcome::Pass => "Result: pass\n",
            CheckOutcome::Fail => "Result: FAIL\n",
        });
        out
    }
}
