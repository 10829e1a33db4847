//! Throughput of the whole triage core: a realistic 2 KB thread, and a 1 MB message.
//! Run: `cargo bench --bench core`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
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

criterion_group!(benches, bench, linear);
criterion_main!(benches);
