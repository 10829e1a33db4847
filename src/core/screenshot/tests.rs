use super::*;
use crate::core::report::{Item, MismatchSource};
use crate::core::thread::{Attachment, Message, Thread};

fn rules() -> Rules {
    crate::core::rules::shipped().expect("shipped rules")
}

fn field(section: &str, label: &str, value: &str) -> OcrField {
    OcrField {
        section: (!section.is_empty()).then(|| section.to_string()),
        label: label.into(),
        value: value.into(),
    }
}

fn screen() -> OcrPage {
    OcrPage {
        lines: vec![
            "Connect your inbox via IMAP".into(),
            "Email address".into(),
            "ann.lee@acme-mail.com".into(),
            "Password".into(),
            "eeeeeeeeee".into(),
        ],
        fields: vec![
            field("", "Email address", "ann.lee@acme-mail.com"),
            field("", "Password", "eeeeeeeeee"),
            field("IMAP (incoming)", "Server", "imap.acme-mail.com"),
            field("IMAP (incoming)", "Port", "993"),
            field("IMAP (incoming)", "Security", "SSL/TLS"),
            field("SMTP (outgoing)", "Server", "smtp.acme-mail.com"),
            field("SMTP (outgoing)", "Port", "587"),
            field("SMTP (outgoing)", "Security", "STARTTLS"),
        ],
        banner: None,
        second: None,
    }
}

#[test]
fn a_connection_screen_is_read_with_the_core_extractors() {
    let read = interpret(&rules(), &screen(), 5);
    assert_eq!(read.kind, ScreenshotKind::ConnectionScreen);
    assert!(read.advanced_options);
    let imap = read.imap.expect("imap");
    assert_eq!(imap.host.as_deref(), Some("imap.acme-mail.com"));
    assert_eq!(imap.port, Some(993));
    assert_eq!(imap.security, Some(Security::SslTls));
    let smtp = read.smtp.expect("smtp");
    assert_eq!(smtp.port, Some(587));
    assert_eq!(smtp.security, Some(Security::Starttls));
    assert_eq!(read.email_domain.as_deref(), Some("acme-mail.com"));
    assert!(!read.password_visible);
    assert!(!read.text.contains("ann.lee"));
}

#[test]
fn security_switches_and_other_security_labels_are_read() {
    let mut page = screen();
    page.fields[4] = field("Incoming (IMAP)", "Use SSL", "ON");
    page.fields[7] = field("Outgoing (SMTP)", "Use SSL", "Off");
    let read = interpret(&rules(), &page, 0);
    assert_eq!(read.imap.expect("imap").security, Some(Security::SslTls));
    assert_eq!(read.smtp.expect("smtp").security, Some(Security::None));

    page.fields[4] = field("Incoming (IMAP)", "Connection security", "STARTTLS");
    page.fields[7] = field("Outgoing (SMTP)", "Use STARTTLS", "Yes");
    let read = interpret(&rules(), &page, 0);
    assert_eq!(read.imap.expect("imap").security, Some(Security::Starttls));
    assert_eq!(read.smtp.expect("smtp").security, Some(Security::Starttls));
    // A value made of value words is the weak kind of label; "Use SSL" and a link are not.
    assert!(is_security_value("SSL") && is_security_value("STARTTLS v"));
    assert!(!is_security_value("Use SSL"));
    assert_eq!(label_kind("Hide server settings"), None);
    assert_eq!(
        label_kind("erver address").map(|(k, _)| k),
        Some(LabelKind::Host)
    );
}

#[test]
fn a_visible_password_is_flagged_and_never_kept() {
    let mut page = screen();
    page.fields[1].value = "Tr0ub4dor-horse".into();
    page.lines[4] = "Tr0ub4dor-horse".into();
    let read = interpret(&rules(), &page, 0);
    assert!(read.password_visible);
    assert!(!read.text.contains("Tr0ub4dor"), "{}", read.text);
}

#[test]
fn a_banner_alone_is_an_error_banner() {
    let page = OcrPage {
        lines: vec!["We couldn't connect your inbox".into()],
        fields: vec![],
        banner: Some("We couldn't connect your inbox\nConnection timed out.".into()),
        second: None,
    };
    let read = interpret(&rules(), &page, 0);
    assert_eq!(read.kind, ScreenshotKind::ErrorBanner);
    assert!(!read.advanced_options);
    assert_eq!(
        read.error_text.as_deref(),
        Some("We couldn't connect your inbox Connection timed out.")
    );
}

fn thread(text: &str) -> Thread {
    let mut m = Message::member(text);
    m.attachments.push(Attachment {
        filename: "shot.png".into(),
        content_type: Some("image/png".into()),
        size: None,
        path: None,
        url: None,
    });
    Thread { messages: vec![m] }
}

fn attach(read: ScreenshotRead) -> Vec<AttachmentRead> {
    vec![AttachmentRead {
        message: 0,
        attachment: 0,
        read,
    }]
}

#[test]
fn fields_missing_from_text_come_from_the_screenshot() {
    let rules = rules();
    let reads = attach(interpret(&rules, &screen(), 0));
    let report = triage_with_reads(&rules, &thread("it won't connect"), &reads);
    assert_eq!(
        report.imap.as_ref().map(ToString::to_string).as_deref(),
        Some("imap.acme-mail.com:993")
    );
    assert_eq!(
        report.smtp.as_ref().map(ToString::to_string).as_deref(),
        Some("smtp.acme-mail.com:587")
    );
    assert!(!report.missing.contains(&Item::Screenshot));
    assert_eq!(report.screenshot_reads.len(), 1);
}

#[test]
fn a_disagreement_is_a_mismatch_the_reply_states() {
    let rules = rules();
    let reads = attach(interpret(&rules, &screen(), 0));
    let report = triage_with_reads(
        &rules,
        &thread("IMAP imap.acme-mail.com port 143, Connection timed out"),
        &reads,
    );
    let m = report
        .mismatches
        .iter()
        .find(|m| m.source == MismatchSource::Screenshot)
        .expect("a screenshot mismatch");
    assert_eq!((m.service, m.field), ("imap", "port"));
    assert_eq!((m.entered.as_str(), m.expected.as_str()), ("143", "993"));
    assert!(
        report.reply.contains("`143`") && report.reply.contains("`993`"),
        "{}",
        report.reply
    );
}

#[test]
fn an_error_screenshot_leaves_the_screenshot_missing_and_says_why() {
    let rules = rules();
    let page = OcrPage {
        lines: vec!["Connection timed out".into()],
        fields: vec![],
        banner: Some("Connection timed out.".into()),
        second: None,
    };
    let reads = attach(interpret(&rules, &page, 0));
    let report = triage_with_reads(&rules, &thread("help"), &reads);
    assert!(report.missing.contains(&Item::Screenshot));
    assert!(!report.missing.contains(&Item::Error));
    assert_eq!(
        report.error.as_ref().map(|e| e.code.as_str()),
        Some("timeout")
    );
    assert!(
        report.reply.contains("not the server settings"),
        "{}",
        report.reply
    );
}

#[test]
fn a_visible_password_in_a_screenshot_is_a_posted_secret() {
    let rules = rules();
    let mut page = screen();
    page.fields[1].value = "Tr0ub4dor-horse".into();
    let reads = attach(interpret(&rules, &page, 0));
    let report = triage_with_reads(&rules, &thread("see image"), &reads);
    assert_eq!(report.secrets.len(), 1);
    assert_eq!(report.secrets[0].message, 0);
}

#[test]
fn no_reads_is_plain_triage() {
    let rules = rules();
    let t = thread("IMAP imap.acme-mail.com:993");
    assert_eq!(
        triage_with_reads(&rules, &t, &[]),
        super::super::triage(&rules, &t)
    );
}

#[test]
fn a_radio_group_reads_as_its_chosen_option_and_a_checkbox_as_a_switch() {
    let mut page = screen();
    page.fields[4] = field("IMAP", "Security", "☐ SSL/TLS ☑ STARTTLS ☐ None");
    page.fields[7] = field("SMTP", "Security", "☐ SSL/TLS ☐ STARTTLS ☐ None");
    let read = interpret(&rules(), &page, 0);
    assert_eq!(read.imap.unwrap().security, Some(Security::Starttls));
    // No option chosen: unknown, not the first option.
    assert_eq!(read.smtp.unwrap().security, None);

    let mut page = screen();
    page.fields.remove(7);
    page.fields.remove(4);
    page.fields.push(field(
        "Incoming mail",
        "This server requires an encrypted connection (SSL/TLS)",
        "☑",
    ));
    page.fields.push(field(
        "Outgoing mail",
        "This server requires an encrypted connection (SSL/TLS)",
        "☐",
    ));
    // A checkbox about logging on is not a security setting, ticked or not.
    page.fields.push(field(
        "Outgoing mail",
        "Require logon using Secure Password Authentication (SPA)",
        "☑",
    ));
    let read = interpret(&rules(), &page, 0);
    assert_eq!(read.imap.unwrap().security, Some(Security::SslTls));
    assert_eq!(read.smtp.unwrap().security, Some(Security::None));
}

#[test]
fn a_weak_first_read_takes_what_it_lacks_from_the_second_and_keeps_its_own() {
    let mut first = screen();
    // The port boxes were not seen, the SMTP host label kept no value.
    first.fields.retain(|f| f.label != "Port");
    first.fields[4].value.clear();
    assert!(needs_second_read(&first));
    assert!(!needs_second_read(&screen()));
    let mut second = screen();
    // The second reading got the IMAP host wrong: the first's stays.
    second.fields[2].value = "imap.acme-mai1.corn".into();
    first.second = Some(Box::new(second));
    let read = interpret(&rules(), &first, 0);
    let imap = read.imap.unwrap();
    let smtp = read.smtp.unwrap();
    assert_eq!(imap.host.as_deref(), Some("imap.acme-mail.com"));
    assert_eq!((imap.port, smtp.port), (Some(993), Some(587)));
    assert_eq!(smtp.host.as_deref(), Some("smtp.acme-mail.com"));
}

#[test]
fn a_port_read_with_letters_for_digits_is_mended_only_beside_real_digits() {
    assert_eq!(labels::port_of("99O"), Some(990));
    assert_eq!(labels::port_of("l43"), Some(143));
    assert_eq!(labels::port_of("| 587"), Some(587));
    assert_eq!(labels::port_of("l"), None);
    assert_eq!(labels::port_of("ON"), None);
    assert_eq!(labels::port_of("OFF"), None);
}

#[test]
fn a_server_label_with_a_bare_number_gives_the_port_and_a_third_reading_fills_in_turn() {
    // Outlook's "Server Port Numbers": "Incoming server (IMAP): 993", the box edge read as "[".
    let mut page = screen();
    page.fields.retain(|f| f.label != "Port");
    page.fields.push(field(
        "Server Port Numbers",
        "Incoming server (IMAP):",
        "[993",
    ));
    let read = interpret(&rules(), &page, 0);
    assert_eq!(read.imap.as_ref().and_then(|s| s.port), Some(993));
    assert_eq!(
        read.imap.and_then(|s| s.host).as_deref(),
        Some("imap.acme-mail.com")
    );
    assert_eq!(read.smtp.and_then(|s| s.port), None);
    // The first and second readings lack the SMTP port; a reading behind the second has it.
    let mut third = screen();
    third.fields.retain(|f| f.label != "Server");
    let mut second = screen();
    second.fields.clear();
    second.second = Some(Box::new(third));
    page.second = Some(Box::new(second));
    assert_eq!(
        interpret(&rules(), &page, 0).smtp.and_then(|s| s.port),
        Some(587)
    );
}

#[test]
fn a_long_colon_label_under_a_named_server_label_gives_that_server_its_security() {
    // Outlook's Advanced tab: the security label names no service; the port label above does.
    let mut page = screen();
    page.fields.retain(|f| f.label != "Security");
    for f in &mut page.fields {
        f.section = None;
    }
    page.fields.retain(|f| f.label != "Port");
    let long = "Use the following type of encrypted connection:";
    page.fields.extend([
        field("", "Incoming server (IMAP):", "993"),
        field("", long, "SSL/TLS"),
        field("", "Outgoing server (SMTP):", "587"),
        field("", long, "STARTTLS"),
    ]);
    let read = interpret(&rules(), &page, 0);
    assert_eq!(read.imap.and_then(|s| s.security), Some(Security::SslTls));
    assert_eq!(read.smtp.and_then(|s| s.security), Some(Security::Starttls));
    // Without the colon, a long phrase is a sentence, not a label.
    assert!(labels::label_kind("Use the following type of encrypted connection").is_none());
}

#[test]
fn a_control_word_below_a_password_row_is_not_a_visible_password() {
    let mut page = screen();
    page.fields[1] = field("", "Password", "Advanced");
    assert!(!interpret(&rules(), &page, 0).password_visible);
    page.fields[1] = field("", "Password", "Tr0ub4dor-horse");
    assert!(interpret(&rules(), &page, 0).password_visible);
}

#[test]
fn only_a_sentence_that_says_something_failed_is_an_error_without_a_banner() {
    // A settings group and a setting's label name an error's topic without being one.
    let mut page = screen();
    page.lines.push("Server Timeouts".into());
    page.lines.push("Connection timeout (seconds)".into());
    page.lines.push("Authentication method".into());
    let read = interpret(&rules(), &page, 0);
    assert_eq!(read.error_text, None, "{}", read.text);
    // Inline validation under a field, no banner: a sentence that says it failed.
    page.lines
        .push("Could not connect to the IMAP server: connection timed out.".into());
    let read = interpret(&rules(), &page, 0);
    assert!(
        read.error_text
            .as_deref()
            .is_some_and(|e| e.contains("timed out")),
        "{:?}",
        read.error_text
    );
}

#[test]
fn a_line_that_is_a_fields_value_is_no_section_heading() {
    // An account type's value ("IMAP") stands above a security row that belongs to the
    // outgoing server named by the label above it.
    let page = OcrPage {
        lines: vec![],
        fields: vec![
            field("", "Incoming server (IMAP):", "993"),
            field(
                "Incoming server (IMAP):",
                "Use the following type of encrypted connection:",
                "SSL/TLS",
            ),
            field("", "Outgoing server (SMTP):", "587"),
            field("", "Account Type:", "IMAP"),
            field(
                "IMAP",
                "Use the following type of encrypted connection:",
                "STARTTLS",
            ),
        ],
        banner: None,
        second: None,
    };
    let read = interpret(&rules(), &page, 0);
    assert_eq!(read.imap.unwrap().security, Some(Security::SslTls));
    assert_eq!(read.smtp.unwrap().security, Some(Security::Starttls));
}
