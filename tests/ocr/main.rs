//! Reading screenshots: field accuracy over the rendered fixtures (`scripts/render-fixtures`),
//! hostile files, the `read-screenshot` and `triage --json` contracts, OCR switching itself
//! off when its language data is missing; `workers`: the worker processes. Needs Tesseract and
//! `tesseract-ocr-eng` (installed by `scripts/test`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use imap_triage::core::{ScreenshotKind, ScreenshotRead};
use imap_triage::ocr::{Ocr, OcrSettings};
use serde_json::Value;

mod workers;

/// The real worker binary (the tests run from target/.../deps, not beside it).
const WORKER: &str = env!("CARGO_BIN_EXE_imap-triage-ocr");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ocr")
}

fn rules() -> imap_triage::core::Rules {
    imap_triage::rules_dir::embedded().expect("shipped rules")
}

/// Reads every fixture file in-process with two workers, in `cases.json` order.
fn read_all(cases: &[Value]) -> Vec<ScreenshotRead> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ocr = Ocr::start(&OcrSettings {
        workers: 2,
        // Every fixture is queued at once: more than the fixtures, or the last are refused.
        queue: 256,
        // Every fixture waits in the queue from the start: on a loaded 2-core machine the last
        // ones started after 300 s (measured), which is no verdict on the reader.
        budget: std::time::Duration::from_secs(1200),
        worker: Some(WORKER.into()),
        ..OcrSettings::default()
    });
    assert!(ocr.is_on(), "OCR is off: {:?}", ocr.status().err());
    let rules = rules();
    runtime.block_on(async {
        let reads = cases.iter().map(|case| {
            let path = fixtures().join(case["file"].as_str().unwrap());
            let (ocr, rules) = (&ocr, &rules);
            async move { ocr.read_path(rules, &path).await.expect("OCR on") }
        });
        futures_util::future::join_all(reads).await
    })
}

/// Compares a read with the fixture's expected fields; returns (right, total, what was wrong).
fn score(read: &ScreenshotRead, expect: &Value) -> (usize, usize, Vec<String>) {
    let got = serde_json::to_value(read).unwrap();
    let (mut right, mut total, mut wrong) = (0, 0, Vec::new());
    let mut check = |name: String, want: &Value, have: &Value| {
        total += 1;
        if want == have {
            right += 1;
        } else {
            wrong.push(format!("{name}: want {want}, got {have}"));
        }
    };
    for (key, want) in expect.as_object().unwrap() {
        match key.as_str() {
            // The rules decide the code; the read carries the banner's text.
            "error_code" => check(
                "error".into(),
                &Value::Bool(!want.is_null()),
                &Value::Bool(!got["error_text"].is_null()),
            ),
            "imap" | "smtp" if want.is_object() => {
                for (field, w) in want.as_object().unwrap() {
                    check(format!("{key}.{field}"), w, &got[key][field]);
                }
            }
            _ => check(key.clone(), want, &got[key]),
        }
    }
    (right, total, wrong)
}

/// The mock-up style a fixture was rendered from: the one or two letters before its first `-`
/// ("c-clean.png" is style c, "za-clean.png" style za); unrelated images and hostile files are "-".
fn style(file: &str) -> &str {
    match file.split_once('-') {
        Some((s, _)) if s.len() <= 2 => s,
        _ => "-",
    }
}

#[test]
fn fixtures_are_read_field_by_field() {
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("cases.json")).unwrap())
            .unwrap();
    let reads = read_all(&cases);
    let (mut right, mut total) = (0, 0);
    // Per style: (right, total) over every fixture of that style, clean or degraded.
    let mut styles: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let (mut held_right, mut held_total) = (0, 0);
    let mut report = String::new();
    let mut failures = Vec::new();
    for (case, read) in cases.iter().zip(&reads) {
        let file = case["file"].as_str().unwrap();
        let (r, t, wrong) = score(read, &case["expect"]);
        report.push_str(&format!("{file}: {r}/{t} {wrong:?}\n"));
        let tally = styles.entry(style(file).to_string()).or_default();
        tally.0 += r;
        tally.1 += t;
        if read.kind == ScreenshotKind::Unreadable
            && read.reason.as_deref().is_none_or(|r| r.is_empty())
        {
            failures.push(format!("{file}: an unreadable image says why"));
        }
        if case["held_out"] == Value::Bool(true) {
            // Styles the reader was never tuned on: judged only by their share of fields.
            held_right += r;
            held_total += t;
        } else if case["degraded"] == Value::Bool(true) {
            right += r;
            total += t;
        } else if !wrong.is_empty() {
            // Clean renders, unrelated images and hostile files: every field exactly.
            failures.push(format!("{file}: {wrong:?}"));
        }
    }
    for (style, (r, t)) in &styles {
        report.push_str(&format!("style {style}: {r}/{t} fields right\n"));
    }
    report.push_str(&format!(
        "degraded: {right}/{total}; held out: {held_right}/{held_total}\n"
    ));
    eprintln!("{report}");
    assert!(failures.is_empty(), "{failures:#?}\n{report}");
    // Degraded renders (scaled, JPEG, rotated, blurred, cropped, photographed): most fields.
    assert!(
        right * 100 >= total * 85,
        "degraded fixtures: {right}/{total} fields right\n{report}"
    );
    // The bar for styles the project has not seen is 90%. Held out here: g to zb
    // (BENCHMARKS.md "## OCR"): h-k read 105/139 when first measured, l-o 97/132 (73%), p 18/33,
    // q-s 73/99 (74%), t 25/33, u-w 78/99 (79%), x 28/33, y-za 86/99 (87%), zb 15/33 (untuned);
    // every held-out first read together 525/700 (75%). After the general fixes (the latest: a
    // blurred page read again with a local threshold and deconvolved) g-za read 641/689 (93%)
    // and g-zb 656/722 (90.9%); blurred renders, t's text-less switches and zb most of the
    // rest. This floor, 90%, keeps that figure from sliding.
    assert!(
        held_right * 100 >= held_total * 90,
        "held-out styles: {held_right}/{held_total} fields right\n{report}"
    );
}

#[test]
fn a_visible_password_is_flagged_and_its_value_is_never_output() {
    let out = run(&[
        "read-screenshot",
        "--json",
        fixtures().join("a-password-visible.png").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Tr0ub4dor"), "{text}");
    assert!(!text.contains("ann.lee"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v[0]["password_visible"], Value::Bool(true));
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imap-triage"))
        .args(args)
        .output()
        .expect("run imap-triage")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn read_screenshot_exit_codes() {
    let f = |name: &str| fixtures().join(name).to_string_lossy().into_owned();
    let ok = run(&["read-screenshot", "--json", &f("banner-only.png")]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let v: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v[0]["kind"], "error_banner");

    let one_bad = run(&[
        "read-screenshot",
        &f("banner-only.png"),
        &f("huge-header.png"),
    ]);
    assert_eq!(one_bad.status.code(), Some(1));
    let text = String::from_utf8_lossy(&one_bad.stdout);
    assert!(text.contains("huge-header.png: unreadable"), "{text}");
    assert!(text.contains("30000x30000"), "{text}");

    assert_eq!(run(&["read-screenshot"]).status.code(), Some(2));
    assert_eq!(
        run(&["read-screenshot", "--bogus", &f("a-clean.png")])
            .status
            .code(),
        Some(2)
    );
    let missing = run(&["read-screenshot", "/nonexistent/shot.png"]);
    assert_eq!(missing.status.code(), Some(1));
}

/// A thread file next to a copy of a fixture, referring to it by a relative path.
fn thread_dir(text: &str, fixture: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("shots")).unwrap();
    std::fs::copy(fixtures().join(fixture), dir.path().join("shots/shot.png")).unwrap();
    let thread = serde_json::json!({"messages": [
        {"author": "member", "author_id": "7", "text": text,
         "attachments": [
            {"filename": "shot.png", "content_type": "image/png", "path": "shots/shot.png"},
            {"filename": "old.png", "content_type": "image/png"}]}
    ]});
    let file = dir.path().join("thread.json");
    std::fs::write(&file, thread.to_string()).unwrap();
    (dir, file)
}

#[test]
fn triage_json_merges_the_screenshot_and_keeps_every_key() {
    let (_dir, file) = thread_dir(
        "It won't connect. IMAP is imap.acme-mail.com port 143. Hub ID 4821937",
        "a-error.png",
    );
    let out = run(&["triage", "--json", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "hub_id",
        "imap",
        "smtp",
        "email_domain",
        "provider",
        "error",
        "screenshots",
        "checklist",
        "missing",
        "secrets",
        "suspicious_hosts",
        "mismatches",
        "escalate",
        "reply",
        "screenshot_reads",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    // One read, for the attachment with a path; the other counts as before.
    let reads = v["screenshot_reads"].as_array().unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!(
        (reads[0]["message"].clone(), reads[0]["attachment"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(reads[0]["kind"], "connection_screen");
    // The text's IMAP stays; SMTP, the domain and the error come from the screenshot.
    assert_eq!(v["imap"]["port"], 143);
    assert_eq!(v["smtp"]["host"], "smtp.acme-mail.com");
    assert_eq!(v["smtp"]["port"], 587);
    assert_eq!(v["email_domain"], "acme-mail.com");
    assert_eq!(v["error"]["code"], "timeout");
    let mismatch = v["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["source"] == "screenshot")
        .expect("a screenshot mismatch");
    assert_eq!(mismatch["service"], "imap");
    assert_eq!(mismatch["field"], "port");
    assert_eq!(mismatch["entered"], "143");
    assert_eq!(mismatch["expected"], "993");
    let reply = v["reply"].as_str().unwrap();
    assert!(
        reply.contains("You wrote IMAP port `143`, but your screenshot shows `993`"),
        "{reply}"
    );
    assert!(!v["missing"]
        .as_array()
        .unwrap()
        .contains(&Value::from("screenshot")));
}

#[test]
fn an_error_only_screenshot_keeps_the_screenshot_missing_and_says_what_it_lacks() {
    let (_dir, file) = thread_dir("help please", "banner-only.png");
    // Only the read attachment: drop the unread one.
    let mut thread: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    thread["messages"][0]["attachments"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    std::fs::write(&file, thread.to_string()).unwrap();
    let out = run(&["triage", "--json", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["missing"][0], "screenshot");
    assert_eq!(v["error"]["code"], "timeout");
    let reply = v["reply"].as_str().unwrap();
    assert!(
        reply.contains("Your screenshot shows the error, but not the server settings"),
        "{reply}"
    );
}

#[test]
fn missing_language_data_switches_ocr_off_and_triage_still_works() {
    let (_dir, file) = thread_dir("IMAP imap.acme-mail.com:993", "a-clean.png");
    let nowhere = tempfile::tempdir().unwrap();
    let off = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_imap-triage"))
            .args(args)
            .env("TESSDATA_PREFIX", nowhere.path())
            .output()
            .unwrap()
    };
    let out = off(&["triage", "--json", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("OCR is off"), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["screenshot_reads"], Value::Array(vec![]));
    assert_eq!(v["screenshots"], 2);

    let out = off(&[
        "read-screenshot",
        fixtures().join("a-clean.png").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("OCR is off"), "{}", stderr(&out));
}

fn console(dir: &Path, input: &str) -> String {
    let out = testkit::run_with_input(
        testkit::without_domain_lookups(&mut Command::new(env!("CARGO_BIN_EXE_imap-triage")))
            .arg("console")
            .current_dir(dir)
            .env_remove("IMAP_TRIAGE_DISCORD__TOKEN"),
        input.as_bytes(),
    );
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn console_attach_reads_the_screenshot_and_the_status_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let shot = fixtures().join("a-error.png");
    let out = console(
        dir.path(),
        &format!(
            "My inbox won't connect\n/attach {}\n/quit\n",
            shot.display()
        ),
    );
    let reading = out
        .find("Reading your screenshot")
        .unwrap_or_else(|| panic!("status while reading: {out}"));
    let result = out
        .rfind("imap.acme-mail.com:993")
        .unwrap_or_else(|| panic!("the read settings in the status: {out}"));
    assert!(reading < result, "{out}");
    assert!(out.contains("Connection timed out"), "{out}");
}

#[test]
fn console_a_visible_password_on_a_screenshot_is_shielded() {
    let dir = tempfile::tempdir().unwrap();
    let shot = fixtures().join("a-password-visible.png");
    let out = console(
        dir.path(),
        &format!("help\n/attach {}\n/quit\n", shot.display()),
    );
    assert!(out.contains("bot deletes message"), "{out}");
    assert!(out.contains("Change that password now"), "{out}");
    assert!(out.contains("password field covered"), "{out}");
    assert!(!out.contains("Tr0ub4dor"), "{out}");
}
