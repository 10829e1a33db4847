//! Runs the triage core on one thread file again and again, for profilers and quiet-machine
//! timings: the first call (which builds the regexes' lazy automata) is reported apart.
//!
//! ```sh
//! cargo run --release --example triage-repeat -- THREAD.json [CALLS]
//! valgrind --tool=callgrind --toggle-collect='imap_triage::core::triage*' \
//!     target/release/examples/triage-repeat THREAD.json 3
//! ```
//!
//! `benches/core.rs` is the measurement of record; this is the same work without criterion.

use std::time::Instant;

use imap_triage::core::{triage, Thread};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: triage-repeat THREAD.json [CALLS]");
        std::process::exit(2);
    };
    let calls: usize = match args.next().map(|n| n.parse()) {
        None => 20,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("CALLS must be a positive number");
            std::process::exit(2);
        }
    };
    let thread: Thread = match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(thread) => thread,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let rules = match imap_triage::rules_dir::embedded() {
        Ok(rules) => rules,
        Err(e) => {
            eprintln!("shipped rules: {e}");
            std::process::exit(1);
        }
    };
    let bytes: usize = thread.messages.iter().map(|m| m.text.len()).sum();
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        std::hint::black_box(triage(&rules, std::hint::black_box(&thread)));
        times.push(started.elapsed().as_secs_f64());
    }
    let first = times[0];
    let mut rest = times[1..].to_vec();
    rest.sort_by(f64::total_cmp);
    let mib = bytes as f64 / (1024.0 * 1024.0);
    println!(
        "{bytes} bytes, {calls} calls; first call {:.2} ms",
        first * 1e3
    );
    if let Some(&median) = rest.get(rest.len() / 2) {
        println!(
            "after it: median {:.2} ms ({:.0} MiB/s), fastest {:.2} ms ({:.0} MiB/s)",
            median * 1e3,
            mib / median,
            rest[0] * 1e3,
            mib / rest[0]
        );
    }
}
