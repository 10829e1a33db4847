use super::*;
use crate::core::report::Endpoint;

fn rules() -> Rules {
    crate::core::rules::shipped().unwrap_or_else(|e| panic!("{e}"))
}

fn mx(host: &str, preference: u16) -> MxHost {
    MxHost {
        host: host.into(),
        preference,
    }
}

fn srv(host: &str, port: u16, priority: u16, weight: u16) -> SrvRecord {
    SrvRecord {
        priority,
        weight,
        host: host.into(),
        port,
    }
}

fn endpoint(host: &str, port: u16) -> Endpoint {
    Endpoint {
        host: host.into(),
        port,
    }
}

fn codes(r: &DiscoveryReport) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.code.as_str()).collect()
}

#[test]
fn every_provider_in_the_pack_is_recognised_by_its_mx() {
    let rules = rules();
    for (host, id) in [
        ("aspmx.l.google.com.", "gmail"),
        ("alt1.aspmx.l.google.com", "gmail"),
        ("smtp.google.com", "gmail"),
        ("acme-com.mail.protection.outlook.com", "office365"),
        ("hotmail-com.olc.protection.outlook.com", "office365"),
        ("mta5.am0.yahoodns.net", "yahoo"),
        ("mx01.mail.icloud.com", "icloud"),
        ("mx.zoho.com", "zoho"),
        ("mx2.zoho.eu", "zoho"),
        ("mx1.secureserver.net", "godaddy"),
        ("mx00.ionos.de", "ionos"),
        ("mx01.kundenserver.de", "ionos"),
        ("mx1.mail.ovh.net", "ovh"),
        ("mx1.privateemail.com", "namecheap"),
        ("in1-smtp.messagingengine.com", "fastmail"),
        ("mx1.emailsrvr.com", "rackspace"),
        ("mx00.gmx.net", "gmx"),
        ("mx.yandex.net", "yandex"),
        ("mail.protonmail.ch", "protonmail"),
    ] {
        let got = mx_provider(&rules, &sorted_mx(vec![mx(host, 10)])).map(|p| p.id.as_str());
        assert_eq!(got, Some(id), "{host}");
    }
    for host in [
        "mail.acme.com",
        "google.com.evil.net",
        "outlook.com.attacker.org",
        "mail.protection.outlook.com.evil.net",
    ] {
        assert_eq!(
            mx_provider(&rules, &[mx(host, 10)]).map(|p| p.id.clone()),
            None,
            "{host}"
        );
    }
}

#[test]
fn microsoft_365_by_mx_points_to_the_native_integration() {
    let rules = rules();
    let mut input = DiscoveryInput::new("Acme.COM.");
    input.mx = Answer::Found(vec![
        mx("backup.acme.com", 20),
        mx("acme-com.mail.protection.outlook.com.", 0),
    ]);
    let r = discovery_report(&rules, &input);
    assert_eq!(r.domain, "acme.com");
    assert_eq!(r.mx[0].host, "acme-com.mail.protection.outlook.com");
    assert_eq!(r.mx_provider.as_deref(), Some("office365"));
    assert_eq!(codes(&r), ["native_integration", "mail_hosted_by"]);
    assert!(r.findings[0]
        .message
        .contains("the vendor's Office 365 integration is the way, not IMAP"));
    assert_eq!(r.suggested.source, Some(SuggestedSource::Provider));
    assert_eq!(
        r.suggested.imap.as_ref().map(|s| s.endpoint()),
        Some("outlook.office365.com:993".to_string())
    );
    assert!(r.found_anything());
}

#[test]
fn the_domains_own_autoconfig_beats_srv_beats_the_provider_table() {
    let rules = rules();
    let mut input = DiscoveryInput::new("acme.com");
    input.mx = Answer::Found(vec![mx("aspmx.l.google.com", 1)]);
    input.srv.imaps = Answer::Found(vec![
        srv("b.acme.com.", 993, 10, 0),
        srv("imap.acme.com.", 993, 0, 5),
    ]);
    input.srv.submission = Answer::Found(vec![srv("smtp.acme.com", 587, 0, 0)]);
    let r = discovery_report(&rules, &input);
    assert_eq!(r.suggested.source, Some(SuggestedSource::Srv));
    assert_eq!(
        r.suggested.imap,
        Some(ServerSettings {
            host: "imap.acme.com".into(),
            port: 993,
            security: TlsMode::Implicit
        })
    );
    assert_eq!(
        r.suggested.smtp.as_ref().map(|s| (s.port, s.security)),
        Some((587, TlsMode::Starttls))
    );
    input.domain_autoconfig = DomainAutoconfig::Found {
        url: "https://autoconfig.acme.com/mail/config-v1.1.xml".into(),
        imap: Some(ServerSettings {
            host: "mail.acme.com".into(),
            port: 993,
            security: TlsMode::Implicit,
        }),
        smtp: None,
        plain: vec![],
    };
    let r = discovery_report(&rules, &input);
    assert_eq!(r.suggested.source, Some(SuggestedSource::Autoconfig));
    assert_eq!(
        r.suggested.imap.as_ref().map(|s| s.host.as_str()),
        Some("mail.acme.com")
    );
    // SMTP comes from the next source that has one.
    assert_eq!(
        r.suggested.smtp.as_ref().map(|s| s.host.as_str()),
        Some("smtp.acme.com")
    );
    assert_eq!(
        r.autoconfig.as_ref().map(|a| a.source),
        Some(AutoconfigSource::Domain)
    );
    assert!(codes(&r).contains(&"autoconfig_found"));
    assert!(codes(&r).contains(&"srv_published"));
}

#[test]
fn a_dot_srv_target_means_not_offered() {
    assert_eq!(choose_srv(&[srv(".", 0, 0, 0)]), None);
}

#[test]
fn nxdomain_and_resolver_failure_are_told_apart() {
    let rules = rules();
    let mut input = DiscoveryInput::new("no-such-domain.example");
    input.mx = Answer::NxDomain;
    let r = discovery_report(&rules, &input);
    assert_eq!(codes(&r), ["domain_not_found"]);
    assert!(!r.found_anything());
    input.mx = Answer::Failed("the resolver did not answer".into());
    input.srv.imaps = Answer::Failed("the resolver did not answer".into());
    let r = discovery_report(&rules, &input);
    assert_eq!(codes(&r), ["dns_unavailable"]);
    let unavailable = &r.findings[0].message;
    assert!(unavailable.contains("could not look up"), "{unavailable}");
    assert!(!unavailable.contains("does not exist"), "{unavailable}");
}

#[test]
fn an_email_address_gives_its_domain_only() {
    assert_eq!(domain_of("bob.smith@Example.com"), "Example.com");
    assert_eq!(domain_of(" example.com "), "example.com");
}

#[test]
fn entered_settings_are_compared_with_the_published_ones() {
    let rules = rules();
    let mut input = DiscoveryInput::new("x.com");
    input.srv.imaps = Answer::Found(vec![srv("imap.host.net", 993, 0, 0)]);
    let r = discovery_report(&rules, &input);
    assert_eq!(
        compare_entered(&rules.findings, &r, Some(&endpoint("mail.x.com", 993)), None),
        ["IMAP: you entered `mail.x.com:993`; your domain publishes `imap.host.net:993` (SSL/TLS)."]
    );
    assert!(compare_entered(
        &rules.findings,
        &r,
        Some(&endpoint("IMAP.host.net.", 993)),
        None
    )
    .is_empty());
}

#[test]
fn the_member_is_told_only_what_changes_their_next_step() {
    let rules = rules();
    let t = &rules.findings;
    // Microsoft 365 by MX: the native integration, whatever was entered.
    let mut input = DiscoveryInput::new("acme.com");
    input.mx = Answer::Found(vec![mx("acme-com.mail.protection.outlook.com", 0)]);
    let r = discovery_report(&rules, &input);
    let said = advice(t, &r, None, None);
    // Only that: IMAP servers would be the wrong way, even the provider's own.
    assert!(
        said.len() == 1 && said[0].contains("Office 365 integration"),
        "{said:?}"
    );
    let entered = endpoint("outlook.office365.com", 143);
    assert_eq!(advice(t, &r, Some(&entered), None), said);
    assert!(
        summary_line(&rules, &r).contains("mail hosted by"),
        "{}",
        summary_line(&rules, &r)
    );

    // SRV published: a differing IMAP server is compared; a missing SMTP one is suggested.
    let mut input = DiscoveryInput::new("x.com");
    input.mx = Answer::Found(vec![mx("mx.x.com", 10)]);
    input.srv.imaps = Answer::Found(vec![srv("imap.host.net", 993, 0, 0)]);
    input.srv.submission = Answer::Found(vec![srv("smtp.host.net", 587, 0, 0)]);
    let r = discovery_report(&rules, &input);
    assert_eq!(
        advice(t, &r, Some(&endpoint("mail.x.com", 993)), None),
        [
            "IMAP: you entered `mail.x.com:993`; your domain publishes `imap.host.net:993` (SSL/TLS).",
            "SMTP: your domain publishes `smtp.host.net:587` (STARTTLS).",
        ]
    );
    // Entered what is published: nothing to say.
    let entered = (
        endpoint("imap.host.net", 993),
        endpoint("smtp.host.net", 587),
    );
    assert!(advice(t, &r, Some(&entered.0), Some(&entered.1)).is_empty());
    assert_eq!(
        summary_line(&rules, &r),
        "`x.com` · publishes IMAP `imap.host.net:993` (SSL/TLS), SMTP `smtp.host.net:587` (STARTTLS) (from SRV records)"
    );

    // A resolver that calls a known mail domain nonexistent is not believed.
    let mut input = DiscoveryInput::new("gmail.com");
    input.mx = Answer::NxDomain;
    let r = discovery_report(&rules, &input);
    assert_eq!(codes(&r)[0], "dns_unavailable");
    assert!(!advice(t, &r, None, None)
        .iter()
        .any(|s| s.contains("does not exist")));

    // A domain that does not exist is said; a resolver failure (ours) is not.
    let mut input = DiscoveryInput::new("acme.con");
    input.mx = Answer::NxDomain;
    let said = advice(t, &discovery_report(&rules, &input), None, None);
    assert!(
        said.len() == 1 && said[0].contains("does not exist"),
        "{said:?}"
    );
    let mut input = DiscoveryInput::new("acme.com");
    input.mx = Answer::Failed("timed out".into());
    let r = discovery_report(&rules, &input);
    assert!(advice(t, &r, None, None).is_empty());
    assert!(
        summary_line(&rules, &r).ends_with("dns_unavailable"),
        "{}",
        summary_line(&rules, &r)
    );
}

#[test]
fn the_report_serialises_to_the_contract_shape() {
    let rules = rules();
    let mut input = DiscoveryInput::new("acme.com");
    input.mx = Answer::Found(vec![mx("mx1.privateemail.com", 10)]);
    let value = serde_json::to_value(discovery_report(&rules, &input)).unwrap_or_default();
    let keys = crate::core::diagnose::tests::sorted_keys(&value);
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
    assert_eq!(
        value["mx"][0],
        serde_json::json!({"host": "mx1.privateemail.com", "preference": 10})
    );
    assert_eq!(value["mx_provider"], "namecheap");
    assert_eq!(
        value["srv"],
        serde_json::json!({"imaps": null, "imap": null, "submissions": null, "submission": null})
    );
    assert!(value["autoconfig"].is_null());
    assert_eq!(
        value["suggested"],
        serde_json::json!({
            "imap": {"host": "mail.privateemail.com", "port": 993, "security": "tls"},
            "smtp": {"host": "mail.privateemail.com", "port": 465, "security": "tls"},
            "source": "provider"
        })
    );
    assert_eq!(value["findings"][0]["code"], "mail_hosted_by");
    assert_eq!(value["findings"][0]["severity"], "info");
}
