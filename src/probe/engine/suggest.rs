//! Settings for a member who posted only an email address: the provider table, else the
//! look-up seam and the conventional names, probed under the same policy and budget.

use std::future::Future;
use std::pin::Pin;

use tokio::time::Instant;

use crate::core::diagnose::{
    self, Candidate, EndpointReport, ModeSource, Observation, RefusedReason, Service, Suggestion,
    SuggestionSource,
};
use crate::core::rules::{FindingTexts, Rules};

use super::{record_attempt, refuse, Prober, Target};
use crate::probe::session::Progress;
use crate::probe::target::Host;

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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovery {
    /// Best first.
    pub imap: Vec<Suggestion>,
    pub smtp: Vec<Suggestion>,
}

impl Prober {
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
                    let report = self
                        .probe_candidate(&rules.findings, &candidate, deadline, progress)
                        .await;
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
        texts: &FindingTexts,
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
                return diagnose::report(texts, &refuse(obs, RefusedReason::InvalidHost, detail))
            }
        };
        if !self.policy.allowed_ports.contains(&candidate.port) {
            return diagnose::report(
                texts,
                &refuse(obs, RefusedReason::PortNotAllowed, String::new()),
            );
        }
        if !self
            .limiter
            .admit(&[(&format!("target:{host}"), self.policy.per_target)])
        {
            return diagnose::report(
                texts,
                &refuse(obs, RefusedReason::RateLimited, String::new()),
            );
        }
        let Some(addrs) = self
            .resolve(&mut obs, &host, candidate.port, deadline, progress)
            .await
        else {
            return diagnose::report(texts, &obs);
        };
        let target = Target {
            service: candidate.service,
            host,
            addrs,
            port: candidate.port,
        };
        let attempt = self
            .attempt(
                &target,
                candidate.mode,
                deadline,
                progress,
                false,
                self.meter(),
            )
            .await;
        record_attempt(&mut obs, attempt);
        diagnose::report(texts, &obs)
    }
}
