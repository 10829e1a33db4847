//! The moderators' dashboard, from the real binary:
//! - `http`: plain HTTP (reqwest): 401 without a session, single-use and forged links, cookie
//!   flags, CSRF refusal, filters and export, actions refused by the standalone dashboard,
//!   logout, and no credential on any page;
//! - `browser`: Chromium through chromedriver (fantoccini): log in through the link, filter,
//!   open a case, resolve it from the console's dashboard and see the timeline change,
//!   download the CSV, refused links, no page without a session; screenshots saved under
//!   `target/browser-artifacts/`.

mod browser;
mod http;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The member's posts the stores are filled with: two cases with different Hub IDs, errors and
/// providers; the first holds a password, which no page may show.
pub const GMAIL_CASE: &str = "Outlook says authentication failed for imap.gmail.com port 993. Hub ID 4821937. password: Hunter2Hunter2\n";
pub const YAHOO_CASE: &str = "SMTP settings incorrect, my email is bo@yahoo.com, Hub ID 5550123\n";
pub const SECRET: &str = "Hunter2Hunter2";

pub fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_imap-triage"));
    testkit::without_domain_lookups(&mut command);
    command.env("IMAP_TRIAGE_OCR__ENABLED", "false");
    command
}

/// Fills the store in `dir` (the default `./data`) with one console session on `thread`.
pub fn fill(dir: &Path, thread: &str, input: &str) {
    let out = testkit::run_with_input(
        bin().args(["console", "--thread", thread]).current_dir(dir),
        input.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A child process killed when dropped, with its stdout lines arriving on a channel.
pub struct Running {
    child: Child,
    pub stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Running {
    pub fn start(command: &mut Command) -> Running {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start imap-triage");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Running {
            child,
            stdin,
            lines,
        }
    }

    /// The first line printed from now on that contains `Dashboard: `, as its URL.
    pub fn dashboard_link(&mut self) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .expect("the process printed a dashboard link in time");
            if let Some((_, url)) = line.split_once("Dashboard: ") {
                return url.trim().to_string();
            }
        }
    }

    /// Types a line into the console.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to the console");
        stdin.flush().expect("flush");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The standalone dashboard over the store in `dir`, on a free loopback port; its login link.
pub fn standalone(dir: &Path, config: Option<&Path>) -> (Running, String) {
    standalone_on(dir, config, "127.0.0.1:0")
}

pub fn standalone_on(dir: &Path, config: Option<&Path>, listen: &str) -> (Running, String) {
    let mut command = bin();
    command
        .args(["dashboard", "--listen", listen])
        .current_dir(dir);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let mut running = Running::start(&mut command);
    let link = running.dashboard_link();
    (running, link)
}

/// `http://127.0.0.1:PORT` of a login link.
pub fn base_of(link: &str) -> String {
    link.split("/login").next().unwrap_or_default().to_string()
}
