//! Discovery (issue 11) against real services on loopback:
//! - a real DNS server (dnsmasq, started here on a free port) with a test zone under
//!   `discover.test`: MX records for every provider of the pack, SRV records, NXDOMAIN;
//! - resolvers that fail: one that answers SERVFAIL, one that never answers (sockets held here);
//! - the domain's autoconfig over HTTPS from a server written here, with a leaf of the throwaway
//!   CA that `scripts/mail-servers` makes (loopback needs `allow_private`, as in production
//!   loopback is refused);
//! - the `imap-triage discover` command line and its JSON contract;
//! - the probe's DNS stage through the same resolvers (`dns_not_found` vs `dns_unavailable`).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use imap_triage::core::diagnose::discovery::{
    AutoconfigSource, DiscoveryReport, DomainAutoconfig, SuggestedSource,
};
use imap_triage::core::diagnose::{Code, Service};
use imap_triage::discover::{Discover, Discoverer, Dns, FetchPolicy};
use imap_triage::probe::{Prober, TlsSetup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UdpSocket;

const ZONE: &str = "discover.test";

/// A member's domain for the console test: under a real public suffix, as the core only takes
/// such email domains, but answered by the test's dnsmasq alone (`--local`, `--no-resolv`).
const MEMBER_DOMAIN: &str = "discover-test.org";

/// One MX per provider of the pack: `p-<id>.discover.test`.
const PROVIDER_MX: &[(&str, &str)] = &[
    ("gmail", "aspmx.l.google.com"),
    ("office365", "acme-test.mail.protection.outlook.com"),
    ("yahoo", "mta5.am0.yahoodns.net"),
    ("icloud", "mx01.mail.icloud.com"),
    ("zoho", "mx.zoho.eu"),
    ("godaddy", "mx1.secureserver.net"),
    ("ionos", "mx00.ionos.de"),
    ("ovh", "mx1.mail.ovh.net"),
    ("namecheap", "mx1.privateemail.com"),
    ("fastmail", "in1-smtp.messagingengine.com"),
    ("rackspace", "mx1.emailsrvr.com"),
    ("gmx", "mx00.gmx.net"),
    ("yandex", "mx.yandex.net"),
    ("protonmail", "mail.protonmail.ch"),
];

/// dnsmasq on 127.0.0.1, answering only from its command line; stopped on drop.
struct Dnsmasq {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    socket
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn dnsmasq() -> Dnsmasq {
    // scripts/mail-servers installs dnsmasq-base when it is missing.
    testkit::probe::servers();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut args: Vec<String> = [
        "--keep-in-foreground",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        "--user=root",
        "--log-facility=-",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--local=/{ZONE}/"));
    args.push(format!(
        "--pid-file={}",
        dir.path().join("dnsmasq.pid").display()
    ));
    for (id, mx) in PROVIDER_MX {
        args.push(format!("--mx-host=p-{id}.{ZONE},{mx},10"));
    }
    // SRV: RFC 6186 / 8314 records, one of them "not offered" (no target).
    args.push(format!("--mx-host=srv.{ZONE},mx.srv.{ZONE},10"));
    args.push(format!(
        "--srv-host=_imaps._tcp.srv.{ZONE},imap.srv.{ZONE},993,0,0"
    ));
    args.push(format!(
        "--srv-host=_imaps._tcp.srv.{ZONE},backup.srv.{ZONE},993,10,0"
    ));
    args.push(format!(
        "--srv-host=_submission._tcp.srv.{ZONE},smtp.srv.{ZONE},587,0,0"
    ));
    args.push(format!("--srv-host=_imap._tcp.srv.{ZONE}"));
    args.push(format!("--local=/{MEMBER_DOMAIN}/"));
    args.push(format!("--mx-host={MEMBER_DOMAIN},mx.{MEMBER_DOMAIN},10"));
    args.push(format!(
        "--srv-host=_imaps._tcp.{MEMBER_DOMAIN},imap.{MEMBER_DOMAIN},993,0,0"
    ));
    args.push(format!(
        "--srv-host=_submission._tcp.{MEMBER_DOMAIN},smtp.{MEMBER_DOMAIN},587,0,0"
    ));
    // A domain with its own autoconfig host, and ones that redirect or misbehave.
    for d in ["auto", "redirect", "badport", "huge", "private"] {
        args.push(format!("--mx-host={d}.{ZONE},mx.{d}.{ZONE},10"));
        args.push(format!("--host-record=autoconfig.{d}.{ZONE},127.0.0.1"));
    }
    // A name with an MX but no address, for the probe.
    args.push(format!("--host-record=imap.auto.{ZONE},127.0.0.1"));
    for _ in 0..5 {
        let port = free_udp_port();
        let mut child = Command::new("dnsmasq")
            .args(&args)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("dnsmasq: {e} (scripts/mail-servers start installs it)"));
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        // Up when it answers over TCP too (it listens on both).
        for _ in 0..100 {
            if std::net::TcpStream::connect(addr).is_ok() {
                std::mem::forget(dir);
                return Dnsmasq { child, addr };
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("dnsmasq did not start");
}

/// A resolver that answers every query with SERVFAIL.
async fn servfail_resolver() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = socket.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        for _ in 0..1000 {
            let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                break;
            };
            if n < 12 {
                continue;
            }
            let mut reply = buf[..n].to_vec();
            reply[2] |= 0x80; // QR: a response
            reply[3] = (reply[3] & 0xf0) | 0x80 | 2; // RA, RCODE 2 = SERVFAIL
            let _ = socket.send_to(&reply, from).await;
        }
    });
    addr
}

/// A resolver that never answers: the socket is held, never read.
fn silent_resolver() -> (std::net::UdpSocket, SocketAddr) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = socket.local_addr().unwrap_or_else(|e| panic!("{e}"));
    (socket, addr)
}

fn rules() -> imap_triage::core::rules::Rules {
    imap_triage::rules_dir::embedded().unwrap_or_else(|e| panic!("{e}"))
}

fn discoverer(resolver: SocketAddr, fetch: FetchPolicy) -> Discoverer {
    let dns = Dns::new(Some(resolver), Duration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"));
    Discoverer::new(dns, testkit::probe::tls_with_ca(), fetch)
}

fn codes(r: &DiscoveryReport) -> Vec<Code> {
    r.findings.iter().map(|f| f.code).collect()
}

#[tokio::test]
async fn every_provider_is_recognised_by_its_mx_from_a_real_dns_server() {
    let dns = dnsmasq();
    let d = discoverer(dns.addr, FetchPolicy::default());
    let rules = rules();
    for (id, mx) in PROVIDER_MX {
        let r = d.discover(&rules, &format!("someone@p-{id}.{ZONE}")).await;
        assert_eq!(r.mx.first().map(|m| m.host.as_str()), Some(*mx), "{id}");
        assert_eq!(r.mx_provider.as_deref(), Some(*id), "{id}: {r:#?}");
        assert!(
            r.suggested.source.is_some() || *id == "protonmail",
            "{id}: {r:#?}"
        );
    }
    let m365 = d.discover(&rules, &format!("p-office365.{ZONE}")).await;
    assert!(codes(&m365).contains(&Code::NativeIntegration), "{m365:#?}");
    // The ISPDB knows Microsoft's MX domain, so the autoconfig is the ISPDB's.
    assert_eq!(
        m365.autoconfig.as_ref().map(|a| a.source),
        Some(AutoconfigSource::Ispdb)
    );
}

#[tokio::test]
async fn srv_records_are_ranked_and_suggested() {
    let dns = dnsmasq();
    let d = discoverer(dns.addr, FetchPolicy::default());
    let r = d.discover(&rules(), &format!("srv.{ZONE}")).await;
    let imaps = r.srv.imaps.as_ref().map(|t| (t.host.as_str(), t.port));
    assert_eq!(imaps, Some((format!("imap.srv.{ZONE}").as_str(), 993)));
    assert_eq!(
        r.srv.imap, None,
        "a record without a target means not offered"
    );
    assert_eq!(
        r.srv.submission.as_ref().map(|t| t.port),
        Some(587),
        "{r:#?}"
    );
    assert_eq!(r.suggested.source, Some(SuggestedSource::Srv));
    assert!(codes(&r).contains(&Code::SrvPublished));
}

#[tokio::test]
async fn nxdomain_servfail_and_silence_are_told_apart() {
    let dns = dnsmasq();
    let rules = rules();
    let r = discoverer(dns.addr, FetchPolicy::default())
        .discover(&rules, &format!("nope.{ZONE}"))
        .await;
    assert_eq!(codes(&r), [Code::DomainNotFound]);
    assert!(!r.found_anything());

    let servfail = servfail_resolver().await;
    let r = discoverer(servfail, FetchPolicy::default())
        .discover(&rules, &format!("p-gmail.{ZONE}"))
        .await;
    assert_eq!(codes(&r), [Code::DnsUnavailable], "{r:#?}");
    assert!(r.findings[0].message.contains("Server Failure"), "{r:#?}");
    assert!(!r.findings[0].message.contains("does not exist"));

    let (_held, silent) = silent_resolver();
    let started = std::time::Instant::now();
    let r = discoverer(silent, FetchPolicy::default())
        .discover(&rules, &format!("p-gmail.{ZONE}"))
        .await;
    assert_eq!(codes(&r), [Code::DnsUnavailable], "{r:#?}");
    assert!(r.findings[0].message.contains("could not look up"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

// ---------------------------------------------------------------------------------------------
// Autoconfig over HTTPS
// ---------------------------------------------------------------------------------------------

const AUTOCONFIG: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="auto.discover.test">
    <domain>auto.discover.test</domain>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.auto.discover.test</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"#;

/// An HTTPS server on 127.0.0.1 answering by Host: the autoconfig file, a redirect to it, a
/// redirect to a port the policy refuses, and a file too large.
async fn autoconfig_server() -> u16 {
    let s = testkit::probe::servers();
    let config = testkit::probe::server_tls(&s.web_cert, &s.web_key);
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let (listener, port) = testkit::probe::loopback_listener().await;
    tokio::spawn(async move {
        for _ in 0..200 {
            let Ok((tcp, _)) = listener.accept().await else {
                break;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8192 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                let host = text
                    .lines()
                    .find_map(|l| l.strip_prefix("host:"))
                    .map(|h| h.trim().split(':').next().unwrap_or_default().to_string())
                    .unwrap_or_default();
                let path = text
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                let response = match (host.as_str(), path.as_str()) {
                    (h, "/mail/config-v1.1.xml") if h == format!("autoconfig.auto.{ZONE}") => {
                        ok(AUTOCONFIG.as_bytes())
                    }
                    (h, _) if h == format!("autoconfig.redirect.{ZONE}") => redirect(&format!(
                        "https://autoconfig.auto.{ZONE}:{port}/mail/config-v1.1.xml"
                    )),
                    (h, _) if h == format!("autoconfig.badport.{ZONE}") => {
                        redirect(&format!("https://autoconfig.auto.{ZONE}:8443/x.xml"))
                    }
                    (h, _) if h == format!("autoconfig.huge.{ZONE}") => {
                        let mut body = AUTOCONFIG.as_bytes().to_vec();
                        body.extend(std::iter::repeat_n(b' ', 100 * 1024));
                        ok(&body)
                    }
                    _ => {
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = tls.write_all(&response).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn ok(body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn redirect(location: &str) -> Vec<u8> {
    format!("HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .into_bytes()
}

fn test_fetch(https_port: u16) -> FetchPolicy {
    FetchPolicy {
        allow_private: true,
        https_port,
        // Nothing listens there: the plain-HTTP address finds nothing.
        http_port: 9,
        ..FetchPolicy::default()
    }
}

#[tokio::test]
async fn the_domains_own_autoconfig_is_fetched_over_https_and_wins() {
    let dns = dnsmasq();
    let port = autoconfig_server().await;
    let d = discoverer(dns.addr, test_fetch(port));
    let r = d.discover(&rules(), &format!("bob@auto.{ZONE}")).await;
    let a = r.autoconfig.as_ref().unwrap_or_else(|| panic!("{r:#?}"));
    assert_eq!(a.source, AutoconfigSource::Domain);
    assert_eq!(
        a.imap.as_ref().map(|s| s.endpoint()),
        Some(format!("imap.auto.{ZONE}:993"))
    );
    assert_eq!(r.suggested.source, Some(SuggestedSource::Autoconfig));
    assert!(codes(&r).contains(&Code::AutoconfigFound));

    // A redirect is followed after the same checks, and the final address is reported.
    let input = d.input(&format!("redirect.{ZONE}")).await;
    match &input.domain_autoconfig {
        DomainAutoconfig::Found { url, .. } => {
            assert!(
                url.starts_with(&format!("https://autoconfig.auto.{ZONE}:{port}/")),
                "{url}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn autoconfig_fetches_keep_to_the_policy() {
    let dns = dnsmasq();
    let port = autoconfig_server().await;
    let d = discoverer(dns.addr, test_fetch(port));
    let unusable = |a: &DomainAutoconfig| match a {
        DomainAutoconfig::Unusable { detail } => detail.clone(),
        other => panic!("{other:?}"),
    };
    let badport = d.input(&format!("badport.{ZONE}")).await;
    let detail = unusable(&badport.domain_autoconfig);
    assert!(detail.contains("port 8443 is not a web port"), "{detail}");
    let huge = d.input(&format!("huge.{ZONE}")).await;
    let detail = unusable(&huge.domain_autoconfig);
    assert!(detail.contains("larger than 64 KB"), "{detail}");
    // Without allow_private, loopback is never connected to.
    let strict = discoverer(
        dns.addr,
        FetchPolicy {
            allow_private: false,
            ..test_fetch(port)
        },
    );
    let private = strict.input(&format!("auto.{ZONE}")).await;
    let detail = unusable(&private.domain_autoconfig);
    assert!(detail.contains("127.0.0.1"), "{detail}");
    assert!(detail.contains("never connects"), "{detail}");
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

fn discover_cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_imap-triage"))
        .arg("discover")
        .args(args)
        .env_remove("IMAP_TRIAGE_PROBE__RESOLVER")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_keeps_its_contract() {
    let dns = dnsmasq();
    let resolver = dns.addr.to_string();
    let (code, stdout, stderr) = discover_cli(&[
        "--json",
        "--resolver",
        &resolver,
        &format!("alice@p-office365.{ZONE}"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}"));
    let mut keys: Vec<&str> = v
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "autoconfig",
            "domain",
            "findings",
            "mx",
            "mx_provider",
            "srv",
            "suggested"
        ]
    );
    assert_eq!(v["domain"], format!("p-office365.{ZONE}"));
    assert_eq!(v["mx"][0]["host"], "acme-test.mail.protection.outlook.com");
    assert_eq!(v["mx"][0]["preference"], 10);
    assert_eq!(v["mx_provider"], "office365");
    for k in ["imaps", "imap", "submissions", "submission"] {
        assert!(v["srv"][k].is_null(), "{k}");
    }
    assert_eq!(v["autoconfig"]["source"], "ispdb");
    assert_eq!(v["autoconfig"]["imap"]["security"], "tls");
    assert_eq!(v["suggested"]["imap"]["host"], "outlook.office365.com");
    assert_eq!(v["suggested"]["source"], "ispdb");
    let f = &v["findings"][0];
    assert_eq!(f["code"], "native_integration");
    assert_eq!(f["severity"], "warning");
    assert!(f["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Office 365 integration"));
    // The local part never appears.
    assert!(!stdout.contains("alice"));

    let (code, stdout, _) =
        discover_cli(&["--json", "--resolver", &resolver, &format!("nope.{ZONE}")]);
    assert_eq!(code, 1);
    assert!(stdout.contains("domain_not_found"));

    let (code, stdout, _) = discover_cli(&["--resolver", &resolver, &format!("srv.{ZONE}")]);
    assert_eq!(code, 0);
    assert!(stdout.contains("_imaps"), "{stdout}");

    for bad in [
        vec!["bad domain"],
        vec!["--resolver", "not-an-address", "example.com"],
        vec!["127.0.0.1"],
        vec![],
    ] {
        let (code, _, stderr) = discover_cli(&bad);
        assert_eq!(code, 2, "{bad:?}: {stderr}");
    }
}

// ---------------------------------------------------------------------------------------------
// The probe's DNS stage through the same resolvers
// ---------------------------------------------------------------------------------------------

async fn probe_with_resolver(resolver: SocketAddr, host: &str) -> Vec<Code> {
    let mut policy = testkit::probe::test_policy(&[]);
    policy.resolver = Some(resolver);
    let prober = Prober::new(policy, TlsSetup::new(&[]).unwrap_or_else(|e| panic!("{e}")));
    let r = testkit::probe::probe(
        &prober,
        &testkit::probe::request(Service::Imap, &format!("{host}:993"), None),
    )
    .await;
    testkit::probe::codes(&r)
}

#[tokio::test]
async fn the_probe_says_dns_not_found_only_for_nxdomain() {
    let dns = dnsmasq();
    assert_eq!(
        probe_with_resolver(dns.addr, &format!("imap.nope.{ZONE}")).await,
        [Code::DnsNotFound]
    );
    assert_eq!(
        probe_with_resolver(dns.addr, &format!("p-gmail.{ZONE}")).await,
        [Code::DnsNoAddress]
    );
    let servfail = servfail_resolver().await;
    assert_eq!(
        probe_with_resolver(servfail, &format!("imap.{ZONE}")).await,
        [Code::DnsUnavailable]
    );
    let (_held, silent) = silent_resolver();
    assert_eq!(
        probe_with_resolver(silent, &format!("imap.{ZONE}")).await,
        [Code::DnsUnavailable]
    );
    // The resolver's answer is used, and the address policy still applies to it.
    let mut policy = testkit::probe::test_policy(&[]);
    policy.resolver = Some(dns.addr);
    policy.allow_private = false;
    let prober = Prober::new(policy, TlsSetup::new(&[]).unwrap_or_else(|e| panic!("{e}")));
    let r = testkit::probe::probe(
        &prober,
        &testkit::probe::request(Service::Imap, &format!("imap.auto.{ZONE}:993"), None),
    )
    .await;
    assert_eq!(testkit::probe::codes(&r), [Code::RefusedByPolicy], "{r:#?}");
}

#[test]
fn the_fetch_policy_defaults_are_the_issues() {
    let p = FetchPolicy::default();
    assert_eq!((p.https_port, p.http_port), (443, 80));
    assert_eq!(p.max_bytes, 64 * 1024);
    assert_eq!(p.timeout, Duration::from_secs(5));
    assert!(!p.allow_private);
    let _ = Arc::new(p);
}

// ---------------------------------------------------------------------------------------------
// In the bot (the console): the member's email domain looked up through dnsmasq
// ---------------------------------------------------------------------------------------------

#[test]
fn the_console_looks_the_members_domain_up_and_tests_what_it_publishes() {
    let dns = dnsmasq();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let input = format!(
        "My inbox won't connect over IMAP. My email is bob@{MEMBER_DOMAIN}\n/mod status\n/quit\n"
    );
    let out = testkit::run_with_input(
        Command::new(env!("CARGO_BIN_EXE_imap-triage"))
            .arg("console")
            .current_dir(dir.path())
            .env_remove("IMAP_TRIAGE_CONFIG")
            .env("IMAP_TRIAGE_PROBE__DISCOVER", "true")
            .env("IMAP_TRIAGE_PROBE__RESOLVER", dns.addr.to_string())
            .env("IMAP_TRIAGE_STORE__PATH", dir.path().join("store")),
        input.as_bytes(),
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("Your email domain `{MEMBER_DOMAIN}`")),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "IMAP: your domain publishes `imap.{MEMBER_DOMAIN}:993` (SSL/TLS)."
        )),
        "{said}"
    );
    // The published servers are tested; dnsmasq gives them no address, and says so.
    assert!(
        said.contains(&format!("`imap.{MEMBER_DOMAIN}:993`"))
            && said.contains("Testing the connection"),
        "{said}"
    );
    assert!(said.contains("does not exist in DNS"), "{said}");
    // The moderator's status has the summary.
    assert!(
        said.contains(&format!("domain: `{MEMBER_DOMAIN}`")) && said.contains("(from SRV records)"),
        "{said}"
    );
}
