//! The command line, through the real binary, in one test binary:
//! - `triage`: the `triage` command's contract (text and JSON, files and stdin);
//! - `console`: `imap-triage console` driven through stdin;
//! - `log`: `imap-triage log ...` against a store filled by the console;
//! - `health`: `imap-triage health`, configured by a file or by variables alone;
//! - `crash`: SIGKILL mid-burst, restart on the same store: nothing lost or repeated;
//! - `dockerfile`: what can be checked of the image without a Docker engine.

mod console;
mod crash;
mod dockerfile;
mod health;
mod log;
mod triage;
