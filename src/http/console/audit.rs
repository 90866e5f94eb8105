//! Console: the audit log, newest first, filtered as `GET /admin/v1/audit` filters it
//! (`admin::audit`), with dates for people instead of epoch seconds and an "older" link
//! that carries the filters and the cursor.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{Chrome, Failure, FormError, admin_for_page, failure};
use crate::admin::AdminError;
use crate::admin::audit::{self, AuditQuery};
use crate::domain::{AuditEvent, AuditKind, Outcome};
use crate::http::pages::{human_time, parse_utc_time, render};
use crate::oauth::params::Params;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list));
}

const SECTION: &str = "/audit";

/// Events on one page.
const PAGE: i64 = 50;

/// The filter form's values, as typed (kept on the page and in the "older" link).
#[derive(Default)]
struct Filters {
    actor: String,
    subject: String,
    client: String,
    resource: String,
    kind: String,
    since: String,
    until: String,
}

impl Filters {
    const NAMES: [&'static str; 7] = [
        "actor", "subject", "client", "resource", "kind", "since", "until",
    ];

    fn of(params: &Params) -> Filters {
        let get = |n: &str| params.get(n).unwrap_or("").trim().to_owned();
        Filters {
            actor: get("actor"),
            subject: get("subject"),
            client: get("client"),
            resource: get("resource"),
            kind: get("kind"),
            since: get("since"),
            until: get("until"),
        }
    }

    fn values(&self) -> [&str; 7] {
        [
            &self.actor,
            &self.subject,
            &self.client,
            &self.resource,
            &self.kind,
            &self.since,
            &self.until,
        ]
    }

    /// The API's query: an empty field filters nothing; a date that is none is a 422.
    fn query(&self, before: Option<&str>) -> Result<AuditQuery, AdminError> {
        let text = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
        let time = |field: &'static str, v: &str| match v {
            "" => Ok(None),
            v => parse_utc_time(v).map(Some).ok_or_else(|| {
                AdminError::invalid(
                    field,
                    "must be a date (2026-11-26) or a date and time (2026-11-26T08:15), in UTC",
                )
            }),
        };
        Ok(AuditQuery {
            actor: text(&self.actor),
            subject: text(&self.subject),
            client: text(&self.client),
            resource: text(&self.resource),
            kind: text(&self.kind),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            limit: Some(PAGE),
            before: before.map(str::to_owned),
        })
    }

    /// The query string of the next page: these filters and the cursor.
    fn older(&self, next: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in Self::NAMES.iter().zip(self.values()) {
            if !value.is_empty() {
                q.append_pair(name, value);
            }
        }
        q.append_pair("before", next);
        q.finish()
    }
}

/// One event as the table shows it.
struct Row {
    time: String,
    kind: AuditKind,
    actor: String,
    subject: String,
    client: String,
    resource: String,
    failed: bool,
    reason: String,
    details: String,
}

impl Row {
    fn of(e: AuditEvent) -> Row {
        let details = match &e.details {
            serde_json::Value::Object(o) if o.is_empty() => String::new(),
            serde_json::Value::Null => String::new(),
            d => d.to_string(),
        };
        Row {
            time: human_time(e.at),
            kind: e.kind,
            actor: match &e.actor.id {
                Some(id) => format!("{}:{id}", e.actor.kind.as_str()),
                None => e.actor.kind.as_str().to_owned(),
            },
            subject: e.subject.unwrap_or_default(),
            client: e.client_id.unwrap_or_default(),
            resource: e.resource.unwrap_or_default(),
            failed: e.outcome == Outcome::Failure,
            reason: e.reason,
            details,
        }
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    filters: Filters,
    error: FormError,
    rows: Vec<Row>,
    /// The "older" link's query string, when there is an older page.
    older: Option<String>,
    /// Whether this is a later page (a link back to the newest).
    paged: bool,
}

impl AuditPage {
    fn kinds(&self) -> &'static [AuditKind] {
        AuditKind::VARIANTS
    }
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let filters = Filters::of(&params);
    let before = params.get("before").filter(|b| !b.is_empty());
    let found = match filters.query(before) {
        Ok(q) => audit::list(&state.store, &q).await,
        Err(e) => Err(e),
    };
    let (rows, older, error) = match found {
        Ok(page) => {
            let older = page.next.as_deref().map(|n| filters.older(n));
            let rows = page.items.into_iter().map(Row::of).collect();
            (rows, older, FormError::none())
        }
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => (Vec::new(), None, error),
            Failure::Page(r) => return r,
        },
    };
    let page = AuditPage {
        chrome: Chrome::new(&state, &admin, SECTION, &req),
        filters,
        paged: before.is_some(),
        rows,
        older,
        error,
    };
    render(page.error.status(), &page)
}
