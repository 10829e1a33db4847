//! Discovery: where a domain's mail really lives (issue 11). The network adapter of
//! [`crate::core::diagnose::discovery`], which decides.
//!
//! # Layout
//! - [`Dns`]: the probe's resolver ([`crate::probe::dns`]), asked for MX and SRV records.
//! - [`autoconfig`]: the domain's own autoconfig file, fetched under the probe's address policy.
//! - [`ispdb`]: the shipped subset of Thunderbird's ISPDB (data, MPL-2.0).
//! - [`cli`]: `imap-triage discover`.
//!
//! Everything here only gathers [`DiscoveryInput`]; ranking, suggestions, findings and the
//! provider by MX are pure and live in the core.

pub mod autoconfig;
pub mod cli;
pub mod ispdb;

use std::sync::Arc;

use crate::core::diagnose::discovery::{
    self, Answer, DiscoveryInput, DiscoveryReport, DomainAutoconfig, SrvAnswers,
};
use crate::core::rules::Rules;
use crate::probe::target::Host;
use crate::probe::TlsSetup;

pub use autoconfig::FetchPolicy;
// The resolver is the probe's (it resolves the hosts it connects to); discovery asks it too.
pub use crate::probe::dns::Dns;
pub use ispdb::Ispdb;

/// The longest wait for one DNS answer.
const DNS_STEP: std::time::Duration = std::time::Duration::from_secs(2);

/// Gathers what DNS, the domain's web server and the ISPDB say about a domain. One per process.
#[derive(Debug, Clone)]
pub struct Discoverer {
    dns: Dns,
    tls: Arc<TlsSetup>,
    fetch: FetchPolicy,
    ispdb: Arc<Ispdb>,
}

impl Discoverer {
    pub fn new(dns: Dns, tls: TlsSetup, fetch: FetchPolicy) -> Self {
        Discoverer {
            dns,
            tls: Arc::new(tls),
            fetch,
            ispdb: Arc::new(Ispdb::embedded()),
        }
    }

    /// The discoverer `[probe]` describes: its resolver (the system's when `None`), and its
    /// test-only `allow_private` for the autoconfig fetch. Call within the runtime.
    pub fn configured(
        resolver: Option<std::net::SocketAddr>,
        allow_private: bool,
        tls: TlsSetup,
    ) -> Result<Self, String> {
        let dns = Dns::new(resolver, DNS_STEP)?;
        let fetch = FetchPolicy {
            allow_private,
            ..FetchPolicy::default()
        };
        Ok(Discoverer::new(dns, tls, fetch))
    }

    /// The domain as a DNS name, or why it is not one. An email address gives its domain.
    pub fn domain(text: &str) -> Result<String, String> {
        match Host::parse(discovery::domain_of(text)) {
            Ok(Host::Name(name)) if name.contains('.') => Ok(name),
            Ok(Host::Name(_)) => Err("a domain has at least two labels, e.g. example.com".into()),
            Ok(Host::Ip(_)) => Err("an IP address is not a mail domain".into()),
            Err(e) => Err(e),
        }
    }

    /// Every look-up at once: MX, the four SRV names, the domain's autoconfig; then the ISPDB.
    /// `domain` may be an email address: only its domain is used.
    pub async fn input(&self, domain: &str) -> DiscoveryInput {
        let mut input = DiscoveryInput::new(discovery::domain_of(domain));
        let d = input.domain.clone();
        let srv = |service: &str| format!("_{service}._tcp.{d}");
        let names = [
            srv("imaps"),
            srv("imap"),
            srv("submissions"),
            srv("submission"),
        ];
        let (mx, imaps, imap, submissions, submission, autoconfig) = tokio::join!(
            self.dns.mx(&d),
            self.dns.srv(&names[0]),
            self.dns.srv(&names[1]),
            self.dns.srv(&names[2]),
            self.dns.srv(&names[3]),
            autoconfig::fetch(&self.dns, &self.tls, &self.fetch, &d),
        );
        input.srv = SrvAnswers {
            imaps,
            imap,
            submissions,
            submission,
        };
        // A domain that does not exist has no web server either; and when the resolver fails,
        // the fetch's look-ups failed with it: say nothing about either.
        input.domain_autoconfig = match mx {
            Answer::NxDomain | Answer::Failed(_) => DomainAutoconfig::NotTried,
            _ => autoconfig,
        };
        let hosts = match &mx {
            Answer::Found(hosts) => discovery::sorted_mx(hosts.clone()),
            _ => Vec::new(),
        };
        input.ispdb = self.ispdb.lookup(&d, &hosts);
        input.mx = mx;
        input
    }
}

/// What the triage engine needs from discovery: a domain's report, judged with the engine's
/// rules (a reload changes them). [`Discoverer`] is the real one; tests give the engine a
/// canned one.
#[async_trait::async_trait]
pub trait Discover: Send + Sync {
    async fn discover(&self, rules: &Rules, domain: &str) -> DiscoveryReport;
}

#[async_trait::async_trait]
impl Discover for Discoverer {
    async fn discover(&self, rules: &Rules, domain: &str) -> DiscoveryReport {
        discovery::discovery_report(rules, &self.input(domain).await)
    }
}
