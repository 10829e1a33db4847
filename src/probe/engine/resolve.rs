//! The DNS stage's two questions, answered as values: what a name resolves to, and whether
//! every address it gave may be connected to.

use std::net::SocketAddr;

use tokio::time::{timeout_at, Instant};

use crate::core::diagnose::discovery::Answer;
use crate::core::diagnose::Failure;
use crate::probe::dns::Dns;

use crate::probe::target::{non_public_reason, Host};

/// The addresses of `host` on `port`, through the configured resolver when there is one, else
/// the system's; never waiting past `until`.
pub(super) async fn lookup(
    dns: Option<&Dns>,
    host: &Host,
    port: u16,
    until: Instant,
) -> Result<Vec<SocketAddr>, Failure> {
    let name = match host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Name(name) => name,
    };
    match dns {
        Some(dns) => match timeout_at(until, dns.ips(name)).await {
            Err(_) => Err(resolver_silent()),
            Ok(Answer::Found(ips)) => Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect()),
            Ok(Answer::NxDomain) => Err(Failure::DnsNotFound),
            Ok(Answer::NoRecords) => Err(Failure::DnsNoAddress),
            Ok(Answer::Failed(detail)) => Err(Failure::DnsError { detail }),
        },
        None => match timeout_at(until, tokio::net::lookup_host((name.as_str(), port))).await {
            Err(_) => Err(resolver_silent()),
            Ok(Err(e)) => Err(dns_failure(&e)),
            Ok(Ok(addrs)) => {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if addrs.is_empty() {
                    Err(Failure::DnsNotFound)
                } else {
                    Ok(addrs)
                }
            }
        },
    }
}

/// Why one of `addrs` must not be connected to, said of what the member typed; `None` when all
/// are public. Every address is checked, not just the first: a name with one public and one
/// internal address must not be usable to reach the internal one.
pub(super) fn non_public(host: &Host, addrs: &[SocketAddr]) -> Option<String> {
    let (ip, why) = addrs
        .iter()
        .find_map(|a| non_public_reason(a.ip()).map(|why| (a.ip(), why)))?;
    Some(match host {
        Host::Ip(_) => format!("{ip} is {why}"),
        Host::Name(name) => format!("{name} resolves to {ip}, which is {why}"),
    })
}

/// The addresses to connect to, in order: IPv4 first (the vendor's servers connect over IPv4),
/// at most four.
pub(super) fn connect_order(mut addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs.dedup();
    addrs.truncate(4);
    addrs
}

fn dns_failure(e: &std::io::Error) -> Failure {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    // glibc's getaddrinfo texts: EAI_NONAME is NXDOMAIN, EAI_NODATA a name without addresses;
    // anything else (EAI_AGAIN "temporary failure", EAI_FAIL) is the resolver failing.
    if lower.contains("not known") || lower.contains("nodename nor servname") {
        Failure::DnsNotFound
    } else if lower.contains("no address associated") {
        Failure::DnsNoAddress
    } else {
        Failure::DnsError { detail: text }
    }
}

fn resolver_silent() -> Failure {
    Failure::DnsError {
        detail: "the resolver did not answer in time".into(),
    }
}
