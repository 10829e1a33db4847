//! DNS through hickory-resolver: MX, SRV and addresses, each answer turned into plain data
//! ([`Answer`]) that tells NXDOMAIN, "no such record" and a failing resolver apart.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::{ResolveError, ResolveErrorKind, TokioResolver};

use crate::core::diagnose::discovery::{Answer, MxHost, SrvRecord};

/// A resolver: the system's (`/etc/resolv.conf`), or one `IP:PORT` (`[probe] resolver`,
/// `--resolver`), asked over UDP with TCP fallback.
#[derive(Clone)]
pub struct Dns {
    resolver: TokioResolver,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dns")
    }
}

impl Dns {
    /// `timeout` bounds each question (one attempt; a silent resolver costs exactly this).
    pub fn new(server: Option<SocketAddr>, timeout: Duration) -> Result<Dns, String> {
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 1;
        // Names are looked up as typed, never with the host's search domains appended.
        opts.ndots = 0;
        let builder = match server {
            Some(addr) => {
                opts.use_hosts_file = ResolveHosts::Never;
                let config = ResolverConfig::from_parts(
                    None,
                    vec![],
                    NameServerConfigGroup::from_ips_clear(&[addr.ip()], addr.port(), true),
                );
                TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
            }
            None => TokioResolver::builder_tokio()
                .map_err(|e| format!("cannot read the system's DNS settings: {e}"))?,
        };
        Ok(Dns {
            resolver: builder.with_options(opts).build(),
        })
    }

    pub async fn mx(&self, domain: &str) -> Answer<Vec<MxHost>> {
        match self.resolver.mx_lookup(absolute(domain)).await {
            Ok(lookup) => found_or_empty(
                lookup
                    .iter()
                    .map(|mx| MxHost {
                        host: mx.exchange().to_ascii(),
                        preference: mx.preference(),
                    })
                    .collect(),
            ),
            Err(e) => classify(&e),
        }
    }

    pub async fn srv(&self, name: &str) -> Answer<Vec<SrvRecord>> {
        match self.resolver.srv_lookup(absolute(name)).await {
            Ok(lookup) => found_or_empty(
                lookup
                    .iter()
                    .map(|srv| SrvRecord {
                        priority: srv.priority(),
                        weight: srv.weight(),
                        host: srv.target().to_ascii(),
                        port: srv.port(),
                    })
                    .collect(),
            ),
            Err(e) => classify(&e),
        }
    }

    /// A and AAAA together.
    pub async fn ips(&self, host: &str) -> Answer<Vec<IpAddr>> {
        match self.resolver.lookup_ip(absolute(host)).await {
            Ok(lookup) => found_or_empty(lookup.iter().collect()),
            Err(e) => classify(&e),
        }
    }
}

fn absolute(name: &str) -> String {
    let name = name.trim_end_matches('.');
    format!("{name}.")
}

fn found_or_empty<T>(items: Vec<T>) -> Answer<Vec<T>> {
    if items.is_empty() {
        Answer::NoRecords
    } else {
        Answer::Found(items)
    }
}

/// NXDOMAIN and NOERROR-without-records are facts about the name; everything else (timeouts,
/// SERVFAIL, REFUSED, a broken socket) is the resolver failing.
pub fn classify<T>(e: &ResolveError) -> Answer<T> {
    if let ResolveErrorKind::Proto(proto) = e.kind() {
        match proto.kind() {
            ProtoErrorKind::NoRecordsFound { response_code, .. } => {
                return match *response_code {
                    ResponseCode::NXDomain => Answer::NxDomain,
                    ResponseCode::NoError => Answer::NoRecords,
                    code => Answer::Failed(format!("the resolver answered {code}")),
                };
            }
            ProtoErrorKind::Timeout => {
                return Answer::Failed("the resolver did not answer in time".into())
            }
            _ => {}
        }
    }
    Answer::Failed(e.to_string())
}
