//! Against the real Dovecot and exim4: every stage, and every finding they can produce.

use std::sync::{Arc, Mutex};

use imap_triage::core::diagnose::{
    Code, EndpointReport, Service, Severity, SuggestionSource, TlsMode, Verdict,
};
use imap_triage::probe::{Probe, ProbeJob, Prober, Progress, TlsSetup};

use testkit::probe::{
    closed_port, codes, finding_texts, probe, request, server_conventions, server_ports, servers,
    stage_names, test_policy, tls_with_ca,
};

fn prober() -> Prober {
    let s = servers();
    let mut policy = test_policy(&server_ports(s));
    policy.ports = server_conventions(s);
    Prober::new(policy, tls_with_ca())
}

#[tokio::test]
async fn imap_with_implicit_tls_passes_every_stage() {
    let s = servers();
    // The rules pack is parsed (once) before the clock starts: the bound is the probe's alone.
    testkit::probe::finding_texts();
    let started = std::time::Instant::now();
    let report = probe(
        &prober(),
        &request(Service::Imap, &format!("127.0.0.1:{}", s.imap_tls), None),
    )
    .await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(report.verdict, Verdict::Ok, "{report:#?}");
    assert_eq!(
        stage_names(&report),
        ["dns", "tcp", "tls", "greeting", "capabilities"]
    );
    assert!(report.stages.iter().all(|st| st.ok), "{:#?}", report.stages);
    // The times are measured: each fits in the probe's own wall time, and every stage that waits
    // on the server took some (an IP literal's DNS stage may round to zero).
    for (name, stage) in stage_names(&report).iter().zip(&report.stages) {
        assert!(
            stage.ms <= elapsed_ms,
            "{name}: {} ms in a probe of {elapsed_ms} ms",
            stage.ms
        );
        if name != "dns" {
            assert!(stage.ms > 0.0, "{name} took no time: {:#?}", report.stages);
        }
    }
    let tls = report.tls.as_ref().unwrap_or_else(|| panic!("no TLS data"));
    assert!(tls.version.starts_with("TLSv1."), "{}", tls.version);
    assert!(tls.cipher.starts_with("TLS_"), "{}", tls.cipher);
    assert!(tls.cert.trusted && tls.cert.name_matches);
    assert_eq!(tls.cert.subject, "CN=localhost");
    assert!(
        tls.cert.sans.contains(&"IP:127.0.0.1".to_string()),
        "{:?}",
        tls.cert.sans
    );
    assert!(tls.cert.issuer.contains("imap-triage throwaway test CA"));
    assert!(tls.cert.not_after.ends_with('Z'));
    assert!(
        report.banner.starts_with("* OK") && report.banner.contains("Dovecot"),
        "{}",
        report.banner
    );
    assert!(
        report.capabilities.iter().any(|c| c == "IMAP4rev1"),
        "{:?}",
        report.capabilities
    );
    assert_eq!(codes(&report), [Code::Ok]);
}

#[tokio::test]
async fn imap_with_starttls_upgrades_and_asks_again() {
    let s = servers();
    let report = probe(
        &prober(),
        &request(Service::Imap, &format!("localhost:{}", s.imap_plain), None),
    )
    .await;
    assert_eq!(report.verdict, Verdict::Ok, "{report:#?}");
    assert_eq!(
        stage_names(&report),
        [
            "dns",
            "tcp",
            "greeting",
            "capabilities",
            "starttls",
            "tls",
            "capabilities"
        ]
    );
    // Before TLS the server offered STARTTLS; the reported list is the one after it.
    assert!(
        report.stages[3].detail.contains("STARTTLS"),
        "{}",
        report.stages[3].detail
    );
    assert!(
        !report.capabilities.iter().any(|c| c == "STARTTLS"),
        "{:?}",
        report.capabilities
    );
    assert!(report
        .tls
        .as_ref()
        .is_some_and(|t| t.cert.trusted && t.cert.name_matches));
}

#[tokio::test]
async fn smtp_with_starttls_reports_extensions_before_and_after() {
    let s = servers();
    let report = probe(
        &prober(),
        &request(
            Service::Smtp,
            &format!("127.0.0.1:{}", s.smtp_starttls),
            None,
        ),
    )
    .await;
    assert_eq!(report.verdict, Verdict::Ok, "{report:#?}");
    assert_eq!(
        stage_names(&report),
        [
            "dns",
            "tcp",
            "greeting",
            "capabilities",
            "starttls",
            "tls",
            "capabilities"
        ]
    );
    assert!(
        report.banner.starts_with("220 ") && report.banner.contains("Exim"),
        "{}",
        report.banner
    );
    // exim offers AUTH only once the connection is encrypted.
    assert!(
        !report.stages[3].detail.contains("AUTH"),
        "{}",
        report.stages[3].detail
    );
    assert!(
        report.capabilities.iter().any(|c| c == "AUTH PLAIN"),
        "{:?}",
        report.capabilities
    );
    assert!(
        report.capabilities.iter().any(|c| c == "SIZE 10485760"),
        "{:?}",
        report.capabilities
    );
}

#[tokio::test]
async fn smtp_with_implicit_tls_passes() {
    let s = servers();
    let report = probe(
        &prober(),
        &request(Service::Smtp, &format!("localhost:{}", s.smtp_tls), None),
    )
    .await;
    assert_eq!(report.verdict, Verdict::Ok, "{report:#?}");
    assert_eq!(
        stage_names(&report),
        ["dns", "tcp", "tls", "greeting", "capabilities"]
    );
    assert_eq!(codes(&report), [Code::Ok]);
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_finding_and_the_probe_goes_on() {
    let s = servers();
    let mut policy = test_policy(&server_ports(s));
    policy.ports = server_conventions(s);
    let prober = Prober::new(policy, TlsSetup::new(&[]).unwrap_or_else(|e| panic!("{e}")));
    let report = probe(
        &prober,
        &request(Service::Imap, &format!("127.0.0.1:{}", s.imap_tls), None),
    )
    .await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(codes(&report), [Code::CertUntrusted]);
    let tls = report.tls.as_ref().unwrap_or_else(|| panic!("no TLS data"));
    assert!(!tls.cert.trusted && tls.cert.name_matches);
    // The bad certificate did not stop the probe: it still read the greeting.
    assert!(stage_names(&report).contains(&"greeting".to_string()));
    assert!(report.banner.contains("Dovecot"));
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_mismatch() {
    let s = servers();
    // The certificate names localhost and 127.0.0.1; the servers also listen on 127.0.0.2.
    let report = probe(
        &prober(),
        &request(Service::Imap, &format!("127.0.0.2:{}", s.imap_tls), None),
    )
    .await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(codes(&report), [Code::CertNameMismatch]);
    assert!(report
        .tls
        .as_ref()
        .is_some_and(|t| t.cert.trusted && !t.cert.name_matches));
    let smtp = probe(
        &prober(),
        &request(Service::Smtp, &format!("127.0.0.2:{}", s.smtp_tls), None),
    )
    .await;
    assert_eq!(codes(&smtp), [Code::CertNameMismatch]);
}

#[tokio::test]
async fn a_closed_port_says_which_standard_port_answers() {
    let s = servers();
    let closed = closed_port().await;
    let mut policy = test_policy(&[closed, s.imap_tls, s.imap_plain]);
    // As 143 is to 993: the closed port plays the plain port, the real TLS listener the 993.
    policy.ports.imap_starttls = vec![closed];
    policy.ports.imap_implicit = vec![s.imap_tls];
    let prober = Prober::new(policy, tls_with_ca());
    let report = probe(
        &prober,
        &request(Service::Imap, &format!("127.0.0.1:{closed}"), None),
    )
    .await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(
        codes(&report),
        [Code::ConnectionRefused, Code::AlternativeAvailable]
    );
    assert_eq!(
        report.findings[1].message,
        format!(
            "`127.0.0.1:{}` answers with implicit TLS (SSL); you entered {closed}.",
            s.imap_tls
        )
    );
    assert_eq!(stage_names(&report), ["dns", "tcp"]);
    assert!(!report.stages[1].ok);
}

#[tokio::test]
async fn smtp_alternatives_go_from_465_to_587() {
    let s = servers();
    let closed = closed_port().await;
    let mut policy = test_policy(&[closed, s.smtp_starttls]);
    policy.ports.smtp_implicit = vec![closed];
    policy.ports.smtp_starttls = vec![s.smtp_starttls];
    let prober = Prober::new(policy, tls_with_ca());
    let report = probe(
        &prober,
        &request(Service::Smtp, &format!("localhost:{closed}"), None),
    )
    .await;
    assert_eq!(
        codes(&report),
        [Code::ConnectionRefused, Code::AlternativeAvailable]
    );
    assert_eq!(
        report.findings[1].message,
        format!(
            "`localhost:{}` answers with STARTTLS; you entered {closed}.",
            s.smtp_starttls
        )
    );
}

/// The findings a mixed-up setting's report must hold.
enum Findings {
    Exactly(&'static [Code]),
    /// This one first; what follows depends on the server.
    First(Code),
}

/// What else a report shows, checked by a function: (what, the check).
type Shows = Option<(&'static str, fn(&EndpointReport) -> bool)>;

/// A mode or a service on the wrong port, against the real servers: the report names the
/// mix-up.
#[tokio::test]
async fn mixed_up_settings_are_named() {
    let s = servers();
    let smtp_greeting: Shows = Some(("the SMTP greeting", |r| r.banner.starts_with("220")));
    // Over implicit TLS the mix-up is only visible after the handshake.
    let after_tls: Shows = Some(("the TLS handshake", |r| r.tls.is_some()));
    // (service, port, mode, findings, words in the first, what else the report shows)
    let cases = [
        (
            Service::Imap,
            s.imap_plain,
            TlsMode::Implicit,
            Findings::Exactly(&[Code::TlsOnPlainPort]),
            Some("choose STARTTLS"),
            None,
        ),
        (
            Service::Smtp,
            s.smtp_starttls,
            TlsMode::Implicit,
            Findings::Exactly(&[Code::TlsOnPlainPort]),
            None,
            None,
        ),
        (
            Service::Imap,
            s.imap_tls,
            TlsMode::Starttls,
            Findings::Exactly(&[Code::PlainOnTlsPort]),
            None,
            None,
        ),
        (
            Service::Smtp,
            s.smtp_tls,
            TlsMode::Starttls,
            Findings::Exactly(&[Code::PlainOnTlsPort]),
            None,
            None,
        ),
        (
            Service::Imap,
            s.smtp_starttls,
            TlsMode::Starttls,
            Findings::First(Code::WrongProtocol),
            Some("an SMTP server"),
            smtp_greeting,
        ),
        (
            Service::Smtp,
            s.imap_plain,
            TlsMode::Starttls,
            Findings::First(Code::WrongProtocol),
            Some("an IMAP server"),
            None,
        ),
        (
            Service::Imap,
            s.smtp_tls,
            TlsMode::Implicit,
            Findings::First(Code::WrongProtocol),
            None,
            after_tls,
        ),
    ];
    for (service, port, mode, findings, words, shows) in cases {
        let case = format!("{service:?} with {mode:?} on {port}");
        let report = probe(
            &prober(),
            &request(service, &format!("127.0.0.1:{port}"), Some(mode)),
        )
        .await;
        assert_eq!(report.verdict, Verdict::Failed, "{case}: {report:#?}");
        match findings {
            Findings::Exactly(expected) => assert_eq!(codes(&report), expected, "{case}"),
            Findings::First(code) => assert_eq!(codes(&report)[0], code, "{case}: {report:#?}"),
        }
        if let Some(words) = words {
            assert!(
                report.findings[0].message.contains(words),
                "{case}: {}",
                report.findings[0].message
            );
        }
        if let Some((what, check)) = shows {
            assert!(check(&report), "{case}: no sign of {what}: {report:#?}");
        }
    }
}

#[tokio::test]
async fn a_name_that_does_not_exist_is_dns_not_found() {
    let report = probe(
        &prober(),
        &request(Service::Imap, "mail.imap-triage-test.invalid:993", None),
    )
    .await;
    assert_eq!(report.verdict, Verdict::Failed);
    assert_eq!(codes(&report), [Code::DnsNotFound]);
    assert_eq!(stage_names(&report), ["dns"]);
}

#[tokio::test]
async fn progress_reports_each_stage_as_it_starts_and_ends() {
    let s = servers();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let progress = Progress::new(move |e| {
        let state = if e.finished.is_some() {
            "done"
        } else {
            "start"
        };
        sink.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!("{:?} {state}", e.stage));
    });
    let report = prober()
        .probe_report(
            finding_texts(),
            ProbeJob {
                requester: "test",
                request: &request(Service::Imap, &format!("127.0.0.1:{}", s.imap_tls), None),
                progress: &progress,
            },
        )
        .await;
    assert_eq!(report.verdict, Verdict::Ok);
    let events = events.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(
        events,
        [
            "Dns start",
            "Dns done",
            "Tcp start",
            "Tcp done",
            "Tls start",
            "Tls done",
            "Greeting start",
            "Greeting done",
            "Capabilities start",
            "Capabilities done"
        ]
    );
}

#[tokio::test]
async fn discovery_uses_the_provider_table_first() {
    let rules = imap_triage::rules_dir::embedded().unwrap_or_else(|e| panic!("{e}"));
    let found = prober()
        .discover("test", &rules, "gmail.com", &Progress::none())
        .await;
    assert_eq!(found.imap.len(), 1);
    let imap = &found.imap[0];
    assert_eq!(
        (imap.candidate.host.as_str(), imap.candidate.port),
        ("imap.gmail.com", 993)
    );
    assert!(matches!(&imap.source, SuggestionSource::Provider { id, .. } if id == "gmail"));
    // Nothing was probed: the table is the provider's own word.
    assert!(imap.report.is_none());
}

#[tokio::test]
async fn discovery_probes_conventional_names_and_ranks_tls_first() {
    let s = servers();
    let rules = imap_triage::rules_dir::embedded().unwrap_or_else(|e| panic!("{e}"));
    // "localhost" is the bare domain; imap.localhost and mail.localhost do not resolve.
    let found = prober()
        .discover("test", &rules, "localhost", &Progress::none())
        .await;
    let working: Vec<(String, u16, TlsMode)> = found
        .imap
        .iter()
        .filter(|sug| {
            sug.report
                .as_ref()
                .is_some_and(|r| r.verdict == Verdict::Ok)
        })
        .map(|sug| {
            (
                sug.candidate.host.clone(),
                sug.candidate.port,
                sug.candidate.mode,
            )
        })
        .collect();
    assert_eq!(
        working,
        [
            ("localhost".to_string(), s.imap_tls, TlsMode::Implicit),
            ("localhost".to_string(), s.imap_plain, TlsMode::Starttls)
        ]
    );
    assert_eq!(found.imap.len(), 6);
    assert!(found.imap[2..].iter().all(|sug| sug
        .report
        .as_ref()
        .is_some_and(|r| r.verdict != Verdict::Ok)));
    assert!(found.smtp.iter().all(|sug| sug
        .report
        .as_ref()
        .is_some_and(|r| r.findings.iter().any(|f| f.severity == Severity::Error))));
}
