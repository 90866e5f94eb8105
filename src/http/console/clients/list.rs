//! The client listing and its filters: how clients came to be, their last use (in days
//! back from now), and those that never completed an authorization.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{SECTION, registration_label};
use crate::admin::AdminError;
use crate::admin::clients::{self, ClientQuery, ClientView};
use crate::domain::Registration;
use crate::http::console::{Chrome, Failure, FormError, admin_for_page, failure};
use crate::http::pages::{human_time, render};
use crate::oauth::params::Params;
use crate::state::AppState;

const DAY: i64 = 86_400;
/// A century: further back than any client, and far from overflowing.
const MAX_DAYS: i64 = 36_500;

/// The listing's filters, as typed (kept when one is refused). Last use is asked in days
/// back from now; the service takes epoch seconds.
#[derive(Default)]
struct Filters {
    registration: String,
    /// Used in the last N days.
    used_within: String,
    /// Used, but not in the last N days.
    idle_for: String,
    /// Never completed an authorization (no grant ever).
    never_authorized: bool,
}

impl Filters {
    fn of(params: &Params) -> Filters {
        let get = |n: &str| params.get(n).unwrap_or("").trim().to_owned();
        Filters {
            registration: get("registration"),
            used_within: get("used_within"),
            idle_for: get("idle_for"),
            never_authorized: params.get("never_authorized").is_some(),
        }
    }

    fn query(&self, after: Option<String>, now: i64) -> Result<ClientQuery, AdminError> {
        let since = |field: &'static str, days: &str| -> Result<Option<String>, AdminError> {
            if days.is_empty() {
                return Ok(None);
            }
            match days.parse::<i64>() {
                Ok(d) if (1..=MAX_DAYS).contains(&d) => {
                    Ok(Some((now - d * DAY).max(0).to_string()))
                }
                _ => Err(AdminError::invalid(
                    field,
                    format!("must be a whole number of days, from 1 to {MAX_DAYS}"),
                )),
            }
        };
        Ok(ClientQuery {
            limit: Some(100),
            after,
            registration: Some(self.registration.clone()).filter(|r| !r.is_empty()),
            used_since: since("used_within", &self.used_within)?,
            last_used_before: since("idle_for", &self.idle_for)?,
            never_authorized: self.never_authorized.then(|| "true".to_owned()),
        })
    }

    /// The query string of the next page: these filters and the cursor.
    fn next_page(&self, after: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("registration", self.registration.as_str()),
            ("used_within", self.used_within.as_str()),
            ("idle_for", self.idle_for.as_str()),
            (
                "never_authorized",
                if self.never_authorized { "true" } else { "" },
            ),
        ] {
            if !value.is_empty() {
                q.append_pair(name, value);
            }
        }
        q.append_pair("after", after);
        q.finish()
    }
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ListPage {
    chrome: Chrome,
    filters: Filters,
    error: FormError,
    rows: Vec<ClientView>,
    next: Option<String>,
}

impl ListPage {
    fn registrations(&self) -> Vec<(&'static str, &'static str, bool)> {
        [
            Registration::Admin,
            Registration::Dynamic,
            Registration::MetadataDocument,
        ]
        .into_iter()
        .map(|r| {
            (
                r.as_str(),
                registration_label(r),
                self.filters.registration == r.as_str(),
            )
        })
        .collect()
    }

    fn registration(&self, c: &ClientView) -> &'static str {
        registration_label(c.registration)
    }

    fn last_used(&self, c: &ClientView) -> String {
        c.last_used_at.map_or_else(|| "never".into(), human_time)
    }
}

pub(super) async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let admin = match admin_for_page(&state, &req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let params = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let filters = Filters::of(&params);
    let query = filters.query(params.get("after").map(str::to_owned), state.clock.now());
    let chrome = Chrome::new(&state, &admin, SECTION, &req);
    let listed = match query {
        Ok(query) => clients::list(&state.store, &query).await,
        Err(e) => Err(e),
    };
    match listed {
        Ok(page) => render(
            StatusCode::OK,
            &ListPage {
                chrome,
                next: page.next.map(|after| filters.next_page(&after)),
                filters,
                error: FormError::none(),
                rows: page.items,
            },
        ),
        Err(e) => match failure(&state, e) {
            Failure::Form(error) => render(
                error.status(),
                &ListPage {
                    chrome,
                    filters,
                    error,
                    rows: Vec::new(),
                    next: None,
                },
            ),
            Failure::Page(r) => r,
        },
    }
}
