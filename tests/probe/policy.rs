//! The target policy: every refused target causes zero connection attempts. A listener on
//! 127.0.0.1 counts what reaches it; refused probes aim at it in every disguise.

use std::time::Duration;

use imap_triage::core::diagnose::{RefusedReason, Service, Verdict};
use imap_triage::probe::{Policy, Probe, ProbeJob, Prober, Progress, RateLimit};

use testkit::probe::{finding_texts, probe, request, test_policy, tls_with_ca, CountingListener};

/// The default policy (no private targets), with the listener's port allowed so that the
/// address, not the port, is what gets refused.
fn strict(port: u16) -> Prober {
    let mut policy = Policy::default();
    policy.allowed_ports.insert(port);
    // Many probes from one test requester; the rate limits have their own test.
    policy.per_requester.max = 10_000;
    policy.per_target.max = 10_000;
    Prober::new(policy, tls_with_ca())
}

#[tokio::test]
async fn loopback_in_every_spelling_is_refused_without_a_connection() {
    let listener = CountingListener::start().await;
    let port = listener.port;
    let prober = strict(port);
    let cases = [
        ("127.0.0.1", RefusedReason::PrivateAddress),
        ("localhost", RefusedReason::PrivateAddress),
        ("LocalHost.", RefusedReason::PrivateAddress),
        ("[::ffff:127.0.0.1]", RefusedReason::PrivateAddress),
        ("[::ffff:7f00:1]", RefusedReason::PrivateAddress),
        ("[::1]", RefusedReason::PrivateAddress),
        ("[64:ff9b::7f00:1]", RefusedReason::PrivateAddress),
        ("2130706433", RefusedReason::InvalidHost),
        ("0x7f000001", RefusedReason::InvalidHost),
        ("0177.0.0.1", RefusedReason::InvalidHost),
        ("127.1", RefusedReason::InvalidHost),
        ("0x7f.1", RefusedReason::InvalidHost),
        ("user@127.0.0.1", RefusedReason::InvalidHost),
        ("127.0.0.1/admin", RefusedReason::InvalidHost),
        ("127.0.0.1%20", RefusedReason::InvalidHost),
        ("local\thost", RefusedReason::InvalidHost),
    ];
    for (host, reason) in cases {
        for service in [Service::Imap, Service::Smtp] {
            let report = probe(&prober, &request(service, &format!("{host}:{port}"), None)).await;
            assert_eq!(report.verdict, Verdict::Refused, "{host}: {report:#?}");
            assert_eq!(report.refused_reason, Some(reason), "{host}");
            assert!(report.tls.is_none() && report.banner.is_empty());
            assert!(!report
                .stages
                .iter()
                .any(|s| s.name != imap_triage::core::diagnose::StageName::Dns));
        }
    }
    assert_eq!(
        listener.attempts().await,
        0,
        "a refused target was connected to"
    );
}

#[tokio::test]
async fn internal_ranges_are_refused_before_any_packet() {
    // Never connected to: the refusal happens before the connect, so no packet leaves.
    let prober = strict(993);
    for host in [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.10",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.251",
        "192.0.2.1",
        "198.18.0.1",
        "[fd00::1]",
        "[fe80::1]",
        "[::]",
        "[ff02::1]",
        "[2001:db8::1]",
        "[2002:a00:1::1]",
    ] {
        let report = probe(
            &prober,
            &request(Service::Imap, &format!("{host}:993"), None),
        )
        .await;
        assert_eq!(report.verdict, Verdict::Refused, "{host}");
        assert_eq!(
            report.refused_reason,
            Some(RefusedReason::PrivateAddress),
            "{host}"
        );
        assert_eq!(report.stages.len(), 1, "{host}: only the (no-op) DNS stage");
    }
}

#[tokio::test]
async fn a_port_outside_the_allowlist_is_refused_even_for_allowed_addresses() {
    let listener = CountingListener::start().await;
    // Private targets allowed, but not this port.
    let prober = Prober::new(test_policy(&[]), tls_with_ca());
    let report = probe(
        &prober,
        &request(Service::Imap, &format!("127.0.0.1:{}", listener.port), None),
    )
    .await;
    assert_eq!(report.verdict, Verdict::Refused);
    assert_eq!(report.refused_reason, Some(RefusedReason::PortNotAllowed));
    assert!(report.stages.is_empty(), "refused before DNS");
    assert_eq!(listener.attempts().await, 0);
}

#[tokio::test]
async fn rate_limits_refuse_per_requester_and_per_target() {
    let listener = CountingListener::start().await;
    let mut policy = test_policy(&[listener.port]);
    policy.budget = Duration::from_secs(2);
    policy.per_requester = RateLimit {
        max: 1,
        window: Duration::from_secs(600),
    };
    policy.per_target = RateLimit {
        max: 2,
        window: Duration::from_secs(600),
    };
    let prober = Prober::new(policy, tls_with_ca());
    let target = request(
        Service::Imap,
        &format!("127.0.0.1:{}", listener.port),
        Some(imap_triage::core::diagnose::TlsMode::Starttls),
    );
    let run = |who: &'static str| {
        let prober = &prober;
        let target = &target;
        async move {
            prober
                .probe_report(
                    finding_texts(),
                    ProbeJob {
                        requester: who,
                        request: target,
                        progress: &Progress::none(),
                    },
                )
                .await
        }
    };

    let first = run("alice").await;
    assert_ne!(
        first.verdict,
        Verdict::Refused,
        "the first probe is allowed"
    );
    let attempts_after_first = listener.attempts().await;
    assert!(attempts_after_first >= 1);

    let again = run("alice").await;
    assert_eq!(
        again.refused_reason,
        Some(RefusedReason::RateLimited),
        "per requester"
    );
    let other = run("bob").await;
    assert_ne!(
        other.verdict,
        Verdict::Refused,
        "another requester, target still under its limit"
    );
    let attempts_after_bob = listener.attempts().await;
    let third = run("carol").await;
    assert_eq!(
        third.refused_reason,
        Some(RefusedReason::RateLimited),
        "per target"
    );
    assert_eq!(
        listener.attempts().await,
        attempts_after_bob,
        "refused probes made no connection"
    );
}

#[tokio::test]
async fn discovery_is_under_the_same_policy() {
    let listener = CountingListener::start().await;
    let rules = imap_triage::rules_dir::embedded().unwrap_or_else(|e| panic!("{e}"));
    let mut policy = Policy::default();
    policy.allowed_ports.insert(listener.port);
    policy.ports.imap_implicit = vec![listener.port];
    policy.ports.imap_starttls = vec![listener.port];
    policy.ports.smtp_implicit = vec![listener.port];
    policy.ports.smtp_starttls = vec![listener.port];
    policy.stagger = Duration::from_millis(1);
    let prober = Prober::new(policy, tls_with_ca());
    let found = prober
        .discover("test", &rules, "localhost", &Progress::none())
        .await;
    let bare: Vec<_> = found
        .imap
        .iter()
        .filter(|s| s.candidate.host == "localhost")
        .collect();
    assert_eq!(bare.len(), 2);
    for suggestion in bare {
        let report = suggestion
            .report
            .as_ref()
            .unwrap_or_else(|| panic!("not probed"));
        assert_eq!(report.refused_reason, Some(RefusedReason::PrivateAddress));
    }
    assert_eq!(listener.attempts().await, 0);
}
