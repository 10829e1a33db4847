//! `imap-triage probe`, end to end: the argument contract, the JSON contract and the exit codes.

use std::process::{Command, Output};

use serde_json::Value;

use testkit::probe::{servers, CountingListener, Servers};

fn imap_triage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imap-triage"))
        .arg("probe")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run imap-triage: {e}"))
}

/// `--allow-port` for each real server port, so the CLI can reach them.
fn port_args(s: &Servers) -> Vec<String> {
    [s.imap_plain, s.imap_tls, s.smtp_starttls, s.smtp_tls]
        .iter()
        .flat_map(|p| ["--allow-port".to_string(), p.to_string()])
        .collect()
}

/// The arguments that probe `endpoints` on the local servers: loopback and their ports allowed,
/// their CA trusted when `trust_ca`.
fn local_args(s: &Servers, trust_ca: bool, endpoints: &[String]) -> Vec<String> {
    let mut args = vec!["--allow-private".to_string()];
    if trust_ca {
        args.extend(["--ca".to_string(), s.ca.display().to_string()]);
    }
    args.extend_from_slice(endpoints);
    args.extend(port_args(s));
    args
}

fn run_json(extra: &[String]) -> (i32, Value) {
    let args: Vec<&str> = extra.iter().map(String::as_str).collect();
    let out = imap_triage(&[&["--json"], args.as_slice()].concat());
    let text = String::from_utf8_lossy(&out.stdout);
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

/// Checks one endpoint object against the contract in the issue.
fn assert_endpoint_shape(e: &Value) {
    assert_eq!(
        keys(e),
        [
            "banner",
            "capabilities",
            "findings",
            "host",
            "port",
            "refused_reason",
            "stages",
            "tls",
            "verdict"
        ]
    );
    assert!(e["host"].is_string() && e["port"].is_u64() && e["banner"].is_string());
    assert!(["ok", "failed", "refused"].contains(&e["verdict"].as_str().unwrap_or_default()));
    let reason = &e["refused_reason"];
    assert!(
        reason.is_null()
            || [
                "private_address",
                "port_not_allowed",
                "invalid_host",
                "rate_limited"
            ]
            .contains(&reason.as_str().unwrap_or_default())
    );
    for stage in e["stages"].as_array().unwrap_or(&Vec::new()) {
        assert_eq!(keys(stage), ["detail", "ms", "name", "ok"]);
        assert!(
            ["dns", "tcp", "tls", "greeting", "capabilities", "starttls"]
                .contains(&stage["name"].as_str().unwrap_or_default())
        );
        assert!(stage["ok"].is_boolean() && stage["ms"].is_f64() && stage["detail"].is_string());
    }
    if !e["tls"].is_null() {
        assert_eq!(keys(&e["tls"]), ["cert", "cipher", "version"]);
        assert_eq!(
            keys(&e["tls"]["cert"]),
            [
                "issuer",
                "name_matches",
                "not_after",
                "sans",
                "subject",
                "trusted"
            ]
        );
    }
    assert!(e["capabilities"]
        .as_array()
        .is_some_and(|c| c.iter().all(Value::is_string)));
    let findings = e["findings"].as_array().cloned().unwrap_or_default();
    assert!(!findings.is_empty());
    for f in findings {
        assert_eq!(keys(&f), ["code", "message", "severity"]);
        assert!(["info", "warning", "error"].contains(&f["severity"].as_str().unwrap_or_default()));
    }
}

fn codes(e: &Value) -> Vec<String> {
    e["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn both_endpoints_ok_print_the_contract_and_exit_zero() {
    let s = servers();
    let args = local_args(
        s,
        true,
        &[
            "--imap".to_string(),
            format!("127.0.0.1:{}", s.imap_plain),
            "--imap-tls".to_string(),
            "starttls".to_string(),
            "--smtp".to_string(),
            format!("localhost:{}", s.smtp_tls),
            "--smtp-tls".to_string(),
            "implicit".to_string(),
        ],
    );
    let (code, value) = run_json(&args);
    assert_eq!(keys(&value), ["imap", "smtp"]);
    assert_endpoint_shape(&value["imap"]);
    assert_endpoint_shape(&value["smtp"]);
    assert_eq!(value["imap"]["verdict"], "ok", "{value:#}");
    assert_eq!(value["smtp"]["verdict"], "ok", "{value:#}");
    assert_eq!(value["imap"]["port"], u64::from(s.imap_plain));
    assert_eq!(code, 0);
}

#[test]
fn one_endpoint_leaves_the_other_null() {
    let s = servers();
    let args = local_args(
        s,
        true,
        &[
            "--smtp".to_string(),
            format!("127.0.0.1:{}", s.smtp_starttls),
            "--smtp-tls".to_string(),
            "starttls".to_string(),
        ],
    );
    let (code, value) = run_json(&args);
    assert!(value["imap"].is_null());
    assert_endpoint_shape(&value["smtp"]);
    assert_eq!(code, 0, "{value:#}");
}

#[test]
fn an_untrusted_certificate_without_ca_fails_with_exit_one() {
    let s = servers();
    let args = local_args(
        s,
        false,
        &[
            "--imap".to_string(),
            format!("127.0.0.1:{}", s.imap_tls),
            "--imap-tls".to_string(),
            "implicit".to_string(),
        ],
    );
    let (code, value) = run_json(&args);
    assert_endpoint_shape(&value["imap"]);
    assert_eq!(value["imap"]["verdict"], "failed");
    assert_eq!(codes(&value["imap"]), ["cert_untrusted"]);
    assert_eq!(value["imap"]["tls"]["cert"]["trusted"], false);
    assert_eq!(value["imap"]["tls"]["cert"]["name_matches"], true);
    assert_eq!(code, 1);
}

#[test]
fn a_private_target_is_refused_with_exit_one_and_no_connection() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let listener = runtime.block_on(CountingListener::start());
    let port = listener.port.to_string();
    // The listener must keep accepting while the CLI runs, so the runtime runs on a thread.
    let (code, value) = std::thread::scope(|scope| {
        let cli = scope.spawn(|| {
            run_json(&[
                "--imap".into(),
                format!("127.0.0.1:{port}"),
                "--allow-port".into(),
                port.clone(),
            ])
        });
        cli.join()
            .unwrap_or_else(|_| panic!("the CLI thread panicked"))
    });
    assert_endpoint_shape(&value["imap"]);
    assert_eq!(value["imap"]["verdict"], "refused");
    assert_eq!(value["imap"]["refused_reason"], "private_address");
    assert_eq!(codes(&value["imap"]), ["refused_by_policy"]);
    assert_eq!(code, 1);
    let (code, value) = run_json(&["--imap".into(), "2130706433:993".into()]);
    assert_eq!(value["imap"]["refused_reason"], "invalid_host");
    assert_eq!(code, 1);
    let (code, value) = run_json(&["--smtp".into(), "mail.example.com:8080".into()]);
    assert_eq!(value["smtp"]["refused_reason"], "port_not_allowed");
    assert_eq!(code, 1);
    assert_eq!(runtime.block_on(listener.attempts()), 0);
}

#[test]
fn bad_arguments_exit_two() {
    let cases: [&[&str]; 6] = [
        &[],
        &["--json"],
        &["--imap", "mail.example.com"],
        &["--imap", "mail.example.com:99999"],
        &["--imap", "mail.example.com:993", "--imap-tls", "sometimes"],
        &[
            "--imap",
            "mail.example.com:993",
            "--ca",
            "/nonexistent/ca.pem",
        ],
    ];
    for args in cases {
        let out = imap_triage(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?} printed a report");
    }
}

#[test]
fn the_readable_report_names_stages_and_findings() {
    let s = servers();
    let args = local_args(
        s,
        true,
        &[
            "--imap".to_string(),
            format!("127.0.0.2:{}", s.imap_tls),
            "--imap-tls".to_string(),
            "implicit".to_string(),
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = imap_triage(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.starts_with(&format!("IMAP 127.0.0.2:{}  FAILED", s.imap_tls)),
        "{text}"
    );
    assert!(
        text.contains("  tls ") && text.contains("  greeting "),
        "{text}"
    );
    assert!(text.contains("[error] cert_name_mismatch:"), "{text}");
}
