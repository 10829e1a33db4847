//! TLS for the probe: a certificate verifier that records what is wrong with a certificate
//! (untrusted, expired, wrong name) and lets the handshake go on, because a bad certificate is a
//! finding to report, not a reason to stop looking.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::core::diagnose::{CertInfo, CertProblems};

/// What the verifier saw, for one connection.
#[derive(Debug, Clone)]
pub struct CertCheck {
    pub info: CertInfo,
    pub problems: CertProblems,
}

/// The trust store and crypto provider, built once and shared by every probe.
#[derive(Debug, Clone)]
pub struct TlsSetup {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{path}: no certificate in it")]
    Empty { path: String },
    #[error("{path}: not a usable trust anchor: {detail}")]
    Invalid { path: String, detail: String },
}

impl TlsSetup {
    /// webpki roots plus the certificates of each PEM file in `extra_anchors`.
    pub fn new(extra_anchors: &[&Path]) -> Result<TlsSetup, CaError> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for path in extra_anchors {
            let shown = path.display().to_string();
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
                .map_err(|source| CaError::Read {
                    path: shown.clone(),
                    source,
                })?;
            if certs.is_empty() {
                return Err(CaError::Empty { path: shown });
            }
            for cert in certs {
                roots.add(cert).map_err(|e| CaError::Invalid {
                    path: shown.clone(),
                    detail: e.to_string(),
                })?;
            }
        }
        Ok(TlsSetup {
            roots: Arc::new(roots),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }

    /// A client config that verifies as a browser does (same roots): for fetching files over
    /// HTTPS, where a bad certificate means the file is not used.
    pub fn strict_config(&self) -> Result<Arc<ClientConfig>, rustls::Error> {
        let config = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(Arc::clone(&self.roots))
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// A client config for one connection; the verifier writes what it saw into `slot`.
    pub fn client_config(
        &self,
        slot: Arc<Mutex<Option<CertCheck>>>,
    ) -> Result<Arc<ClientConfig>, rustls::Error> {
        let verifier = RecordingVerifier {
            roots: Arc::clone(&self.roots),
            provider: Arc::clone(&self.provider),
            slot,
        };
        let config = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

#[derive(Debug)]
struct RecordingVerifier {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    slot: Arc<Mutex<Option<CertCheck>>>,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let check = check_certificate(
            &self.roots,
            self.provider.signature_verification_algorithms.all,
            end_entity,
            intermediates,
            server_name,
            now,
        );
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(check);
        // Accepted on purpose: the probe reports certificate problems as findings and goes on
        // to the greeting. No credential is ever sent over this connection.
        Ok(ServerCertVerified::assertion())
    }

    // The handshake signatures are still checked for real: the certificate is only "accepted"
    // to report on it, not to skip the cryptography.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn check_certificate(
    roots: &RootCertStore,
    algorithms: &[&dyn rustls::pki_types::SignatureVerificationAlgorithm],
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> CertCheck {
    let mut info = describe(end_entity);
    let mut problems = CertProblems::default();
    match ParsedCertificate::try_from(end_entity) {
        Ok(parsed) => {
            match verify_server_cert_signed_by_trust_anchor(
                &parsed,
                roots,
                intermediates,
                now,
                algorithms,
            ) {
                Ok(()) => info.trusted = true,
                Err(e) => {
                    match &e {
                        rustls::Error::InvalidCertificate(CertificateError::Expired)
                        | rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
                            ..
                        }) => problems.expired = true,
                        rustls::Error::InvalidCertificate(CertificateError::NotValidYet)
                        | rustls::Error::InvalidCertificate(
                            CertificateError::NotValidYetContext { .. },
                        ) => problems.not_yet_valid = true,
                        _ => {}
                    }
                    problems.chain_error = Some(chain_error_text(&e));
                }
            }
            info.name_matches = verify_server_name(&parsed, server_name).is_ok();
        }
        Err(e) => problems.chain_error = Some(format!("unreadable certificate: {e}")),
    }
    // An untrusted chain hides the validity period from webpki; read it from the certificate.
    if let Some(not_after) = not_after_seconds(end_entity) {
        if (now.as_secs() as i64) > not_after {
            problems.expired = true;
        }
    }
    CertCheck { info, problems }
}

fn chain_error_text(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "issuer not trusted, e.g. self-signed or a private CA".into()
        }
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "expired".into(),
        rustls::Error::InvalidCertificate(other) => format!("{other:?}"),
        other => other.to_string(),
    }
}

fn not_after_seconds(der: &CertificateDer<'_>) -> Option<i64> {
    let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// Subject, SANs, issuer and expiry, read from the certificate itself.
fn describe(der: &CertificateDer<'_>) -> CertInfo {
    let mut info = CertInfo {
        subject: String::new(),
        sans: Vec::new(),
        issuer: String::new(),
        not_after: String::new(),
        trusted: false,
        name_matches: false,
    };
    let Ok((_, cert)) = X509Certificate::from_der(der.as_ref()) else {
        info.subject = "(unreadable certificate)".into();
        return info;
    };
    info.subject = cert.subject().to_string();
    info.issuer = cert.issuer().to_string();
    info.not_after = crate::timestamp::rfc3339(cert.validity().not_after.timestamp());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => info.sans.push(format!("DNS:{dns}")),
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes)
                            .ok()
                            .map(|b| std::net::IpAddr::from(b).to_string()),
                        16 => <[u8; 16]>::try_from(*bytes)
                            .ok()
                            .map(|b| std::net::IpAddr::from(b).to_string()),
                        _ => None,
                    };
                    if let Some(ip) = ip {
                        info.sans.push(format!("IP:{ip}"));
                    }
                }
                _ => {}
            }
        }
    }
    info
}

/// `TLSv1.3`, as people write it.
pub fn version_text(version: rustls::ProtocolVersion) -> String {
    match version {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        other => format!("{other:?}"),
    }
}

/// The IANA name of a suite, e.g. `TLS_AES_256_GCM_SHA384` (rustls says `TLS13_...` for the
/// TLS 1.3 suites, a name no other tool uses).
pub fn cipher_text(suite: rustls::SupportedCipherSuite) -> String {
    let name = suite
        .suite()
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:?}", suite.suite()));
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}
