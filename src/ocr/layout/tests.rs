use super::*;

fn w(line: u32, left: u32, top: u32, text: &str) -> Word {
    Word {
        line: (1, 1, line),
        left,
        top,
        width: 10 * text.len() as u32,
        height: 20,
        conf: 90.0,
        text: text.into(),
    }
}

#[test]
fn labels_pair_with_values_below_and_to_the_right() {
    let words = vec![
        w(1, 0, 0, "IMAP"),
        w(2, 0, 40, "Server"),
        w(3, 0, 80, "imap.acme.com"),
        w(4, 0, 120, "Port:"),
        w(4, 300, 120, "993"),
    ];
    let page = page(&words, None);
    assert_eq!(page.fields.len(), 2, "{:?}", page.fields);
    assert_eq!(page.fields[0].value, "imap.acme.com");
    assert_eq!(page.fields[0].section.as_deref(), Some("IMAP"));
    assert_eq!(page.fields[1].value, "993");
}

#[test]
fn a_table_with_a_column_per_service_gives_each_value_its_column() {
    let words = vec![
        w(1, 200, 0, "Incoming"),
        w(1, 290, 0, "(IMAP)"),
        w(1, 500, 0, "Outgoing"),
        w(1, 590, 0, "(SMTP)"),
        w(2, 0, 40, "Server"),
        w(2, 200, 40, "mail.acme.com"),
        w(2, 500, 40, "relay.acme.com"),
        w(3, 0, 80, "Port"),
        w(3, 200, 80, "|"),
        w(3, 220, 80, "143"),
        w(3, 500, 80, "25"),
    ];
    let page = page(&words, None);
    let got: Vec<(Option<&str>, &str, &str)> = page
        .fields
        .iter()
        .map(|f| (f.section.as_deref(), f.label.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("Incoming (IMAP)"), "Server", "mail.acme.com"),
            (Some("Outgoing (SMTP)"), "Server", "relay.acme.com"),
            (Some("Incoming (IMAP)"), "Port", "143"),
            (Some("Outgoing (SMTP)"), "Port", "25"),
        ]
    );
}

#[test]
fn a_column_headed_ssl_is_a_label_while_ssl_values_stay_values() {
    let words = vec![
        w(1, 200, 0, "Server"),
        w(1, 500, 0, "Port"),
        w(1, 650, 0, "SSL"),
        w(2, 0, 40, "IMAP"),
        w(2, 200, 40, "imap.acme.com"),
        w(2, 500, 40, "993"),
        w(2, 650, 40, "SSL/TLS"),
        w(3, 0, 80, "SMTP"),
        w(3, 200, 80, "smtp.acme.com"),
        w(3, 500, 80, "587"),
        w(3, 650, 80, "STARTTLS"),
        w(4, 0, 140, "Security:"),
        w(4, 300, 140, "SSL"),
    ];
    let page = page(&words, None);
    let got: Vec<(Option<&str>, &str, &str)> = page
        .fields
        .iter()
        .filter(|f| f.label.starts_with("SSL") || f.label.starts_with("Security"))
        .map(|f| (f.section.as_deref(), f.label.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("IMAP"), "SSL", "SSL/TLS"),
            (Some("SMTP"), "SSL", "STARTTLS"),
            (Some("SMTP"), "Security:", "SSL"),
        ]
    );
}

#[test]
fn a_footnote_under_a_table_is_not_a_cell_and_a_radio_group_is_one_value() {
    let words = vec![
        w(1, 200, 0, "Server"),
        w(1, 500, 0, "Port"),
        w(2, 0, 40, "IMAP"),
        w(2, 200, 40, "mail.acme.com"),
        w(2, 500, 40, "993"),
        w(3, 0, 80, "If"),
        w(3, 30, 80, "993"),
        w(3, 70, 80, "is"),
        w(3, 100, 80, "blocked,"),
        w(3, 190, 80, "use"),
        w(3, 230, 80, "alt.acme.com"),
        w(3, 360, 80, "on"),
        w(3, 390, 80, "143."),
        w(4, 0, 140, "Security"),
        w(5, 0, 180, "☐"),
        w(5, 30, 180, "SSL"),
        w(5, 150, 180, "☑"),
        w(5, 180, 180, "STARTTLS"),
    ];
    let page = page(&words, None);
    let got: Vec<(&str, &str)> = page
        .fields
        .iter()
        .map(|f| (f.label.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Server", "mail.acme.com"),
            ("Port", "993"),
            ("Security", "☐ SSL ☑ STARTTLS"),
        ]
    );
}
