//! The only way to put a handler in the admin route table: methods that accept a handler
//! only if its first argument is [`AdminCaller`], so a route without the token check does
//! not compile.

use actix_web::{FromRequest, Handler, Responder, Route, web};

use super::auth::AdminCaller;

/// Argument lists that start with [`AdminCaller`] (admin handlers take at most four).
pub trait StartsWithAdminCaller {}

impl StartsWithAdminCaller for (AdminCaller,) {}
impl<A> StartsWithAdminCaller for (AdminCaller, A) {}
impl<A, B> StartsWithAdminCaller for (AdminCaller, A, B) {}
impl<A, B, C> StartsWithAdminCaller for (AdminCaller, A, B, C) {}

macro_rules! guarded {
    ($($method:ident),+) => {$(
        pub fn $method<F, Args>(handler: F) -> Route
        where
            F: Handler<Args>,
            Args: FromRequest + StartsWithAdminCaller + 'static,
            F::Output: Responder + 'static,
        {
            web::$method().to(handler)
        }
    )+};
}

guarded!(get, post, put, patch, delete);
