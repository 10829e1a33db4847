//! Courier-IMAP, which the vendor does not support, against the probe: the finding must appear
//! whichever attempt read its greeting (the posted endpoint, an alternative, or a mix-up), and an
//! alternative on Courier is never recommended without saying so.

use std::time::{Duration, Instant};

use imap_triage::core::diagnose::{Code, PortConventions, Service, TlsMode};
use imap_triage::probe::Prober;

use testkit::probe::{codes, probe, request, servers, test_policy, tls_with_ca};

/// Courier's two ports as the conventions, so the alternatives logic runs against them.
fn courier_prober() -> Prober {
    let s = servers();
    let mut policy = test_policy(&[s.courier_plain, s.courier_tls, s.courier_broken]);
    policy.ports = PortConventions {
        imap_implicit: vec![s.courier_tls],
        imap_starttls: vec![s.courier_plain],
        ..PortConventions::default()
    };
    Prober::new(policy, tls_with_ca())
}

fn target(port: u16) -> String {
    format!("localhost:{port}")
}

#[tokio::test]
async fn courier_posted_right_is_named() {
    let s = servers();
    for (port, mode) in [
        (s.courier_tls, TlsMode::Implicit),
        (s.courier_plain, TlsMode::Starttls),
    ] {
        let r = probe(
            &courier_prober(),
            &request(Service::Imap, &target(port), Some(mode)),
        )
        .await;
        assert_eq!(codes(&r), [Code::CourierImapUnsupported], "{port}: {r:#?}");
        assert!(r.banner.contains("Courier-IMAP"));
    }
}

/// A mode on the wrong Courier port: the mix-up comes first, and Courier is named in it.
#[tokio::test]
async fn a_mode_on_the_wrong_port_names_the_mix_up_and_courier() {
    let s = servers();
    // (port, mode, the mix-up, how long it may take). STARTTLS on the implicit port must not wait
    // out the 1.5 s greeting timeout of the test policy: not a timing aim (see
    // scripts/bench-probe), only that.
    let cases = [
        (
            s.courier_tls,
            TlsMode::Starttls,
            Code::PlainOnTlsPort,
            Some(Duration::from_millis(1400)),
        ),
        (
            s.courier_plain,
            TlsMode::Implicit,
            Code::TlsOnPlainPort,
            None,
        ),
    ];
    // The rules pack is parsed (once) before the clock starts: the bound is the probe's alone.
    testkit::probe::finding_texts();
    for (port, mode, mix_up, bound) in cases {
        let started = Instant::now();
        let r = probe(
            &courier_prober(),
            &request(Service::Imap, &target(port), Some(mode)),
        )
        .await;
        let c = codes(&r);
        assert_eq!(c[0], mix_up, "{port}: {r:#?}");
        assert!(c.contains(&Code::CourierImapUnsupported), "{port}: {r:#?}");
        assert!(
            r.findings[0].message.contains("Courier-IMAP"),
            "{port}: {r:#?}"
        );
        if let Some(bound) = bound {
            assert!(started.elapsed() < bound, "{port}: {:?}", started.elapsed());
        }
    }
}

#[tokio::test]
async fn a_closed_posted_port_with_courier_on_the_alternative_says_courier() {
    let s = servers();
    let closed = testkit::probe::closed_port().await;
    let mut policy = test_policy(&[closed, s.courier_plain]);
    // The member posted an implicit-TLS port that is closed; Courier answers only on "143".
    policy.ports = PortConventions {
        imap_implicit: vec![closed],
        imap_starttls: vec![s.courier_plain],
        ..PortConventions::default()
    };
    let prober = Prober::new(policy, tls_with_ca());
    let r = probe(&prober, &request(Service::Imap, &target(closed), None)).await;
    let c = codes(&r);
    assert_eq!(c[0], Code::ConnectionRefused, "{r:#?}");
    assert!(c.contains(&Code::CourierImapUnsupported), "{r:#?}");
    let alternative = r
        .findings
        .iter()
        .find(|f| f.code == Code::AlternativeAvailable)
        .unwrap_or_else(|| panic!("no alternative: {r:#?}"));
    assert!(
        alternative.message.contains("Courier-IMAP"),
        "{}",
        alternative.message
    );
}

#[tokio::test]
async fn a_refusal_after_starttls_is_quoted_from_the_server() {
    let s = servers();
    let r = probe(
        &courier_prober(),
        &request(
            Service::Imap,
            &target(s.courier_broken),
            Some(TlsMode::Starttls),
        ),
    )
    .await;
    let handshake = r
        .findings
        .iter()
        .find(|f| f.code == Code::TlsHandshakeFailed)
        .unwrap_or_else(|| panic!("{r:#?}"));
    assert!(
        handshake.message.contains("\"NO STARTTLS failed"),
        "{}",
        handshake.message
    );
    assert!(!handshake.message.contains("InvalidContentType"));
}
