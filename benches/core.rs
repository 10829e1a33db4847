//! Throughput of the whole triage core: a realistic 2 KB thread, and a 1 MB message.
//! Run: `cargo bench --bench core`. `triage/`: a realistic 2 KB thread and a 1 MB message
//! repeating one paragraph; `varied/`: a 1 MB message whose lines never repeat.

use criterion::{black_box, criterion_group, BenchmarkId, Criterion, Throughput};
use imap_triage::core::{triage, Attachment, Message, Role, Thread};

fn realistic_thread() -> Thread {
    let member = |text: &str| Message {
        role: Role::Member,
        author_id: Some("1001".into()),
        text: text.into(),
        attachments: Vec::new(),
    };
    let mut first = member(
        "Hi all, I've been trying for two days to connect our shared sales inbox over IMAP and it keeps failing.\n\
         When I click connect I get: \"IMAP authentication error. Please check your username and password.\"\n\
         Settings I'm using (from our IT guy):\n\
         | Type | Server | Port | Security |\n|---|---|---|---|\n\
         | IMAP | mail.acme-widgets.com | 993 | SSL |\n| SMTP | mail.acme-widgets.com | 587 | STARTTLS |\n\
         My email is jane.doe@acme-widgets.com. We're on a cPanel host I think, not sure which software.\n\
         - [x] Manually input your email address and password\n\
         - [x] Manually input your server and port information\n\
         - [ ] Confirmed your email and password are correct\n\
         - [ ] Confirmed the ports and servers with your email provider\n",
    );
    first.attachments.push(Attachment {
        filename: "imap-settings.png".into(),
        content_type: Some("image/png".into()),
        size: Some(183_211),
        path: None,
        url: None,
    });
    let mut messages = vec![
        first,
        Message {
            role: Role::Moderator,
            author_id: Some("2001".into()),
            text: "Thanks Jane! Could you share your Hub ID (e.g. Hub ID 1234567) and confirm the password works in webmail?".into(),
            attachments: Vec::new(),
        },
        member(
            "Sure. Hub ID: 4821937 (from https://app.hubspot.com/contacts/4821937/objects/0-1/views/all/list).\n\
             I can log in to webmail with the same password, so the email and password are correct.\n\
             Our IT team confirmed the servers and ports are right. Is it maybe the firewall? They mentioned \
             something about allowlisting IP addresses but I don't know what to tell them. Thanks a lot for the help!",
        ),
    ];
    while messages.iter().map(|m| m.text.len()).sum::<usize>() < 2048 {
        messages.push(member(
            "Any update on this? Still getting the same error when I try again this morning.",
        ));
    }
    Thread { messages }
}

fn big_message() -> Thread {
    message_of(1 << 20)
}

/// One member message of at least `size` bytes, repeating a realistic paragraph.
fn message_of(size: usize) -> Thread {
    let paragraph = "We tried again today with the settings from the hosting panel, server mail.example-host.net port 993, \
        and the connection still fails after about thirty seconds. The IT team says the firewall is open. \
        Hub ID 4821937. Thanks for any help, this is blocking our whole sales team from logging emails.\n";
    let mut text = String::with_capacity(size + paragraph.len());
    while text.len() < size {
        text.push_str(paragraph);
    }
    Thread {
        messages: vec![Message {
            role: Role::Member,
            author_id: None,
            text,
            attachments: Vec::new(),
        }],
    }
}

/// A small deterministic generator (64-bit LCG, Knuth's constants): the same text on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn word(&mut self, min: usize, max: usize) -> String {
        let len = min + self.below(max - min + 1);
        (0..len)
            .map(|_| char::from(b'a' + self.below(26) as u8))
            .collect()
    }
}

/// One member message of at least `size` bytes that never repeats a line: varied hosts, ports,
/// numbers and wording (sentences drawn from lists, names and numbers made up), the kind of
/// text a long pasted thread or log holds. Unlike [`message_of`], nothing can profit from a
/// line seen before.
fn varied_message_of(size: usize) -> Thread {
    const OPENINGS: &[&str] = &[
        "We tried again today",
        "Still no luck this morning",
        "Our admin changed a few things",
        "I followed the guide step by step",
        "After the update last night",
        "Quick follow-up from the team",
        "Hello, me again",
        "So I checked everything twice",
    ];
    const SERVER_WORDS: &[&str] = &[
        "server",
        "incoming server",
        "outgoing server",
        "IMAP host",
        "SMTP host",
        "hostname",
        "mail server",
    ];
    const PREFIXES: &[&str] = &[
        "mail", "imap", "smtp", "mx", "secure", "webmail", "out", "in",
    ];
    const TLDS: &[&str] = &[
        "com", "net", "org", "de", "co.uk", "fr", "io", "com.au", "nl",
    ];
    const PORTS: &[&str] = &["993", "143", "465", "587", "25", "2525", "995", "110"];
    const MIDDLES: &[&str] = &[
        "and the connection still fails after about",
        "but the app says it cannot reach it after",
        "and it times out after roughly",
        "then nothing happens for",
        "and the spinner keeps going for",
    ];
    const CLOSINGS: &[&str] = &[
        "The IT team says the firewall is open.",
        "Webmail works fine with the same password.",
        "Our provider told us the settings are right.",
        "Could this be related to the certificate?",
        "Thanks for any help, this blocks our sales team.",
        "We use a shared mailbox for the whole office.",
        "Is there a log we could send you?",
        "Nobody changed the DNS records as far as I know.",
    ];
    const ERRORS: &[&str] = &[
        "Connection timed out",
        "Authentication failed",
        "Certificate verify failed",
        "Connection refused",
        "Too many connections",
        "Login failed: invalid credentials",
    ];
    let mut rng = Lcg(0x5EED_1234_ABCD_0042);
    let mut text = String::with_capacity(size + 512);
    let mut line = 0u64;
    while text.len() < size {
        line += 1;
        let host = format!(
            "{}.{}-{}.{}",
            rng.pick(PREFIXES),
            rng.word(3, 9),
            rng.word(2, 6),
            rng.pick(TLDS)
        );
        let port = if rng.below(4) == 0 {
            (1000 + rng.below(60_000)).to_string()
        } else {
            rng.pick(PORTS).to_string()
        };
        match rng.below(6) {
            0 => text.push_str(&format!(
                "{} ({} {}), {} {port}: \"{}\" at {:02}:{:02}. {}\n",
                rng.pick(OPENINGS),
                rng.word(4, 8),
                line,
                rng.pick(SERVER_WORDS),
                rng.pick(ERRORS),
                rng.below(24),
                rng.below(60),
                rng.pick(CLOSINGS)
            )),
            1 => text.push_str(&format!(
                "Hub ID {} for {}@{}.{} ; {} {} {} seconds. {}\n",
                1_000_000 + rng.below(9_000_000),
                rng.word(3, 8),
                rng.word(4, 10),
                rng.pick(TLDS),
                rng.pick(OPENINGS),
                rng.pick(MIDDLES),
                10 + rng.below(110),
                rng.pick(CLOSINGS)
            )),
            2 => text.push_str(&format!(
                "{} the {} is {host} and the port {port}, {} {} seconds. {}\n",
                rng.pick(OPENINGS),
                rng.pick(SERVER_WORDS),
                rng.pick(MIDDLES),
                5 + rng.below(200),
                rng.pick(CLOSINGS)
            )),
            3 => text.push_str(&format!(
                "{} {} {} {} {} {}, {} {}.\n",
                rng.pick(CLOSINGS),
                rng.word(2, 7),
                rng.word(3, 9),
                rng.word(1, 5),
                rng.word(4, 11),
                rng.below(100_000),
                rng.word(2, 8),
                rng.word(3, 6)
            )),
            4 => text.push_str(&format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {} [{}] {host}:{port} {}\n",
                2020 + rng.below(7),
                1 + rng.below(12),
                1 + rng.below(28),
                rng.below(24),
                rng.below(60),
                rng.below(60),
                rng.pick(&["INFO", "WARN", "ERROR", "DEBUG"]),
                rng.word(4, 10),
                rng.pick(ERRORS)
            )),
            _ => text.push_str(&format!(
                "{}: {host}:{port} ({}), {} {}.\n",
                rng.pick(SERVER_WORDS),
                rng.pick(&["SSL/TLS", "STARTTLS", "none", "TLS"]),
                rng.pick(MIDDLES),
                rng.pick(CLOSINGS)
            )),
        }
    }
    Thread {
        messages: vec![Message {
            role: Role::Member,
            author_id: None,
            text,
            attachments: Vec::new(),
        }],
    }
}

fn bench(c: &mut Criterion) {
    let rules = imap_triage::rules_dir::embedded().expect("shipped rules are valid");
    let mut group = c.benchmark_group("triage");
    for (name, thread) in [
        ("thread_2kb", realistic_thread()),
        ("message_1mb", big_message()),
    ] {
        let bytes: usize = thread.messages.iter().map(|m| m.text.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &thread, |b, thread| {
            b.iter(|| triage(black_box(&rules), black_box(thread)))
        });
    }
    group.finish();
}

/// The non-repeating 1 MB message, in a group of its own with few samples: the rules'
/// `RegexSet` falls back from its lazy DFA to the PikeVM on this text, and one call takes
/// seconds (BENCHMARKS.md, "The fifth cuts").
fn varied(c: &mut Criterion) {
    let rules = imap_triage::rules_dir::embedded().expect("shipped rules are valid");
    let mut group = c.benchmark_group("varied");
    group.sample_size(10);
    let thread = varied_message_of(1 << 20);
    let bytes: usize = thread.messages.iter().map(|m| m.text.len()).sum();
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_with_input(BenchmarkId::from_parameter("1mb"), &thread, |b, thread| {
        b.iter(|| triage(black_box(&rules), black_box(thread)))
    });
    group.finish();
}

/// The same generator at growing sizes: time per byte should stay flat (linear growth).
fn linear(c: &mut Criterion) {
    let rules = imap_triage::rules_dir::embedded().expect("shipped rules are valid");
    let mut group = c.benchmark_group("linear");
    group.sample_size(10);
    for kib in [64usize, 256, 1024, 4096] {
        let thread = message_of(kib << 10);
        let bytes: usize = thread.messages.iter().map(|m| m.text.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{kib}KiB")),
            &thread,
            |b, thread| b.iter(|| triage(black_box(&rules), black_box(thread))),
        );
    }
    group.finish();
}

criterion_group!(benches, bench, linear, varied);

/// `CORE_BENCH_WRITE=DIR cargo bench --bench core` writes the bench's threads to DIR as thread
/// files (`thread_2kb.json`, `message_1mb.json`, `varied_1mb.json`) for
/// `examples/triage-repeat` and callgrind, then exits without measuring.
fn main() {
    if let Some(dir) = std::env::var_os("CORE_BENCH_WRITE") {
        let dir = std::path::PathBuf::from(dir);
        for (name, thread) in [
            ("thread_2kb", realistic_thread()),
            ("message_1mb", big_message()),
            ("varied_1mb", varied_message_of(1 << 20)),
        ] {
            let json = serde_json::to_string(&thread).expect("a thread serialises");
            std::fs::write(dir.join(format!("{name}.json")), json)
                .expect("the thread file is written");
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
