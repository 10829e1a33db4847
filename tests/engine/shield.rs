//! The secret shield, end to end (issue 9, "a shield with no gaps"): the eight credential forms
//! members really post, and the shield's other forms, go through the engine with a real sled
//! store, and no value reaches the raw store files on disk, `imap-triage log show` / `log
//! export`, the bot's messages, thread names, the mod log or the logs.

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use imap_triage::discord::render::thread_title;
use imap_triage::engine::chat::ThreadId;
use imap_triage::engine::{Actor, Command, Engine, Event};
use imap_triage::store::{EventKind, SledLog, TriageLog};
use testkit::chat::Recorder;

use crate::{message, MEMBER, MODERATOR};

/// One post: how it arrives (a forum title, or a text-channel post whose first usable line
/// names the thread), and the values that must not come out.
struct Leak {
    form: &'static str,
    /// A forum post's title; `None`: a text-channel post (the adapter names the thread).
    title: Option<&'static str>,
    text: &'static str,
    values: &'static [&'static str],
}

const LEAKS: &[Leak] = &[
    Leak {
        form: "first line `password: ...`",
        title: None,
        text: "password: Pw1-FirstLine!x\nGmail IMAP keeps failing with IMAP authentication error, Hub ID 4821937",
        values: &["Pw1-FirstLine!x"],
    },
    Leak {
        form: "app password in prose",
        title: Some("Gmail won't connect"),
        text: "I created an app password like the article says and pasted it: qwrt zxvb nmkl pfds, still IMAP authentication error",
        values: &["qwrt zxvb nmkl pfds"],
    },
    Leak {
        form: "app password in Spanish",
        title: Some("No conecta Gmail"),
        text: "Hola, puse la contraseña de aplicación hjkl wert zcvb nmqp y sigue diciendo error de autenticación",
        values: &["hjkl wert zcvb nmqp"],
    },
    Leak {
        form: "--password flag",
        title: None,
        text: "doveadm works for me:\ndoveadm auth test bob@acme.com --password Fl4g-Secret-77\nbut the inbox connection says IMAP authentication error",
        values: &["Fl4g-Secret-77"],
    },
    Leak {
        form: "URL userinfo",
        title: Some("SMTP settings incorrect"),
        text: "our app uses MAIL_URL=smtps://bob%40acme.com:Url-Secret-88@smtp.acme.com:465 and that works",
        values: &["Url-Secret-88"],
    },
    Leak {
        form: "base64 AUTH PLAIN",
        title: Some("535 on SMTP"),
        text: "Log:\nC: EHLO me\nS: 250-AUTH PLAIN LOGIN\nC: AUTH PLAIN AGJvYkBhY21lLmNvbQBQbGFpbi1TZWNyZXQtOTk=\nS: 535 5.7.8 Authentication failed",
        values: &["AGJvYkBhY21lLmNvbQBQbGFpbi1TZWNyZXQtOTk=", "Plain-Secret-99"],
    },
    Leak {
        form: "quoted password in a rant",
        title: Some("THIS IS RIDICULOUS"),
        text: "WHY?! I've typed \"R4nt!Secret#12\" like fifty times and Gmail STILL says the password is wrong. Nothing works!!!",
        values: &["R4nt!Secret#12"],
    },
    Leak {
        form: "password in a forum post title",
        title: Some("IMAP fails - password: Ttl!Secret55"),
        text: "Outlook IMAP authentication error since yesterday, Hub ID 4821937",
        values: &["Ttl!Secret55"],
    },
    // The other forms of issue 9's "shield with no gaps", in the shapes members and logs use.
    Leak {
        form: "German label `Passwort:`",
        title: Some("IMAP geht nicht"),
        text: "Server imap.web.de Port 993, Passwort: Wb!Geheim-204, trotzdem Authentifizierung fehlgeschlagen",
        values: &["Wb!Geheim-204"],
    },
    Leak {
        form: "Apple app password",
        title: Some("iCloud mail"),
        text: "I made the app-specific password abcd-efgh-ijkm-nopq for iCloud and it still fails on imap.mail.me.com",
        values: &["abcd-efgh-ijkm-nopq"],
    },
    Leak {
        form: "`-p X` flag",
        title: None,
        text: "curl works here:\ncurl -v imaps://imap.acme.com -u bob@acme.com -p Dash-P-Secret31\nso why does the inbox fail?",
        values: &["Dash-P-Secret31"],
    },
    Leak {
        form: "LOGIN transcript line",
        title: Some("IMAP NO response"),
        text: "C: a1 LOGIN bob@acme.com \"Tr4nscript-Pw\"\nS: a1 NO [AUTHENTICATIONFAILED] Authentication failed.",
        values: &["Tr4nscript-Pw"],
    },
    Leak {
        form: "env and JSON config lines",
        title: Some("Config for SMTP"),
        text: "MAIL_HOST=smtp.acme.com\nMAIL_PASSWORD=Env-Secret-415\n{\"imap\": {\"host\": \"imap.acme.com\", \"password\": \"Json-Secret-416\"}}",
        values: &["Env-Secret-415", "Json-Secret-416"],
    },
    Leak {
        form: "bearer token",
        title: Some("XOAUTH2 fails"),
        text: "the request sends Authorization: Bearer ya29.a0AfH6SMBx-Tok3nValue_9876543210abcdef and Outlook answers 535",
        values: &["ya29.a0AfH6SMBx-Tok3nValue_9876543210abcdef"],
    },
];

/// Log lines, as the bot's subscriber would write them.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn cli(dir: &Path, args: &[&str]) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_imap-triage"));
    let out = testkit::without_domain_lookups(&mut command)
        .args(args)
        .current_dir(dir)
        .env_remove("IMAP_TRIAGE_CONFIG")
        .output()
        .expect("run imap-triage");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    memchr::memmem::find(haystack, needle.as_bytes()).is_some()
}

#[tokio::test]
async fn every_credential_form_leaves_no_trace() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("data");
    let chat = Arc::new(Recorder::default().may_rename());
    let mut names = Vec::new();
    {
        let store = Arc::new(SledLog::open(&store_dir).unwrap());
        let rules = imap_triage::rules_dir::embedded().unwrap();
        let engine = Engine::new(rules, store.clone(), chat.clone(), None);
        for (i, leak) in LEAKS.iter().enumerate() {
            let thread = ThreadId(1_000 + i as u64);
            // A text-channel post is named by the adapter from its text; a forum post by the
            // member.
            let title = match leak.title {
                Some(title) => title.to_string(),
                None => thread_title(leak.text),
            };
            names.push(title.clone());
            engine
                .handle(Event::NewThread {
                    thread,
                    title,
                    starter: message(thread.get(), MEMBER, leak.text),
                })
                .await
                .unwrap();
            // A moderator escalates, so that every case reaches the mod log.
            engine
                .handle(Event::Command {
                    thread,
                    actor: Actor {
                        user: MODERATOR,
                        is_moderator: true,
                        name: None,
                    },
                    key: 50_000 + thread.get(),
                    command: Command::Escalate,
                })
                .await
                .unwrap();
            let events = store.events(thread).unwrap();
            assert!(
                events.iter().any(|e| matches!(
                    e.kind,
                    EventKind::SecretRedacted { .. } | EventKind::TitleRedacted { .. }
                )),
                "{}: not found at all",
                leak.form
            );
        }
        store.flush().unwrap();
    }

    // The forum title was renamed to its redacted form; the text-channel names hold no value.
    let renames = chat.renames();
    assert_eq!(
        renames,
        [(
            ThreadId(1_007),
            "IMAP fails - password: [redacted]".to_string()
        )]
    );
    assert_eq!(
        names[0],
        "Gmail IMAP keeps failing with IMAP authentication error, Hub ID 4821937"
    );
    // Every post holding a value in its text was deleted.
    let posts_holding_a_value = LEAKS
        .iter()
        .filter(|leak| leak.values.iter().any(|value| leak.text.contains(value)))
        .count();
    assert_eq!(chat.deleted().len(), posts_holding_a_value);

    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    for path in files_under(&store_dir) {
        outputs.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    // The raw files hold the stored text as written (the search below means something).
    assert!(
        outputs
            .iter()
            .any(|(_, b)| contains(b, "IMAP fails - password: [redacted]")),
        "the store's files don't hold the stored text in the clear"
    );
    for (i, _) in LEAKS.iter().enumerate() {
        let thread = (1_000 + i).to_string();
        outputs.push((
            format!("log show {thread}"),
            cli(dir.path(), &["log", "show", &thread]).into_bytes(),
        ));
    }
    for format in ["jsonl", "csv"] {
        outputs.push((
            format!("log export {format}"),
            cli(dir.path(), &["log", "export", "--format", format]).into_bytes(),
        ));
    }
    outputs.push((
        "log list".into(),
        cli(dir.path(), &["log", "list"]).into_bytes(),
    ));
    outputs.push((
        "bot messages and mod log".into(),
        chat.texts().join("\n").into_bytes(),
    ));
    // A thread's public name at the end: the bot's rename, else the name it was opened with
    // (the adapter's for a text-channel post, the member's for a forum post).
    let final_names: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            renames
                .iter()
                .find(|(t, _)| *t == ThreadId(1_000 + i as u64))
                .map_or(name.clone(), |(_, n)| n.clone())
        })
        .collect();
    outputs.push(("thread names".into(), final_names.join("\n").into_bytes()));
    outputs.push(("renames".into(), format!("{renames:?}").into_bytes()));
    outputs.push(("logs".into(), logs.0.lock().unwrap().clone()));

    let show = String::from_utf8_lossy(
        &outputs
            .iter()
            .find(|(n, _)| n == "log show 1007")
            .unwrap()
            .1,
    )
    .into_owned();
    assert!(
        show.contains("title:        IMAP fails - password: [redacted]"),
        "{show}"
    );
    let texts = chat.texts().join("\n");
    assert!(
        texts.contains("title: \"IMAP fails - password: [redacted]\""),
        "{texts}"
    );
    assert!(texts.contains("I renamed the post to hide it"), "{texts}");

    let mut leaks = Vec::new();
    for leak in LEAKS {
        for value in leak.values {
            for (name, bytes) in &outputs {
                if contains(bytes, value) {
                    leaks.push(format!("{} ({value}) in {name}", leak.form));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "values leaked:\n{}", leaks.join("\n"));
    let _ = std::io::stderr().flush();
}

/// Without Manage Threads the bot can't rename the post: it asks the member to.
#[tokio::test]
async fn a_title_holding_a_password_is_retitled_by_the_member_when_the_bot_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledLog::open(&dir.path().join("data")).unwrap());
    let chat = Arc::new(Recorder::default());
    let rules = imap_triage::rules_dir::embedded().unwrap();
    let engine = Engine::new(rules, store.clone(), chat.clone(), None);
    engine
        .handle(Event::NewThread {
            thread: ThreadId(3),
            title: "pwd=Ttl!Secret55 not working".into(),
            starter: message(3, MEMBER, "IMAP authentication error"),
        })
        .await
        .unwrap();
    let ticket = store.ticket(ThreadId(3)).unwrap().unwrap();
    assert_eq!(ticket.title, "pwd=[redacted] not working");
    let texts = chat.texts().join("\n");
    assert!(
        texts.contains("Please edit the post's title now"),
        "{texts}"
    );
    assert!(!texts.contains("Ttl!Secret55"));
    // The starter message itself held nothing: it stays.
    assert!(chat.deleted().is_empty());
    let events = store.events(ThreadId(3)).unwrap();
    assert!(events.iter().any(|e| e.kind
        == EventKind::TitleRedacted {
            kind: "password".into(),
            renamed: false
        }));
}
