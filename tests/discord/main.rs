//! The Discord adapter's integration tests, in one binary, against `testkit::fake_discord`
//! (REST and gateway on 127.0.0.1):
//! - `e2e`: the real serenity client and engine, every feature through the REST calls made;
//! - `faults`: gateway drops, INVALID_SESSION, REST 429 and 500, and the review commands;
//! - `ocr`: a screenshot attachment downloaded from the fake CDN and read;
//! - `run`: the real binary, `imap-triage run`: logs, metrics, SIGHUP and SIGTERM;
//! - `crash`: the real binary SIGKILLed three times in a 1,000-message burst, with replays;
//! - `config`: `imap-triage run` with bad or missing settings (one line naming the key, exit 2);
//! - `automod`: `/triage automod install|status|remove` and the follow-up to a blocked message.
//!
//! `bot` starts the real bot against a fresh fake for each test.

mod automod;
mod bot;
mod config;
mod crash;
mod e2e;
mod faults;
mod ocr;
mod run;
