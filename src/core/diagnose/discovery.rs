//! Where a domain's mail really lives, decided from what the edge looked up (issue 11).
//!
//! The network adapter ([`crate::discover`]) asks DNS for MX and SRV records, fetches the
//! domain's own autoconfig file and looks the domain up in the shipped ISPDB data; what it got is
//! plain data ([`DiscoveryInput`]). Here, without I/O: which provider hosts the mail (by MX),
//! which SRV record wins (RFC 2782 order), which settings to suggest and why, the findings, and
//! how the member's own settings compare. The JSON object of `imap-triage discover` is
//! [`DiscoveryReport`].

use serde::{Deserialize, Serialize};

use super::findings::{excerpt, Code, Finding, Severity};
use crate::core::report::endpoint_text;
use crate::core::rules::{FindingTexts, Provider, Rules};
use crate::core::service::TlsMode;

/// One MX record, as the contract prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxHost {
    pub host: String,
    pub preference: u16,
}

/// One SRV record as DNS returned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub host: String,
    pub port: u16,
}

/// The SRV record chosen for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrvTarget {
    pub host: String,
    pub port: u16,
}

/// RFC 6186 (`_imaps`, `_imap`, `_submission`) and RFC 8314 (`_submissions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrvRecords {
    pub imaps: Option<SrvTarget>,
    pub imap: Option<SrvTarget>,
    pub submissions: Option<SrvTarget>,
    pub submission: Option<SrvTarget>,
}

impl SrvRecords {
    fn any(&self) -> bool {
        self.imaps.is_some()
            || self.imap.is_some()
            || self.submissions.is_some()
            || self.submission.is_some()
    }
}

/// One server from an autoconfig file or the provider table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    #[serde(with = "crate::core::service::as_security")]
    pub security: TlsMode,
}

impl ServerSettings {
    pub fn endpoint(&self) -> String {
        endpoint_text(&self.host, self.port)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoconfigSource {
    /// The domain's own file (autoconfig.DOMAIN or DOMAIN/.well-known).
    Domain,
    /// Thunderbird's ISPDB, shipped with the bot.
    Ispdb,
}

/// Thunderbird-style settings (clientConfig v1.1), reduced to what the vendor uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoconfig {
    pub source: AutoconfigSource,
    pub imap: Option<ServerSettings>,
    pub smtp: Option<ServerSettings>,
}

/// Where the suggested settings come from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestedSource {
    /// The domain's own autoconfig file.
    Autoconfig,
    /// The shipped ISPDB data (by the email domain or its MX).
    Ispdb,
    /// RFC 6186 / RFC 8314 SRV records.
    Srv,
    /// `rules/providers.toml` (by the email domain or its MX).
    Provider,
}

impl SuggestedSource {
    /// In words, for moderators.
    pub fn describe(self) -> &'static str {
        match self {
            SuggestedSource::Autoconfig => "the domain's autoconfig",
            SuggestedSource::Ispdb => "Thunderbird's ISPDB",
            SuggestedSource::Srv => "SRV records",
            SuggestedSource::Provider => "the provider table",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggested {
    pub imap: Option<ServerSettings>,
    pub smtp: Option<ServerSettings>,
    /// Where the IMAP suggestion (else the SMTP one) comes from; null when nothing is known.
    pub source: Option<SuggestedSource>,
}

/// What one DNS question returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Answer<T> {
    Found(T),
    /// The name exists but has no record of this type.
    NoRecords,
    /// NXDOMAIN: the name does not exist.
    NxDomain,
    /// The resolver failed (timeout, SERVFAIL, refused): nothing is known about the name.
    Failed(String),
}

impl<T> Answer<T> {
    fn found(&self) -> Option<&T> {
        match self {
            Answer::Found(value) => Some(value),
            _ => None,
        }
    }
}

/// The SRV answers, one per service name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrvAnswers {
    pub imaps: Answer<Vec<SrvRecord>>,
    pub imap: Answer<Vec<SrvRecord>>,
    pub submissions: Answer<Vec<SrvRecord>>,
    pub submission: Answer<Vec<SrvRecord>>,
}

impl Default for SrvAnswers {
    fn default() -> Self {
        SrvAnswers {
            imaps: Answer::NoRecords,
            imap: Answer::NoRecords,
            submissions: Answer::NoRecords,
            submission: Answer::NoRecords,
        }
    }
}

/// The domain's own autoconfig, as fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum DomainAutoconfig {
    /// A valid file at `url`. `plain` lists servers it offers without encryption (skipped).
    Found {
        url: String,
        imap: Option<ServerSettings>,
        smtp: Option<ServerSettings>,
        plain: Vec<String>,
    },
    /// No file at any of the addresses (no such host, 404, nothing listening).
    NotFound,
    /// Something answered but could not be used; `detail` says what and where.
    Unusable { detail: String },
    /// Not tried (e.g. the domain does not exist).
    NotTried,
}

/// Everything the edge found out about one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryInput {
    /// Lower-cased, without a trailing dot.
    pub domain: String,
    pub mx: Answer<Vec<MxHost>>,
    pub srv: SrvAnswers,
    pub domain_autoconfig: DomainAutoconfig,
    /// The ISPDB entry for the domain or one of its MX hosts' domains.
    pub ispdb: Option<(String, Autoconfig)>,
}

impl DiscoveryInput {
    pub fn new(domain: &str) -> Self {
        DiscoveryInput {
            domain: normalize(domain),
            mx: Answer::NoRecords,
            srv: SrvAnswers::default(),
            domain_autoconfig: DomainAutoconfig::NotTried,
            ispdb: None,
        }
    }
}

/// The JSON object of `imap-triage discover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryReport {
    pub domain: String,
    pub mx: Vec<MxHost>,
    /// A provider id from `rules/providers.toml`, by the MX hosts.
    pub mx_provider: Option<String>,
    pub srv: SrvRecords,
    pub autoconfig: Option<Autoconfig>,
    pub suggested: Suggested,
    pub findings: Vec<Finding>,
}

impl DiscoveryReport {
    /// Something was found: an MX, an SRV record, an autoconfig file, or a suggestion.
    pub fn found_anything(&self) -> bool {
        !self.mx.is_empty()
            || self.srv.any()
            || self.autoconfig.is_some()
            || self.suggested.imap.is_some()
            || self.suggested.smtp.is_some()
    }
}

/// A domain as DNS names are compared: trimmed, lower-cased, no trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The domain of `DOMAIN` or `local@DOMAIN` (the local part is never kept).
pub fn domain_of(text: &str) -> &str {
    let text = text.trim();
    match text.rsplit_once('@') {
        Some((_, domain)) => domain,
        None => text,
    }
}

/// MX hosts sorted by preference (then name), normalized; the null MX (RFC 7505, ".") dropped.
pub fn sorted_mx(mut hosts: Vec<MxHost>) -> Vec<MxHost> {
    for h in &mut hosts {
        h.host = normalize(&h.host);
    }
    hosts.retain(|h| !h.host.is_empty());
    hosts.sort_by(|a, b| (a.preference, &a.host).cmp(&(b.preference, &b.host)));
    hosts.dedup();
    hosts
}

/// The provider whose `mx_patterns` match the most preferred MX host that matches any.
pub fn mx_provider<'r>(rules: &'r Rules, mx: &[MxHost]) -> Option<&'r Provider> {
    mx.iter()
        .find_map(|h| rules.provider_by_mx(&normalize(&h.host)))
}

/// RFC 2782 order without randomness: lowest priority, then highest weight, then name. A
/// target of "." means the service is decidedly not offered (RFC 2782, RFC 6186 section 3.4).
pub fn choose_srv(records: &[SrvRecord]) -> Option<SrvTarget> {
    let mut sorted: Vec<&SrvRecord> = records.iter().collect();
    sorted.sort_by(|a, b| {
        (a.priority, std::cmp::Reverse(a.weight), &a.host).cmp(&(
            b.priority,
            std::cmp::Reverse(b.weight),
            &b.host,
        ))
    });
    let best = sorted.first()?;
    let host = normalize(&best.host);
    if host.is_empty() || best.port == 0 {
        return None;
    }
    Some(SrvTarget {
        host,
        port: best.port,
    })
}

fn srv_records(answers: &SrvAnswers) -> SrvRecords {
    let pick = |a: &Answer<Vec<SrvRecord>>| a.found().and_then(|r| choose_srv(r));
    SrvRecords {
        imaps: pick(&answers.imaps),
        imap: pick(&answers.imap),
        submissions: pick(&answers.submissions),
        submission: pick(&answers.submission),
    }
}

fn provider_settings(provider: &Provider) -> (Option<ServerSettings>, Option<ServerSettings>) {
    let convert = |s: &crate::core::rules::ServerSetting| ServerSettings {
        host: s.host.clone(),
        port: s.port,
        security: s.security,
    };
    (
        provider.imap.as_ref().map(convert),
        provider.smtp.as_ref().map(convert),
    )
}

/// Judges what the edge found: the contract object, with findings most severe first.
pub fn discovery_report(rules: &Rules, input: &DiscoveryInput) -> DiscoveryReport {
    let domain = normalize(&input.domain);
    let mx = input.mx.found().cloned().map(sorted_mx).unwrap_or_default();
    let by_mx = mx_provider(rules, &mx);
    let by_domain = rules.provider_by_domain(&domain);
    let srv = srv_records(&input.srv);
    let domain_autoconfig = match &input.domain_autoconfig {
        DomainAutoconfig::Found { imap, smtp, .. } if imap.is_some() || smtp.is_some() => {
            Some(Autoconfig {
                source: AutoconfigSource::Domain,
                imap: imap.clone(),
                smtp: smtp.clone(),
            })
        }
        _ => None,
    };
    let ispdb = input.ispdb.as_ref().map(|(_, a)| a.clone());
    let autoconfig = domain_autoconfig.clone().or_else(|| ispdb.clone());

    // Candidates in order of trust: what the domain publishes itself, then curated data.
    let mut sources: Vec<(
        SuggestedSource,
        Option<ServerSettings>,
        Option<ServerSettings>,
    )> = Vec::new();
    if let Some(a) = &domain_autoconfig {
        sources.push((SuggestedSource::Autoconfig, a.imap.clone(), a.smtp.clone()));
    }
    if let Some(a) = &ispdb {
        sources.push((SuggestedSource::Ispdb, a.imap.clone(), a.smtp.clone()));
    }
    let srv_imap = srv
        .imaps
        .as_ref()
        .map(|t| (t, TlsMode::Implicit))
        .or_else(|| srv.imap.as_ref().map(|t| (t, TlsMode::Starttls)));
    let srv_smtp = srv
        .submissions
        .as_ref()
        .map(|t| (t, TlsMode::Implicit))
        .or_else(|| srv.submission.as_ref().map(|t| (t, TlsMode::Starttls)));
    if srv_imap.is_some() || srv_smtp.is_some() {
        let convert = |(t, security): (&SrvTarget, TlsMode)| ServerSettings {
            host: t.host.clone(),
            port: t.port,
            security,
        };
        sources.push((
            SuggestedSource::Srv,
            srv_imap.map(convert),
            srv_smtp.map(convert),
        ));
    }
    for provider in by_domain.iter().chain(by_mx.iter()) {
        let (imap, smtp) = provider_settings(provider);
        sources.push((SuggestedSource::Provider, imap, smtp));
    }
    let mut suggested = Suggested::default();
    for (source, imap, smtp) in &sources {
        if suggested.imap.is_none() && imap.is_some() {
            suggested.imap = imap.clone();
            suggested.source = Some(*source);
        }
        if suggested.smtp.is_none() && smtp.is_some() {
            suggested.smtp = smtp.clone();
            suggested.source.get_or_insert(*source);
        }
    }

    let findings = findings(
        &rules.findings,
        input,
        &mx,
        by_mx.or(by_domain),
        &srv,
        domain_autoconfig.is_some(),
        &suggested,
    );
    DiscoveryReport {
        domain,
        mx,
        mx_provider: by_mx.map(|p| p.id.clone()),
        srv,
        autoconfig,
        suggested,
        findings,
    }
}

fn findings(
    texts: &FindingTexts,
    input: &DiscoveryInput,
    mx: &[MxHost],
    provider: Option<&Provider>,
    srv: &SrvRecords,
    has_domain_autoconfig: bool,
    suggested: &Suggested,
) -> Vec<Finding> {
    let domain = normalize(&input.domain);
    let domain = domain.as_str();
    let mut out = Vec::new();
    // With no MX to go by, a provider or an ISPDB entry can only come from the domain itself:
    // a known mail domain. A resolver that calls it nonexistent is broken or filtered (a
    // sandbox, a captive portal), and that is ours to say, not the member's spelling.
    let known_mail_domain = provider.is_some() || input.ispdb.is_some();
    match &input.mx {
        Answer::NxDomain if known_mail_domain => out.push(dns_unavailable(
            texts,
            domain,
            "MX",
            "the resolver says the name does not exist, but it is a known mail domain",
        )),
        Answer::NxDomain => out.push(Finding::new(
            Code::DomainNotFound,
            Severity::Error,
            texts.render("domain_not_found", &[("domain", domain)]),
        )),
        Answer::Failed(detail) => out.push(dns_unavailable(texts, domain, "MX", detail)),
        Answer::NoRecords => out.push(Finding::new(
            Code::NoMx,
            Severity::Warning,
            texts.render("no_mx", &[("domain", domain)]),
        )),
        Answer::Found(_) if mx.is_empty() => out.push(Finding::new(
            Code::NoMx,
            Severity::Warning,
            texts.render("null_mx", &[("domain", domain)]),
        )),
        Answer::Found(_) => {}
    }
    // One resolver failure is enough to say; SRV failures after an MX failure add nothing.
    if !matches!(input.mx, Answer::Failed(_)) {
        let failed = [
            ("_imaps._tcp", &input.srv.imaps),
            ("_imap._tcp", &input.srv.imap),
            ("_submissions._tcp", &input.srv.submissions),
            ("_submission._tcp", &input.srv.submission),
        ]
        .into_iter()
        .find_map(|(name, a)| match a {
            Answer::Failed(detail) => Some((name, detail)),
            _ => None,
        });
        if let Some((name, detail)) = failed {
            out.push(dns_unavailable(
                texts,
                domain,
                &format!("SRV ({name})"),
                detail,
            ));
        }
    }
    if let Some(p) = provider {
        let hosted = if let Some(first) = mx
            .first()
            .filter(|h| p.mx_patterns.iter().any(|re| re.is_match(&h.host)))
        {
            texts.render(
                "mail_hosted_by_mx",
                &[
                    ("domain", domain),
                    ("provider", &p.name),
                    ("mx", &first.host),
                ],
            )
        } else {
            texts.render(
                "mail_hosted_by_domain",
                &[("domain", domain), ("provider", &p.name)],
            )
        };
        out.push(Finding::new(Code::MailHostedBy, Severity::Info, hosted));
        if p.basic_auth_retired {
            out.push(Finding::new(
                Code::NativeIntegration,
                Severity::Warning,
                texts.render("native_integration", &[("provider", &p.name)]),
            ));
        }
        if p.local_bridge_only {
            out.push(Finding::new(
                Code::NativeIntegration,
                Severity::Error,
                texts.render("bridge_only", &[("provider", &p.name)]),
            ));
        }
    }
    if srv.any() {
        let mut names = Vec::new();
        for (name, t) in [
            ("_imaps", &srv.imaps),
            ("_imap", &srv.imap),
            ("_submissions", &srv.submissions),
            ("_submission", &srv.submission),
        ] {
            if let Some(t) = t {
                names.push(format!("{name} `{}`", endpoint_text(&t.host, t.port)));
            }
        }
        out.push(Finding::new(
            Code::SrvPublished,
            Severity::Info,
            texts.render(
                "srv_published",
                &[("domain", domain), ("records", &names.join(", "))],
            ),
        ));
    }
    match &input.domain_autoconfig {
        DomainAutoconfig::Found { url, plain, .. } => {
            if has_domain_autoconfig {
                out.push(Finding::new(
                    Code::AutoconfigFound,
                    Severity::Info,
                    texts.render("autoconfig_found", &[("domain", domain), ("url", url)]),
                ));
            }
            if !plain.is_empty() {
                out.push(Finding::new(
                    Code::AutoconfigUnusable,
                    Severity::Warning,
                    texts.render(
                        "autoconfig_plain",
                        &[("url", url), ("servers", &plain.join(", "))],
                    ),
                ));
            }
        }
        DomainAutoconfig::Unusable { detail } => out.push(Finding::new(
            Code::AutoconfigUnusable,
            Severity::Warning,
            texts.render(
                "autoconfig_unusable",
                &[("domain", domain), ("detail", detail)],
            ),
        )),
        DomainAutoconfig::NotFound | DomainAutoconfig::NotTried => {}
    }
    if let Some((key, _)) = &input.ispdb {
        if !has_domain_autoconfig {
            out.push(Finding::new(
                Code::AutoconfigFound,
                Severity::Info,
                texts.render("ispdb_found", &[("entry", key)]),
            ));
        }
    }
    // "Publishes nothing" is said only when every look-up answered.
    let all_answered = !out
        .iter()
        .any(|f| f.severity == Severity::Error || f.code == Code::DnsUnavailable);
    if suggested.imap.is_none() && suggested.smtp.is_none() && all_answered {
        out.push(Finding::new(
            Code::NothingPublished,
            Severity::Warning,
            texts.render("nothing_published", &[("domain", domain)]),
        ));
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn dns_unavailable(texts: &FindingTexts, domain: &str, records: &str, detail: &str) -> Finding {
    Finding::new(
        Code::DnsUnavailable,
        Severity::Warning,
        texts.render(
            "lookup_failed",
            &[
                ("domain", domain),
                ("records", records),
                ("detail", &excerpt(detail, 160)),
            ],
        ),
    )
}

mod advice;
pub use advice::{advice, compare_entered, summary_line};

#[cfg(test)]
mod tests;
