//! The pure core and its rules, in one binary:
//! - `corpus`: realistic threads with the report a careful moderator would expect;
//! - `reading`: one table per reading rule, each row a post and what must be read from it;
//! - `properties`: arbitrary input never panics and never echoes a planted secret;
//! - `rules`: the shipped pack is valid, broken ones are rejected with file, line and rule;
//! - `fuzz_regressions`: the fuzz targets' kept inputs, replayed through their checks;
//! - `automod`: the AutoMod patterns against the shield's corpus (the figures in BENCHMARKS.md).

mod automod;
mod corpus;
mod fuzz_regressions;
mod properties;
mod reading;
mod rules;
