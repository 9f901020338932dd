//! Which addresses a download may connect to.
//!
//! Attachment URLs come from the webhook, so from whoever can make Meta deliver a message:
//! a URL naming `127.0.0.1`, a cloud metadata address or a name that resolves to one would
//! turn the downloader into a way into the studio's network. Only public unicast addresses
//! are allowed, and the check happens when connecting: `PublicResolver` is the client's
//! DNS resolver, so the address checked is the address connected to (a name that resolves
//! to a public address once and to a private one later — DNS rebinding — is checked again
//! at every connection). Literal IP hosts never reach a resolver, so `url_allowed`
//! checks them on the first URL and on every redirect.
//!
//! Host names in [`AllowHosts`] (`INKDESK_DOWNLOAD_ALLOW_HOSTS`) skip the check: tests
//! against a local fake, a private CDN.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// True for a public unicast address: not loopback, private (RFC 1918), link-local,
/// CGNAT (100.64.0.0/10), multicast, broadcast, unspecified, "this network" (0.0.0.0/8)
/// or reserved (240.0.0.0/4); for IPv6 also not unique-local (fc00::/7), link-local
/// (fe80::/10) or site-local (fec0::/10), and an IPv4 address embedded in IPv6
/// (`::ffff:a.b.c.d`, `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) must be public
/// itself.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let cgnat = a == 100 && (64..128).contains(&b);
    let this_network = a == 0;
    let reserved = a >= 240;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_unspecified()
        || cgnat
        || this_network
        || reserved)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    let site_local = first & 0xffc0 == 0xfec0;
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || unique_local
        || link_local
        || site_local)
}

/// The IPv4 address an IPv6 address stands for, when it embeds one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible; `::` and `::1` are handled as
        // 0.0.0.0 and 0.0.0.1, both refused like their IPv6 meaning).
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        // NAT64 well-known prefix.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        // 6to4: 2002:aabb:ccdd::/48 routes to a.b.c.d.
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

/// Host names allowed to resolve to any address (lower-case, no trailing dot, IPv6
/// literals without brackets). Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowHosts(Arc<HashSet<String>>);

impl AllowHosts {
    /// No exceptions.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a comma-separated list (`INKDESK_DOWNLOAD_ALLOW_HOSTS`); blanks are ignored.
    pub fn parse(list: &str) -> Self {
        Self(Arc::new(
            list.split(',')
                .map(normalise)
                .filter(|h| !h.is_empty())
                .collect(),
        ))
    }

    /// Whether `host` (a name or an IP literal) is on the list.
    pub fn contains(&self, host: &str) -> bool {
        !self.0.is_empty() && self.0.contains(&normalise(host))
    }

    /// The hosts, sorted (for `check-config`).
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.0.iter().cloned().collect();
        hosts.sort();
        hosts
    }
}

fn normalise(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Why a URL or a name may not be fetched. Carried through reqwest's error chain and
/// recognised by the fetcher.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Refusal {
    /// The host is, or resolves only to, non-public addresses.
    #[error("the host does not resolve to a public address")]
    NotPublic,
    /// A redirect to something other than an http(s) URL with a host.
    #[error("redirect to a URL that cannot be downloaded")]
    Unsupported,
    /// More redirects than allowed.
    #[error("too many redirects")]
    TooManyRedirects,
}

/// Checks a URL before a request is made to it (the first one and each redirect): an
/// http(s) URL with a host, and a literal IP host must be public unless allowed. Names
/// are checked later, by [`PublicResolver`], when connecting.
pub(crate) fn url_allowed(url: &Url, allow: &AllowHosts) -> Result<(), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::Unsupported);
    }
    let literal = match url.host() {
        None => return Err(Refusal::Unsupported),
        Some(Host::Domain(_)) => return Ok(()),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
    };
    if is_public(literal) || allow.contains(&literal.to_string()) {
        Ok(())
    } else {
        Err(Refusal::NotPublic)
    }
}

/// A reqwest DNS resolver that returns only public addresses, except for allowed hosts.
#[derive(Debug, Clone)]
pub(crate) struct PublicResolver {
    allow: AllowHosts,
}

impl PublicResolver {
    pub(crate) fn new(allow: AllowHosts) -> Self {
        Self { allow }
    }
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allowed = self.allow.contains(&host);
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port in.
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| allowed || is_public(addr.ip()))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(Refusal::NotPublic) as _);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_pass() {
        let refused = [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
        ];
        for ip in refused {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!is_public(ip), "{ip} must be refused");
        }
        let allowed = [
            "8.8.8.8",
            "157.240.1.35",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "2a03:2880:f12f:83:face:b00c::25de",
            "2606:4700::1111",
            "::ffff:157.240.1.35",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ];
        for ip in allowed {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_public(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn allow_list_is_case_insensitive_and_ignores_blanks_dots_and_brackets() {
        let allow = AllowHosts::parse(" CDN.Studio.internal. , ,127.0.0.1,[::1]");
        assert!(allow.contains("cdn.studio.internal"));
        assert!(allow.contains("127.0.0.1"));
        assert!(allow.contains("[::1]"));
        assert!(allow.contains("::1"));
        assert!(!allow.contains("studio.internal"));
        assert!(!allow.contains(""));
        assert_eq!(allow.hosts().len(), 3);
        assert!(!AllowHosts::parse("").contains(""));
    }

    #[test]
    fn literal_hosts_are_checked_names_are_left_to_the_resolver() {
        let none = AllowHosts::none();
        let check = |url: &str, allow: &AllowHosts| url_allowed(&Url::parse(url).unwrap(), allow);
        assert!(matches!(
            check("http://127.0.0.1:8080/x", &none),
            Err(Refusal::NotPublic)
        ));
        assert!(matches!(
            check("http://[::ffff:7f00:1]/x", &none),
            Err(Refusal::NotPublic)
        ));
        assert!(matches!(
            check("http://[fd00::1]/x", &none),
            Err(Refusal::NotPublic)
        ));
        assert!(check("https://157.240.1.35/x", &none).is_ok());
        assert!(check("https://scontent.cdninstagram.com/x", &none).is_ok());
        assert!(check("http://127.0.0.1:8080/x", &AllowHosts::parse("127.0.0.1")).is_ok());
        assert!(matches!(
            check("file:///etc/passwd", &none),
            Err(Refusal::Unsupported)
        ));
    }

    #[tokio::test]
    async fn the_resolver_drops_non_public_answers_unless_the_name_is_allowed() {
        let refuse = PublicResolver::new(AllowHosts::none());
        let err = refuse
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .expect("localhost resolves only to loopback");
        assert!(err.downcast_ref::<Refusal>().is_some(), "{err}");
        let allow = PublicResolver::new(AllowHosts::parse("localhost"));
        let addrs: Vec<SocketAddr> = allow
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        assert!(!addrs.is_empty());
    }
}
