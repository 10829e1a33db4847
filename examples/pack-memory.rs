//! What the compiled rules pack holds in memory, by part: live heap bytes counted by a global
//! allocator after loading the shipped pack, and after compiling each of its pattern groups the
//! way the pack's sets are (one `RegexSet` a group, with the pack's limits), to see which sets
//! hold the memory. Issue 14 (BENCHMARKS.md, "idle memory, binary and pattern sets").
//! Run: `cargo run --release --locked --example pack-memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

/// Live and peak bytes taken by `make`'s result.
fn measure<T>(name: &str, make: impl FnOnce() -> T) -> T {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let made = make();
    let after = LIVE.load(Ordering::Relaxed);
    let peak = PEAK.load(Ordering::Relaxed);
    println!(
        "{name:<44} live {:6.2} MiB  peak while building {:6.2} MiB",
        mib(after - before),
        mib(peak - before)
    );
    made
}

fn set(patterns: &[&str]) -> regex::RegexSet {
    regex::RegexSetBuilder::new(patterns)
        .size_limit(10 << 20 << 4)
        .dfa_size_limit(10 << 20 << 4)
        .build()
        .expect("the pack's patterns compile")
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn main() {
    let rules = measure("the shipped pack (rules_dir::embedded)", || {
        imap_triage::rules_dir::embedded().expect("the shipped pack loads")
    });
    let strs = |v: &[imap_triage::core::rules::RuleRegex]| -> Vec<String> {
        v.iter().map(|r| r.as_str().to_string()).collect()
    };
    let errors: Vec<String> = rules
        .errors
        .iter()
        .flat_map(|e| strs(&e.patterns))
        .collect();
    let mut checklist: Vec<String> = rules
        .checklist
        .items
        .iter()
        .flat_map(|i| strs(&i.patterns))
        .collect();
    checklist.extend(strs(&rules.checklist.all_patterns));
    let hosts: Vec<String> = rules
        .providers
        .iter()
        .flat_map(|p| strs(&p.host_patterns))
        .collect();
    let domains: Vec<String> = rules
        .providers
        .iter()
        .flat_map(|p| strs(&p.domain_patterns))
        .collect();
    let names: Vec<String> = rules
        .providers
        .iter()
        .flat_map(|p| strs(&p.name_patterns))
        .collect();
    let both: Vec<&str> = refs(&errors).into_iter().chain(refs(&checklist)).collect();
    let _kept = (
        measure(&format!("error set ({} patterns)", errors.len()), || {
            set(&refs(&errors))
        }),
        measure(
            &format!("checklist set ({} patterns)", checklist.len()),
            || set(&refs(&checklist)),
        ),
        measure(&format!("both set ({} patterns)", both.len()), || {
            set(&both)
        }),
        measure("both set, gaps compacted (as the pack builds it)", || {
            compacted_set(&both)
        }),
        measure("checklist set, gaps compacted", || {
            compacted_set(&checklist)
        }),
        measure(&format!("host set ({} patterns)", hosts.len()), || {
            set(&refs(&hosts))
        }),
        measure(&format!("domain set ({} patterns)", domains.len()), || {
            set(&refs(&domains))
        }),
        measure(&format!("name set ({} patterns)", names.len()), || {
            set(&refs(&names))
        }),
    );
    // The same checklist set as regex-automata's meta regex, with and without its lazy DFA:
    // without it no reverse NFA is built, which a set's search never uses.
    let meta = |hybrid: bool| {
        regex_automata::meta::Regex::builder()
            .configure(
                regex_automata::meta::Config::new()
                    .match_kind(regex_automata::MatchKind::All)
                    .nfa_size_limit(Some(10 << 20 << 4))
                    .hybrid(hybrid),
            )
            .build_many(&refs(&checklist))
            .expect("the pack's patterns compile")
    };
    drop(measure("checklist set, meta regex with lazy DFA", || {
        meta(true)
    }));
    drop(measure("checklist set, meta regex, no lazy DFA", || {
        meta(false)
    }));
    // Each checklist pattern alone: which ones are large.
    let mut sizes: Vec<(usize, &str)> = checklist
        .iter()
        .chain(&errors)
        .map(|p| {
            let before = LIVE.load(Ordering::Relaxed);
            let re = set(&[p.as_str()]);
            let size = LIVE.load(Ordering::Relaxed) - before;
            drop(re);
            (size, p.as_str())
        })
        .collect();
    sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
    let total: usize = sizes.iter().map(|s| s.0).sum();
    println!(
        "error and checklist patterns each alone: {:.2} MiB in all; the largest:",
        mib(total)
    );
    for (size, p) in sizes.iter().take(12) {
        let shown: String = p.chars().take(90).collect();
        println!("  {:6.0} KiB  {shown}", *size as f64 / 1024.0);
    }
}

/// The patterns' set with their gaps compacted, built as the pack builds its sets.
fn compacted_set<P: AsRef<str>>(patterns: &[P]) -> regex::bytes::RegexSet {
    let compact: Vec<String> = patterns
        .iter()
        .map(|p| imap_triage::core::rules::compact_gaps(p.as_ref()))
        .collect();
    regex::bytes::RegexSetBuilder::new(&compact)
        .size_limit(10 << 20 << 4)
        .dfa_size_limit(10 << 20 << 4)
        .build()
        .expect("the pack's patterns compile")
}
