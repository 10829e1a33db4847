//! The prober: policy checks, one resolution, then TCP, TLS and the protocol, stage by stage,
//! under one time budget; the standard alternatives when the posted endpoint fails; and the
//! search for settings when the member posted none.
//!
//! # Layout
//! - here: [`Prober`], the policy checks and the DNS stage of a posted endpoint;
//! - `resolve`: the look-up itself and the address check, as values;
//! - `attempt`: one connection (TCP, TLS, the protocol session), the TLS sniff beside a silent
//!   plain attempt, and the alternatives;
//! - `suggest`: candidates for an email domain.
//!
//! One connection in progress is a [`super::session::Run`], shared with `imap` and `smtp`.

mod attempt;
mod resolve;
mod suggest;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::time::Instant;

use crate::core::diagnose::{
    self, Failure, ModeSource, Observation, PeerProtocol, Refusal, RefusedReason, Service,
    StageName, TlsMode,
};
use crate::probe::dns::Dns;
use crate::probe::ProbeJob;

use super::policy::{Policy, RateLimiter};
use super::session::{describe_failure, StageClock};
pub use super::session::{Progress, ProgressEvent};
use super::target::{split_host_port, Host};
use super::tls::TlsSetup;
pub use suggest::{Discovery, NoLookup, ServerLookup};

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

    /// Probes one endpoint: policy, resolution, the posted port, then the alternatives if it
    /// failed. Never takes longer than the budget (plus scheduling noise).
    pub async fn probe(&self, job: ProbeJob<'_>) -> Observation {
        let ProbeJob {
            requester,
            request,
            progress,
        } = job;
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
        let Some(addrs) = self
            .resolve(&mut obs, &host, request.port, deadline, progress)
            .await
        else {
            return obs;
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
                .attempt(
                    &target,
                    TlsMode::Starttls,
                    deadline,
                    progress,
                    true,
                    self.meter(),
                )
                .await;
        }
        obs.mode = primary.mode;
        record_attempt(&mut obs, primary);
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

    fn admit(&self, requester: &str, host: &Host) -> bool {
        self.limiter.admit(&[
            (&format!("requester:{requester}"), self.policy.per_requester),
            (&format!("target:{host}"), self.policy.per_target),
        ])
    }

    /// The DNS stage: resolves once, records the stage, and checks every address. `None` when
    /// the observation is finished there, failed at DNS or refused by the address policy.
    async fn resolve(
        &self,
        obs: &mut Observation,
        host: &Host,
        port: u16,
        deadline: Instant,
        progress: &Progress,
    ) -> Option<Vec<SocketAddr>> {
        let clock = StageClock::start(obs, StageName::Dns, progress, true);
        let until = deadline.min(Instant::now() + self.policy.step_timeout);
        let addrs = match resolve::lookup(self.dns(), host, port, until).await {
            Ok(addrs) => addrs,
            Err(failure) => {
                clock.finish(obs, progress, false, describe_failure(&failure));
                obs.failure = Some(failure);
                return None;
            }
        };
        let detail = match host {
            Host::Ip(_) => "an IP address: nothing to look up".to_string(),
            Host::Name(_) => {
                let listed: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
                listed.join(", ")
            }
        };
        clock.finish(obs, progress, true, detail);
        if !self.policy.allow_private {
            if let Some(detail) = resolve::non_public(host, &addrs) {
                obs.refused = Some(Refusal {
                    reason: RefusedReason::PrivateAddress,
                    detail,
                });
                return None;
            }
        }
        Some(resolve::connect_order(addrs))
    }
}

fn refuse(mut obs: Observation, reason: RefusedReason, detail: String) -> Observation {
    obs.refused = Some(Refusal { reason, detail });
    obs
}

/// Adds what one connection saw to the observation that holds the DNS stage.
fn record_attempt(obs: &mut Observation, attempt: Observation) {
    obs.stages.extend(attempt.stages);
    obs.tls = attempt.tls;
    obs.cert_problems = attempt.cert_problems;
    obs.banner = attempt.banner;
    obs.capabilities_plain = attempt.capabilities_plain;
    obs.capabilities = attempt.capabilities;
    obs.failure = attempt.failure;
}

/// Keeps what the member typed readable in the report without echoing kilobytes of it.
fn clip_host(host: &str) -> String {
    host.chars().take(255).collect()
}

struct Target {
    service: Service,
    host: Host,
    addrs: Vec<SocketAddr>,
    port: u16,
}

impl Target {
    /// A fresh observation of one attempt at this target in `mode` (an attempt's mode is
    /// always chosen by the engine, so its source is `Override`).
    fn observation(&self, mode: TlsMode) -> Observation {
        Observation::new(
            self.service,
            self.host.to_string(),
            self.port,
            mode,
            ModeSource::Override,
        )
    }
}
