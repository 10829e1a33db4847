//! `imap-triage health`, run as the container runs it: the real binary, configured by a file or
//! by `IMAP_TRIAGE_...` variables alone. Exit 0 when healthy, else 1 and one line on stderr.

use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "health-test-token-value";

/// Everything `run` needs from `[discord]`, as the container would pass it.
const DISCORD_ENV: [(&str, &str); 4] = [
    ("IMAP_TRIAGE_DISCORD__TOKEN", TOKEN),
    ("IMAP_TRIAGE_DISCORD__FORUM_CHANNELS", "[111]"),
    ("IMAP_TRIAGE_DISCORD__MODERATOR_ROLE", "222"),
    ("IMAP_TRIAGE_DISCORD__MOD_LOG_CHANNEL", "333"),
];

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `imap-triage health ARGS` with only the given settings variables (none inherited).
fn health(args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imap-triage"));
    cmd.arg("health").args(args);
    for (var, _) in std::env::vars() {
        if var.starts_with("IMAP_TRIAGE_") {
            cmd.env_remove(var);
        }
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run imap-triage health");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn with_store<'a>(store: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env: Vec<(&str, &str)> = DISCORD_ENV.to_vec();
    env.push(("IMAP_TRIAGE_STORE__PATH", store));
    env.extend_from_slice(extra);
    env
}

/// Unhealthy: exit 1, one line on stderr that starts with `prefix`, the token never shown.
fn assert_unhealthy(outcome: &Outcome, prefix: &str) {
    assert_eq!(
        outcome.code, 1,
        "stdout: {} stderr: {}",
        outcome.stdout, outcome.stderr
    );
    let line = outcome.stderr.trim_end();
    assert!(!line.contains('\n'), "more than one line: {line:?}");
    assert!(
        line.starts_with(&format!("imap-triage health: {prefix}")),
        "expected {prefix:?}, got {line:?}"
    );
    assert!(!outcome.stderr.contains(TOKEN) && !outcome.stdout.contains(TOKEN));
}

fn shipped_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

#[test]
fn healthy_from_environment_alone() {
    let store = tempfile::tempdir().unwrap();
    let path = store.path().to_str().unwrap();
    let out = health(&[], &with_store(path, &[]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("imap-triage health: ok"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("rules: embedded"), "{}", out.stdout);
    assert!(out.stdout.contains(path), "{}", out.stdout);
    // The check leaves nothing behind in the store directory.
    assert_eq!(std::fs::read_dir(store.path()).unwrap().count(), 0);
    // The OCR worker beside the binary started its engine.
    assert!(out.stdout.contains("OCR on"), "{}", out.stdout);
}

#[test]
fn a_missing_ocr_worker_is_ocr_off_and_still_healthy() {
    let store = tempfile::tempdir().unwrap();
    let path = store.path().to_str().unwrap();
    let missing = store.path().join("no-such-worker");
    let missing = missing.to_str().unwrap();
    let out = health(
        &[],
        &with_store(path, &[("IMAP_TRIAGE_OCR__WORKER", missing)]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("OCR off (the OCR worker"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("is missing"), "{}", out.stdout);
}

#[test]
fn healthy_from_a_file_with_a_rules_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let config = dir.path().join("imap-triage.toml");
    std::fs::write(
        &config,
        format!(
            "[discord]\ntoken = \"{TOKEN}\"\nforum_channels = [1]\nmoderator_role = 2\nmod_log_channel = 3\n\
             [store]\npath = {:?}\n[rules]\npath = {:?}\n",
            store.display().to_string(),
            shipped_rules().display().to_string()
        ),
    )
    .unwrap();
    let out = health(&["--config", config.to_str().unwrap()], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains(&format!("rules: {}", shipped_rules().display())),
        "{}",
        out.stdout
    );
}

#[test]
fn a_missing_store_directory_is_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-mounted");
    let out = health(&[], &with_store(missing.to_str().unwrap(), &[]));
    assert_unhealthy(&out, "store:");
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    assert!(!missing.exists(), "health must not create the store");
}

#[test]
fn a_store_path_that_is_a_file_is_unhealthy() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = health(&[], &with_store(file.path().to_str().unwrap(), &[]));
    assert_unhealthy(&out, "store:");
    assert!(out.stderr.contains("is not a directory"), "{}", out.stderr);
}

#[test]
fn an_unwritable_store_is_unhealthy() {
    // A directory no process can create files in, root included (tests run as root in CI, where
    // permission bits would not stop the write).
    let out = health(&[], &with_store("/proc", &[]));
    assert_unhealthy(&out, "store: /proc is not writable");
}

#[test]
fn a_broken_rules_directory_is_unhealthy_and_named() {
    let dir = tempfile::tempdir().unwrap();
    for name in imap_triage::core::rules::FILES {
        std::fs::copy(shipped_rules().join(name), dir.path().join(name)).unwrap();
    }
    let errors = dir.path().join("errors.toml");
    let text = std::fs::read_to_string(&errors).unwrap();
    std::fs::write(&errors, format!("{text}\n[[error]]\nbogus_key = 1\n")).unwrap();
    let store = tempfile::tempdir().unwrap();
    let out = health(
        &[],
        &with_store(
            store.path().to_str().unwrap(),
            &[("IMAP_TRIAGE_RULES__PATH", dir.path().to_str().unwrap())],
        ),
    );
    assert_unhealthy(&out, "rules:");
    assert!(out.stderr.contains("errors.toml"), "{}", out.stderr);

    let out = health(
        &[],
        &with_store(
            store.path().to_str().unwrap(),
            &[("IMAP_TRIAGE_RULES__PATH", "/nonexistent/rules")],
        ),
    );
    assert_unhealthy(&out, "rules: /nonexistent/rules");
}

#[test]
fn bad_settings_are_unhealthy_with_exit_1_not_2() {
    let store = tempfile::tempdir().unwrap();
    let path = store.path().to_str().unwrap();
    let out = health(&[], &with_store(path, &[("IMAP_TRIAGE_STORE__PTAH", "x")]));
    assert_unhealthy(
        &out,
        "config: store.ptah (from IMAP_TRIAGE_STORE__PTAH): unknown key",
    );

    let out = health(&["--config", "/nonexistent/imap-triage.toml"], &[]);
    assert_unhealthy(&out, "config: cannot read /nonexistent/imap-triage.toml");

    let out = health(
        &[],
        &with_store(
            path,
            &[("IMAP_TRIAGE_PROBE__CA_FILES", "[\"/nonexistent/ca.pem\"]")],
        ),
    );
    assert_unhealthy(&out, "config: probe.ca_files:");
}

#[test]
fn settings_run_needs_are_required() {
    let store = tempfile::tempdir().unwrap();
    let env = [
        ("IMAP_TRIAGE_STORE__PATH", store.path().to_str().unwrap()),
        ("IMAP_TRIAGE_DISCORD__TOKEN", TOKEN),
    ];
    let out = health(&[], &env);
    assert_unhealthy(&out, "config: discord.forum_channels: missing");
}

/// `IMAP_TRIAGE_METRICS__LISTEN` pointing at the real metrics server (`GET /health`), served on
/// a runtime of its own while the health check runs as a separate process.
#[test]
fn a_serving_metrics_endpoint_is_asked_and_healthy() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(imap_triage::metrics::serve(
        listener,
        std::future::pending::<()>(),
    ));
    let store = tempfile::tempdir().unwrap();
    // A wildcard listen address is asked on loopback.
    let listen = format!("0.0.0.0:{port}");
    let out = health(
        &[],
        &with_store(
            store.path().to_str().unwrap(),
            &[("IMAP_TRIAGE_METRICS__LISTEN", listen.as_str())],
        ),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_metrics_endpoint_that_does_not_answer_is_unhealthy() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{port}");
    let out = health(
        &[],
        &with_store(
            store.path().to_str().unwrap(),
            &[("IMAP_TRIAGE_METRICS__LISTEN", listen.as_str())],
        ),
    );
    assert_unhealthy(&out, &format!("metrics endpoint {listen}:"));
}

#[test]
fn a_metrics_endpoint_answering_an_error_is_unhealthy() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut socket, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf);
        let _ = socket.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n");
    });
    let store = tempfile::tempdir().unwrap();
    let out = health(
        &[],
        &with_store(
            store.path().to_str().unwrap(),
            &[("IMAP_TRIAGE_METRICS__LISTEN", listen.as_str())],
        ),
    );
    server.join().unwrap();
    assert_unhealthy(
        &out,
        &format!("metrics endpoint {listen}: GET /health answered"),
    );
    assert!(out.stderr.contains("503"), "{}", out.stderr);
}
