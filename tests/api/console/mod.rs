//! The admin console (issue 17) through HTTP, as a browser uses it: the first-run setup
//! link, the gate (admin role, CSRF, password re-check, forms kept), and each page's
//! actions.

mod audit;
mod clients;
mod exchange;
mod gate;
mod grants;
mod keys;
mod providers;
mod resources;
mod scopes;
mod setup;
mod users;
