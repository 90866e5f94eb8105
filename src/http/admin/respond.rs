//! The responses every admin handler shares, so each handler is one service call and one
//! of these: 200 or 201 with a JSON body, 204, an `{"items": [...]}` list or a page.

use actix_web::HttpResponse;
use serde::Serialize;

use super::ApiError;
use crate::admin::Page;

pub type Reply = Result<HttpResponse, ApiError>;

pub fn ok(body: impl Serialize) -> Reply {
    Ok(HttpResponse::Ok().json(body))
}

pub fn created(body: impl Serialize) -> Reply {
    Ok(HttpResponse::Created().json(body))
}

pub fn no_content() -> Reply {
    Ok(HttpResponse::NoContent().finish())
}

/// A listing that is never long enough to page: `{"items": [...]}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

pub fn items<T: Serialize>(items: Vec<T>) -> Reply {
    ok(Items { items })
}

/// One page of a listing, each item shown through `view`.
pub fn page<T, V: Serialize>(page: Page<T>, view: impl FnMut(T) -> V) -> Reply {
    ok(page.map(view))
}
