//! The checks behind the fuzz targets, shared with `tests/triage/fuzz_regressions.rs`, which
//! includes this file by path: every kept input is replayed through exactly these assertions on
//! every `cargo test`, with no fuzzing toolchain.
//!
//! Each check decodes raw bytes deterministically into a structured input (no `arbitrary`, so
//! that the main package's tests need no extra dependency), runs the code under test, and
//! panics when an invariant breaks.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use imap_triage::core::diagnose::{self, EndpointReport, PeerProtocol, Service, TlsMode};
use imap_triage::core::rules::{self, Rules};
use imap_triage::core::text::MESSAGE_LIMIT;
use imap_triage::core::{self as triage_core, Attachment, Message, Report, Role, Thread};
use imap_triage::probe::{
    EndpointRequest, Policy, ProbeJob, Prober, Progress, RateLimit, TlsSetup,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The shipped rules pack, as the binary embeds it.
const SHIPPED: [(&str, &str); rules::FILES.len()] = rules::SHIPPED;

fn shipped_rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| match rules::parse(&SHIPPED) {
        Ok(rules) => rules,
        Err(e) => panic!("the shipped rules do not load: {e:?}"),
    })
}

/// Checks that hold for every report, whatever the rules and the thread.
fn check_report(report: &Report, secret: Option<&str>) {
    let json = match serde_json::to_string(report) {
        Ok(json) => json,
        Err(e) => panic!("a report must always serialize: {e}"),
    };
    if let Some(secret) = secret {
        assert!(
            !json.contains(secret),
            "planted secret in the JSON report: {json}"
        );
        let text = report.to_text();
        assert!(
            !text.contains(secret),
            "planted secret in the text report: {text}"
        );
    }
    let reply = &report.reply;
    assert!(
        reply.chars().count() <= MESSAGE_LIMIT,
        "the reply does not fit one Discord message ({} characters)",
        reply.chars().count()
    );
    for mention in ["@everyone", "@here"] {
        assert!(
            !reply.contains(mention),
            "unneutralized {mention} in: {reply}"
        );
    }
    assert!(
        report.missing.windows(2).all(|w| w[0] < w[1]),
        "missing items out of order: {:?}",
        report.missing
    );
}

// ---------------------------------------------------------------------------------------------
// triage: arbitrary thread text with a planted credential
// ---------------------------------------------------------------------------------------------

/// Ways members post a credential. `{}` is the secret.
const LEAKS: [&str; 8] = [
    "password: {}",
    "my password is {}",
    "pwd={}",
    "user me@acme.com pass {}",
    "Password = \"{}\"",
    "PASSWORD - {}",
    "| Password | {} |",
    "the password I'm using is {}",
];

const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const SECRET_CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%&*+";
const DIGITS: &[u8] = b"23456789";
const FILENAMES: [&str; 4] = ["screenshot.png", "Error.JPG", "notes.pdf", "clip.mp4"];

/// A thread decoded from fuzz bytes, with a credential planted in one non-bot message.
#[derive(Debug)]
pub struct TriageCase {
    pub thread: Thread,
    pub secret: String,
    pub planted_in: usize,
}

fn pick(set: &[u8], byte: u8) -> char {
    set[byte as usize % set.len()] as char
}

/// Layout: 14 header bytes (flags, then the secret's 13 characters), then messages separated by
/// 0x1E, each starting with one byte of metadata (role, author, attachments) and then its text.
pub fn triage_case(data: &[u8]) -> Option<TriageCase> {
    if data.len() < 14 {
        return None;
    }
    let (head, rest) = data.split_at(14);
    let flags = head[0];
    let mut secret = String::new();
    secret.push(pick(LETTERS, head[1]));
    secret.extend(head[2..13].iter().map(|b| pick(SECRET_CHARS, *b)));
    secret.push(pick(DIGITS, head[13]));

    let mut messages: Vec<Message> = rest.split(|b| *b == 0x1e).take(8).map(message).collect();
    if messages.iter().any(|m| m.text.contains(&secret)) {
        // The secret is also elsewhere, outside a credential context: not a planted leak.
        return None;
    }
    let planted_in = (flags as usize >> 3) % messages.len();
    let target = &mut messages[planted_in];
    if target.role == Role::Bot {
        // The bot's own messages are not scanned (nor written by members).
        target.role = Role::Member;
    }
    let leak = LEAKS[flags as usize % LEAKS.len()].replace("{}", &secret);
    let mut lines: Vec<&str> = target.text.split('\n').collect();
    let at = (flags as usize >> 6) % (lines.len() + 1);
    lines.insert(at, &leak);
    target.text = lines.join("\n");
    Some(TriageCase {
        thread: Thread { messages },
        secret,
        planted_in,
    })
}

fn message(segment: &[u8]) -> Message {
    let (meta, text) = segment.split_first().map_or((0, &[][..]), |(m, t)| (*m, t));
    let role = match meta % 3 {
        0 => Role::Member,
        1 => Role::Moderator,
        _ => Role::Bot,
    };
    let author_id = match (meta >> 2) % 3 {
        0 => Some("1".to_string()),
        1 => Some("2".to_string()),
        _ => None,
    };
    let attachments = (0..(meta >> 4) % 3)
        .map(|i| Attachment {
            filename: FILENAMES[(usize::from(meta >> 6) + usize::from(i)) % FILENAMES.len()]
                .to_string(),
            content_type: None,
            size: None,
            path: None,
            url: None,
        })
        .collect();
    Message {
        role,
        author_id,
        text: String::from_utf8_lossy(text).into_owned(),
        attachments,
    }
}

/// The core never panics, never echoes the planted credential, and always finds it.
pub fn check_triage(data: &[u8]) {
    let Some(case) = triage_case(data) else {
        return;
    };
    let report = triage_core::triage(shipped_rules(), &case.thread);
    check_report(&report, Some(&case.secret));
    assert!(
        report.secrets.iter().any(|s| s.message == case.planted_in),
        "the credential planted in message {} was not found: {:?}",
        case.planted_in,
        case.thread.messages[case.planted_in].text
    );
}

// ---------------------------------------------------------------------------------------------
// rules: arbitrary TOML in place of one shipped file
// ---------------------------------------------------------------------------------------------

/// A secret the sample thread leaks, for the rules target.
const RULES_SECRET: &str = "Qx7!Lamp#Vortex93";

fn sample_threads() -> &'static [Thread] {
    static THREADS: OnceLock<Vec<Thread>> = OnceLock::new();
    THREADS.get_or_init(|| {
        let corpus = [
            include_str!("../../tests/corpus/004_gmail_auth_complete.json"),
            include_str!("../../tests/corpus/025_settings_across_messages.json"),
            include_str!("../../tests/corpus/079_secret_password_colon.json"),
            include_str!("../../tests/corpus/089_mentions_not_echoed.json"),
        ];
        let mut threads: Vec<Thread> = corpus
            .iter()
            .map(|text| {
                // Corpus files carry their expectations beside the thread.
                let value: serde_json::Value = match serde_json::from_str(text) {
                    Ok(value) => value,
                    Err(e) => panic!("corpus file: {e}"),
                };
                match serde_json::from_value(value["thread"].clone()) {
                    Ok(thread) => thread,
                    Err(e) => panic!("corpus thread: {e}"),
                }
            })
            .collect();
        threads.push(Thread {
            messages: vec![
                Message::member("Hub ID 4821937, IMAP settings incorrect, imap.acme.com:993"),
                Message::member(format!("password: {RULES_SECRET}\n@everyone help")),
            ],
        });
        threads
    })
}

/// Layout: one byte choosing the file to replace (`'0'` is the first of [`rules::FILES`]),
/// then that file's text.
pub fn check_rules(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(text);
    // Counted from '0', so that a kept input's digit names the same file when files are added.
    let replaced = usize::from(selector.wrapping_sub(b'0')) % SHIPPED.len();
    let mut files: Vec<(&str, &str)> = SHIPPED.to_vec();
    files[replaced].1 = &text;
    match rules::parse(&files) {
        Ok(rules) => {
            let secret = (!text.contains(RULES_SECRET)).then_some(RULES_SECRET);
            for thread in sample_threads() {
                check_report(&triage_core::triage(&rules, thread), secret);
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error without a problem in it");
            for e in &errors.0 {
                assert!(
                    rules::FILES.contains(&e.file.as_str()),
                    "an error naming no rules file: {e}"
                );
                if let Some(line) = e.line {
                    assert!(
                        line >= 1 && line <= files[replaced].1.lines().count().max(1) + 1
                            || e.file != files[replaced].0,
                        "line {line} is past the end of {}: {e}",
                        e.file
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// probe_reply: arbitrary server bytes, through the real prober, over loopback
// ---------------------------------------------------------------------------------------------

/// What the fake server says.
#[derive(Debug, Clone)]
pub struct ProbeCase {
    pub service: Service,
    pub mode: TlsMode,
    /// The first thing sent, before any command.
    pub greeting: Vec<u8>,
    /// One chunk per client command (or per short silence); `$T` becomes the tag of the last
    /// command read, so that tagged IMAP replies can match.
    pub chunks: Vec<Vec<u8>>,
}

/// Layout: one byte of flags (bit 0: SMTP; bits 1-2 = 3: implicit TLS, else STARTTLS; bit 3:
/// the first chunk is the greeting, else a well-formed one), then chunks separated by 0xFF.
pub fn probe_case(data: &[u8]) -> Option<ProbeCase> {
    let (&flags, rest) = data.split_first()?;
    let service = if flags & 1 == 1 {
        Service::Smtp
    } else {
        Service::Imap
    };
    let mode = if (flags >> 1) & 3 == 3 {
        TlsMode::Implicit
    } else {
        TlsMode::Starttls
    };
    let mut chunks: Vec<Vec<u8>> = rest
        .split(|b| *b == 0xff)
        .take(9)
        .map(<[u8]>::to_vec)
        .collect();
    let greeting = if flags & 8 == 8 {
        chunks.remove(0)
    } else {
        match service {
            Service::Imap => b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n".to_vec(),
            Service::Smtp => b"220 mx.example.com ESMTP ready\r\n".to_vec(),
        }
    };
    Some(ProbeCase {
        service,
        mode,
        greeting,
        chunks,
    })
}

fn replace_tag(chunk: &[u8], tag: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len());
    let mut i = 0;
    while i < chunk.len() {
        if chunk[i..].starts_with(b"$T") {
            out.extend_from_slice(tag);
            i += 2;
        } else {
            out.push(chunk[i]);
            i += 1;
        }
    }
    out
}

async fn serve(mut stream: TcpStream, case: Arc<ProbeCase>) {
    if stream.write_all(&case.greeting).await.is_err() {
        return;
    }
    let mut tag = b"p0".to_vec();
    let mut buf = vec![0u8; 8192];
    for chunk in &case.chunks {
        // Wait briefly for the client's next command; send the chunk anyway on silence.
        match tokio::time::timeout(Duration::from_millis(20), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => {
                let word: Vec<u8> = buf[..n]
                    .iter()
                    .copied()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .collect();
                if !word.is_empty() {
                    tag = word;
                }
            }
            Err(_) => {}
        }
        if stream.write_all(&replace_tag(chunk, &tag)).await.is_err() {
            return;
        }
    }
    let _ = stream.shutdown().await;
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    prober: Prober,
    port: u16,
    case: Arc<Mutex<Arc<ProbeCase>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn harness() -> &'static Mutex<Harness> {
    static HARNESS: OnceLock<Mutex<Harness>> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => panic!("tokio runtime: {e}"),
        };
        let listener = match runtime.block_on(TcpListener::bind("127.0.0.1:0")) {
            Ok(l) => l,
            Err(e) => panic!("bind 127.0.0.1:0: {e}"),
        };
        let port = match listener.local_addr() {
            Ok(addr) => addr.port(),
            Err(e) => panic!("local addr: {e}"),
        };
        let case = Arc::new(Mutex::new(Arc::new(ProbeCase {
            service: Service::Imap,
            mode: TlsMode::Starttls,
            greeting: Vec::new(),
            chunks: Vec::new(),
        })));
        let current = Arc::clone(&case);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let case = Arc::clone(&lock(&current));
                tokio::spawn(serve(stream, case));
            }
        });
        // Rate limits out of the way: every execution probes the same target.
        let unlimited = RateLimit {
            max: usize::MAX,
            window: Duration::from_millis(1),
        };
        let mut policy = Policy {
            allow_private: true,
            budget: Duration::from_secs(2),
            step_timeout: Duration::from_millis(300),
            stagger: Duration::from_millis(1),
            per_requester: unlimited,
            per_target: unlimited,
            ..Policy::default()
        };
        policy.allowed_ports.insert(port);
        let tls = match TlsSetup::new(&[]) {
            Ok(tls) => tls,
            Err(e) => panic!("TLS setup: {e}"),
        };
        Mutex::new(Harness {
            runtime,
            prober: Prober::new(policy, tls),
            port,
            case,
        })
    })
}

fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

/// The probe ends within its budget, never reports success from a server that cannot speak
/// TLS, keeps what the server said printable, and always yields a report.
pub fn check_probe_reply(data: &[u8]) {
    let Some(case) = probe_case(data) else {
        return;
    };
    // The pure classifier sees the same bytes first.
    let _ = PeerProtocol::sniff(&case.greeting).describe();
    let harness = lock(harness());
    *lock(&harness.case) = Arc::new(case.clone());
    let request = EndpointRequest {
        service: case.service,
        host: "127.0.0.1".to_string(),
        port: harness.port,
        mode: Some(case.mode),
    };
    let limit = harness.prober.policy().budget * 3;
    let observation = harness.runtime.block_on(async {
        tokio::time::timeout(
            limit,
            harness.prober.probe(ProbeJob {
                requester: "fuzz",
                request: &request,
                progress: &Progress::none(),
            }),
        )
        .await
    });
    let Ok(observation) = observation else {
        panic!("the probe did not end within three budgets: {case:?}");
    };
    assert!(
        observation.refused.is_none(),
        "refused: {:?}",
        observation.refused
    );
    assert!(
        observation.tls.is_none() && !observation.answered(),
        "a server that cannot speak TLS was judged encrypted: {observation:?}"
    );
    // Found by this target: the SMTP session once kept control characters from the server
    // (tests/fuzz_regressions/probe_reply/smtp-banner-control-chars).
    assert!(
        !has_control(&observation.banner),
        "control characters kept in the banner: {:?}",
        observation.banner
    );
    for cap in observation
        .capabilities
        .iter()
        .chain(&observation.capabilities_plain)
    {
        assert!(
            !has_control(cap),
            "control characters kept in a capability: {cap:?}"
        );
    }
    let report: EndpointReport = diagnose::report(&shipped_rules().findings, &observation);
    if let Err(e) = serde_json::to_string(&report) {
        panic!("an endpoint report must always serialize: {e}");
    }
    assert_ne!(report.verdict, diagnose::Verdict::Ok, "{report:?}");
}
