//! The rules: one module per rule, each a finding-producing check over the engine's traversal.
//! Their API lists, options and docs come from the catalogue (`rules/<id>.toml`).
mod call_without_poll_ready;
mod client_without_timeout;
mod collect_then_send;
mod connect_without_timeout;
mod ignored_try_send;
mod ignored_write_readiness;
mod network;
mod poll_ready_not_forwarded;
mod server_without_timeout;
pub mod syntax;
mod unbounded_channel;
mod unbounded_concurrency;
mod unbounded_frame;
mod unbounded_queue;
mod whole_body_read;

use std::collections::{BTreeMap, HashMap};

use crate::catalogue::{Catalogue, EntryText, RuleDoc};
use crate::engine::resolve::canonical_str;
use crate::engine::Rule;

/// Per-rule option values given by the user (`[rules.<id>]` tables), over the catalogue defaults.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
    pub values: BTreeMap<(String, String), toml::Value>,
}

impl RuleOptions {
    /// The integer option `key` of `doc`'s rule.
    pub fn int(&self, doc: &RuleDoc, key: &str) -> u128 {
        let value = self
            .values
            .get(&(doc.id.clone(), key.to_owned()))
            .or_else(|| doc.options.get(key).map(|o| &o.default));
        value
            .and_then(toml::Value::as_integer)
            .and_then(|v| u128::try_from(v).ok())
            .unwrap_or(u128::MAX)
    }

    /// The string option `key` of `doc`'s rule (empty when neither set nor documented).
    pub fn string(&self, doc: &RuleDoc, key: &str) -> String {
        let value = self
            .values
            .get(&(doc.id.clone(), key.to_owned()))
            .or_else(|| doc.options.get(key).map(|o| &o.default));
        value
            .and_then(toml::Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }
}

/// An integer as a fix writes it into code: decimal, with `_` between groups of three digits.
pub fn rust_integer(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 && digits.len() > 4 {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// API paths the user adds to the built-in lists (configuration's API extensions).
#[derive(Debug, Clone, Default)]
pub struct ApiExtensions {
    /// Extra unbounded channel/queue constructors.
    pub unbounded_constructors: Vec<String>,
    /// Extra functions that spawn a task per call.
    pub spawners: Vec<String>,
    /// Extra functions that put a time budget on what runs inside them.
    pub timeout_wrappers: Vec<String>,
}

/// A catalogue list as a map from canonical path to the text after `->` (if any).
pub fn api_map(doc: &RuleDoc, key: &str) -> HashMap<String, Option<String>> {
    doc.list(key)
        .iter()
        .map(|entry| match entry.split_once("->") {
            Some((path, extra)) => (canonical_str(path.trim()), Some(extra.trim().to_owned())),
            None => (canonical_str(entry.trim()), None),
        })
        .collect()
}

/// A rule's per-entry texts (`[entries]` of its catalogue file), by canonical path.
#[derive(Debug, Clone, Default)]
pub struct EntryTexts(HashMap<String, EntryText>);

impl EntryTexts {
    pub fn of(doc: &RuleDoc) -> EntryTexts {
        EntryTexts(
            doc.entries
                .iter()
                .map(|(path, text)| (canonical_str(path), text.clone()))
                .collect(),
        )
    }

    /// The help of the entry `path` (None: the rule's generic help is right for it).
    pub fn help(&self, path: Option<&str>, what: &str) -> Option<String> {
        let text = self.0.get(path?)?.help.as_deref()?;
        Some(text.replace("{what}", what))
    }

    /// The message of the entry `path` (None: the rule's generic message is right for it).
    pub fn message(&self, path: Option<&str>, what: &str) -> Option<String> {
        let text = self.0.get(path?)?.message.as_deref()?;
        Some(text.replace("{what}", what))
    }
}

/// A catalogue list of plain names (method names, identifiers).
pub fn name_list(doc: &RuleDoc, key: &str) -> Vec<String> {
    doc.list(key).to_vec()
}

/// Builds every rule of the catalogue with its options.
pub fn build(
    catalogue: &Catalogue,
    options: &RuleOptions,
    ext: &ApiExtensions,
) -> Vec<Box<dyn Rule>> {
    let doc = |id: &str| {
        catalogue
            .get(id)
            .unwrap_or_else(|| panic!("rule `{id}` has no catalogue entry"))
    };
    vec![
        Box::new(call_without_poll_ready::CallWithoutPollReady::new(
            doc(call_without_poll_ready::ID),
            ext,
        )),
        Box::new(client_without_timeout::ClientWithoutTimeout::new(
            doc(client_without_timeout::ID),
            options,
            ext,
        )),
        Box::new(ignored_try_send::IgnoredTrySend::new(
            doc(ignored_try_send::ID),
            options,
            ext,
        )),
        Box::new(ignored_write_readiness::IgnoredWriteReadiness::new(
            doc(ignored_write_readiness::ID),
            ext,
        )),
        Box::new(poll_ready_not_forwarded::PollReadyNotForwarded::new(
            doc(poll_ready_not_forwarded::ID),
            ext,
        )),
        Box::new(server_without_timeout::ServerWithoutTimeout::new(
            doc(server_without_timeout::ID),
            ext,
        )),
        Box::new(collect_then_send::CollectThenSend::new(
            doc(collect_then_send::ID),
            ext,
        )),
        Box::new(connect_without_timeout::ConnectWithoutTimeout::new(
            doc(connect_without_timeout::ID),
            options,
            ext,
        )),
        Box::new(unbounded_channel::UnboundedChannel::new(
            doc(unbounded_channel::ID),
            options,
            ext,
        )),
        Box::new(unbounded_queue::UnboundedQueue::new(
            doc(unbounded_queue::ID),
            ext,
        )),
        Box::new(unbounded_concurrency::UnboundedConcurrency::new(
            doc(unbounded_concurrency::ID),
            ext,
        )),
        Box::new(unbounded_frame::UnboundedFrame::new(
            doc(unbounded_frame::ID),
            options,
            ext,
        )),
        Box::new(whole_body_read::WholeBodyRead::new(
            doc(whole_body_read::ID),
            options,
            ext,
        )),
    ]
}

/// Every rule id that has code behind it (the catalogue test checks both directions); the two
/// suppression rules are produced by [`crate::suppress`], not by the traversal.
pub const IMPLEMENTED: &[&str] = &[
    call_without_poll_ready::ID,
    client_without_timeout::ID,
    collect_then_send::ID,
    connect_without_timeout::ID,
    ignored_try_send::ID,
    ignored_write_readiness::ID,
    crate::catalogue::INVALID_SUPPRESSION,
    poll_ready_not_forwarded::ID,
    server_without_timeout::ID,
    unbounded_channel::ID,
    unbounded_concurrency::ID,
    unbounded_frame::ID,
    unbounded_queue::ID,
    crate::catalogue::UNUSED_SUPPRESSION,
    whole_body_read::ID,
];
