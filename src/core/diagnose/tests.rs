use super::*;
use crate::core::report::Report;
use crate::core::rules::{FindingTexts, Rules};

fn cert(trusted: bool, name_matches: bool) -> CertInfo {
    CertInfo {
        subject: "CN=localhost".into(),
        sans: vec!["DNS:localhost".into()],
        issuer: "CN=test CA".into(),
        not_after: "2030-01-01T00:00:00Z".into(),
        trusted,
        name_matches,
    }
}

fn ok_observation(service: Service, port: u16, mode: TlsMode) -> Observation {
    let mut o = Observation::new(service, "mail.example.com", port, mode, ModeSource::Port);
    o.tls = Some(TlsInfo {
        version: "TLSv1.3".into(),
        cipher: "TLS13_AES_256_GCM_SHA384".into(),
        cert: cert(true, true),
    });
    o.banner = "* OK Dovecot ready.".into();
    o.capabilities = vec!["IMAP4rev1".into(), "AUTH=PLAIN".into()];
    o
}

/// An IMAP observation of `mail.example.com` before anything was read.
fn imap_at(port: u16, mode: TlsMode, source: ModeSource) -> Observation {
    Observation::new(Service::Imap, "mail.example.com", port, mode, source)
}

/// An alternative attempt that answered, with a trusted certificate.
fn answering(port: u16, mode: TlsMode, banner: &str) -> AlternativeResult {
    AlternativeResult {
        port,
        mode,
        answered: true,
        cert_ok: true,
        banner: banner.into(),
        tls_alert: None,
    }
}

const GREETING_TIMEOUT: Failure = Failure::Timeout {
    stage: StageName::Greeting,
};

fn tls_failed(detail: &str, peer: PeerProtocol) -> Failure {
    Failure::TlsFailed {
        detail: detail.into(),
        peer: Some(peer),
    }
}

/// The probe report of one IMAP endpoint, judged with the shipped texts.
fn imap_only(o: &Observation) -> ProbeReport {
    ProbeReport {
        imap: Some(report(texts(), o)),
        smtp: None,
    }
}

/// A JSON object's keys, sorted: the contract's shape without its values.
pub(super) fn sorted_keys(value: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    keys
}

fn texts() -> &'static FindingTexts {
    &crate::core::rules::shipped_for_tests().findings
}

fn codes(o: &Observation) -> Vec<&'static str> {
    diagnose(texts(), o)
        .iter()
        .map(|f| f.code.as_str())
        .collect()
}

#[test]
fn a_working_endpoint_is_ok_with_one_info_finding() {
    let o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
    let r = report(texts(), &o);
    assert_eq!(r.verdict, Verdict::Ok);
    assert_eq!(codes(&o), ["ok"]);
    assert_eq!(r.findings[0].severity, Severity::Info);
}

#[test]
fn certificate_problems_are_errors_and_the_probe_result_keeps_the_tls_data() {
    let mut o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
    if let Some(tls) = o.tls.as_mut() {
        tls.cert = cert(false, false);
    }
    assert_eq!(codes(&o), ["cert_untrusted", "cert_name_mismatch"]);
    assert_eq!(report(texts(), &o).verdict, Verdict::Failed);
    o.cert_problems.expired = true;
    assert_eq!(codes(&o), ["cert_expired", "cert_name_mismatch"]);
}

#[test]
fn courier_is_recognised_from_the_banner() {
    let mut o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
    o.banner = "* OK [CAPABILITY IMAP4rev1] Courier-IMAP ready. Copyright 1998-2018".into();
    assert_eq!(codes(&o), ["courier_imap_unsupported"]);
}

#[test]
fn refusal_is_the_only_finding_and_the_verdict_is_refused() {
    let mut o = Observation::new(
        Service::Imap,
        "10.0.0.1",
        993,
        TlsMode::Implicit,
        ModeSource::Port,
    );
    o.refused = Some(Refusal {
        reason: RefusedReason::PrivateAddress,
        detail: "10.0.0.1".into(),
    });
    let r = report(texts(), &o);
    assert_eq!(r.verdict, Verdict::Refused);
    assert_eq!(r.refused_reason, Some(RefusedReason::PrivateAddress));
    assert_eq!(codes(&o), ["refused_by_policy"]);
}

#[test]
fn silence_on_a_plain_port_that_answers_tls_is_plain_on_tls_port() {
    let mut o = imap_at(143, TlsMode::Starttls, ModeSource::Override);
    o.failure = Some(GREETING_TIMEOUT);
    o.alternatives.push(answering(143, TlsMode::Implicit, ""));
    assert_eq!(codes(&o), ["plain_on_tls_port"]);
    o.alternatives.clear();
    assert_eq!(codes(&o), ["timeout"]);
}

#[test]
fn silence_on_a_port_that_answers_tls_with_an_alert_is_plain_on_tls_port_and_broken_tls() {
    // STARTTLS chosen on OpenSMTPD's 465: silent to a plain client; the ClientHello beside it
    // got a TLS alert. The port speaks TLS (the mix-up), and its TLS is broken (a second error).
    let mut o = Observation::new(
        Service::Smtp,
        "mail.example.com",
        465,
        TlsMode::Starttls,
        ModeSource::Override,
    );
    o.failure = Some(GREETING_TIMEOUT);
    o.alternatives.push(AlternativeResult {
        port: 465,
        mode: TlsMode::Implicit,
        answered: false,
        cert_ok: false,
        banner: String::new(),
        tls_alert: Some("the server sent the TLS alert InternalError".into()),
    });
    let findings = diagnose(texts(), &o);
    assert_eq!(
        findings.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(),
        ["plain_on_tls_port", "tls_handshake_failed"]
    );
    assert!(
        findings[1].message.contains("InternalError"),
        "{}",
        findings[1].message
    );
    // A TLS attempt that heard nothing either proves nothing: the greeting timeout stands.
    o.alternatives[0].tls_alert = None;
    assert_eq!(codes(&o), ["timeout"]);
}

#[test]
fn plain_text_on_a_tls_attempt_is_tls_on_plain_port() {
    let mut o = imap_at(993, TlsMode::Implicit, ModeSource::Port);
    o.failure = Some(tls_failed("corrupt message", PeerProtocol::Imap));
    assert_eq!(codes(&o), ["tls_on_plain_port"]);
    o.failure = Some(tls_failed("alert", PeerProtocol::Tls));
    assert_eq!(codes(&o), ["tls_handshake_failed"]);
    o.failure = Some(tls_failed("corrupt", PeerProtocol::Unknown));
    assert_eq!(codes(&o), ["wrong_protocol"]);
}

#[test]
fn a_closed_port_names_the_alternative_that_answers() {
    let mut o = imap_at(143, TlsMode::Starttls, ModeSource::Port);
    o.failure = Some(Failure::ConnectionRefused);
    o.alternatives.push(answering(993, TlsMode::Implicit, ""));
    let findings = diagnose(texts(), &o);
    assert_eq!(findings[0].code, Code::ConnectionRefused);
    assert_eq!(findings[1].code, Code::AlternativeAvailable);
    assert_eq!(
        findings[1].message,
        "`mail.example.com:993` answers with implicit TLS (SSL); you entered 143."
    );
}

const COURIER: &str =
    "* OK [CAPABILITY IMAP4rev1 STARTTLS] Courier-IMAP ready. Copyright 1998-2019 Double Precision, Inc.";

#[test]
fn courier_seen_by_an_alternative_is_named_and_never_recommended_silently() {
    // Posted 993, Courier answers only on 143.
    let mut o = imap_at(993, TlsMode::Implicit, ModeSource::Port);
    o.failure = Some(Failure::ConnectionRefused);
    o.alternatives
        .push(answering(143, TlsMode::Starttls, COURIER));
    let findings = diagnose(texts(), &o);
    let codes: Vec<&str> = findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "connection_refused",
            "courier_imap_unsupported",
            "alternative_available"
        ]
    );
    assert!(findings[1].message.contains("`mail.example.com:143`"));
    assert!(
        findings[2].message.contains("Courier-IMAP"),
        "{}",
        findings[2].message
    );
}

#[test]
fn courier_in_a_mix_up_is_named() {
    // STARTTLS chosen on 993: silent; the implicit attempt read Courier's greeting.
    let mut o = imap_at(993, TlsMode::Starttls, ModeSource::Override);
    o.failure = Some(GREETING_TIMEOUT);
    o.alternatives
        .push(answering(993, TlsMode::Implicit, COURIER));
    assert_eq!(codes(&o), ["plain_on_tls_port", "courier_imap_unsupported"]);
    assert!(diagnose(texts(), &o)[0].message.contains("Courier-IMAP"));
    // Implicit TLS chosen on 143: the plain greeting came back to the ClientHello.
    let mut o = imap_at(143, TlsMode::Implicit, ModeSource::Override);
    o.banner = COURIER.into();
    o.failure = Some(tls_failed("corrupt message", PeerProtocol::Imap));
    let findings = diagnose(texts(), &o);
    assert_eq!(findings[0].code, Code::TlsOnPlainPort);
    assert!(
        findings[0].message.contains("Courier-IMAP"),
        "{}",
        findings[0].message
    );
    assert!(findings
        .iter()
        .any(|f| f.code == Code::CourierImapUnsupported));
}

#[test]
fn a_failing_resolver_is_not_blamed_on_the_name() {
    let mut o = imap_at(993, TlsMode::Implicit, ModeSource::Port);
    o.failure = Some(Failure::DnsError {
        detail: "the resolver answered SERVFAIL".into(),
    });
    let findings = diagnose(texts(), &o);
    assert_eq!(findings[0].code, Code::DnsUnavailable);
    assert!(findings[0]
        .message
        .contains("could not look `mail.example.com` up"));
    assert!(!findings[0].message.contains("does not exist"));
    o.failure = Some(Failure::DnsNotFound);
    assert_eq!(codes(&o), ["dns_not_found"]);
    o.failure = Some(Failure::DnsNoAddress);
    assert_eq!(codes(&o), ["dns_no_address"]);
}

#[test]
fn a_refusal_after_starttls_is_quoted() {
    let mut o = imap_at(143, TlsMode::Starttls, ModeSource::Port);
    o.failure = Some(Failure::StarttlsRejected {
        text: "NO STARTTLS failed".into(),
    });
    let findings = diagnose(texts(), &o);
    assert!(
        findings[0].message.contains("\"NO STARTTLS failed\""),
        "{}",
        findings[0].message
    );
}

#[test]
fn smtp_without_auth_and_port_25_are_warnings_only() {
    let mut o = ok_observation(Service::Smtp, 25, TlsMode::Starttls);
    o.capabilities = vec!["SIZE 10485760".into(), "PIPELINING".into()];
    let r = report(texts(), &o);
    assert_eq!(r.verdict, Verdict::Ok);
    assert_eq!(codes(&o), ["smtp_auth_not_offered", "relay_port", "ok"]);
}

#[test]
fn sniffing_tells_protocols_apart() {
    assert_eq!(
        PeerProtocol::sniff(b"* OK Dovecot ready"),
        PeerProtocol::Imap
    );
    assert_eq!(PeerProtocol::sniff(b"220 mx ESMTP"), PeerProtocol::Smtp);
    assert_eq!(PeerProtocol::sniff(b"220-mx ESMTP"), PeerProtocol::Smtp);
    assert_eq!(PeerProtocol::sniff(b"+OK POP3"), PeerProtocol::Pop3);
    assert_eq!(
        PeerProtocol::sniff(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]),
        PeerProtocol::Tls
    );
    assert_eq!(PeerProtocol::sniff(b"HTTP/1.1 400"), PeerProtocol::Http);
    assert_eq!(
        PeerProtocol::sniff(&[0xde, 0xad, 0xbe, 0xef]),
        PeerProtocol::Unknown
    );
    assert_eq!(PeerProtocol::sniff(b""), PeerProtocol::Unknown);
}

#[test]
fn alternatives_follow_the_standard_pairs() {
    let p = PortConventions::default();
    assert_eq!(
        p.alternatives(Service::Imap, 143, TlsMode::Starttls, false),
        [(993, TlsMode::Implicit)]
    );
    assert_eq!(
        p.alternatives(Service::Imap, 993, TlsMode::Implicit, true),
        [(993, TlsMode::Starttls), (143, TlsMode::Starttls)]
    );
    assert_eq!(
        p.alternatives(Service::Smtp, 465, TlsMode::Implicit, false),
        [(587, TlsMode::Starttls), (25, TlsMode::Starttls)]
    );
    assert_eq!(
        p.alternatives(Service::Smtp, 587, TlsMode::Starttls, false),
        [(465, TlsMode::Implicit), (25, TlsMode::Starttls)]
    );
    assert_eq!(p.mode_for(Service::Smtp, 2525), Some(TlsMode::Starttls));
    assert_eq!(p.mode_for(Service::Imap, 31993), None);
}

#[test]
fn conventional_candidates_follow_thunderbird_order() {
    let c = conventional_candidates("Example.COM.", Service::Imap, &PortConventions::default());
    let got: Vec<String> = c.iter().map(|c| format!("{}:{}", c.host, c.port)).collect();
    assert_eq!(
        got,
        [
            "imap.example.com:993",
            "imap.example.com:143",
            "mail.example.com:993",
            "mail.example.com:143",
            "example.com:993",
            "example.com:143"
        ]
    );
    let c = conventional_candidates("example.com", Service::Smtp, &PortConventions::default());
    let got: Vec<String> = c.iter().map(|c| format!("{}:{}", c.host, c.port)).collect();
    assert_eq!(
        got,
        [
            "smtp.example.com:465",
            "smtp.example.com:587",
            "mail.example.com:465",
            "mail.example.com:587"
        ]
    );
    assert!(conventional_candidates("  ", Service::Imap, &PortConventions::default()).is_empty());
}

#[test]
fn ranking_puts_working_tls_first() {
    let suggestion = |port: u16, mode: TlsMode, ok: bool| {
        let mut o = ok_observation(Service::Imap, port, mode);
        if !ok {
            o.tls = None;
            o.failure = Some(Failure::ConnectionRefused);
        }
        Suggestion {
            candidate: Candidate {
                service: Service::Imap,
                host: "mail.example.com".into(),
                port,
                mode,
            },
            source: SuggestionSource::Probed,
            report: Some(report(texts(), &o)),
        }
    };
    let ranked = rank_probed(vec![
        suggestion(143, TlsMode::Starttls, true),
        suggestion(993, TlsMode::Implicit, false),
        suggestion(993, TlsMode::Implicit, true),
    ]);
    let order: Vec<(u16, bool)> = ranked
        .iter()
        .map(|s| {
            (
                s.candidate.port,
                s.report.as_ref().is_some_and(|r| r.verdict == Verdict::Ok),
            )
        })
        .collect();
    assert_eq!(order, [(993, true), (143, true), (993, false)]);
}

#[test]
fn the_report_serialises_to_the_contract_shape() {
    let o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
    let value = serde_json::to_value(imap_only(&o)).unwrap_or_default();
    let imap = &value["imap"];
    let keys = sorted_keys(imap);
    assert_eq!(
        keys,
        [
            "banner",
            "capabilities",
            "findings",
            "host",
            "port",
            "refused_reason",
            "stages",
            "tls",
            "verdict"
        ]
    );
    assert_eq!(imap["verdict"], "ok");
    assert!(imap["refused_reason"].is_null());
    assert!(value["smtp"].is_null());
    let cert_keys = sorted_keys(&imap["tls"]["cert"]);
    assert_eq!(
        cert_keys,
        [
            "issuer",
            "name_matches",
            "not_after",
            "sans",
            "subject",
            "trusted"
        ]
    );
}

fn triaged(text: &str) -> (Rules, Report) {
    let rules = crate::core::rules::shipped().unwrap_or_else(|e| panic!("{e}"));
    let thread = crate::core::Thread {
        messages: vec![crate::core::Message::member(text)],
    };
    let report = crate::core::triage(&rules, &thread);
    (rules, report)
}

#[test]
fn a_login_error_with_a_working_server_points_at_the_login() {
    let (rules, report) = triaged(
        "I get IMAP authentication error with imap.gmail.com:993, my email is bob@gmail.com",
    );
    assert_eq!(
        report.error.as_ref().map(|e| e.code.as_str()),
        Some("imap_auth_error")
    );
    let mut o = ok_observation(Service::Imap, 993, TlsMode::Implicit);
    o.host = "imap.gmail.com".into();
    let probe = imap_only(&o);
    let steps = next_steps(&rules, &report, &probe);
    assert!(
        steps[0].contains("the problem is the login itself"),
        "{steps:#?}"
    );
    assert!(
        steps.iter().any(|s| s.contains("app password")),
        "{steps:#?}"
    );
}

#[test]
fn a_failing_probe_of_a_known_provider_suggests_its_documented_server() {
    let (rules, report) =
        triaged("IMAP settings incorrect. server imap.gmial.com port 993, email bob@gmail.com");
    let mut o = Observation::new(
        Service::Imap,
        "imap.gmial.com",
        993,
        TlsMode::Implicit,
        ModeSource::Port,
    );
    o.failure = Some(Failure::DnsNotFound);
    let probe = imap_only(&o);
    let steps = next_steps(&rules, &report, &probe);
    assert!(steps[0].contains("does not exist in DNS"), "{steps:#?}");
    assert_eq!(report.provider.as_deref(), Some("gmail"));
    assert!(
        steps
            .iter()
            .any(|s| s.contains("`imap.gmail.com:993` (SSL/TLS)")),
        "{steps:#?}"
    );
    // The error rule's own steps follow the probe's facts.
    assert!(steps.iter().any(|s| s.contains("allowlist")), "{steps:#?}");
}
