//! cargo-backpressure: a static-analysis linter that finds backpressure bugs in Rust source.
//!
//! Pipeline: [`walk`] finds files, [`crate_model`] places each in its package's module tree
//! (production, test code, or not in the build), [`run`] reads and analyses them in parallel with the [`engine`]
//! (one parse, macro bodies expanded, path resolution, one traversal offering every node to every
//! rule in [`rules`]), and [`emit`] formats the merged [`run::Report`]. [`lsp`] serves the same
//! analysis of one file's unsaved text to an editor.
pub mod baseline;
pub mod cache;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod crate_model;
pub mod diag;
pub mod docs;
pub mod emit;
pub mod engine;
pub mod fix;
pub mod groups;
pub mod guard;
pub mod input;
pub mod listing;
pub mod lsp;
pub mod manifest;
pub mod project;
pub mod rules;
pub mod run;
pub mod source;
pub mod suppress;
pub mod walk;
