//! Pure decision logic for the connectivity probe (issue 3): what the probe saw, as plain data
//! ([`Observation`]), becomes findings with stable codes, a verdict, and the JSON object of the
//! `probe` command ([`EndpointReport`]). The network part lives in [`crate::probe`]; nothing here
//! waits, fails or touches the network, so every rule below is unit-tested without a socket.
//!
//! # Layout
//! - `observation`: what the probe saw (stages, TLS, the failure, the alternatives tried).
//! - `findings`: what that means (codes, severities; the messages are templates in the rules
//!   pack's `findings.toml`), the verdict, the report.
//! - `ports`: which ports mean which mode, and the standard alternatives of a posted one.
//! - `candidates`: no server posted: which servers to suggest or try, and how to rank them.
//! - [`discovery`]: where a domain's mail lives, from MX, SRV and autoconfig look-ups.
//! - `next_steps`: probe findings combined with the triage report, for the member.

mod candidates;
pub mod discovery;
mod findings;
mod next_steps;
mod observation;
mod ports;

pub use candidates::{
    conventional_candidates, provider_suggestions, rank_probed, Candidate, Suggestion,
    SuggestionSource,
};
pub use findings::{
    diagnose, report, verdict, Code, EndpointReport, Finding, ProbeReport, Severity, Verdict,
};
pub use next_steps::next_steps;
pub use observation::{
    is_courier, tls_alert, AlternativeResult, CertInfo, CertProblems, Failure, ModeSource,
    Observation, PeerProtocol, Refusal, RefusedReason, Stage, StageName, TlsInfo,
};
pub use ports::{port_was_open, wants_alternatives, PortConventions};
// The words the whole core shares, re-exported for the probe's callers.
pub use crate::core::service::{Service, TlsMode};

#[cfg(test)]
mod tests;
