//! Extractors for the simple items: Hub ID, email domain, screenshots.

use std::sync::LazyLock;

use regex::Regex;

use super::thread::Attachment;

/// "Hub ID: 4821937", "hubid 4821937", "hub id # 4821937", "portal ID is 4821937",
/// "account number 4821937".
static HUB_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        \b(?:
            hub\s*-?\s*(?:id|\#|number|no\.?) | hubid | hub\s*: | hub\s+id\s+de
          | portal\s*-?\s*(?:id|\#|number|no\.?) | portal
          | account\s*-?\s*(?:id|\#|number|no\.?)
          | id\s+(?:de|du|del)\s+(?:hub|portal|portail|cuenta|compte)
        )
        # Separators and the filler members put between label and number.
        (?:[\s:=\#\-–,*_]|\bis\b|\bwas\b|\bes\b|\best\b|\bit'?s\b|\bit\s+is\b|\bactually\b|\bnow\b|\bshould\s+be\b|\bcorrect(?:ed)?\b)*
        (?P<id>\d{4,10})
        (?P<after>[\-./:]\d|\d)?",
    )
    .expect("static regex")
});

/// `app.hubspot.com/<anything>/<id>/...` (also regional hosts such as app-eu1).
static HUB_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bapp(?:-[a-z0-9]+)?\.hubspot\.com/[^/\s]+/(?P<id>\d{4,10})(?:[/?#)\]>\s]|$)")
        .expect("static regex")
});

/// Words every Hub ID label and app URL contains.
static HUB_TRIGGERS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["hub", "portal", "account", "id de", "id du", "id del"])
        .expect("static automaton")
});

static AT_SIGN: LazyLock<aho_corasick::AhoCorasick> =
    LazyLock::new(|| aho_corasick::AhoCorasick::new(["@"]).expect("static automaton"));

/// A message that is nothing but a number of Hub ID length: the member answering "Hub ID?".
static BARE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*#?(?P<id>\d{5,10})\s*$").expect("static regex"));

/// The latest Hub ID in `text`, if any.
pub fn hub_id(text: &str) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    let mut consider = |at: usize, id: &str| {
        if best.as_ref().is_none_or(|(pos, _)| at >= *pos) {
            best = Some((at, id.to_string()));
        }
    };
    // The number may be on the line after its label.
    for (offset, window) in super::text::windows(text, &HUB_TRIGGERS, 1) {
        for caps in HUB_LABEL.captures_iter(window) {
            // "account number 555-123-4567" or "portal 2024-05-01": a phone or a date, not an id.
            if caps.name("after").is_some() {
                continue;
            }
            if let Some(id) = caps.name("id") {
                consider(offset + id.start(), id.as_str());
            }
        }
        for caps in HUB_URL.captures_iter(window) {
            if let Some(id) = caps.name("id") {
                consider(offset + id.start(), id.as_str());
            }
        }
    }
    if let Some(id) = BARE_ID.captures(text).and_then(|c| c.name("id")) {
        consider(id.start(), id.as_str());
    }
    best.map(|(_, id)| id)
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+\-]{1,64}@(?P<domain>[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)*\.[a-z]{2,24})\b")
        .expect("static regex")
});

/// Domains that are never the member's own mailbox: the vendor's addresses (BCC, support).
const VENDOR_DOMAINS: &[&str] = &[
    "hubspot.com",
    "hubspotemail.net",
    "hs-inbox.com",
    "example.com",
];

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

/// The domain of the first email address the member mentions. The local part is never kept.
pub fn email_domain(text: &str) -> Option<String> {
    super::text::windows(text, &AT_SIGN, 0)
        .into_iter()
        .flat_map(|(_, window)| EMAIL.captures_iter(window))
        .filter_map(|c| c.name("domain"))
        .map(|d| d.as_str().to_ascii_lowercase())
        .find(|d| {
            !VENDOR_DOMAINS
                .iter()
                .any(|v| d == v || d.ends_with(&format!(".{v}")))
        })
}

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
            email_domain("I use John.Doe@Acme.CO.uk here").as_deref(),
            Some("acme.co.uk")
        );
        assert_eq!(
            email_domain("bcc to 123@bcc.hubspot.com, me@acme.com").as_deref(),
            Some("acme.com")
        );
        assert_eq!(email_domain("no address"), None);
    }

    #[test]
    fn local_parts_are_masked() {
        let masked = mask_email_local_parts("I'm ann.lee+crm@Acme.com, cc bob@mail.acme.co.uk");
        assert_eq!(masked, "I'm member@Acme.com, cc member@mail.acme.co.uk");
        assert_eq!(email_domain(&masked).as_deref(), Some("acme.com"));
    }

    #[test]
    fn screenshots_by_type_or_extension() {
        let a = |name: &str, ct: Option<&str>| Attachment {
            filename: name.into(),
            content_type: ct.map(Into::into),
            size: None,
        };
        assert!(is_screenshot(&a("x.bin", Some("image/png"))));
        assert!(is_screenshot(&a("Screen Shot.PNG", None)));
        assert!(!is_screenshot(&a("settings.pdf", Some("application/pdf"))));
        assert!(!is_screenshot(&a("settings.pdf", None)));
        assert!(!is_screenshot(&a("noext", None)));
    }
}
