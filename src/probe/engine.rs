//! The prober: policy checks, one resolution, then TCP, TLS and the protocol, stage by stage,
//! under one time budget; the standard alternatives when the posted endpoint fails; and the
//! search for settings when the member posted none.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::core::diagnose::{
    self, AlternativeResult, Candidate, EndpointReport, Failure, ModeSource, Observation,
    PeerProtocol, Refusal, RefusedReason, Service, Stage, StageName, Suggestion, SuggestionSource,
    TlsInfo, TlsMode,
};
use crate::core::rules::Rules;

use super::policy::{Policy, RateLimiter};
use super::target::{non_public_reason, split_host_port, Host};
use super::tls::{cipher_text, version_text, CertCheck, TlsSetup};
use super::wire::{Conn, Counted, Meter};
use super::{imap, smtp};
use crate::core::diagnose::discovery::Answer;
use crate::discover::Dns;

/// One stage starting or finishing, for a live "Testing…" message.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressEvent {
    pub service: Service,
    pub host: String,
    pub port: u16,
    pub mode: TlsMode,
    /// False for the standard alternatives and discovery candidates.
    pub primary: bool,
    pub stage: StageName,
    /// `None` when the stage starts; the finished stage otherwise.
    pub finished: Option<Stage>,
}

type ProgressSink = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Where stage events go. Cheap to clone; the default drops them.
#[derive(Clone, Default)]
pub struct Progress(Option<ProgressSink>);

impl Progress {
    pub fn new(sink: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        Progress(Some(Arc::new(sink)))
    }

    pub fn none() -> Self {
        Progress(None)
    }

    fn emit(&self, event: ProgressEvent) {
        if let Some(sink) = &self.0 {
            sink(&event);
        }
    }
}

/// The seam for MX and SRV (RFC 6186) look-ups, which can come later: candidates it returns are
/// probed before the conventional names.
pub trait ServerLookup: Send + Sync {
    fn candidates<'a>(
        &'a self,
        domain: &'a str,
        service: Service,
    ) -> Pin<Box<dyn Future<Output = Vec<Candidate>> + Send + 'a>>;
}

/// No look-ups: only the provider table and the conventional names.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLookup;

impl ServerLookup for NoLookup {
    fn candidates<'a>(
        &'a self,
        _domain: &'a str,
        _service: Service,
    ) -> Pin<Box<dyn Future<Output = Vec<Candidate>> + Send + 'a>> {
        Box::pin(async { Vec::new() })
    }
}

/// What to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRequest {
    pub service: Service,
    pub host: String,
    pub port: u16,
    /// Overrides the mode the port's convention gives.
    pub mode: Option<TlsMode>,
}

impl EndpointRequest {
    /// From `HOST:PORT`; only the syntax is checked here, the host is checked by the policy.
    pub fn parse(service: Service, text: &str, mode: Option<TlsMode>) -> Result<Self, String> {
        let (host, port) = split_host_port(text)?;
        Ok(EndpointRequest {
            service,
            host: host.to_string(),
            port,
            mode,
        })
    }
}

/// Suggested settings for a member who posted only an email address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovery {
    /// Best first.
    pub imap: Vec<Suggestion>,
    pub smtp: Vec<Suggestion>,
}

/// The probe engine. One per process; shared by every request (it holds the rate limits).
pub struct Prober {
    policy: Policy,
    tls: Arc<TlsSetup>,
    limiter: RateLimiter,
    lookup: Arc<dyn ServerLookup>,
    /// The configured resolver, built on first use (it needs the runtime).
    dns: std::sync::OnceLock<Option<Dns>>,
}

impl Prober {
    pub fn new(policy: Policy, tls: TlsSetup) -> Self {
        Prober {
            policy,
            tls: Arc::new(tls),
            limiter: RateLimiter::default(),
            lookup: Arc::new(NoLookup),
            dns: std::sync::OnceLock::new(),
        }
    }

    fn dns(&self) -> Option<&Dns> {
        self.dns
            .get_or_init(|| {
                let server = self.policy.resolver?;
                Dns::new(Some(server), self.policy.step_timeout).ok()
            })
            .as_ref()
    }

    pub fn with_lookup(mut self, lookup: Arc<dyn ServerLookup>) -> Self {
        self.lookup = lookup;
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Probes one endpoint and judges it.
    pub async fn probe_report(
        &self,
        requester: &str,
        request: &EndpointRequest,
        progress: &Progress,
    ) -> EndpointReport {
        diagnose::report(&self.probe(requester, request, progress).await)
    }

    /// Probes one endpoint: policy, resolution, the posted port, then the alternatives if it
    /// failed. Never takes longer than the budget (plus scheduling noise).
    pub async fn probe(
        &self,
        requester: &str,
        request: &EndpointRequest,
        progress: &Progress,
    ) -> Observation {
        let deadline = Instant::now() + self.policy.budget;
        let conventional = self.policy.ports.mode_for(request.service, request.port);
        let (mode, source) = match (request.mode, conventional) {
            (Some(mode), _) => (mode, ModeSource::Override),
            (None, Some(mode)) => (mode, ModeSource::Port),
            // No convention: implicit TLS first, because a plain server answers a ClientHello at
            // once, while a TLS server stays silent for a plain client until a timeout.
            (None, None) => (TlsMode::Implicit, ModeSource::Auto),
        };
        let mut obs = Observation::new(
            request.service,
            clip_host(&request.host),
            request.port,
            mode,
            source,
        );
        obs.budget_ms = self.policy.budget.as_millis() as u64;

        let host = match Host::parse(&request.host) {
            Ok(host) => host,
            Err(detail) => return refuse(obs, RefusedReason::InvalidHost, detail),
        };
        obs.host = host.to_string();
        if !self.policy.allowed_ports.contains(&request.port) {
            let allowed: Vec<String> = self
                .policy
                .allowed_ports
                .iter()
                .map(u16::to_string)
                .collect();
            return refuse(
                obs,
                RefusedReason::PortNotAllowed,
                format!("allowed ports: {}", allowed.join(", ")),
            );
        }
        if !self.admit(requester, &host) {
            return refuse(obs, RefusedReason::RateLimited, String::new());
        }
        let addrs = match self
            .resolve(&mut obs, &host, request.port, deadline, progress)
            .await
        {
            Ok(addrs) => addrs,
            Err(obs) => return *obs,
        };
        let target = Target {
            service: request.service,
            host,
            addrs,
            port: request.port,
        };
        let (mut primary, sniffed) = self
            .attempt_or_sniff(&target, mode, deadline, progress)
            .await;
        if source == ModeSource::Auto
            && matches!(&primary.failure, Some(Failure::TlsFailed { peer: Some(p), .. }) if *p != PeerProtocol::Tls)
        {
            // Plain text answered the ClientHello: this port speaks plain first.
            primary = self
                .attempt(&target, TlsMode::Starttls, deadline, progress, true)
                .await;
        }
        obs.mode = primary.mode;
        obs.stages.extend(primary.stages);
        obs.tls = primary.tls;
        obs.cert_problems = primary.cert_problems;
        obs.banner = primary.banner;
        obs.capabilities_plain = primary.capabilities_plain;
        obs.capabilities = primary.capabilities;
        obs.failure = primary.failure;
        if obs
            .failure
            .as_ref()
            .is_some_and(diagnose::wants_alternatives)
        {
            obs.alternatives = self
                .alternatives(&target, &obs, sniffed, deadline, progress)
                .await;
        }
        obs
    }

    /// The posted endpoint. A plain attempt that hears nothing for `policy.silence` gets a TLS
    /// attempt on the same port beside it: a TLS server is silent until it gets a ClientHello,
    /// so waiting out the greeting timeout would only delay the answer. When TLS answers, the
    /// plain attempt is stopped and recorded as silent; the TLS attempt is returned as an
    /// alternative already tried.
    async fn attempt_or_sniff(
        &self,
        target: &Target,
        mode: TlsMode,
        deadline: Instant,
        progress: &Progress,
    ) -> (Observation, Option<AlternativeResult>) {
        let meter = Meter::new(self.policy.max_read_bytes);
        let started = std::time::Instant::now();
        let primary =
            self.attempt_metered(target, mode, deadline, progress, true, Arc::clone(&meter));
        if mode != TlsMode::Starttls {
            return (primary.await, None);
        }
        let silence = self.policy.silence;
        let sniff = async {
            tokio::time::sleep(silence).await;
            if meter.bytes_read() > 0 {
                return std::future::pending().await;
            }
            self.attempt(target, TlsMode::Implicit, deadline, progress, false)
                .await
        };
        tokio::pin!(primary);
        tokio::pin!(sniff);
        tokio::select! {
            obs = &mut primary => (obs, None),
            tls = &mut sniff => {
                let alt = alternative_result(target.port, TlsMode::Implicit, &tls);
                let speaks_tls = tls.tls.is_some()
                    || tls.failure.as_ref().is_some_and(diagnose::tls_alert);
                if !speaks_tls {
                    // Not a TLS port (a slow plain greeter answers the ClientHello in plain
                    // text; a dead one not at all): the plain attempt decides.
                    return (primary.await, Some(alt));
                }
                // The port speaks TLS, so the plain attempt will hear nothing.
                let mut obs = Observation::new(
                    target.service,
                    target.host.to_string(),
                    target.port,
                    mode,
                    ModeSource::Override,
                );
                let waited = started.elapsed().as_secs_f64() * 1000.0;
                obs.stages.push(Stage {
                    name: StageName::Greeting,
                    ok: false,
                    ms: (waited * 1000.0).round() / 1000.0,
                    detail: "no plain greeting; the port answers a TLS ClientHello".into(),
                });
                obs.failure = Some(Failure::Timeout {
                    stage: StageName::Greeting,
                });
                (obs, Some(alt))
            }
        }
    }

    /// Suggests settings for an email domain: the provider table first; else the look-up seam
    /// and the conventional names, probed in parallel (staggered) under the same policy and
    /// budget, best first.
    pub async fn discover(
        &self,
        requester: &str,
        rules: &Rules,
        domain: &str,
        progress: &Progress,
    ) -> Discovery {
        let known = diagnose::provider_suggestions(rules, domain);
        if !known.is_empty() {
            let (imap, smtp) = known
                .into_iter()
                .partition(|s| s.candidate.service == Service::Imap);
            return Discovery { imap, smtp };
        }
        let Ok(Host::Name(domain)) = Host::parse(domain) else {
            return Discovery::default();
        };
        if !self
            .limiter
            .admit(&[(&format!("requester:{requester}"), self.policy.per_requester)])
        {
            return Discovery::default();
        }
        let mut candidates: Vec<(Candidate, SuggestionSource)> = Vec::new();
        for service in [Service::Imap, Service::Smtp] {
            for c in self.lookup.candidates(&domain, service).await {
                candidates.push((c, SuggestionSource::Lookup));
            }
            for c in diagnose::conventional_candidates(&domain, service, &self.policy.ports) {
                if !candidates.iter().any(|(k, _)| *k == c) {
                    candidates.push((c, SuggestionSource::Probed));
                }
            }
        }
        let deadline = Instant::now() + self.policy.budget;
        let stagger = self.policy.stagger;
        let probes =
            candidates
                .into_iter()
                .enumerate()
                .map(|(i, (candidate, source))| async move {
                    tokio::time::sleep(stagger * i as u32).await;
                    let report = self.probe_candidate(&candidate, deadline, progress).await;
                    Suggestion {
                        candidate,
                        source,
                        report: Some(report),
                    }
                });
        let results = futures_util::future::join_all(probes).await;
        let (imap, smtp): (Vec<Suggestion>, Vec<Suggestion>) = results
            .into_iter()
            .partition(|s| s.candidate.service == Service::Imap);
        Discovery {
            imap: diagnose::rank_probed(imap),
            smtp: diagnose::rank_probed(smtp),
        }
    }

    /// One discovery candidate: the same checks as a posted endpoint, without alternatives
    /// (the other candidates are the alternatives) and counted only per target.
    async fn probe_candidate(
        &self,
        candidate: &Candidate,
        deadline: Instant,
        progress: &Progress,
    ) -> EndpointReport {
        let mut obs = Observation::new(
            candidate.service,
            candidate.host.clone(),
            candidate.port,
            candidate.mode,
            ModeSource::Override,
        );
        obs.budget_ms = self.policy.budget.as_millis() as u64;
        let host = match Host::parse(&candidate.host) {
            Ok(host) => host,
            Err(detail) => {
                return diagnose::report(&refuse(obs, RefusedReason::InvalidHost, detail))
            }
        };
        if !self.policy.allowed_ports.contains(&candidate.port) {
            return diagnose::report(&refuse(obs, RefusedReason::PortNotAllowed, String::new()));
        }
        if !self
            .limiter
            .admit(&[(&format!("target:{host}"), self.policy.per_target)])
        {
            return diagnose::report(&refuse(obs, RefusedReason::RateLimited, String::new()));
        }
        let addrs = match self
            .resolve(&mut obs, &host, candidate.port, deadline, progress)
            .await
        {
            Ok(addrs) => addrs,
            Err(obs) => return diagnose::report(&obs),
        };
        let target = Target {
            service: candidate.service,
            host,
            addrs,
            port: candidate.port,
        };
        let attempt = self
            .attempt(&target, candidate.mode, deadline, progress, false)
            .await;
        obs.stages.extend(attempt.stages);
        obs.tls = attempt.tls;
        obs.cert_problems = attempt.cert_problems;
        obs.banner = attempt.banner;
        obs.capabilities_plain = attempt.capabilities_plain;
        obs.capabilities = attempt.capabilities;
        obs.failure = attempt.failure;
        diagnose::report(&obs)
    }

    fn admit(&self, requester: &str, host: &Host) -> bool {
        self.limiter.admit(&[
            (&format!("requester:{requester}"), self.policy.per_requester),
            (&format!("target:{host}"), self.policy.per_target),
        ])
    }

    /// Resolves once and checks every address. `Err` carries the finished observation
    /// (refused, or failed at DNS).
    async fn resolve(
        &self,
        obs: &mut Observation,
        host: &Host,
        port: u16,
        deadline: Instant,
        progress: &Progress,
    ) -> Result<Vec<SocketAddr>, Box<Observation>> {
        let clock = StageClock::start(obs, StageName::Dns, progress, true);
        let resolved: Result<Vec<SocketAddr>, Failure> = match host {
            Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
            Host::Name(name) if self.dns().is_some() => {
                let step = deadline.min(Instant::now() + self.policy.step_timeout);
                let dns = self.dns().cloned();
                let lookup = async move {
                    match dns {
                        Some(dns) => dns.ips(name).await,
                        None => Answer::Failed("no resolver".into()),
                    }
                };
                match timeout_at(step, lookup).await {
                    Err(_) => Err(resolver_silent()),
                    Ok(Answer::Found(ips)) => Ok(ips
                        .into_iter()
                        .map(|ip| SocketAddr::new(ip, port))
                        .collect()),
                    Ok(Answer::NxDomain) => Err(Failure::DnsNotFound),
                    Ok(Answer::NoRecords) => Err(Failure::DnsNoAddress),
                    Ok(Answer::Failed(detail)) => Err(Failure::DnsError { detail }),
                }
            }
            Host::Name(name) => {
                let step = deadline.min(Instant::now() + self.policy.step_timeout);
                match timeout_at(step, tokio::net::lookup_host((name.as_str(), port))).await {
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
                }
            }
        };
        let mut addrs = match resolved {
            Ok(addrs) => addrs,
            Err(failure) => {
                clock.finish(obs, progress, false, failure_detail(&failure));
                obs.failure = Some(failure);
                return Err(Box::new(std::mem::replace(obs, placeholder())));
            }
        };
        let listed: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
        let detail = match host {
            Host::Ip(_) => "an IP address: nothing to look up".to_string(),
            Host::Name(_) => listed.join(", "),
        };
        clock.finish(obs, progress, true, detail);
        if !self.policy.allow_private {
            // Every address is checked, not just the first: a name with one public and one
            // internal address must not be usable to reach the internal one.
            if let Some((ip, why)) = addrs
                .iter()
                .find_map(|a| non_public_reason(a.ip()).map(|why| (a.ip(), why)))
            {
                let detail = match host {
                    Host::Ip(_) => format!("{ip} is {why}"),
                    Host::Name(name) => format!("{name} resolves to {ip}, which is {why}"),
                };
                let refused = refuse(
                    std::mem::replace(obs, placeholder()),
                    RefusedReason::PrivateAddress,
                    detail,
                );
                return Err(Box::new(refused));
            }
        }
        // IPv4 first (the vendor's servers connect over IPv4), at most four addresses.
        addrs.sort_by_key(|a| !a.is_ipv4());
        addrs.dedup();
        addrs.truncate(4);
        Ok(addrs)
    }

    /// Tries the standard alternatives in parallel, staggered, until the deadline.
    async fn alternatives(
        &self,
        target: &Target,
        primary: &Observation,
        sniffed: Option<AlternativeResult>,
        deadline: Instant,
        progress: &Progress,
    ) -> Vec<AlternativeResult> {
        let Some(failure) = &primary.failure else {
            return Vec::new();
        };
        let mut candidates = self.policy.ports.alternatives(
            target.service,
            target.port,
            primary.mode,
            diagnose::port_was_open(failure),
        );
        if primary.mode_source == ModeSource::Auto || diagnose::tls_alert(failure) {
            // Both modes of the posted port were tried already; or the port answered a
            // ClientHello with a TLS alert, so it speaks TLS and a plain attempt would only
            // wait for a greeting that never comes.
            candidates.retain(|(port, _)| *port != target.port);
        }
        if let Some(s) = &sniffed {
            candidates.retain(|c| *c != (s.port, s.mode));
        }
        candidates.retain(|(port, _)| self.policy.allowed_ports.contains(port));
        candidates.truncate(3);
        let mut done: Vec<AlternativeResult> = sniffed.into_iter().collect();
        if done.iter().any(|a| a.answered && a.cert_ok) {
            return done;
        }
        let stagger = self.policy.stagger;
        let attempts = candidates
            .into_iter()
            .enumerate()
            .map(|(i, (port, mode))| async move {
                tokio::time::sleep(stagger * i as u32).await;
                let alt = Target {
                    port,
                    addrs: target
                        .addrs
                        .iter()
                        .map(|a| SocketAddr::new(a.ip(), port))
                        .collect(),
                    service: target.service,
                    host: target.host.clone(),
                };
                let obs = self.attempt(&alt, mode, deadline, progress, false).await;
                alternative_result(port, mode, &obs)
            });
        // The first alternative that fully works ends the search: the others are stopped
        // rather than waited for (a silent one would hold the report until its timeout).
        done.extend(join_until(attempts, |a: &AlternativeResult| a.answered && a.cert_ok).await);
        done
    }

    /// One connection: TCP, TLS (implicit) and the protocol session, recorded as an
    /// observation without the DNS stage.
    async fn attempt(
        &self,
        target: &Target,
        mode: TlsMode,
        deadline: Instant,
        progress: &Progress,
        primary: bool,
    ) -> Observation {
        let meter = Meter::new(self.policy.max_read_bytes);
        self.attempt_metered(target, mode, deadline, progress, primary, meter)
            .await
    }

    /// [`Self::attempt`] with the caller's meter, so that the caller can tell whether the
    /// server has sent anything yet.
    async fn attempt_metered(
        &self,
        target: &Target,
        mode: TlsMode,
        deadline: Instant,
        progress: &Progress,
        primary: bool,
        meter: Arc<Meter>,
    ) -> Observation {
        let mut run = Run {
            obs: Observation::new(
                target.service,
                target.host.to_string(),
                target.port,
                mode,
                ModeSource::Override,
            ),
            deadline,
            step: self.policy.step_timeout,
            tls: Arc::clone(&self.tls),
            server_name: server_name(&target.host),
            progress: progress.clone(),
            primary,
        };
        let Some((tcp, peer)) = run.connect(&target.addrs).await else {
            return run.obs;
        };
        let counted = Counted::new(tcp, Arc::clone(&meter));
        let conn = match mode {
            TlsMode::Implicit => match run.handshake(counted, &meter).await {
                Some(tls) => Conn::tls(tls, meter, peer),
                None => return run.obs,
            },
            TlsMode::Starttls => Conn::plain(counted, meter, peer),
        };
        // The protocol libraries run in their own task: if one panics on hostile input, the
        // probe reports it instead of taking the bot down.
        let stages_so_far = run.obs.stages.clone();
        let tls_so_far = run.obs.tls.clone();
        let service = target.service;
        let session = tokio::spawn(async move {
            match service {
                Service::Imap => imap::session(run, conn).await,
                Service::Smtp => smtp::session(run, conn).await,
            }
        });
        let abort = session.abort_handle();
        // Stopped with this future (an attempt that lost a race), not left to its timeout.
        let _stop = AbortOnDrop(abort.clone());
        // The session keeps to the deadline itself; this is the backstop.
        match timeout_at(deadline + Duration::from_millis(250), session).await {
            Ok(Ok(run)) => run.obs,
            Ok(Err(join_error)) => {
                let mut obs = Observation::new(
                    target.service,
                    target.host.to_string(),
                    target.port,
                    mode,
                    ModeSource::Override,
                );
                obs.stages = stages_so_far;
                obs.tls = tls_so_far;
                let detail = if join_error.is_panic() {
                    "a protocol library panicked on the server's reply"
                } else {
                    "the session was cancelled"
                };
                obs.failure = Some(Failure::Internal {
                    detail: detail.into(),
                });
                obs
            }
            Err(_) => {
                abort.abort();
                let mut obs = Observation::new(
                    target.service,
                    target.host.to_string(),
                    target.port,
                    mode,
                    ModeSource::Override,
                );
                obs.stages = stages_so_far;
                obs.tls = tls_so_far;
                obs.failure = Some(Failure::Timeout {
                    stage: StageName::Greeting,
                });
                obs
            }
        }
    }
}

struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn alternative_result(port: u16, mode: TlsMode, obs: &Observation) -> AlternativeResult {
    let cert_ok = obs
        .tls
        .as_ref()
        .is_some_and(|t| t.cert.trusted && t.cert.name_matches);
    AlternativeResult {
        port,
        mode,
        answered: obs.answered(),
        cert_ok,
        banner: obs.banner.clone(),
    }
}

/// Polls the futures together until all are done, or one output satisfies `enough`; the
/// outputs so far, in completion order. Unfinished futures are dropped.
async fn join_until<F: Future>(
    futures: impl IntoIterator<Item = F>,
    enough: impl Fn(&F::Output) -> bool,
) -> Vec<F::Output> {
    let mut pinned: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs = Vec::new();
    std::future::poll_fn(|cx| {
        for slot in pinned.iter_mut() {
            if let Some(future) = slot {
                if let std::task::Poll::Ready(value) = future.as_mut().poll(cx) {
                    *slot = None;
                    let stop = enough(&value);
                    outputs.push(value);
                    if stop {
                        return std::task::Poll::Ready(());
                    }
                }
            }
        }
        if pinned.iter().all(Option::is_none) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
}

fn placeholder() -> Observation {
    Observation::new(
        Service::Imap,
        String::new(),
        0,
        TlsMode::Implicit,
        ModeSource::Port,
    )
}

fn refuse(mut obs: Observation, reason: RefusedReason, detail: String) -> Observation {
    obs.refused = Some(Refusal { reason, detail });
    obs
}

/// Keeps what the member typed readable in the report without echoing kilobytes of it.
fn clip_host(host: &str) -> String {
    host.chars().take(255).collect()
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

fn failure_detail(failure: &Failure) -> String {
    match failure {
        Failure::DnsNotFound => "no such name".into(),
        Failure::DnsNoAddress => "the name has no address".into(),
        Failure::DnsError { detail } => detail.clone(),
        Failure::Timeout { .. } => "no answer in time".into(),
        other => format!("{other:?}"),
    }
}

fn server_name(host: &Host) -> ServerName<'static> {
    match host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::Name(name) => ServerName::try_from(name.clone())
            .unwrap_or_else(|_| ServerName::IpAddress(IpAddr::from([0u8, 0, 0, 0]).into())),
    }
}

struct Target {
    service: Service,
    host: Host,
    addrs: Vec<SocketAddr>,
    port: u16,
}

/// Times one stage and reports it.
pub(crate) struct StageClock {
    name: StageName,
    started: std::time::Instant,
    primary: bool,
}

impl StageClock {
    pub(crate) fn start(
        obs: &Observation,
        name: StageName,
        progress: &Progress,
        primary: bool,
    ) -> Self {
        progress.emit(ProgressEvent {
            service: obs.service,
            host: obs.host.clone(),
            port: obs.port,
            mode: obs.mode,
            primary,
            stage: name,
            finished: None,
        });
        StageClock {
            name,
            started: std::time::Instant::now(),
            primary,
        }
    }

    pub(crate) fn finish(
        self,
        obs: &mut Observation,
        progress: &Progress,
        ok: bool,
        detail: impl Into<String>,
    ) {
        self.finish_at(obs, progress, ok, detail, std::time::Instant::now());
    }

    pub(crate) fn finish_at(
        self,
        obs: &mut Observation,
        progress: &Progress,
        ok: bool,
        detail: impl Into<String>,
        at: std::time::Instant,
    ) {
        let ms = at.saturating_duration_since(self.started).as_secs_f64() * 1000.0;
        let stage = Stage {
            name: self.name,
            ok,
            ms: (ms * 1000.0).round() / 1000.0,
            detail: detail.into(),
        };
        progress.emit(ProgressEvent {
            service: obs.service,
            host: obs.host.clone(),
            port: obs.port,
            mode: obs.mode,
            primary: self.primary,
            stage: self.name,
            finished: Some(stage.clone()),
        });
        obs.stages.push(stage);
    }
}

/// One connection attempt in progress: the observation being filled, and what the protocol
/// sessions need (deadlines, TLS setup, the name to verify).
pub(crate) struct Run {
    pub(crate) obs: Observation,
    pub(crate) deadline: Instant,
    pub(crate) step: Duration,
    pub(crate) tls: Arc<TlsSetup>,
    pub(crate) server_name: ServerName<'static>,
    pub(crate) progress: Progress,
    pub(crate) primary: bool,
}

/// Why a bounded step did not finish.
pub(crate) struct Elapsed;

impl Run {
    pub(crate) fn clock(&self, name: StageName) -> StageClock {
        StageClock::start(&self.obs, name, &self.progress, self.primary)
    }

    /// A stage that began earlier than now, e.g. EHLO, which lettre sends right after the
    /// greeting arrived.
    pub(crate) fn clock_from(&self, name: StageName, started: std::time::Instant) -> StageClock {
        let mut clock = self.clock(name);
        clock.started = started;
        clock
    }

    pub(crate) fn finish(&mut self, clock: StageClock, ok: bool, detail: impl Into<String>) {
        clock.finish(&mut self.obs, &self.progress, ok, detail);
    }

    pub(crate) fn fail(&mut self, clock: StageClock, failure: Failure) {
        let detail = describe_failure(&failure);
        self.finish(clock, false, detail);
        self.obs.failure = Some(failure);
    }

    /// Runs one network step with the step timeout, within the deadline.
    pub(crate) async fn bounded<T>(&self, future: impl Future<Output = T>) -> Result<T, Elapsed> {
        let until = self.deadline.min(Instant::now() + self.step);
        timeout_at(until, future).await.map_err(|_| Elapsed)
    }

    /// A short, best-effort step (LOGOUT, QUIT): never more than a second, never past the
    /// deadline.
    pub(crate) async fn courtesy<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        let until = self.deadline.min(Instant::now() + Duration::from_secs(1));
        timeout_at(until, future).await.ok()
    }

    async fn connect(&mut self, addrs: &[SocketAddr]) -> Option<(TcpStream, SocketAddr)> {
        let clock = self.clock(StageName::Tcp);
        let mut last = Failure::Unreachable {
            detail: "no address to connect to".into(),
        };
        for addr in addrs {
            match self.bounded(TcpStream::connect(*addr)).await {
                Ok(Ok(stream)) => {
                    // Small request/reply exchanges: send each command at once.
                    let _ = stream.set_nodelay(true);
                    self.finish(clock, true, format!("connected to {addr}"));
                    return Some((stream, *addr));
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last = Failure::ConnectionRefused
                }
                Ok(Err(e)) => {
                    last = Failure::Unreachable {
                        detail: format!("{addr}: {e}"),
                    }
                }
                Err(Elapsed) => {
                    last = Failure::Timeout {
                        stage: StageName::Tcp,
                    }
                }
            }
            if Instant::now() >= self.deadline {
                break;
            }
        }
        self.fail(clock, last);
        None
    }

    /// The TLS handshake, implicit or after STARTTLS. Records version, cipher and certificate.
    pub(crate) async fn handshake(
        &mut self,
        counted: Counted,
        meter: &Meter,
    ) -> Option<TlsStream<Counted>> {
        let clock = self.clock(StageName::Tls);
        let slot: Arc<Mutex<Option<CertCheck>>> = Arc::default();
        let config = match self.tls.client_config(Arc::clone(&slot)) {
            Ok(config) => config,
            Err(e) => {
                self.fail(
                    clock,
                    Failure::Internal {
                        detail: format!("TLS setup: {e}"),
                    },
                );
                return None;
            }
        };
        meter.capture();
        let connector = TlsConnector::from(config);
        let result = self
            .bounded(connector.connect(self.server_name.clone(), counted))
            .await;
        let stream = match result {
            Ok(Ok(stream)) => stream,
            Err(Elapsed) => {
                self.fail(
                    clock,
                    Failure::Timeout {
                        stage: StageName::Tls,
                    },
                );
                return None;
            }
            Ok(Err(e)) => {
                let captured = meter.captured();
                let answer = captured.as_slice();
                let after_records = plain_after_records(answer);
                let failure = if meter.exceeded() {
                    Failure::TooMuchData {
                        stage: StageName::Tls,
                    }
                } else if answer.is_empty() && is_closed(&e) {
                    Failure::Closed {
                        stage: StageName::Tls,
                    }
                } else if self.obs.mode == TlsMode::Starttls && !after_records.is_empty() {
                    // STARTTLS was accepted, then the server said in plain text why TLS could
                    // not start after all ("NO STARTTLS failed"; Courier sends it after an
                    // alert): quote it rather than the TLS library's complaint.
                    Failure::StarttlsRejected {
                        text: strip_tag(&imap::first_line(after_records)),
                    }
                } else {
                    let peer = (!answer.is_empty()).then(|| PeerProtocol::sniff(answer));
                    if peer.is_some_and(|p| p != PeerProtocol::Tls) && self.obs.banner.is_empty() {
                        // A plain-text answer to a ClientHello: its first line says who is
                        // there (e.g. a Courier greeting).
                        self.obs.banner = imap::first_line(answer);
                    }
                    Failure::TlsFailed {
                        detail: tls_error_text(&e),
                        peer,
                    }
                };
                self.fail(clock, failure);
                return None;
            }
        };
        let (_, connection) = stream.get_ref();
        let version = connection
            .protocol_version()
            .map(version_text)
            .unwrap_or_default();
        let cipher = connection
            .negotiated_cipher_suite()
            .map(cipher_text)
            .unwrap_or_default();
        let check = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(check) = check else {
            self.fail(
                clock,
                Failure::Internal {
                    detail: "no certificate was checked".into(),
                },
            );
            return None;
        };
        let cert = &check.info;
        let detail = format!(
            "{version} {cipher}; certificate {} ({}, {})",
            cert.subject,
            if cert.trusted {
                "trusted"
            } else {
                "not trusted"
            },
            if cert.name_matches {
                "name matches"
            } else {
                "name does not match"
            }
        );
        self.obs.tls = Some(TlsInfo {
            version,
            cipher,
            cert: check.info,
        });
        self.obs.cert_problems = check.problems;
        self.finish(clock, true, detail);
        Some(stream)
    }

    /// STARTTLS's second half: the handshake on the socket under `conn`.
    pub(crate) async fn upgrade(&mut self, conn: &Conn) -> bool {
        let Some(counted) = conn.detach_plain() else {
            let clock = self.clock(StageName::Tls);
            self.fail(
                clock,
                Failure::Internal {
                    detail: "the connection was not plain".into(),
                },
            );
            return false;
        };
        let meter = Arc::clone(conn.meter());
        match self.handshake(counted, &meter).await {
            Some(stream) => {
                conn.install_tls(stream);
                conn.reset_text();
                true
            }
            None => false,
        }
    }

    /// What an I/O error at a stage means, given what the server sent.
    pub(crate) fn io_failure(
        &self,
        stage: StageName,
        conn: &Conn,
        error: &dyn std::fmt::Display,
        closed: bool,
    ) -> Failure {
        let meter = conn.meter();
        let text = meter.text();
        let peer = PeerProtocol::sniff(&text);
        if meter.exceeded() {
            Failure::TooMuchData { stage }
        } else if text.is_empty() && closed {
            Failure::Closed { stage }
        } else if !text.is_empty()
            && stage == StageName::Greeting
            && !expected_peer(self.obs.service, peer)
        {
            Failure::WrongProtocol { stage, peer }
        } else if closed {
            Failure::Closed { stage }
        } else {
            Failure::Protocol {
                stage,
                detail: error.to_string(),
            }
        }
    }
}

/// What follows the TLS records at the start of `bytes` (an alert, say), when it is text.
fn plain_after_records(mut bytes: &[u8]) -> &[u8] {
    while bytes.len() >= 5 && PeerProtocol::sniff(bytes) == PeerProtocol::Tls {
        let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
        bytes = bytes.get(5 + len..).unwrap_or_default();
    }
    let text = bytes
        .iter()
        .take(64)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if bytes.is_empty() || PeerProtocol::sniff(bytes) == PeerProtocol::Tls || !text {
        return &[];
    }
    bytes
}

/// A server line without the probe's own IMAP tag (`p12 `) or `* `, for quoting.
fn strip_tag(line: &str) -> String {
    let line = line.trim();
    match line.split_once(' ') {
        Some((tag, rest))
            if tag == "*"
                || tag
                    .strip_prefix('p')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            rest.trim().to_string()
        }
        _ => line.to_string(),
    }
}

fn expected_peer(service: Service, peer: PeerProtocol) -> bool {
    matches!(
        (service, peer),
        (Service::Imap, PeerProtocol::Imap) | (Service::Smtp, PeerProtocol::Smtp)
    )
}

fn is_closed(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
    )
}

fn tls_error_text(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => {
            format!("the server sent the TLS alert {alert:?}")
        }
        Some(rustls::Error::InvalidMessage(m)) => format!("the server's reply is not TLS ({m:?})"),
        Some(rustls::Error::PeerIncompatible(p)) => {
            format!("no TLS version or cipher in common ({p:?})")
        }
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}

/// A stage's detail when it failed.
pub(crate) fn describe_failure(failure: &Failure) -> String {
    match failure {
        Failure::DnsNotFound => "no such name".into(),
        Failure::DnsNoAddress => "the name has no address".into(),
        Failure::DnsError { detail }
        | Failure::Unreachable { detail }
        | Failure::Internal { detail } => detail.clone(),
        Failure::ConnectionRefused => "connection refused".into(),
        Failure::Timeout { .. } => "no answer in time".into(),
        Failure::TooMuchData { .. } => "the server sent more than the probe reads".into(),
        Failure::Closed { .. } => "the server closed the connection".into(),
        Failure::WrongProtocol { peer, .. } => format!("the server is {}", peer.describe()),
        Failure::TlsFailed { detail, .. } => detail.clone(),
        Failure::GreetingRejected { text } | Failure::StarttlsRejected { text } => text.clone(),
        Failure::StarttlsNotOffered => "STARTTLS is not offered".into(),
        Failure::Protocol { detail, .. } => detail.clone(),
    }
}
