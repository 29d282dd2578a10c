//! `--deliver-deny-private`: on a shared host, webhook targets that reach into the host's own
//! network are refused, so a subscription cannot be used to probe it (SSRF).
//!
//! Refused: loopback, private (RFC 1918, IPv6 unique local), link-local (which holds the cloud
//! metadata address 169.254.169.254), carrier-grade NAT, unspecified, broadcast, multicast and
//! documentation ranges, and IPv4 addresses mapped into IPv6. A URL with an IP literal is
//! checked before anything is sent; a host name is checked by the delivery client's resolver,
//! which refuses the name when any of its addresses is refused (so a name cannot resolve to one
//! public and one private address and be tried on both). Redirects are never followed, so a
//! public target cannot bounce a delivery inward either.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

#[derive(Debug, thiserror::Error)]
#[error(
    "{target} is {address}, a private, loopback or link-local address (--deliver-deny-private)"
)]
pub struct Refused {
    pub target: String,
    pub address: IpAddr,
}

/// Whether deliveries may go to `ip` under `--deliver-deny-private`.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT
        || (a == 100 && (64..128).contains(&b))
        // 198.18.0.0/15, benchmarking
        || (a == 198 && (b == 18 || b == 19))
        // 240.0.0.0/4, reserved
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local (AWS's metadata fd00:ec2::254 is one)
        || (first & 0xfe00) == 0xfc00
        // fe80::/10 link-local
        || (first & 0xffc0) == 0xfe80
        // 2001:db8::/32 documentation
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

/// The URL's host when it is an IP literal that is refused.
pub fn refused_literal(url: &str) -> Option<Refused> {
    let parsed = reqwest::Url::parse(url).ok()?;
    // The URL parser has already normalised `http://2130706433/` and the like to dotted form.
    let host = parsed.host_str()?;
    let address: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    (!is_public(address)).then(|| Refused {
        target: url.to_owned(),
        address,
    })
}

/// A resolver that refuses a name with any refused address.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(Box::new(Refused {
                    target: host,
                    address: bad.ip(),
                })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_link_local_and_metadata_addresses_are_refused() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = refused.parse().expect("an address");
            assert!(!is_public(ip), "{refused} should be refused");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            let ip: IpAddr = public.parse().expect("an address");
            assert!(is_public(ip), "{public} should be allowed");
        }
    }

    #[test]
    fn ip_literals_in_urls_are_checked_names_are_left_to_the_resolver() {
        assert!(refused_literal("http://169.254.169.254/latest/meta-data").is_some());
        assert!(refused_literal("https://[::1]:8443/hook").is_some());
        assert!(refused_literal("https://10.0.0.8/hook").is_some());
        assert!(refused_literal("http://2130706433:9000/hook").is_some());
        assert!(refused_literal("https://93.184.216.34/hook").is_none());
        assert!(refused_literal("https://hooks.example.com/x").is_none());
    }
}
