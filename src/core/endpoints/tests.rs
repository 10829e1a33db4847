use std::ops::Range;

use super::*;

fn zones() -> &'static crate::core::zones::ZonePatterns {
    &crate::core::rules::shipped_for_tests().reading.zones
}

fn scan(text: &str) -> Settings {
    let mut s = Settings::default();
    s.scan(text, zones());
    s
}

fn ep(host: &str, port: u16) -> Option<Endpoint> {
    Some(Endpoint {
        host: host.into(),
        port,
    })
}

/// Texts for the scanner-against-regex tests: the shapes members write, and the edges.
const SAMPLES: &[&str] = &[
    "imap.gmail.com:993 and smtp.gmail.com:587",
    "IMAP: mail.acme.com (993)\nSMTP: mail.acme.com (465)",
    "for imap I use server mail.acme.com port 993, for smtp server mail.acme.com port 2525",
    "server mail.acme.com, 993 for IMAP and 465 for SMTP",
    "ports 993 and 587; port number is 143; Port#25 port=(465) port -2525 PORTS: 1025",
    "portnumber 993 port is993 port number: 993 port numbers 993 port island 5 ports(587)",
    "a.com:993.b.com x.1.2.3.4 1234.5.6.7 1.2.3.4.5 [::1]:993 [2001:db8::1] [zz]",
    "mail.ex-ample.c1 host_name.com foo-.bar.com -a.com a..b.com a.b-.com a.bc_d x.co9",
    "imap.acme.com:99999 smtp.acme.com:0 a.com:12 a.com:123456 a.com:99x a.com: 993",
    "993px 99999 123456 (993) x(993 993(587) 5.7.1 443/tcp 587-line 1-2 10.0.0.1/24",
    "IMAPS smtps Incoming OUTGOING inbound outbound receiving sending submission imap_x",
    "imap.gmail.com smtp-mail.outlook.com imap4 x.imap.y @imap /smtp imap@ 2imap imap2",
    "| IMAP | imap.acme.com | 993 |\n| SMTP | smtp.acme.com | 587 |",
    "port\x0b993 port\t\t: 993 port\r\n993 hub.hubspot.com/x app.hubspot.com/1/2 a.png",
    "a.com\u{a0}b.com x\x0ba.com:993\x0cb.org\rc.net [::1]\u{2003}d.io é.fr a.é x.\u{e9}t",
];

fn oracle_labels(text: &str) -> Vec<(usize, usize, Label)> {
    LABEL
        .find_iter(text)
        .filter_map(|m| label_service(m.as_str()).map(|s| (m.start(), m.end(), s)))
        .collect()
}

fn oracle_ports(text: &str) -> Vec<PortMatch> {
    ports::regex_port_matches(text)
}

/// (host, port digits) of every [`HOST`] match, with the regex.
fn oracle_hosts(text: &str) -> Vec<(Range<usize>, Option<Range<usize>>)> {
    HOST.captures_iter(text)
        .map(|c| {
            (
                c.name("host").unwrap().range(),
                c.name("port").map(|p| p.range()),
            )
        })
        .collect()
}

fn scanned_hosts(text: &str) -> Vec<(Range<usize>, Option<Range<usize>>)> {
    host_matches(text)
}

fn check_scanners(text: &str) {
    let labels: Vec<_> = ascii_labels(text).collect();
    if text.is_ascii() {
        assert_eq!(labels, oracle_labels(text), "labels in {text:?}");
        assert_eq!(
            ascii_port_matches(text),
            oracle_ports(text),
            "ports in {text:?}"
        );
    }
    assert_eq!(label_spans(text), oracle_labels(text), "labels in {text:?}");
    assert_eq!(port_matches(text), oracle_ports(text), "ports in {text:?}");
    assert_eq!(scanned_hosts(text), oracle_hosts(text), "hosts in {text:?}");
}

/// The hand-written label, port and host-port scans find what the regexes they replaced find.
#[test]
fn scanners_agree_with_the_regexes() {
    for text in SAMPLES {
        check_scanners(text);
        for line in text.lines() {
            check_scanners(line);
        }
    }
    check_scanners("port ٩٩٣ a.com:٩٩٣ a.com:993é port 993é ſmtp imap");
}

proptest::proptest! {
    #[test]
    fn scanners_agree_with_the_regexes_on_any_text(
        text in "([a-zA-Z0-9 .:()#=_@/\\[\\]\t-]|port|PORTS|number|is|imap|smtp|993|\\.com|é){0,40}"
    ) {
        check_scanners(&text);
    }
}

#[test]
fn host_colon_port() {
    let s = scan("imap.gmail.com:993 and smtp.gmail.com:587");
    assert_eq!(s.imap(), ep("imap.gmail.com", 993));
    assert_eq!(s.smtp(), ep("smtp.gmail.com", 587));
}

#[test]
fn labels_and_parentheses() {
    let s = scan("IMAP: mail.acme.com (993)\nSMTP: mail.acme.com (465)");
    assert_eq!(s.imap(), ep("mail.acme.com", 993));
    assert_eq!(s.smtp(), ep("mail.acme.com", 465));
}

#[test]
fn incoming_outgoing_over_lines() {
    let s = scan(
        "Incoming mail server: MAIL.ACME.COM\nPort: 143\nOutgoing server: smtp.acme.com\nPort: 587",
    );
    assert_eq!(s.imap(), ep("mail.acme.com", 143));
    assert_eq!(s.smtp(), ep("smtp.acme.com", 587));
}

#[test]
fn server_x_port_y() {
    let s = scan(
        "for imap I use server mail.acme.com port 993, for smtp server mail.acme.com port 2525",
    );
    assert_eq!(s.imap(), ep("mail.acme.com", 993));
    assert_eq!(s.smtp(), ep("mail.acme.com", 2525));
}

#[test]
fn port_before_label() {
    let s = scan("server mail.acme.com, 993 for IMAP and 465 for SMTP");
    assert_eq!(s.imap(), ep("mail.acme.com", 993));
    assert_eq!(s.smtp(), ep("mail.acme.com", 465));
}

#[test]
fn label_at_the_end_of_a_sentence() {
    let s = scan(
        "secure.emailsrvr.com port 993 for IMAP, secure.emailsrvr.com 465 for SMTP. It timed out.",
    );
    assert_eq!(s.imap(), ep("secure.emailsrvr.com", 993));
    assert_eq!(s.smtp(), ep("secure.emailsrvr.com", 465));
}

#[test]
fn tables_by_row_and_by_column() {
    let s = scan("| Type | Server | Port |\n|---|---|---|\n| IMAP | imap.acme.com | 993 |\n| SMTP | smtp.acme.com | 587 |");
    assert_eq!(s.imap(), ep("imap.acme.com", 993));
    assert_eq!(s.smtp(), ep("smtp.acme.com", 587));
    let s = scan("| | Incoming | Outgoing |\n|-|-|-|\n| Server | in.acme.com | out.acme.com |\n| Port | 993 | 465 |");
    assert_eq!(s.imap(), ep("in.acme.com", 993));
    assert_eq!(s.smtp(), ep("out.acme.com", 465));
}

#[test]
fn country_domains_named_like_file_extensions() {
    // Poland's and Serbia's servers are hosts; a Perl script and a shell script are not.
    let s = scan("IMAP: imap.wisla-logistics.pl 993, SMTP: mail.firma.rs port 465");
    assert_eq!(s.imap(), ep("imap.wisla-logistics.pl", 993));
    assert_eq!(s.smtp(), ep("mail.firma.rs", 465));
    let s = scan("IMAP fails in Mailer.pl, port 993; deploy.sh sets the SMTP port 465");
    assert_eq!(s.imap().map(|e| e.host), None);
    assert_eq!(s.smtp().map(|e| e.host), None);
}

#[test]
fn ip_literals_kept_and_emails_ignored() {
    let s = scan("IMAP 203.0.113.7:993, my login is bob@mail.acme.com");
    assert_eq!(s.imap(), ep("203.0.113.7", 993));
    assert_eq!(s.smtp(), None);
}

#[test]
fn look_alike_hosts_are_flagged() {
    let s = scan("IMAP: imap.gmаil.com:993");
    assert_eq!(s.imap(), None);
    assert_eq!(s.suspicious, ["imap.gmаil.com"]);
}

#[test]
fn later_messages_correct_earlier() {
    let mut s = Settings::default();
    s.scan("imap server imap.acme.com port 143", zones());
    s.scan("sorry, the IMAP port is 993", zones());
    assert_eq!(s.imap(), ep("imap.acme.com", 993));
}

/// `not_a_setting` as it was written with `str` searches, before the byte searches.
fn oracle_not_a_setting(text: &str, at: usize) -> bool {
    let before = &text[..at];
    let clause_start = [before.rfind([',', ';', '!', '?', ':']), before.rfind(". ")]
        .into_iter()
        .flatten()
        .max()
        .map_or(0, |i| i + 1);
    let clause = &before[clause_start..];
    if NEGATED_BEFORE.regex.is_match(clause) {
        return true;
    }
    if OLD_AFTER.is_match(&text[at..]) {
        return true;
    }
    let after = &text[at..];
    let sentence_end = [after.find(['?', '!', '\n']), after.find(". ")]
        .into_iter()
        .flatten()
        .min();
    let is_question = sentence_end.is_some_and(|i| after[i..].starts_with('?'));
    let sentence_start = before
        .rfind(['.', '!', '?', '\n'])
        .filter(|&i| before[i..].starts_with(['!', '?', '\n']) || before[i + 1..].starts_with(' '))
        .map_or(0, |i| i + 1);
    is_question && HYPOTHETICAL.regex.is_match(&before[sentence_start..])
}

/// The scheme regex alone, before the quick look at the byte before the host.
fn oracle_scheme_before(text: &str, at: usize) -> bool {
    static SCHEME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)\b(imaps?|smtps?|submissions?|pop3s?|tls|ssl|tcp|mailto|https?)://(?:[^\s/]*@)?$",
        )
        .unwrap()
    });
    let re = &*SCHEME;
    let from = at.saturating_sub(80);
    let from = (from..=at)
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(at);
    re.is_match(&text[from..at])
}

proptest::proptest! {
    /// The byte searches and the gated regexes decide as the `str` searches and plain regexes.
    #[test]
    fn not_a_setting_agrees_with_the_str_searches(
        text in "([a-zA-Z0-9 .,;:!?\n\t'-]|not |isn't |instead of |should I use |maybe |or |was what I tried|\u{a0}was wrong|WERE the old|\\. |é|ſ|imaps://|u@|smtp\\.x\\.com|587){0,24}"
    ) {
        // The message's gate hits answer for every slice of it, as the gate would.
        let hits = WORDING_GATES.hits(&text, &crate::core::text::lower(&text));
        for at in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let want = oracle_not_a_setting(&text, at);
            proptest::prop_assert_eq!(
                not_a_setting(&text, at, &Hits::default()),
                want,
                "{:?} at {}", text, at
            );
            proptest::prop_assert_eq!(
                not_a_setting(&text, at, &hits),
                want,
                "{:?} at {} (indexed)", text, at
            );
            proptest::prop_assert_eq!(
                scheme_before(&text, at).is_some(),
                oracle_scheme_before(&text, at),
                "{:?} at {}", text, at
            );
        }
    }
}

proptest::proptest! {
    /// The eight-bytes-at-a-time skip stops where a byte-by-byte search does.
    #[test]
    fn the_port_skip_stops_at_the_first_digit_or_p(
        text in "([ -~]|port|P|p|0|9|/|:|o|q|P1){0,40}",
        from in 0usize..48,
    ) {
        let b = text.as_bytes();
        let from = from.min(b.len());
        let want = b[from..]
            .iter()
            .position(|&c| c.is_ascii_digit() || c == b'p' || c == b'P')
            .map_or(b.len(), |i| from + i);
        proptest::prop_assert_eq!(next_digit_or_p(b, from), want, "{:?} from {}", text, from);
    }
}

proptest::proptest! {
    /// The list look-up and the one-pass label reading answer as `contains` and `split('.')`.
    #[test]
    fn host_checks_read_names_as_the_splits_did(
        name in "([a-z0-9.-]|net|com|png|pl|www|args|outlook\\.com|hubspot\\.net|é|ſ|\\.{2}){0,12}|[a-zé.]{60,140}"
    ) {
        for list in [NOT_A_TLD, CODE_OBJECTS] {
            proptest::prop_assert_eq!(listed(list, &name), list.contains(&name.as_str()));
            let tld = name.rsplit('.').next().unwrap_or("");
            proptest::prop_assert_eq!(listed(list, tld), list.contains(&tld));
        }
        // The rules' lists: a sorted look-up, and a suffix per dot, answer as the scans of the
        // lists did.
        let words = &crate::core::words::shipped().hosts;
        proptest::prop_assert_eq!(
            words.webmail_domains.contains(&name),
            words.webmail_domains.iter().any(|d| d == name)
        );
        proptest::prop_assert_eq!(
            words.never_a_server(&name),
            words.not_a_server.iter().any(|d| name
                .strip_suffix(d)
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('.')))
        );
        let labels = Labels::of(&name);
        proptest::prop_assert_eq!(labels.count, name.split('.').count());
        proptest::prop_assert_eq!(labels.first, name.split('.').next().unwrap_or(""));
        proptest::prop_assert_eq!(labels.last, name.rsplit('.').next().unwrap_or(""));
        proptest::prop_assert_eq!(
            labels.longer_than_63,
            name.split('.').any(|label| label.chars().count() > 63)
        );
    }

    /// The clause and sentence walks and the look before the "was what I tried" regex decide
    /// as the searches they replaced.
    #[test]
    fn clause_walks_agree_with_the_searches(
        text in "([a-zA-Z0-9 .,;:!?\n\t\u{b}'-]|\\. |é|\u{a0}|\u{2003}|was |WERE |wrong|ſ|587){0,24}"
    ) {
        let b = text.as_bytes();
        for at in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let before = &b[..at];
            let want_start = [
                memchr::memrchr3(b',', b';', b'!', before),
                memchr::memrchr2(b'?', b':', before),
                memchr::memrchr_iter(b'.', before).find(|&i| before.get(i + 1) == Some(&b' ')),
            ]
            .into_iter()
            .flatten()
            .max()
            .map_or(0, |i| i + 1);
            proptest::prop_assert_eq!(clause_start(before), want_start, "{:?} at {}", text, at);
            let after = &b[at..];
            let want_end = [
                memchr::memchr3(b'?', b'!', b'\n', after),
                memchr::memchr_iter(b'.', after).find(|&i| after.get(i + 1) == Some(&b' ')),
            ]
            .into_iter()
            .flatten()
            .min();
            proptest::prop_assert_eq!(sentence_end(after), want_end, "{:?} at {}", text, at);
            if OLD_AFTER.is_match(&text[at..]) {
                proptest::prop_assert!(may_be_old_after(after), "{:?} at {}", text, at);
            }
        }
    }
}

proptest::proptest! {
    /// The looks before the month regexes never say no where the regexes match.
    #[test]
    fn month_looks_pass_every_date(
        text in "([a-zA-Z0-9 .,\n\t_-]|jan|Feb|MAR|sept|dec|enero|märz|février|st |th of |of |ſ|\u{a0}|\u{212a}|\\. ){0,10}"
    ) {
        for at in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let (before, after) = (&text[..at], &text[at..]);
            if MONTH_NEAR.is_match(after) {
                proptest::prop_assert!(may_start_with_a_month(after.as_bytes()), "{:?} at {}", text, at);
            }
            if MONTH_BEFORE.is_match(before) {
                proptest::prop_assert!(may_end_with_a_month(before.as_bytes()), "{:?} at {}", text, at);
            }
        }
    }
}
