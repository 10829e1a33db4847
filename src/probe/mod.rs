//! The sanitized connectivity probe: the network adapter of issue 3.
//!
//! Given an IMAP or SMTP endpoint, it finds out what answers, as the vendor's servers would see
//! it, without credentials and without letting anyone use the bot to reach internal networks.
//! What it sees is plain data ([`crate::core::diagnose::Observation`]); the judging is pure and
//! lives in [`crate::core::diagnose`].
//!
//! # Layout
//! - [`target`]: `HOST:PORT` syntax, host validation, and the address check.
//! - [`policy`]: allowed ports, budgets, rate limits.
//! - [`dns`]: address, MX and SRV look-ups with hickory-resolver, against the system's resolver
//!   or the one configured (`[probe] resolver`, `--resolver`); discovery asks it too.
//! - [`engine`]: [`Prober`]: resolve once, TCP, TLS, protocol, alternatives, discovery.
//! - `session`: one connection attempt (the observation being filled, stage clocks, progress,
//!   TCP and TLS), shared by the engine and the protocol sessions.
//! - [`Probe`]: what the triage engine asks of a prober, so that it holds no concrete one.
//! - [`tls`]: a verifier that records certificate problems instead of stopping.
//! - [`wire`]: the byte-capped connection that can be upgraded to TLS under the libraries.
//! - `imap`, `smtp`: the sessions, with async-imap and lettre.
//! - [`cli`]: `imap-triage probe`.
//!
//! Invariants: the policy is checked before any packet is sent; a name is resolved once and
//! only checked addresses are connected to; every wait is bounded by the budget and every read
//! by the byte cap; no credential, and no mail, is ever sent.

pub mod cli;
pub mod dns;
pub mod engine;
mod imap;
pub mod policy;
mod session;
mod smtp;
pub mod target;
pub mod tls;
pub mod wire;

pub use engine::{
    Discovery, EndpointRequest, NoLookup, Prober, Progress, ProgressEvent, ServerLookup,
};
pub use policy::{Policy, RateLimit};
pub use tls::TlsSetup;

use crate::core::diagnose::{self, EndpointReport};
use crate::core::rules::FindingTexts;

/// What the triage engine needs from the probe: one endpoint, probed and judged, in the words of
/// the engine's rules (`texts`: a reload changes them). [`Prober`] is the real one; tests give
/// the engine a canned one, and the engine never names the concrete type.
#[async_trait::async_trait]
pub trait Probe: Send + Sync {
    async fn probe_report(&self, texts: &FindingTexts, job: ProbeJob<'_>) -> EndpointReport;
}

/// One endpoint to probe, on whose behalf (the per-requester rate limit), and where its
/// stages are reported as they happen.
#[derive(Clone, Copy)]
pub struct ProbeJob<'a> {
    pub requester: &'a str,
    pub request: &'a EndpointRequest,
    pub progress: &'a Progress,
}

#[async_trait::async_trait]
impl Probe for Prober {
    /// Probes one endpoint and judges it, in the words of `texts` (the rules' `findings.toml`).
    async fn probe_report(&self, texts: &FindingTexts, job: ProbeJob<'_>) -> EndpointReport {
        diagnose::report(texts, &self.probe(job).await)
    }
}
