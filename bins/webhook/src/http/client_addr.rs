//! The client's address: the TCP peer, or — only when the peer is a proxy named in
//! `INKDESK_TRUSTED_PROXY` — the address that proxy put in `X-Forwarded-For`.
//!
//! Without the setting every forwarded header is ignored: anyone can send one, so trusting
//! it would let a client pick the address the login limit counts against.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;

/// Proxies whose `X-Forwarded-For` is believed: addresses or CIDR blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

/// A malformed `INKDESK_TRUSTED_PROXY` entry.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an IP address or CIDR block (e.g. 10.0.0.5 or 10.0.0.0/8)")]
pub struct BadProxy(String);

impl TrustedProxies {
    /// Parses a comma-separated list of addresses and CIDR blocks; blanks are ignored.
    pub fn parse(list: &str) -> Result<Self, BadProxy> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                let bad = || BadProxy(entry.to_owned());
                let (ip, bits) = match entry.split_once('/') {
                    Some((ip, bits)) => (ip, Some(bits)),
                    None => (entry, None),
                };
                let ip: IpAddr = ip.trim().parse().map_err(|_| bad())?;
                match bits {
                    None => {
                        let ip = canonical(ip);
                        Ok((ip, if ip.is_ipv4() { 32 } else { 128 }))
                    }
                    Some(bits) => {
                        let bits = bits.trim().parse::<u8>().map_err(|_| bad())?;
                        let max = if ip.is_ipv4() { 32 } else { 128 };
                        if bits > max {
                            return Err(bad());
                        }
                        Ok((ip, bits))
                    }
                }
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// True when no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|&(net, bits)| in_block(ip, net, bits))
    }

    /// The list as written in `check-config`.
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            return "unset (forwarded headers ignored)".to_owned();
        }
        self.0
            .iter()
            .map(|(ip, bits)| format!("{ip}/{bits}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The client of a request that came from `peer` with `headers`: the right-most
    /// `X-Forwarded-For` address that is not itself a trusted proxy, when `peer` is a
    /// trusted proxy; else `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        // Each proxy appends the address it saw; earlier entries are the client's own
        // claims. Walk from the right, past our own proxies, to the first one we did not
        // add ourselves.
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .collect();
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !self.contains(*ip))
            .map_or(peer, canonical)
    }

    /// The client of a request, from its connect info; `None` when the server was started
    /// without connect info (router tests).
    pub fn client_of(&self, parts: &Parts) -> Option<IpAddr> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())?;
        Some(self.client(canonical(peer), &parts.headers))
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is (dual-stack sockets report
/// IPv4 clients that way).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in xff {
            map.append("x-forwarded-for", value.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_are_ignored_unless_the_peer_is_a_trusted_proxy() {
        let none = TrustedProxies::default();
        let spoofed = headers(&["203.0.113.9"]);
        assert_eq!(
            none.client(ip("198.51.100.4"), &spoofed),
            ip("198.51.100.4")
        );
        let trusted = TrustedProxies::parse("10.0.0.5").unwrap();
        assert_eq!(
            trusted.client(ip("198.51.100.4"), &spoofed),
            ip("198.51.100.4"),
            "a client that is not the proxy cannot choose its address"
        );
        assert_eq!(trusted.client(ip("10.0.0.5"), &spoofed), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_address_is_the_client() {
        let trusted = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        // The client claims 1.1.1.1; the edge proxy saw 203.0.113.9; an inner proxy added
        // the edge proxy's address.
        let chain = headers(&["1.1.1.1, 203.0.113.9", "10.1.2.3"]);
        assert_eq!(trusted.client(ip("192.168.1.1"), &chain), ip("203.0.113.9"));
        // Only proxies in the header, or garbage: the peer itself.
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &headers(&["10.9.9.9", "not-an-ip"])),
            ip("10.0.0.1")
        );
        assert_eq!(
            trusted.client(ip("10.0.0.1"), &headers(&[])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn blocks_and_mapped_addresses_match() {
        let trusted = TrustedProxies::parse("172.16.0.0/12,fd00::/8").unwrap();
        assert!(trusted.contains(ip("172.31.255.1")));
        assert!(!trusted.contains(ip("172.32.0.1")));
        assert!(trusted.contains(ip("::ffff:172.16.0.9")));
        assert!(trusted.contains(ip("fd12::1")));
        assert!(!trusted.contains(ip("fe80::1")));
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
    }

    #[test]
    fn malformed_entries_are_errors_naming_them() {
        for bad in ["proxy.internal", "10.0.0.0/33", "::1/129", "10.0.0.1/x"] {
            let err = TrustedProxies::parse(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
        assert!(TrustedProxies::parse(" , ").unwrap().is_empty());
    }
}
