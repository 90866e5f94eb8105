//! The client address of a request, as every per-address limit sees it (see `net`).

use actix_web::HttpRequest;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::HeaderMap;

use crate::net::{self, AddressKey, IpNet};

/// The key a request counts under: its client's IPv4 address or IPv6 /64, read through
/// `WARDEN_TRUSTED_PROXIES`.
pub fn client_key(req: &HttpRequest, trusted: &[IpNet]) -> AddressKey {
    key(req.peer_addr(), req.headers(), trusted)
}

pub fn service_client_key(req: &ServiceRequest, trusted: &[IpNet]) -> AddressKey {
    key(req.peer_addr(), req.headers(), trusted)
}

/// The client's address itself (a whole IPv6 address, not its /64), for logs and traces.
pub fn service_client_address(req: &ServiceRequest, trusted: &[IpNet]) -> std::net::IpAddr {
    address(req.peer_addr(), req.headers(), trusted)
}

fn key(peer: Option<std::net::SocketAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> AddressKey {
    AddressKey::of(address(peer, headers, trusted))
}

fn address(
    peer: Option<std::net::SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> std::net::IpAddr {
    let peer = peer.map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    let lines = |name: &str| {
        headers
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
    };
    let (forwarded, x_forwarded_for) = if trusted.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        (lines("forwarded"), lines("x-forwarded-for"))
    };
    net::client_address(
        peer,
        trusted,
        forwarded.into_iter(),
        x_forwarded_for.into_iter(),
    )
}
