//! The domain's own autoconfig file (Thunderbird's clientConfig v1.1): fetched over HTTP(S)
//! under the probe's address policy, parsed with roxmltree.
//!
//! The fetch keeps to the same rules as the probe: a name is resolved once per hop, every
//! address is checked (public only, unless `allow_private`), only ports 443 and 80 are used,
//! every redirect is checked again from scratch, at most 64 KB are read, and the whole fetch
//! (all addresses, all redirects) ends within 5 s. Nothing is sent but a plain GET: no email
//! address, no cookie.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::TlsConnector;
use url::Url;

use crate::core::diagnose::discovery::{Answer, DomainAutoconfig, ServerSettings};
use crate::core::service::TlsMode;
use crate::probe::target::{non_public_reason, Host};
use crate::probe::TlsSetup;

use crate::probe::dns::Dns;

/// Limits of one autoconfig fetch.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Permits loopback and private addresses. Tests only.
    pub allow_private: bool,
    /// The HTTPS port (443; tests use a high port).
    pub https_port: u16,
    /// The HTTP port (80).
    pub http_port: u16,
    /// The whole fetch, redirects included.
    pub timeout: Duration,
    pub max_bytes: usize,
    pub max_redirects: usize,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            allow_private: false,
            https_port: 443,
            http_port: 80,
            timeout: Duration::from_secs(5),
            max_bytes: 64 * 1024,
            max_redirects: 5,
        }
    }
}

/// Why one URL gave no file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Nothing there: no such host, nothing listening, 404 or 410.
    NotFound,
    /// Something there that cannot be used (refused by policy, TLS failure, too large, ...).
    Unusable(String),
}

/// The addresses Thunderbird tries, in its order (without the email address in the query).
pub fn urls(domain: &str, policy: &FetchPolicy) -> Vec<String> {
    let https = port_suffix(policy.https_port, 443);
    let http = port_suffix(policy.http_port, 80);
    vec![
        format!("https://autoconfig.{domain}{https}/mail/config-v1.1.xml"),
        format!("https://{domain}{https}/.well-known/autoconfig/mail/config-v1.1.xml"),
        format!("http://autoconfig.{domain}{http}/mail/config-v1.1.xml"),
    ]
}

fn port_suffix(port: u16, default: u16) -> String {
    if port == default {
        String::new()
    } else {
        format!(":{port}")
    }
}

/// Fetches the three addresses together and keeps the first usable file in their order.
pub async fn fetch(
    dns: &Dns,
    tls: &TlsSetup,
    policy: &FetchPolicy,
    domain: &str,
) -> DomainAutoconfig {
    let deadline = Instant::now() + policy.timeout;
    let fetcher = Fetcher {
        dns,
        tls,
        policy,
        deadline,
    };
    let urls = urls(domain, policy);
    let (a, b, c) = tokio::join!(
        fetcher.get(&urls[0]),
        fetcher.get(&urls[1]),
        fetcher.get(&urls[2])
    );
    let results = [a, b, c];
    let mut unusable: Option<String> = None;
    for (url, result) in urls.iter().zip(results) {
        match result {
            Ok((final_url, body)) => match parse(&body, domain) {
                Ok(parsed) => {
                    return DomainAutoconfig::Found {
                        url: final_url,
                        imap: parsed.imap,
                        smtp: parsed.smtp,
                        plain: parsed.plain,
                    }
                }
                Err(e) => {
                    unusable.get_or_insert(format!("{url}: {e}"));
                }
            },
            Err(FetchError::NotFound) => {}
            Err(FetchError::Unusable(e)) => {
                unusable.get_or_insert(format!("{url}: {e}"));
            }
        }
    }
    match unusable {
        Some(detail) => DomainAutoconfig::Unusable { detail },
        None => DomainAutoconfig::NotFound,
    }
}

struct Fetcher<'a> {
    dns: &'a Dns,
    tls: &'a TlsSetup,
    policy: &'a FetchPolicy,
    deadline: Instant,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {}

impl Fetcher<'_> {
    /// GET with redirects; every hop is checked as if it were the first.
    async fn get(&self, start: &str) -> Result<(String, Vec<u8>), FetchError> {
        let mut url = Url::parse(start).map_err(|e| FetchError::Unusable(e.to_string()))?;
        for _ in 0..=self.policy.max_redirects {
            match timeout_at(self.deadline, self.hop(&url)).await {
                Err(_) => {
                    return Err(FetchError::Unusable(format!(
                        "no complete answer within {} s",
                        self.policy.timeout.as_secs()
                    )))
                }
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Hop::Body(body))) => return Ok((url.to_string(), body)),
                Ok(Ok(Hop::Redirect(location))) => {
                    url = url.join(&location).map_err(|e| {
                        FetchError::Unusable(format!("a redirect to an invalid address ({e})"))
                    })?;
                }
            }
        }
        Err(FetchError::Unusable(format!(
            "more than {} redirects",
            self.policy.max_redirects
        )))
    }

    async fn hop(&self, url: &Url) -> Result<Hop, FetchError> {
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(FetchError::Unusable(format!(
                    "a redirect to a {other}: address, which is not followed"
                )))
            }
        };
        let port = url.port_or_known_default().unwrap_or(0);
        if port != self.policy.https_port && port != self.policy.http_port {
            return Err(FetchError::Unusable(format!(
                "port {port} is not a web port the bot fetches from"
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::Unusable("an address with a user name".into()));
        }
        let host_text = url.host_str().unwrap_or_default();
        let host_text = host_text
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host_text);
        let host = Host::parse(host_text).map_err(FetchError::Unusable)?;
        let ips = match &host {
            Host::Ip(ip) => vec![*ip],
            Host::Name(name) => match self.dns.ips(name).await {
                Answer::Found(ips) => ips,
                Answer::NxDomain | Answer::NoRecords => return Err(FetchError::NotFound),
                Answer::Failed(e) => {
                    return Err(FetchError::Unusable(format!(
                        "could not look up {name}: {e}"
                    )))
                }
            },
        };
        if !self.policy.allow_private {
            if let Some((ip, why)) = ips
                .iter()
                .find_map(|ip| non_public_reason(*ip).map(|why| (*ip, why)))
            {
                return Err(FetchError::Unusable(format!(
                    "{host} resolves to {ip}, which is {why}; the bot never connects there"
                )));
            }
        }
        let tcp = connect(&ips, port).await?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn StreamObj> = if https {
            let config = self
                .tls
                .strict_config()
                .map_err(|e| FetchError::Unusable(format!("TLS setup: {e}")))?;
            let name = match &host {
                Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
                Host::Name(n) => ServerName::try_from(n.clone())
                    .map_err(|e| FetchError::Unusable(e.to_string()))?,
            };
            let tls = TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| FetchError::Unusable(format!("TLS with {host} failed: {e}")))?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| FetchError::Unusable(format!("HTTP: {e}")))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, authority)
            .header(
                hyper::header::USER_AGENT,
                "imap-triage (mail settings discovery)",
            )
            .header(hyper::header::ACCEPT, "application/xml, text/xml")
            .body(Empty::<Bytes>::new())
            .map_err(|e| FetchError::Unusable(e.to_string()))?;
        let result = self.exchange(&mut sender, request).await;
        driver.abort();
        result
    }

    async fn exchange(
        &self,
        sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
        request: hyper::Request<Empty<Bytes>>,
    ) -> Result<Hop, FetchError> {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| FetchError::Unusable(format!("HTTP: {e}")))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(hyper::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| FetchError::Unusable(format!("HTTP {status} without a Location")))?;
            return Ok(Hop::Redirect(location.to_string()));
        }
        if status == hyper::StatusCode::NOT_FOUND || status == hyper::StatusCode::GONE {
            return Err(FetchError::NotFound);
        }
        if !status.is_success() {
            return Err(FetchError::Unusable(format!(
                "the server answered HTTP {status}"
            )));
        }
        let body = Limited::new(response.into_body(), self.policy.max_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some()
                {
                    FetchError::Unusable(format!(
                        "the file is larger than {} KB",
                        self.policy.max_bytes / 1024
                    ))
                } else {
                    FetchError::Unusable(format!("HTTP: {e}"))
                }
            })?;
        Ok(Hop::Body(body.to_bytes().to_vec()))
    }
}

trait StreamObj: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: Stream> StreamObj for T {}

enum Hop {
    Body(Vec<u8>),
    Redirect(String),
}

async fn connect(ips: &[IpAddr], port: u16) -> Result<TcpStream, FetchError> {
    let mut last = FetchError::NotFound;
    // IPv4 first, at most four addresses, as the probe does.
    let mut ips = ips.to_vec();
    ips.sort_by_key(|ip| !ip.is_ipv4());
    for ip in ips.iter().take(4) {
        match TcpStream::connect(SocketAddr::new(*ip, port)).await {
            Ok(stream) => return Ok(stream),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = FetchError::NotFound
            }
            Err(e) => last = FetchError::Unusable(format!("{ip}:{port}: {e}")),
        }
    }
    Err(last)
}

/// The settings of one clientConfig file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub imap: Option<ServerSettings>,
    pub smtp: Option<ServerSettings>,
    /// Servers offered without encryption, as `host:port`.
    pub plain: Vec<String>,
}

/// Parses clientConfig v1.1: the first encrypted IMAP server and the first encrypted SMTP
/// server, in the file's order. `%EMAILDOMAIN%` in a host name becomes the domain. No DTD is
/// accepted (roxmltree's default), so entity expansion cannot blow up.
pub fn parse(xml: &[u8], domain: &str) -> Result<Parsed, String> {
    let text = std::str::from_utf8(xml).map_err(|_| "the file is not UTF-8 text".to_string())?;
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not valid XML ({e})"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "clientConfig" {
        return Err(format!(
            "not an autoconfig file (its root is <{}>)",
            root.tag_name().name()
        ));
    }
    let provider = root
        .children()
        .find(|n| n.has_tag_name("emailProvider"))
        .ok_or("no <emailProvider> in it")?;
    let mut parsed = Parsed::default();
    for server in provider.children().filter(|n| n.is_element()) {
        let kind = server.attribute("type").unwrap_or_default();
        let slot = match (server.tag_name().name(), kind) {
            ("incomingServer", "imap") => &mut parsed.imap,
            ("outgoingServer", "smtp") => &mut parsed.smtp,
            _ => continue,
        };
        let child = |name: &str| {
            server
                .children()
                .find(|n| n.has_tag_name(name))
                .and_then(|n| n.text())
                .map(str::trim)
                .unwrap_or_default()
        };
        let host = child("hostname").replace("%EMAILDOMAIN%", domain);
        let Ok(Host::Name(host)) = Host::parse(&host) else {
            continue;
        };
        let Ok(port) = child("port").parse::<u16>() else {
            continue;
        };
        if port == 0 {
            continue;
        }
        let security = match child("socketType").to_ascii_uppercase().as_str() {
            "SSL" | "TLS" => TlsMode::Implicit,
            "STARTTLS" => TlsMode::Starttls,
            _ => {
                parsed.plain.push(format!("{host}:{port}"));
                continue;
            }
        };
        if slot.is_none() {
            *slot = Some(ServerSettings {
                host,
                port,
                security,
            });
        }
    }
    if parsed.imap.is_none() && parsed.smtp.is_none() && parsed.plain.is_empty() {
        return Err("it names no IMAP or SMTP server".into());
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <domain>example.com</domain>
    <incomingServer type="pop3"><hostname>pop.example.com</hostname><port>995</port><socketType>SSL</socketType></incomingServer>
    <incomingServer type="imap"><hostname>imap.%EMAILDOMAIN%</hostname><port>143</port><socketType>plain</socketType></incomingServer>
    <incomingServer type="imap"><hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
    <outgoingServer type="smtp"><hostname>smtp.example.com</hostname><port>587</port><socketType>STARTTLS</socketType></outgoingServer>
  </emailProvider>
</clientConfig>"#;

    #[test]
    fn the_first_encrypted_servers_are_kept() {
        let p = parse(FILE.as_bytes(), "example.com").unwrap_or_default();
        assert_eq!(
            p.imap,
            Some(ServerSettings {
                host: "imap.example.com".into(),
                port: 993,
                security: TlsMode::Implicit
            })
        );
        assert_eq!(p.smtp.as_ref().map(|s| s.security), Some(TlsMode::Starttls));
        assert_eq!(p.plain, ["imap.example.com:143"]);
    }

    #[test]
    fn hostile_files_are_refused() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><clientConfig>&b;</clientConfig>"#;
        assert!(parse(bomb.as_bytes(), "x.com").is_err());
        assert!(parse(b"<html><body>hi</body></html>", "x.com").is_err());
        assert!(parse(&[0xff, 0xfe], "x.com").is_err());
        let bad_host = r#"<clientConfig><emailProvider><incomingServer type="imap"><hostname>evil host/x</hostname><port>993</port><socketType>SSL</socketType></incomingServer></emailProvider></clientConfig>"#;
        assert!(parse(bad_host.as_bytes(), "x.com").is_err());
    }

    #[test]
    fn thunderbirds_addresses_in_order() {
        let policy = FetchPolicy::default();
        assert_eq!(
            urls("example.com", &policy),
            [
                "https://autoconfig.example.com/mail/config-v1.1.xml",
                "https://example.com/.well-known/autoconfig/mail/config-v1.1.xml",
                "http://autoconfig.example.com/mail/config-v1.1.xml"
            ]
        );
        let test = FetchPolicy {
            https_port: 31443,
            ..FetchPolicy::default()
        };
        assert_eq!(
            urls("example.com", &test)[0],
            "https://autoconfig.example.com:31443/mail/config-v1.1.xml"
        );
    }
}
