//! What may be probed: `HOST:PORT` parsing, host validation, and the address check that keeps
//! the bot from being used to reach internal networks.
//!
//! The classification of addresses leans on `ip_network`'s IANA special-purpose tables
//! (`is_global`), and adds what they leave out for our purpose: multicast of any scope, and IPv6
//! forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo), which are judged
//! by the IPv4 address inside.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ip_network::{Ipv4Network, Ipv6Network};

/// A host as typed: a DNS name (lower-cased, without a trailing dot) or an IP literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

impl Host {
    /// Validates a host. Rejects userinfo, paths, spaces, control characters, non-ASCII names
    /// (look-alikes), and names that the system resolver would read as an encoded IPv4 address
    /// (`2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1`): those are never a real server name,
    /// and refusing them here means they never reach the resolver.
    pub fn parse(text: &str) -> Result<Host, String> {
        if text.is_empty() {
            return Err("the host is empty".into());
        }
        if let Some(c) = text.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(format!("the host contains {c:?}"));
        }
        for (c, what) in [
            ('@', "a user name (@)"),
            ('/', "a path (/)"),
            ('?', "a query (?)"),
            ('#', "a fragment (#)"),
            ('%', "a zone or escape (%)"),
        ] {
            if text.contains(c) {
                return Err(format!("the host contains {what}"));
            }
        }
        if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            return inner
                .parse::<Ipv6Addr>()
                .map(|ip| Host::Ip(IpAddr::V6(ip)))
                .map_err(|_| "not a valid IPv6 address".into());
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        if !text.is_ascii() {
            return Err("the host has non-ASCII characters (use its xn-- form)".into());
        }
        let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
        if name.is_empty() || name.len() > 253 {
            return Err("the host name is empty or longer than 253 characters".into());
        }
        let labels: Vec<&str> = name.split('.').collect();
        for label in &labels {
            if label.is_empty() || label.len() > 63 {
                return Err("a part of the host name is empty or longer than 63 characters".into());
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(
                    "the host name has characters other than letters, digits, - and _".into(),
                );
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err("a part of the host name starts or ends with -".into());
            }
        }
        // The WHATWG URL rule: a host whose last label is a number is an IPv4 address in some
        // encoding, never a DNS name (no top-level domain is numeric).
        let last = labels.last().copied().unwrap_or_default();
        let hex = last
            .strip_prefix("0x")
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        if last.bytes().all(|b| b.is_ascii_digit()) || hex {
            return Err("the host is an encoded IPv4 address, not a name".into());
        }
        Ok(Host::Name(name))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Splits `HOST:PORT` (`[v6]:PORT` for IPv6). Only the syntax: the host is validated by
/// [`Host::parse`], separately, so that a bad host is a policy refusal and not a usage error.
pub fn split_host_port(text: &str) -> Result<(&str, u16), String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| format!("{text:?}: missing ] after the IPv6 address"))?;
        let port = rest[close + 1..]
            .strip_prefix(':')
            .ok_or_else(|| format!("{text:?}: expected HOST:PORT"))?;
        (&text[..close + 2], port)
    } else {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| format!("{text:?}: expected HOST:PORT"))?;
        if host.contains(':') {
            return Err(format!(
                "{text:?}: write an IPv6 address in brackets, e.g. [::1]:993"
            ));
        }
        (host, port)
    };
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("{text:?}: the port must be a number from 1 to 65535"))?;
    Ok((host, port))
}

/// Why an address is not one the bot may connect to, or `None` when it is globally routable.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    if ip.is_multicast() {
        return Some("multicast");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_private() {
        return Some("private");
    }
    if ip.is_link_local() {
        return Some("link-local");
    }
    let net = Ipv4Network::from(ip);
    if net.is_shared_address_space() {
        return Some("carrier-grade NAT");
    }
    if ip.is_unspecified() || net.is_local_identification() {
        return Some("unspecified (\"this network\")");
    }
    if ip.is_broadcast() {
        return Some("broadcast");
    }
    if ip.is_documentation() {
        return Some("documentation");
    }
    if net.is_benchmarking() {
        return Some("benchmarking");
    }
    if !net.is_global() {
        return Some("reserved");
    }
    None
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return v4_reason(v4);
    }
    let segments = ip.segments();
    if ip.is_multicast() {
        return Some("multicast");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    let net = Ipv6Network::from(ip);
    if net.is_unique_local() {
        return Some("unique local (ULA)");
    }
    if net.is_unicast_link_local() || net.is_unicast_site_local() {
        return Some("link-local");
    }
    if net.is_documentation() {
        return Some("documentation");
    }
    // 2001:2::/48 benchmarking and 100::/64 discard-only are missing from ip_network's list.
    if segments[0] == 0x2001 && segments[1] == 0x0002 && segments[2] == 0 {
        return Some("benchmarking");
    }
    if segments[0] == 0x0100 && segments[1..4] == [0, 0, 0] {
        return Some("discard-only");
    }
    // Everything outside 2000::/3 is unassigned or special.
    if segments[0] & 0xe000 != 0x2000 {
        return Some("reserved");
    }
    if !net.is_global() {
        return Some("reserved");
    }
    None
}

/// The IPv4 address carried inside an IPv6 address, for the forms that a packet can follow to
/// that IPv4 address: mapped (::ffff:0:0/96), compatible (::/96), NAT64 (64:ff9b::/96 and
/// 64:ff9b:1::/48), 6to4 (2002::/16) and Teredo (2001::/32, obfuscated client address).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some(Ipv4Addr::new(
            !(s[6] >> 8) as u8,
            !s[6] as u8,
            !(s[7] >> 8) as u8,
            !s[7] as u8,
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused() {
        for text in [
            "127.0.0.1",
            "127.255.255.254",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "239.1.1.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.1",
            "240.0.0.1",
            "192.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "2001:db8::1",
            "2001:2::1",
            "100::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::a00:1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
        ] {
            let ip: IpAddr = text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert!(non_public_reason(ip).is_some(), "{text} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for text in [
            "8.8.8.8",
            "1.1.1.1",
            "142.250.27.108",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4009:81d::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            let ip: IpAddr = text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert_eq!(non_public_reason(ip), None, "{text} must be allowed");
        }
    }

    #[test]
    fn hosts_are_validated() {
        assert_eq!(
            Host::parse("Mail.Example.COM."),
            Ok(Host::Name("mail.example.com".into()))
        );
        assert_eq!(
            Host::parse("[::1]"),
            Ok(Host::Ip(
                "::1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::BROADCAST))
            ))
        );
        assert!(matches!(Host::parse("127.0.0.1"), Ok(Host::Ip(_))));
        for bad in [
            "",
            "user@mail.example.com",
            "mail.example.com/x",
            "mail example.com",
            "mail.example.com\r\nQUIT",
            "imap://mail.example.com",
            "mаil.example.com",
            "-mail.example.com",
            "a..b",
            "2130706433",
            "0x7f000001",
            "0177.0.0.1",
            "127.1",
            "0x7f.1",
            "fe80::1%eth0",
        ] {
            assert!(Host::parse(bad).is_err(), "{bad:?} must be invalid");
        }
    }

    #[test]
    fn host_and_port_are_split() {
        assert_eq!(
            split_host_port("mail.example.com:993"),
            Ok(("mail.example.com", 993))
        );
        assert_eq!(split_host_port("[::1]:143"), Ok(("[::1]", 143)));
        assert!(split_host_port("mail.example.com").is_err());
        assert!(split_host_port("mail.example.com:0").is_err());
        assert!(split_host_port("mail.example.com:99999").is_err());
        assert!(split_host_port("[::1]143").is_err());
        assert!(split_host_port("::1:143").is_err());
    }
}
