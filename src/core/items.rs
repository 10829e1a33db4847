//! Extractors for the simple items: Hub ID, email domain, screenshots.

use std::sync::LazyLock;

use regex::Regex;

use super::text::Triggers;
use super::thread::Attachment;

/// The Hub ID patterns of the rules pack (`reading.toml`, `[hub_id]`).
#[derive(Debug, Clone)]
pub struct HubIdPatterns {
    /// A label, what members put after it, the id, and (group `after`) what would make the
    /// number a phone number or a date instead: "Hub ID: 4821937", "portal 2024-05-01".
    pub label: Regex,
    /// Words every label match begins with, derived from the labels.
    pub label_triggers: Triggers,
    /// App URLs, each with an `id` group, matched within one line.
    pub app_urls: Vec<Regex>,
    /// Words every URL match begins with.
    pub url_triggers: Triggers,
}

/// A message that is nothing but a number of Hub ID length: the member answering "Hub ID?".
static BARE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*#?(?P<id>\d{5,10})\s*$").expect("static regex"));

/// The latest Hub ID in `text`, if any.
pub fn hub_id(text: &str, patterns: &HubIdPatterns) -> Option<String> {
    hub_id_span(text, &super::text::lower(text), patterns).map(|id| text[id].to_string())
}

/// Where the latest Hub ID in `text` is. `lower` is [`super::text::lower`]`(text)`.
pub fn hub_id_span(
    text: &str,
    lower: &[u8],
    patterns: &HubIdPatterns,
) -> Option<std::ops::Range<usize>> {
    let label = super::text::windows(text, lower, &patterns.label_triggers, 1);
    let url = super::text::windows(text, lower, &patterns.url_triggers, 0);
    hub_id_in_windows(text, patterns, label, url, None)
}

/// [`hub_id_span`], with the places of the label and URL trigger words found beforehand
/// (`(start, end)` of each in `lower`, by start).
pub fn hub_id_span_at(
    text: &str,
    lower: &[u8],
    patterns: &HubIdPatterns,
    label_triggers: &[(usize, usize)],
    url_triggers: &[(usize, usize)],
) -> Option<std::ops::Range<usize>> {
    let label = super::text::windows_at(text, lower, label_triggers, 1);
    let url = super::text::windows_at(text, lower, url_triggers, 0);
    hub_id_in_windows(text, patterns, label, url, Some(label_triggers))
}

/// The latest Hub ID in the label windows `label` and URL windows `url` of `text`, or in
/// `text` as a bare number. `label_hits`, when known, are the places of the label trigger words
/// in `text` (`(start, end)`, by start).
fn hub_id_in_windows(
    text: &str,
    patterns: &HubIdPatterns,
    label: Vec<(usize, &str)>,
    url: Vec<(usize, &str)>,
    label_hits: Option<&[(usize, usize)]>,
) -> Option<std::ops::Range<usize>> {
    // Positions only: the one id kept is copied at the end.
    let mut best: Option<std::ops::Range<usize>> = None;
    let mut consider = |id: std::ops::Range<usize>| {
        if best.as_ref().is_none_or(|b| id.start >= b.start) {
            best = Some(id);
        }
    };
    // The number may be on the line after its label.
    for (offset, window) in label {
        // Only the latest id counts, and reading a match's groups is a search of its own: the
        // groups are read from the last match back, up to the first that gives an id.
        let matches: Vec<regex::Match> = match label_hits {
            Some(hits) => {
                let first = hits.partition_point(|&(s, _)| s < offset);
                let starts = hits[first..]
                    .iter()
                    .map(|&(s, _)| s - offset)
                    .take_while(|&s| s < window.len());
                label_matches_from(&patterns.label, window, starts)
            }
            None => patterns.label.find_iter(window).collect(),
        };
        if let Some(id) = matches
            .iter()
            .rev()
            .find_map(|m| label_id(&patterns.label, window, *m))
        {
            consider(offset + id.start..offset + id.end);
        }
    }
    // A URL is on one line: only the lines naming the app's host are worth the search.
    for (offset, window) in url {
        for url in &patterns.app_urls {
            for caps in url.captures_iter(window) {
                if let Some(id) = caps.name("id") {
                    consider(offset + id.start()..offset + id.end());
                }
            }
        }
    }
    if let Some(id) = BARE_ID.captures(text).and_then(|c| c.name("id")) {
        consider(id.range());
    }
    best
}

/// `label.find_iter(window)`, searched only from `starts` (by start), the places in `window`
/// where a label trigger word begins: every label match begins with one, so the search from the
/// first such place at or after the last match's end finds the match `find_iter` finds next,
/// without reading the text in between (where a line holds a label, its id and then prose, most
/// of the text).
fn label_matches_from<'w>(
    label: &Regex,
    window: &'w str,
    starts: impl Iterator<Item = usize>,
) -> Vec<regex::Match<'w>> {
    let mut matches: Vec<regex::Match<'w>> = Vec::new();
    let mut from = 0;
    for start in starts {
        if start < from || !window.is_char_boundary(start) {
            continue;
        }
        match label.find_at(window, start) {
            // A label match is never empty (it begins with a word).
            Some(m) => {
                from = m.end().max(m.start() + 1);
                matches.push(m);
            }
            None => break,
        }
    }
    matches
}

/// The `id` of a label match, or `None` when its `after` group took part: "account number
/// 555-123-4567" or "portal 2024-05-01" is a phone or a date, not an id. Read by captures,
/// within the match only: labels are data, and one may end in a digit.
fn label_id(label: &Regex, text: &str, m: regex::Match) -> Option<std::ops::Range<usize>> {
    let caps = label.captures_at(text, m.start())?;
    match caps.name("after") {
        Some(_) => None,
        None => caps.name("id").map(|id| id.range()),
    }
}

/// The words the email-domain reading decides by (`reading.toml`, `[email_domain]`): domain
/// knowledge, kept as data like the Hub ID labels.
#[derive(Debug, Clone, Default)]
pub struct EmailWords {
    /// Local parts of example addresses: `you@`, `user@`, `name@`.
    pub placeholder_local_parts: Vec<String>,
    /// Domains that are never the member's own mailbox: the vendor's addresses (BCC, support).
    pub vendor_domains: Vec<String>,
    /// Domains on which a placeholder local part is an example (`you@gmail.com`).
    pub example_domains: Vec<String>,
    /// First labels of made-up domains (`user@domain.com`, `name@yourcompany.com`).
    pub example_labels: Vec<String>,
    /// First labels that make a two-label domain made up whatever its local part
    /// (`notifier@domain.net`, `info@mysite.org`); `acme` stays a possible company.
    pub made_up_labels: Vec<String>,
}

/// Whether a placeholder local part on `domain` is an example: a provider's own domain
/// (`you@gmail.com`) or a made-up one (`user@domain.com`). On any other domain it is a real
/// login (`name@vantor-engineering.com`).
fn placeholder_domain(domain: &str, words: &EmailWords) -> bool {
    let first = domain.split('.').next().unwrap_or("");
    words.example_domains.iter().any(|d| d == domain)
        || words.example_labels.iter().any(|l| l == first)
}

/// An address inside a URL's user part, its `@` encoded: `imaps://sales%40acme.com:pw@host`.
static URL_ENCODED_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._+\-]{1,64}%40(?P<domain>[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)*\.[a-z]{2,24})\b")
        .expect("static regex")
});

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?P<local>[a-z0-9._%+\-]{1,64})@(?P<domain>[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)*\.[a-z]{2,24})\b")
        .expect("static regex")
});

/// Replaces the local part of every email address with `member`, keeping the domain: what
/// the store keeps of a message (triage only ever needs the domain).
pub fn mask_email_local_parts(text: &str) -> String {
    if memchr::memchr(b'@', text.as_bytes()).is_none() {
        return text.to_string();
    }
    EMAIL
        .replace_all(text, |caps: &regex::Captures| {
            format!("member@{}", caps.name("domain").map_or("", |d| d.as_str()))
        })
        .into_owned()
}

/// An address whose local part the member hid: `****@yahoo.com`, `<me>@outlook.com`,
/// `[email]@acme.com`, `xxx@gmail.com`.
static MASKED_EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:[*•·x.]{2,64}|<[^<>@\s]{1,30}>|\[[^\[\]@\s]{1,30}\]|\{[^{}@\s]{1,30}\})@(?P<domain>[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)*\.[a-z]{2,24})\b")
        .expect("static regex")
});

/// The domain of the first email address the member mentions. The local part is never kept.
pub fn email_domain(text: &str, words: &EmailWords) -> Option<String> {
    email_domain_span(text, words).map(|(d, _)| d)
}

/// [`email_domain`] with the byte range of the domain in `text`.
pub fn email_domain_span(
    text: &str,
    words: &EmailWords,
) -> Option<(String, std::ops::Range<usize>)> {
    // A line without an `@` holds no address.
    memchr::memchr(b'@', text.as_bytes())?;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        if memchr::memchr(b'@', line.as_bytes()).is_none() {
            continue;
        }
        let mut found: Vec<(regex::Match, bool)> = EMAIL
            .captures_iter(line)
            .filter_map(|c| {
                let local = c.name("local")?.as_str().to_ascii_lowercase();
                Some((
                    c.name("domain")?,
                    words.placeholder_local_parts.contains(&local),
                ))
            })
            .chain(
                MASKED_EMAIL
                    .captures_iter(line)
                    .chain(URL_ENCODED_EMAIL.captures_iter(line))
                    .filter_map(|c| Some((c.name("domain")?, false))),
            )
            .collect();
        found.sort_by_key(|(m, _)| m.start());
        for (d, placeholder) in found {
            let domain = d.as_str().to_ascii_lowercase();
            // `user:pass@imap.host.com` in a URL names a server, not a mailbox; so does a login
            // "to user@imap.host.com". `you@example.com` is nobody's.
            let first = domain.split('.').next().unwrap_or("");
            // Only within the address's own word: `curl imaps://host --user 'me@x.com:pw'`.
            let word_start = line[..d.start()]
                .rfind(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '<' | '('))
                .map_or(0, |i| i + 1);
            // An address followed by `@host` is the URL's login: `imaps://me@gmail.com@imap...`.
            let url_host = line[word_start..d.start()].contains("://")
                && !line[..d.start()].ends_with("%40")
                && !line[d.end()..].starts_with('@');
            // `xxxxxx@xxxxxxx.com`: the domain is masked too.
            let masked_domain = first.len() >= 3 && first.bytes().all(|b| b == b'x');
            // `name@vantor-engineering.com` is somebody's login; `user@domain.com` or
            // `you@gmail.com` is an example.
            let placeholder = placeholder && placeholder_domain(&domain, words);
            // A made-up domain itself (`notifier@domain.net`, `info@mysite.org`) is nobody's
            // mailbox, whatever its local part.
            let made_up =
                domain.matches('.').count() == 1 && words.made_up_labels.iter().any(|l| l == first);
            if placeholder
                || made_up
                || url_host
                || masked_domain
                || matches!(
                    first,
                    "imap" | "imaps" | "smtp" | "smtps" | "pop" | "pop3" | "mx"
                )
                || !psl::suffix(domain.as_bytes()).is_some_and(|s| s.is_known())
            {
                continue;
            }
            if words
                .vendor_domains
                .iter()
                .any(|v| domain == *v || domain.ends_with(&format!(".{v}")))
            {
                continue;
            }
            return Some((domain, line_start + d.start()..line_start + d.end()));
        }
    }
    None
}

/// Pure syntax (file extensions), so it stays in code; the words that decide a reading are in
/// `rules/`.
const IMAGE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "bmp", "heic", "heif", "tif", "tiff", "avif",
];

/// An image attachment: by content type, or by file extension when the type is missing.
pub fn is_screenshot(attachment: &Attachment) -> bool {
    match attachment
        .content_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(content_type) => content_type.to_ascii_lowercase().starts_with("image/"),
        None => attachment
            .filename
            .rsplit_once('.')
            .is_some_and(|(_, ext)| IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> &'static EmailWords {
        &crate::core::rules::shipped_for_tests().reading.email_domain
    }

    #[test]
    fn hub_id_from_labels_and_urls() {
        assert_eq!(hub_id("Hub ID: 4821937").as_deref(), Some("4821937"));
        assert_eq!(hub_id("my hubid is 4821937").as_deref(), Some("4821937"));
        assert_eq!(hub_id("hub id # 4821937").as_deref(), Some("4821937"));
        assert_eq!(hub_id("Portal ID 4821937").as_deref(), Some("4821937"));
        assert_eq!(hub_id("account id: 4821937").as_deref(), Some("4821937"));
        assert_eq!(
            hub_id("see https://app.hubspot.com/contacts/4821937/objects/0-1").as_deref(),
            Some("4821937")
        );
        assert_eq!(
            hub_id("app-eu1.hubspot.com/settings/26012345/email").as_deref(),
            Some("26012345")
        );
    }

    fn patterns() -> &'static HubIdPatterns {
        &crate::core::rules::shipped_for_tests().reading.hub_id
    }

    fn hub_id(text: &str) -> Option<String> {
        super::hub_id(text, patterns())
    }

    /// Looking only at the lines holding a trigger word (derived from the labels) finds what
    /// reading the whole text with every pattern finds.
    #[test]
    fn trigger_windows_lose_no_id() {
        let samples = [
            "Hub ID: 4821937",
            "hub id # 48219371234",
            "account number 555-123-4567",
            "portal 1234:5 and hub no. 99999",
            "hubid is actually 12345678901",
            "Hub ID – it's 4821937.",
            "hub-id 1234\nportal 5678",
            "mein HubSpot-Konto Nr. 4821937",
            "mein HubSpot-\u{212A}onto Nr. 4821937",
            "id de cuenta\n4821937",
            "HS account 4821937 then compte hub 5555555",
            "https://app.hubspot.com/contacts/4821937/objects https://app-eu1.hubspot.com/x/1234",
            "APP.HUBSPOT.COM/x/12345678\u{2003}y app.hubspot.com/x/12345)",
            "hub id ٤٨٢١٩٣٧ and Hub ID 48219٣٧ portal 1234٣-5",
        ];
        for text in samples {
            let p = patterns();
            let mut whole: Option<std::ops::Range<usize>> = None;
            for c in p.label.captures_iter(text) {
                if c.name("after").is_none() {
                    whole = c.name("id").map(|m| m.range()).or(whole);
                }
            }
            for url in &p.app_urls {
                for c in url.captures_iter(text) {
                    let id = c.name("id").map(|m| m.range());
                    if id.as_ref().map(|r| r.start) > whole.as_ref().map(|r| r.start) {
                        whole = id;
                    }
                }
            }
            let windowed = hub_id_span(text, &crate::core::text::lower(text), p);
            assert_eq!(windowed, whole, "{text:?}");
        }
    }

    proptest::proptest! {
        /// From the places the message index found, the label search gives what the trigger
        /// finders and a search of every window give, on any text.
        #[test]
        fn hub_id_at_the_index_hits_is_the_windows_hub_id(
            text in "(Hub ID|hub id #|HUBID|hubspot account|portal|account number|Konto Nr. |id de cuenta|app.hubspot.com/x/|[0-9]{1,9}|[ :.#/-]|\n|é|ſ|\u{212A}|x|hub){0,24}",
        ) {
            let rules = crate::core::rules::shipped_for_tests();
            let lower = crate::core::text::lower(&text);
            let found = rules.message_literals().find(&text, &lower);
            let (labels, urls) = found.hub_id_triggers();
            proptest::prop_assert_eq!(
                hub_id_span_at(&text, &lower, patterns(), labels, urls),
                hub_id_span(&text, &lower, patterns())
            );
        }
    }

    #[test]
    fn hub_id_from_url_lines_only_where_the_host_is() {
        assert_eq!(
            hub_id("x\nsee APP.HUBSPOT.COM/contacts/4821937\ny").as_deref(),
            Some("4821937")
        );
        assert_eq!(
            hub_id("app.hubſpot.com/contacts/4821937").as_deref(),
            Some("4821937")
        );
        assert_eq!(hub_id("app.hubspot.com\n/contacts/4821937"), None);
    }

    #[test]
    fn hub_id_is_never_a_phone_port_or_date() {
        assert_eq!(hub_id("account number 555-123-4567"), None);
        assert_eq!(hub_id("call me at 5551234567"), None);
        assert_eq!(hub_id("port 993"), None);
        assert_eq!(hub_id("since 2024-05-01"), None);
        assert_eq!(hub_id("portal 2024/05/01"), None);
    }

    #[test]
    fn latest_hub_id_wins() {
        assert_eq!(
            hub_id("Hub ID 1111111, sorry, hub id is 2222222").as_deref(),
            Some("2222222")
        );
    }

    #[test]
    fn email_domain_only() {
        assert_eq!(
            email_domain("I use John.Doe@Acme.CO.uk here", words()).as_deref(),
            Some("acme.co.uk")
        );
        assert_eq!(
            email_domain("bcc to 123@bcc.hubspot.com, me@acme.com", words()).as_deref(),
            Some("acme.com")
        );
        assert_eq!(email_domain("no address", words()), None);
    }

    #[test]
    fn local_parts_are_masked() {
        let masked = mask_email_local_parts("I'm ann.lee+crm@Acme.com, cc bob@mail.acme.co.uk");
        assert_eq!(masked, "I'm member@Acme.com, cc member@mail.acme.co.uk");
        assert_eq!(email_domain(&masked, words()).as_deref(), Some("acme.com"));
    }

    #[test]
    fn screenshots_by_type_or_extension() {
        let a = |name: &str, ct: Option<&str>| Attachment {
            filename: name.into(),
            content_type: ct.map(Into::into),
            size: None,
            path: None,
            url: None,
        };
        assert!(is_screenshot(&a("x.bin", Some("image/png"))));
        assert!(is_screenshot(&a("Screen Shot.PNG", None)));
        assert!(!is_screenshot(&a("settings.pdf", Some("application/pdf"))));
        assert!(!is_screenshot(&a("settings.pdf", None)));
        assert!(!is_screenshot(&a("noext", None)));
    }
}
