//! Client addresses: which address a request really came from (RFC 7239 `Forwarded` and
//! `X-Forwarded-For`, believed only from trusted proxies), and the key every per-address
//! limit counts under (an IPv4 address, or an IPv6 /64, since one subscriber is handed a
//! whole /64 and could otherwise rotate through 2^64 addresses).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// A CIDR block such as `10.0.0.0/8` or `fd00::/8`; a bare address is a /32 or /128.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    network: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(raw: &str) -> Result<IpNet, String> {
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{raw:?} is not an address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{raw:?} has a prefix length outside 0..={max}"))?,
        };
        Ok(IpNet {
            network: mask(network, prefix),
            prefix,
        })
    }

    /// A comma- or space-separated list.
    pub fn parse_list(raw: &str) -> Result<Vec<IpNet>, String> {
        raw.split([',', ' '])
            .filter(|s| !s.trim().is_empty())
            .map(IpNet::parse)
            .collect()
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        addr.is_ipv4() == self.network.is_ipv4() && mask(addr, self.prefix) == self.network
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match canonical(addr) {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket reports) is the
/// IPv4 address it carries, so one client never has two keys.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// What per-address limits count under: the IPv4 address, or the IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    pub fn of(addr: IpAddr) -> AddressKey {
        AddressKey(match canonical(addr) {
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & (u128::MAX << 64))),
            v4 => v4,
        })
    }
}

impl fmt::Display for AddressKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}"),
            IpAddr::V6(a) => write!(f, "{a}/64"),
        }
    }
}

/// The address a request came from. The TCP peer, unless the peer is a trusted proxy: then
/// the forwarding headers are read from the right (the hop our proxy added) leftwards, and
/// the first hop that is not itself a trusted proxy is the client. Anything to the left of
/// that was written by the client and is ignored. An unreadable hop stops the walk at the
/// last trusted one. `forwarded` are the `Forwarded` header lines, `x_forwarded_for` the
/// `X-Forwarded-For` lines, each in the order received; `Forwarded` wins when present.
pub fn client_address<'a>(
    peer: IpAddr,
    trusted: &[IpNet],
    forwarded: impl Iterator<Item = &'a str>,
    x_forwarded_for: impl Iterator<Item = &'a str>,
) -> IpAddr {
    let is_trusted = |a: IpAddr| trusted.iter().any(|n| n.contains(a));
    if !is_trusted(peer) {
        return canonical(peer);
    }
    let mut hops: Vec<Option<IpAddr>> = forwarded
        .flat_map(|line| line.split(','))
        .map(forwarded_for)
        .collect();
    if hops.is_empty() {
        hops = x_forwarded_for
            .flat_map(|line| line.split(','))
            .map(|hop| parse_hop(hop.trim()))
            .collect();
    }
    let mut client = canonical(peer);
    for hop in hops.into_iter().rev() {
        match hop {
            Some(addr) => {
                client = canonical(addr);
                if !is_trusted(addr) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// The `for=` parameter of one `Forwarded` element (RFC 7239 §4, §6).
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("for") {
            return None;
        }
        parse_hop(value.trim().trim_matches('"'))
    })
}

/// `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]`, `[2001:db8::1]:80` or `2001:db8::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(addr) = hop.parse::<IpAddr>() {
        return Some(addr);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// Is the host of `url` this machine: a loopback address (127.0.0.0/8, ::1) or the name
/// `localhost`? The one meaning of "loopback" for URLs everywhere in Warden (redirect
/// URIs, the issuer, fetched URLs).
pub fn is_loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_blocks_parse_and_contain() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        assert!(IpNet::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpNet::parse("1.2.3.4").unwrap().contains(ip("1.2.3.4")));
        assert!(IpNet::parse("1.2.3.4/33").is_err());
        assert!(IpNet::parse("nonsense").is_err());
        assert_eq!(IpNet::parse_list("127.0.0.1, ::1").unwrap().len(), 2);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_slash_64() {
        let a = AddressKey::of(ip("2001:db8:1:2:aaaa::1"));
        let b = AddressKey::of(ip("2001:db8:1:2:ffff::9"));
        assert_eq!(a, b);
        assert_ne!(a, AddressKey::of(ip("2001:db8:1:3::1")));
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(
            AddressKey::of(ip("::ffff:1.2.3.4")),
            AddressKey::of(ip("1.2.3.4"))
        );
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let proxies = IpNet::parse_list("10.0.0.0/8").unwrap();
        let none = std::iter::empty::<&str>;
        // An untrusted peer cannot name another address.
        let got = client_address(ip("203.0.113.5"), &proxies, none(), ["1.1.1.1"].into_iter());
        assert_eq!(got, ip("203.0.113.5"));
        // Through our proxy: the rightmost untrusted hop, not what the client wrote.
        let got = client_address(
            ip("10.0.0.2"),
            &proxies,
            none(),
            ["6.6.6.6, 198.51.100.7", "10.0.0.3"].into_iter(),
        );
        assert_eq!(got, ip("198.51.100.7"));
        let got = client_address(
            ip("10.0.0.2"),
            &proxies,
            ["for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https"].into_iter(),
            ["9.9.9.9"].into_iter(),
        );
        assert_eq!(got, ip("2001:db8::7"));
        // Garbage stops the walk at the last trusted hop.
        let got = client_address(ip("10.0.0.2"), &proxies, none(), ["unknown"].into_iter());
        assert_eq!(got, ip("10.0.0.2"));
        // Without trusted proxies the headers mean nothing.
        let got = client_address(ip("127.0.0.1"), &[], none(), ["1.2.3.4"].into_iter());
        assert_eq!(got, ip("127.0.0.1"));
    }
}
