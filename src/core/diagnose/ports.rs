//! Port conventions: which mode a port means, and which ports to try when the posted one fails.

use serde::{Deserialize, Serialize};

use super::observation::Failure;
use crate::core::service::{Service, TlsMode};

/// Which ports mean what. The defaults are the standard ones; tests use their own high ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortConventions {
    pub imap_implicit: Vec<u16>,
    pub imap_starttls: Vec<u16>,
    pub smtp_implicit: Vec<u16>,
    /// In order of preference for a client: submission first, relay last.
    pub smtp_starttls: Vec<u16>,
}

impl Default for PortConventions {
    fn default() -> Self {
        PortConventions {
            imap_implicit: vec![993],
            imap_starttls: vec![143],
            smtp_implicit: vec![465],
            smtp_starttls: vec![587, 25, 2525],
        }
    }
}

impl PortConventions {
    pub(super) fn lists(&self, service: Service) -> (&[u16], &[u16]) {
        match service {
            Service::Imap => (&self.imap_implicit, &self.imap_starttls),
            Service::Smtp => (&self.smtp_implicit, &self.smtp_starttls),
        }
    }

    /// The mode a port conventionally uses, if it has a convention.
    pub fn mode_for(&self, service: Service, port: u16) -> Option<TlsMode> {
        let (implicit, starttls) = self.lists(service);
        if implicit.contains(&port) {
            Some(TlsMode::Implicit)
        } else if starttls.contains(&port) {
            Some(TlsMode::Starttls)
        } else {
            None
        }
    }

    /// What to try when `port` fails with `mode`: the same port in the other mode (unless the
    /// port is closed), then the standard ports of the service, implicit TLS first. 993↔143 for
    /// IMAP; 465↔587 (and 25) for SMTP.
    pub fn alternatives(
        &self,
        service: Service,
        port: u16,
        mode: TlsMode,
        port_open: bool,
    ) -> Vec<(u16, TlsMode)> {
        let (implicit, starttls) = self.lists(service);
        let mut out = Vec::new();
        if port_open {
            out.push((port, mode.other()));
        }
        let standard = implicit
            .iter()
            .map(|p| (*p, TlsMode::Implicit))
            .chain(starttls.iter().take(2).map(|p| (*p, TlsMode::Starttls)));
        for candidate in standard {
            if candidate.0 != port && !out.contains(&candidate) {
                out.push(candidate);
            }
        }
        out
    }
}

/// Whether a failure is worth trying the alternatives for: the endpoint itself does not work,
/// but the server may on another port or mode. Name, policy and certificate problems are not.
pub fn wants_alternatives(failure: &Failure) -> bool {
    !matches!(
        failure,
        Failure::DnsNotFound
            | Failure::DnsNoAddress
            | Failure::DnsError { .. }
            | Failure::Unreachable { .. }
            | Failure::Internal { .. }
    )
}

/// Whether the port answered at all (so the same port in the other mode is worth a try).
pub fn port_was_open(failure: &Failure) -> bool {
    !matches!(
        failure,
        Failure::ConnectionRefused | Failure::Unreachable { .. }
    )
}
