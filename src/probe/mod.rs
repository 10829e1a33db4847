//! The sanitized connectivity probe: the network adapter of issue 3.
pub mod cli;
