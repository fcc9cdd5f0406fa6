//! Function summaries: what each function of a file does that matters to another file (it spawns
//! per call, returns a client builder with or without a timeout), the calls it makes to the
//! crate's own functions, and findings that hold only under a [`Condition`] on other files'
//! summaries. The per-file pass records them with byte ranges ([`RawSummary`]); the run turns the
//! ranges into regions ([`FileSummary`]: owned strings and regions only, no trees, no texts) and,
//! after every file of a crate was read, [`Join`] decides each condition.
//!
//! Keys name a function within its unit (package): `net::dial` for a free function (its module
//! path in the crate), `<Conn>::dial` for a method (by its `Self` type's name, whatever the module
//! of the `impl`), and `<?>::dial` for a call on a receiver of unknown type (it matches a method
//! only when the unit has one method of that name). The join qualifies them with the unit.
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;

use crate::diag::Region;

/// Where a file sits for the summaries: the unit they are joined in (its package, or the file
/// itself when it is in no module tree) and its module path in its crate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    pub unit: String,
    pub module: Vec<String>,
    /// The package's library name as code writes it: a binary's `mylib::net::dial` is the
    /// library's `net::dial`.
    pub lib_name: Option<String>,
    /// The names of the functions, methods and types the unit's files define (lexically): a
    /// method call of another name cannot reach one of them and is not recorded. `None`: record
    /// every call.
    pub fn_names: Option<std::sync::Arc<NameSet>>,
    /// Another workspace member whose calls into it are recorded (its library's name as code
    /// writes it, and its unit): set only when the join of that member reads this file.
    pub foreign: Option<(String, String)>,
}

/// A set of names held as one sorted text and the end of each name in it: a package's item names
/// cost their bytes and a word each (a `HashSet<String>` costs about 70 bytes a name).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NameSet {
    text: String,
    ends: Vec<usize>,
}

impl NameSet {
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> NameSet {
        let mut names: Vec<&str> = names.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        let mut set = NameSet {
            text: String::with_capacity(names.iter().map(|n| n.len()).sum()),
            ends: Vec::with_capacity(names.len()),
        };
        for name in names {
            set.text.push_str(name);
            set.ends.push(set.text.len());
        }
        set
    }

    fn name(&self, i: usize) -> &str {
        let start = i.checked_sub(1).map_or(0, |j| self.ends[j]);
        &self.text[start..self.ends[i]]
    }

    pub fn contains(&self, name: &str) -> bool {
        let (mut low, mut high) = (0, self.ends.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.name(mid).cmp(name) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// The names in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|i| self.name(i))
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// What a function does that a caller in another file may stand for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FactKind {
    /// It starts a task (or a blocking job) each time it is called.
    Spawns,
    /// It returns a client builder; `timeout`: one was set on it.
    ReturnsBuilder { timeout: bool },
    /// It sends on `self.<field>` (a field of `owner`) once per item of an outside source.
    FeedsField { owner: String, field: String },
    /// What it does with its sender parameter `index` (counted without `self`), one fact per
    /// kind of use (`Bounded` only when every use is).
    SenderParam { index: usize, does: SenderUse },
    /// It is registered as a handler of an axum router (`.route(path, get(it))`): the fact's
    /// site is the registration, in the file of the router.
    Handler,
    /// It builds an axum router whose value is served, or leaves the function in a way the
    /// summaries do not follow (not merged, nested or returned); `covered`: a request-timeout
    /// layer is applied after its last route.
    RouterServed { covered: bool },
    /// It returns an axum router it builds; `covered` as for [`FactKind::RouterServed`].
    RouterReturned { covered: bool },
    /// It merges or nests (or layers as the root of a chain) the router a call to one of these
    /// keys returns.
    AbsorbsRouter { callee: Vec<String> },
    /// The struct `owner` declares `field` with a type that holds an HTTP client whose
    /// `default()` sets no timeout (`Option<reqwest::Client>`, a `OnceLock` of one): the fact's
    /// key is the struct's (`<owner>`), its site the field's type.
    FieldHoldsDefaultClient { owner: String, field: String },
}

/// What a function does with a channel sender it is passed (`unbounded-channel`), with the pace
/// classes that rule judges its own producers by.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SenderUse {
    /// Sends on it once per item of a source outside the process; `per` completes "once per
    /// ..." (`accepted connection (`l.accept()`)`).
    SendsPerItem { per: String },
    /// Sends on it in a loop nothing visibly paces.
    SendsUnpaced,
    /// Every use is visibly bounded: at most once per call, a finite loop, a timer.
    Bounded,
    /// Stores it into `owner.field`, a field read in other files: whoever feeds that field
    /// decides (as [`Condition::FieldFed`]).
    IntoField { owner: String, field: String },
    /// Hands it on to a function of the unit (keys, most precise first), as parameter `index`.
    HandedTo { callee: Vec<String>, index: usize },
    /// Out of view: a closure run any number of times, a collection, another crate.
    Opaque,
}

/// How often a call to one of the crate's own functions runs where it is made, as a rule that
/// judges a producer by its callers sees it (`unbounded-channel`).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum CallPace {
    /// Not judged, or in a loop or a callback that nothing visibly paces.
    #[default]
    Unknown,
    /// Outside any loop and callback of the calling function: once per call of the caller.
    Once,
    /// In a loop over a finite local collection, paced by a timer, or fed by local events.
    Bounded,
    /// Once per item of a source outside the process; `per` completes "once per ..."
    /// (`item of `stream.next()``).
    External { per: String },
}

/// A call to one of the crate's own functions.
#[derive(Debug, Clone)]
pub struct RawCallSite {
    /// The key of the calling function, if the call is in one.
    pub caller: Option<String>,
    /// Keys the callee may have, most precise first.
    pub callee: Vec<String>,
    /// A timeout bounds the call's future (the call is the argument of a timeout wrapper, ...).
    pub under_timeout: bool,
    /// The call is inside a closure or an async block of its caller: it may run apart from the
    /// caller's own call (spawned), so a deadline on the caller need not bound it.
    pub detached: bool,
    pub pace: CallPace,
    /// The arguments that visibly carry an address of this host or a parameter of the caller
    /// (see [`AddrShape`]), by position: a method call's receiver is 0, its first argument 1.
    /// Any other argument is left out (unknown).
    pub args: Vec<(u16, AddrShape)>,
    pub range: Range<usize>,
}

/// What an argument visibly carries, for a callee that connects to (or listens on) the address
/// its parameter gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AddrShape {
    /// An address of this host: a loopback literal or constant (through `let`, `.to_string()`,
    /// `String::from`, `format!("127.0.0.1:{}", ..)`, `.clone()`, `&`).
    Loopback,
    /// The calling function's parameter at this position among its inputs (a receiver is 0).
    Param(u16),
}

/// A parameter of a function whose callers give the address a finding's peer comes from: the
/// function's key, and the parameter's position among its inputs (a receiver is 0).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddrParam {
    pub function: String,
    pub position: u16,
}

/// What a finding depends on in other files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Condition {
    /// Some caller of the function does not bound the call with a timeout (directly, or through
    /// its own callers), or it has no caller in view. A function registered as a handler of an
    /// axum router is called by the router: when every router the unit serves applies a request
    /// timeout after its last route, that entry is bounded (reached through direct calls only:
    /// a call in a closure or async block may run apart from the request).
    SomeCallerUnguarded { function: String },
    /// The callee (one of these keys) starts a task per call, itself or through a call it makes.
    CalleeSpawns { callee: Vec<String> },
    /// The callee returns a client builder with no timeout set.
    CalleeReturnsBuilderWithoutTimeout { callee: Vec<String> },
    /// Always holds (the finding stands on its own); the join names where some file of the
    /// unit sends on `owner.field` once per item of an outside source.
    FieldFed { owner: String, field: String },
    /// A field of `owner` declared in another file of the unit: it holds when that declaration's
    /// type holds a client whose `default()` sets no timeout (see
    /// [`FactKind::FieldHoldsDefaultClient`]); no such declaration in view: it does not.
    FieldHoldsDefaultClient { owner: String, field: String },
    /// A channel sent on in `functions` (keys), once per call of each: it holds unless every
    /// caller in view is visibly bounded (and `may_quiet`: no caller can be out of view). When a
    /// caller makes the call once per item of an outside source, the finding becomes high
    /// confidence with `message`, whose `{per}` the join fills in ("item of `s.next()`").
    CallersFeed {
        functions: Vec<String>,
        may_quiet: bool,
        message: String,
    },
    /// A channel whose only producers out of view are the functions its sender is passed to
    /// (keys, and the parameter's index without `self`): it holds unless each of them visibly
    /// bounds its sends (through the functions it hands the sender on to). When one sends once
    /// per item of an outside source (or in an unpaced loop), the finding becomes high
    /// confidence with `message`, whose `{per}` the join fills in.
    CalleeFeeds {
        targets: Vec<(Vec<String>, usize)>,
        message: String,
    },
    /// A connect (or a listener) whose address is, as far as its file shows, of this host or
    /// one of `params` (a parameter of a function of the unit, followed through a constructor
    /// and a field): it holds unless every call in view of each gives a loopback address,
    /// through the callers' own parameters (up to [`MAX_CHAIN`]), in this unit or a workspace
    /// member that links its library. No caller in view: it holds. `and` must hold too.
    RemotePeer {
        params: Vec<AddrParam>,
        and: Option<Box<Condition>>,
    },
}

/// A candidate finding's condition, and what the label at the evidence the join finds says
/// (`"called here without a timeout"`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    pub condition: Condition,
    pub evidence: String,
}

impl Condition {
    /// The function names (last key segments) whose calls and summaries decide the condition: a
    /// file that mentions none of them cannot change the answer.
    pub fn names(&self) -> Vec<String> {
        let keys = match self {
            Condition::SomeCallerUnguarded { function } => std::slice::from_ref(function),
            Condition::CalleeSpawns { callee }
            | Condition::CalleeReturnsBuilderWithoutTimeout { callee } => callee.as_slice(),
            Condition::FieldFed { field, .. }
            | Condition::FieldHoldsDefaultClient { field, .. } => return vec![field.clone()],
            Condition::CallersFeed { functions, .. } => functions.as_slice(),
            Condition::RemotePeer { params, and } => {
                let mut names: Vec<String> = params
                    .iter()
                    .map(|p| last_name(&p.function).to_owned())
                    .collect();
                names.extend(and.iter().flat_map(|c| c.names()));
                return names;
            }
            Condition::CalleeFeeds { targets, .. } => {
                return targets
                    .iter()
                    .flat_map(|(keys, _)| keys.iter().map(|k| last_name(k).to_owned()))
                    .collect()
            }
        };
        keys.iter().map(|k| last_name(k).to_owned()).collect()
    }
}

/// The function name at the end of a key.
pub fn last_name(key: &str) -> &str {
    key.rsplit("::").next().unwrap_or(key)
}

/// The summary of one file as the per-file pass records it (byte ranges into the file).
#[derive(Debug, Default, Clone)]
pub struct RawSummary {
    /// The key of every function the file defines.
    pub functions: Vec<String>,
    /// (function key, fact, where the fact shows).
    pub facts: Vec<(String, FactKind, Range<usize>)>,
    pub calls: Vec<RawCallSite>,
}

impl RawSummary {
    pub fn shift(&mut self, offset: usize) {
        let shift = |r: &mut Range<usize>| *r = r.start + offset..r.end + offset;
        for (_, _, r) in &mut self.facts {
            shift(r);
        }
        for c in &mut self.calls {
            shift(&mut c.range);
        }
    }
}

/// A place in some file of the run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Site {
    /// The file as displayed (shared by the file's sites).
    pub path: std::sync::Arc<str>,
    pub region: Region,
}

#[derive(Debug, Clone)]
pub struct CallSite {
    pub caller: Option<String>,
    pub callee: Vec<String>,
    pub under_timeout: bool,
    pub detached: bool,
    pub pace: CallPace,
    pub args: Vec<(u16, AddrShape)>,
    pub at: Site,
}

/// One file's summary with regions: what the join holds.
#[derive(Debug, Default, Clone)]
pub struct FileSummary {
    /// The unit (package) whose keys these are.
    pub unit: String,
    pub functions: Vec<String>,
    pub facts: Vec<(String, FactKind, Site)>,
    pub calls: Vec<CallSite>,
}

impl FileSummary {
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty() && self.facts.is_empty() && self.calls.is_empty()
    }
}

/// A key within `unit` made unique across units. A key that names its unit already (a call into
/// another workspace member's library, [`foreign_key`]) stays as it is.
fn qualified(unit: &str, key: &str) -> String {
    if key.contains('#') {
        return key.to_owned();
    }
    format!("{unit}#{key}")
}

/// The key of a function of another unit (a workspace member whose library a file calls).
pub fn foreign_key(unit: &str, key: &str) -> String {
    format!("{unit}#{key}")
}

fn qualify(condition: &Condition, q: &dyn Fn(&[String]) -> Vec<String>) -> Condition {
    match condition {
        Condition::SomeCallerUnguarded { function } => Condition::SomeCallerUnguarded {
            function: q(std::slice::from_ref(function)).remove(0),
        },
        Condition::CalleeSpawns { callee } => Condition::CalleeSpawns { callee: q(callee) },
        Condition::CalleeReturnsBuilderWithoutTimeout { callee } => {
            Condition::CalleeReturnsBuilderWithoutTimeout { callee: q(callee) }
        }
        Condition::FieldFed { .. } | Condition::FieldHoldsDefaultClient { .. } => condition.clone(),
        Condition::CallersFeed {
            functions,
            may_quiet,
            message,
        } => Condition::CallersFeed {
            functions: q(functions),
            may_quiet: *may_quiet,
            message: message.clone(),
        },
        Condition::CalleeFeeds { targets, message } => Condition::CalleeFeeds {
            targets: targets.iter().map(|(k, i)| (q(k), *i)).collect(),
            message: message.clone(),
        },
        Condition::RemotePeer { params, and } => Condition::RemotePeer {
            params: params
                .iter()
                .map(|p| AddrParam {
                    function: q(std::slice::from_ref(&p.function)).remove(0),
                    position: p.position,
                })
                .collect(),
            and: and.as_ref().map(|c| Box::new(qualify(c, q))),
        },
    }
}

/// The "sends on it" words of an unpaced loop in a summarised function.
const UNPACED_WORDS: &str = "in a loop that nothing visibly paces";

/// How a producer is fed, as far as the summaries show: through the callers of a function that
/// sends, or through what a function does with a sender passed to it.
enum Fed {
    /// Once per item of an outside source (a call, or a send on a sender parameter) or in an
    /// unpaced loop: that site, and the words that say how often.
    Outside(Site, String),
    /// Every caller or use in view is visibly bounded.
    Bounded,
    /// Some caller or use is out of view, not visibly paced, or not summarised.
    Unknown,
}

/// What the callers of the functions of a [`Condition::RemotePeer`] give the address.
#[derive(Default)]
struct AddrWalk {
    /// Some call gives a value not visibly loopback, or some function has no caller in view.
    remote: bool,
    /// The first call that gives such a value.
    evidence: Option<Site>,
    /// Functions with no caller in view.
    open: BTreeSet<String>,
    visited: BTreeSet<(String, u16)>,
}

/// How deep the join follows chains of calls (a helper calling a helper ...).
pub const MAX_CHAIN: usize = 8;

/// The summaries of every file of the run, indexed for the conditions.
#[derive(Default)]
pub struct Join {
    facts: HashMap<String, Vec<(FactKind, Site)>>,
    /// Every call site, in path and position order.
    sites: Vec<CallSite>,
    /// Callee key → its call sites (indices into `sites`).
    callers: HashMap<String, Vec<usize>>,
    /// Caller key → the calls it makes.
    calls_from: HashMap<String, Vec<usize>>,
    /// `<crate>#<?>::name` → the method keys of that name (for receivers of unknown type).
    methods_by_name: BTreeMap<String, BTreeSet<String>>,
    /// Every function key some file defines a fact for or calls from.
    defined: BTreeSet<String>,
    /// Handler key → where a router registers it (the first such site).
    handlers: HashMap<String, Site>,
    /// Unit → the routers its files build.
    routers: HashMap<String, UnitRouters>,
}

/// The axum routers of a unit, as its files' facts show them.
#[derive(Default)]
struct UnitRouters {
    /// Routers served (or left in a way the summaries do not follow): covered, where.
    served: Vec<(bool, Site)>,
    /// Routers returned by a function: its key, covered, where.
    returned: Vec<(String, bool, Site)>,
    /// The keys of functions whose returned router some router takes in.
    absorbed: Vec<Vec<String>>,
}

/// Whether every router a unit serves applies a request timeout after its last route.
enum Coverage {
    Covered,
    /// Not (or not visibly): the router that lacks it, when one is seen.
    Uncovered(Option<Site>),
}

/// A condition's outcome: whether the finding stays, and where the other file shows why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    pub holds: bool,
    pub evidence: Option<Site>,
    /// The finding's message at high confidence, when the other file shows the evidence whole
    /// (with the words the evidence label's `{per}` takes).
    pub upgrade: Option<(String, String)>,
    /// A second label: where another file shows a further reason the finding stands (the
    /// caller that gives a connect's address a value not visibly on this host).
    pub also: Option<(Site, String)>,
    /// What the label at the evidence says, when not the candidate's own words.
    pub label: Option<String>,
    /// The outcome rests on a function with no caller in view (code not read yet may call it,
    /// or register it as a handler).
    pub open: bool,
}

impl Join {
    pub fn new(summaries: impl IntoIterator<Item = FileSummary>) -> Join {
        let mut join = Join::default();
        join.add(summaries);
        join
    }

    /// Adds more files' summaries (a later pass parsed them) and indexes every call again: a
    /// function defined in a new file may be the callee of a call seen before.
    pub fn add(&mut self, summaries: impl IntoIterator<Item = FileSummary>) {
        for s in summaries {
            let unit = &s.unit;
            let q = |key: &str| qualified(unit, key);
            for key in &s.functions {
                self.note_defined(&q(key));
            }
            for (key, kind, at) in s.facts {
                let key = q(&key);
                self.note_defined(&key);
                self.facts.entry(key).or_default().push((kind, at));
            }
            self.sites.extend(s.calls.into_iter().map(|c| CallSite {
                caller: c.caller.as_deref().map(q),
                callee: c.callee.iter().map(|k| q(k)).collect(),
                ..c
            }));
        }
        let callers: Vec<String> = self.sites.iter().filter_map(|s| s.caller.clone()).collect();
        for caller in callers {
            self.note_defined(&caller);
        }
        // Sorted, so that "the first unguarded caller" (or spawn, or builder) is the same on
        // every run, whatever order the workers finished in.
        self.sites.sort_by(|a, b| {
            (&a.at, &a.caller, &a.callee, a.under_timeout).cmp(&(
                &b.at,
                &b.caller,
                &b.callee,
                b.under_timeout,
            ))
        });
        for facts in self.facts.values_mut() {
            facts.sort_by(|a, b| a.1.cmp(&b.1));
        }
        self.index_routers();
        self.callers.clear();
        self.calls_from.clear();
        for (i, site) in self.sites.iter().enumerate() {
            for key in self.callee_keys(&site.callee) {
                self.callers.entry(key).or_default().push(i);
            }
            if let Some(caller) = &site.caller {
                self.calls_from.entry(caller.clone()).or_default().push(i);
            }
        }
    }

    /// Indexes the handler and router facts (again: facts from a later pass join the earlier).
    fn index_routers(&mut self) {
        self.handlers.clear();
        self.routers.clear();
        for (key, facts) in &self.facts {
            let unit = key.split_once('#').map_or("", |(u, _)| u);
            for (kind, at) in facts {
                let routers = || UnitRouters::default();
                match kind {
                    FactKind::Handler => {
                        let first = self
                            .handlers
                            .entry(key.clone())
                            .or_insert_with(|| at.clone());
                        if at < first {
                            *first = at.clone();
                        }
                    }
                    FactKind::RouterServed { covered } => self
                        .routers
                        .entry(unit.to_owned())
                        .or_insert_with(routers)
                        .served
                        .push((*covered, at.clone())),
                    FactKind::RouterReturned { covered } => self
                        .routers
                        .entry(unit.to_owned())
                        .or_insert_with(routers)
                        .returned
                        .push((key.clone(), *covered, at.clone())),
                    FactKind::AbsorbsRouter { callee } => self
                        .routers
                        .entry(unit.to_owned())
                        .or_insert_with(routers)
                        .absorbed
                        .push(callee.iter().map(|k| qualified(unit, k)).collect()),
                    _ => {}
                }
            }
        }
        for routers in self.routers.values_mut() {
            routers.served.sort();
            routers.returned.sort();
        }
    }

    /// Whether every router `unit` serves applies a request timeout after its last route: each
    /// router served (or left unfollowed) does, each router a function returns either does or
    /// is taken in by another router (which then decides), and at least one router that does is
    /// seen.
    fn router_coverage(&self, unit: &str) -> Coverage {
        let Some(routers) = self.routers.get(unit) else {
            return Coverage::Uncovered(None);
        };
        let absorbed: BTreeSet<String> = routers
            .absorbed
            .iter()
            .flat_map(|keys| self.callee_keys(keys))
            .collect();
        let mut any = false;
        for (covered, at) in &routers.served {
            if !covered {
                return Coverage::Uncovered(Some(at.clone()));
            }
            any = true;
        }
        for (key, covered, at) in &routers.returned {
            if absorbed.contains(key) {
                continue;
            }
            if !covered {
                return Coverage::Uncovered(Some(at.clone()));
            }
            any = true;
        }
        if any {
            Coverage::Covered
        } else {
            Coverage::Uncovered(None)
        }
    }

    /// Whether some file of `unit` read so far registers a handler of an axum router.
    pub fn has_handlers(&self, unit: &str) -> bool {
        let prefix = format!("{unit}#");
        self.handlers.keys().any(|k| k.starts_with(&prefix))
    }

    /// Whether `name` is the only method of that name in `unit` (a call on a receiver of unknown
    /// type reaches it).
    pub fn unique_method(&self, unit: &str, name: &str) -> bool {
        self.methods_by_name
            .get(&qualified(unit, &format!("<?>::{name}")))
            .is_some_and(|m| m.len() == 1)
    }

    /// The callers of `key` in `unit` at calls no timeout bounds (unqualified keys).
    pub fn unguarded_callers(&self, unit: &str, key: &str) -> Vec<String> {
        let prefix = format!("{unit}#");
        self.callers
            .get(&qualified(unit, key))
            .into_iter()
            .flatten()
            .filter_map(|&i| self.sites.get(i))
            .filter(|s| !s.under_timeout && !s.callee.iter().all(|k| k.contains("#<?>::")))
            .filter_map(|s| {
                s.caller
                    .as_deref()?
                    .strip_prefix(&prefix)
                    .map(str::to_owned)
            })
            .collect()
    }

    /// The functions `key` in `unit` calls (unqualified keys), as the join resolves them; for a
    /// call to a function no file read so far defines, every key it may name (the definition
    /// is what the join reads next, in a chain of helpers the prefilter skipped).
    pub fn callees(&self, unit: &str, key: &str) -> Vec<String> {
        let prefix = format!("{unit}#");
        self.calls_from
            .get(&qualified(unit, key))
            .into_iter()
            .flatten()
            .filter_map(|&i| self.sites.get(i))
            .flat_map(|s| {
                let resolved = self.callee_keys(&s.callee);
                if resolved.is_empty() {
                    s.callee.clone()
                } else {
                    resolved
                }
            })
            .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }

    fn note_defined(&mut self, key: &str) {
        if let Some((krate, rest)) = key.split_once("#<") {
            if let Some((_, name)) = rest.split_once(">::") {
                self.methods_by_name
                    .entry(format!("{krate}#<?>::{name}"))
                    .or_default()
                    .insert(key.to_owned());
            }
        }
        self.defined.insert(key.to_owned());
    }

    /// The functions a call may reach: the first of its keys that names a function some file
    /// defines, or a receiver of unknown type's only method of that name.
    fn callee_keys(&self, keys: &[String]) -> Vec<String> {
        for key in keys {
            if key.contains("#<?>::") {
                if let Some(methods) = self.methods_by_name.get(key) {
                    if methods.len() == 1 {
                        return methods.iter().cloned().collect();
                    }
                }
                continue;
            }
            if self.defined.contains(key) {
                return vec![key.clone()];
            }
        }
        Vec::new()
    }

    /// Whether some file of the run defines `key` of `unit`.
    pub fn defines_in(&self, unit: &str, key: &str) -> bool {
        self.defined.contains(&qualified(unit, key))
    }

    /// The first site (in path order) of a fact `wanted` of any function of `unit`.
    fn first_fact(&self, unit: &str, wanted: &FactKind) -> Option<Site> {
        let prefix = format!("{unit}#");
        self.facts
            .iter()
            .filter(|(key, _)| key.starts_with(&prefix))
            .flat_map(|(_, facts)| facts)
            .filter(|(kind, _)| kind == wanted)
            .map(|(_, at)| at)
            .min()
            .cloned()
    }

    /// Decides a condition of a finding in `unit`.
    pub fn decide(&self, unit: &str, condition: &Condition) -> Decision {
        let q =
            |keys: &[String]| -> Vec<String> { keys.iter().map(|k| qualified(unit, k)).collect() };
        match &qualify(condition, &q) {
            Condition::FieldFed { owner, field } => Decision {
                holds: true,
                evidence: self.field_feed(unit, owner, field),
                ..Decision::default()
            },
            Condition::FieldHoldsDefaultClient { owner, field } => {
                let evidence = self.first_fact(
                    unit,
                    &FactKind::FieldHoldsDefaultClient {
                        owner: owner.clone(),
                        field: field.clone(),
                    },
                );
                Decision {
                    holds: evidence.is_some(),
                    evidence,
                    ..Decision::default()
                }
            }
            Condition::SomeCallerUnguarded { function } => {
                self.unguarded_caller(function, &mut Vec::new(), &mut HashSet::new(), true)
            }
            Condition::RemotePeer { params, and } => {
                let walk = self.walk_params(params);
                if !walk.remote {
                    return Decision::default();
                }
                let mut decision = match and {
                    // Qualified already: `decide` keeps its keys.
                    Some(condition) => self.decide(unit, condition),
                    None => Decision {
                        holds: true,
                        ..Decision::default()
                    },
                };
                if decision.holds {
                    decision.also = walk.evidence.map(|at| {
                        (
                            at,
                            "the address comes from here: not visibly of this host".to_owned(),
                        )
                    });
                }
                decision
            }
            Condition::CalleeFeeds { targets, message } => {
                let fed = targets
                    .iter()
                    .map(|(callee, index)| self.param_fed(unit, callee, *index, &mut Vec::new()));
                feeding_decision(fed, message, false)
            }
            Condition::CallersFeed {
                functions,
                may_quiet,
                message,
            } => {
                let fed = functions
                    .iter()
                    .map(|function| self.fed(function, &mut Vec::new()));
                feeding_decision(fed, message, !may_quiet)
            }
            Condition::CalleeSpawns { callee } => {
                let mut seen = Vec::new();
                for key in self.callee_keys(callee) {
                    if let Some(at) = self.spawns(&key, &mut seen) {
                        return Decision {
                            holds: true,
                            evidence: Some(at),
                            upgrade: None,
                            also: None,
                            label: None,
                            open: false,
                        };
                    }
                }
                Decision {
                    holds: false,
                    evidence: None,
                    upgrade: None,
                    also: None,
                    label: None,
                    open: false,
                }
            }
            Condition::CalleeReturnsBuilderWithoutTimeout { callee } => {
                for key in self.callee_keys(callee) {
                    let builders =
                        self.facts
                            .get(&key)
                            .into_iter()
                            .flatten()
                            .filter_map(|(kind, at)| match kind {
                                FactKind::ReturnsBuilder { timeout } => Some((*timeout, at)),
                                _ => None,
                            });
                    // Every return must lack a timeout: one that sets it may be the one taken.
                    let mut without = None;
                    let mut any_with = false;
                    for (timeout, at) in builders {
                        if timeout {
                            any_with = true;
                        } else if without.is_none() {
                            without = Some(at.clone());
                        }
                    }
                    if !any_with && without.is_some() {
                        return Decision {
                            holds: true,
                            evidence: without,
                            upgrade: None,
                            also: None,
                            label: None,
                            open: false,
                        };
                    }
                }
                Decision {
                    holds: false,
                    evidence: None,
                    upgrade: None,
                    also: None,
                    label: None,
                    open: false,
                }
            }
        }
    }

    /// The functions of a [`Condition::RemotePeer`] (qualified keys, through the callers whose
    /// own parameters they pass on) whose callers are not in view: the files that call them
    /// may settle it.
    pub fn open_address_functions(&self, unit: &str, params: &[AddrParam]) -> Vec<String> {
        let params: Vec<AddrParam> = params
            .iter()
            .map(|p| AddrParam {
                function: qualified(unit, &p.function),
                position: p.position,
            })
            .collect();
        let walk = self.walk_params(&params);
        let mut open: Vec<String> = walk.open.into_iter().collect();
        open.extend(walk.visited.into_iter().map(|(f, _)| f));
        open.sort();
        open.dedup();
        open
    }

    fn walk_params(&self, params: &[AddrParam]) -> AddrWalk {
        let mut walk = AddrWalk::default();
        for p in params {
            self.walk_arg(&p.function, p.position, &mut Vec::new(), &mut walk);
        }
        walk
    }

    /// Follows what the callers of `function` give its parameter `position`: a loopback value
    /// settles a call, the caller's own parameter is followed to its callers, anything else (or
    /// no caller in view) makes the address possibly remote.
    fn walk_arg(
        &self,
        function: &str,
        position: u16,
        chain: &mut Vec<String>,
        walk: &mut AddrWalk,
    ) {
        if chain.len() >= MAX_CHAIN {
            walk.remote = true;
            return;
        }
        if !walk.visited.insert((function.to_owned(), position)) {
            return;
        }
        // A call from a function on the chain (recursion) says nothing of how it is entered;
        // a call on a receiver of unknown type that reaches the function counts (it can only
        // keep the finding).
        let sites: Vec<&CallSite> = self
            .callers
            .get(function)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.sites.get(i))
            .filter(|s| s.caller.as_deref() != Some(function))
            .filter(|s| !s.caller.as_ref().is_some_and(|c| chain.contains(c)))
            .collect();
        if sites.is_empty() {
            walk.remote = true;
            walk.open.insert(function.to_owned());
            return;
        }
        chain.push(function.to_owned());
        for site in sites {
            let shape = site
                .args
                .iter()
                .find(|(i, _)| *i == position)
                .map(|(_, shape)| *shape);
            match (shape, &site.caller) {
                (Some(AddrShape::Loopback), _) => {}
                (Some(AddrShape::Param(p)), Some(caller)) => {
                    self.walk_arg(caller, p, chain, walk);
                }
                _ => {
                    walk.remote = true;
                    if walk.evidence.is_none() {
                        walk.evidence = Some(site.at.clone());
                    }
                }
            }
        }
        chain.pop();
    }

    /// The first call of `function` that no timeout bounds, through callers of callers (chains
    /// of up to [`MAX_CHAIN`] links, `path` being the one followed); a function with no caller
    /// in view counts as called unguarded (by code we cannot see). A handler of an axum router
    /// is also called by the router: bounded when every router the unit serves applies a
    /// request timeout after its last route and the chain from it is made of `direct` calls
    /// (none in a closure or async block). `bounded`: the functions (and whether reached
    /// directly) already found bounded, each followed once.
    fn unguarded_caller(
        &self,
        function: &str,
        path: &mut Vec<String>,
        bounded: &mut HashSet<(String, bool)>,
        direct: bool,
    ) -> Decision {
        let keep = |evidence, open| Decision {
            holds: true,
            evidence,
            upgrade: None,
            also: None,
            label: None,
            open,
        };
        if path.len() >= MAX_CHAIN || path.iter().any(|s| s == function) {
            return keep(None, false);
        }
        if bounded.contains(&(function.to_owned(), direct)) {
            return Decision::default();
        }
        let handler = self.handlers.get(function).filter(|_| direct);
        if let Some(registered) = handler {
            let unit = function.split_once('#').map_or("", |(u, _)| u);
            if let Coverage::Uncovered(router) = self.router_coverage(unit) {
                let label = match router {
                    Some(_) => "this router has no request timeout layer after its last route: the handlers it serves wait as long as their calls do",
                    None => "registered here as a handler, and no router of the package is seen to apply a request timeout layer after its last route",
                };
                return Decision {
                    holds: true,
                    evidence: Some(router.unwrap_or_else(|| registered.clone())),
                    upgrade: None,
                    also: None,
                    label: Some(label.to_owned()),
                    open: false,
                };
            }
        }
        // A call from the function itself or from a caller already on the chain (recursion)
        // says nothing of how the chain is entered.
        // Calls on a receiver of unknown type are left out: the one method of that name in the
        // unit is only a guess (`tx.send(..)` on a channel is not `Client::send`), and a guess
        // must neither clear nor keep a finding.
        let sites: Vec<&CallSite> = self
            .callers
            .get(function)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.sites.get(i))
            .filter(|s| !s.callee.iter().all(|k| k.contains("#<?>::")))
            .filter(|s| {
                !s.caller
                    .as_ref()
                    .is_some_and(|c| c == function || path.contains(c))
            })
            .collect();
        if sites.is_empty() {
            return match handler {
                Some(_) => Decision::default(),
                None => keep(None, true),
            };
        }
        path.push(function.to_owned());
        let mut found = None;
        for site in sites.into_iter().filter(|s| !s.under_timeout) {
            match &site.caller {
                // The call stands for the connect in its caller: whether that caller is bounded
                // is up to its own callers.
                Some(caller) => {
                    let up = self.unguarded_caller(caller, path, bounded, direct && !site.detached);
                    // A router that serves a handler up the chain with no request timeout says
                    // more than the call into the helper.
                    if up.label.is_some() {
                        found = Some(up);
                        break;
                    }
                    if up.holds {
                        found = Some(keep(Some(site.at.clone()), up.open));
                        break;
                    }
                }
                None => {
                    found = Some(keep(Some(site.at.clone()), false));
                    break;
                }
            }
        }
        path.pop();
        found.unwrap_or_else(|| {
            bounded.insert((function.to_owned(), direct));
            Decision::default()
        })
    }

    /// How often `function` runs, from its callers (through callers of callers for a call made
    /// once per call of its caller). A call on a receiver of unknown type is a guess: it keeps
    /// the answer open, and never decides it.
    fn fed(&self, function: &str, seen: &mut Vec<String>) -> Fed {
        if seen.len() >= MAX_CHAIN || seen.iter().any(|s| s == function) {
            return Fed::Unknown;
        }
        seen.push(function.to_owned());
        let sites: Vec<&CallSite> = self
            .callers
            .get(function)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.sites.get(i))
            .filter(|s| !s.caller.as_ref().is_some_and(|c| seen.contains(c)))
            .collect();
        if sites.is_empty() {
            return Fed::Unknown;
        }
        let mut unknown = false;
        for site in sites {
            if site.callee.iter().all(|k| k.contains("#<?>::")) {
                unknown = true;
                continue;
            }
            match (&site.pace, &site.caller) {
                (CallPace::External { per }, _) => {
                    return Fed::Outside(site.at.clone(), per.clone())
                }
                (CallPace::Bounded, _) => {}
                (CallPace::Once, Some(caller)) => match self.fed(caller, seen) {
                    Fed::Outside(at, per) => return Fed::Outside(at, per),
                    Fed::Bounded => {}
                    Fed::Unknown => unknown = true,
                },
                (CallPace::Once, None) | (CallPace::Unknown, _) => unknown = true,
            }
        }
        if unknown {
            Fed::Unknown
        } else {
            Fed::Bounded
        }
    }

    /// What the function `callee` (qualified keys) does with its sender parameter `index`,
    /// through the functions it hands it on to and the field it stores it in.
    fn param_fed(
        &self,
        unit: &str,
        callee: &[String],
        index: usize,
        seen: &mut Vec<(String, usize)>,
    ) -> Fed {
        let keys = self.callee_keys(callee);
        if keys.is_empty() || seen.len() >= MAX_CHAIN {
            return Fed::Unknown;
        }
        let mut unknown = false;
        for key in keys {
            if seen.iter().any(|(k, i)| *k == key && *i == index) {
                unknown = true;
                continue;
            }
            seen.push((key.clone(), index));
            let uses: Vec<&(FactKind, Site)> = self
                .facts
                .get(&key)
                .into_iter()
                .flatten()
                .filter(|(kind, _)| matches!(kind, FactKind::SenderParam { index: i, .. } if *i == index))
                .collect();
            if uses.is_empty() {
                unknown = true;
            }
            for (kind, at) in uses {
                let FactKind::SenderParam { does, .. } = kind else {
                    continue;
                };
                match does {
                    SenderUse::SendsPerItem { per } => {
                        return Fed::Outside(at.clone(), format!("once per {per}"))
                    }
                    SenderUse::SendsUnpaced => {
                        return Fed::Outside(at.clone(), UNPACED_WORDS.to_owned())
                    }
                    SenderUse::Bounded => {}
                    SenderUse::IntoField { owner, field } => {
                        match self.field_feed(unit, owner, field) {
                            Some(feed) => {
                                return Fed::Outside(
                                    feed,
                                    format!("through the field `{owner}.{field}`, once per item of an outside source"),
                                )
                            }
                            None => unknown = true,
                        }
                    }
                    SenderUse::HandedTo { callee, index } => {
                        let callee: Vec<String> =
                            callee.iter().map(|k| qualified(unit, k)).collect();
                        match self.param_fed(unit, &callee, *index, seen) {
                            Fed::Outside(at, words) => return Fed::Outside(at, words),
                            Fed::Bounded => {}
                            Fed::Unknown => unknown = true,
                        }
                    }
                    SenderUse::Opaque => unknown = true,
                }
            }
        }
        if unknown {
            Fed::Unknown
        } else {
            Fed::Bounded
        }
    }

    /// Where some file of `unit` sends on `owner.field` once per item of an outside source.
    fn field_feed(&self, unit: &str, owner: &str, field: &str) -> Option<Site> {
        self.first_fact(
            unit,
            &FactKind::FeedsField {
                owner: owner.to_owned(),
                field: field.to_owned(),
            },
        )
    }

    /// Where `key` spawns, itself or through a function it calls.
    fn spawns(&self, key: &str, seen: &mut Vec<String>) -> Option<Site> {
        if seen.len() >= MAX_CHAIN || seen.iter().any(|s| s == key) {
            return None;
        }
        seen.push(key.to_owned());
        if let Some((_, at)) = self
            .facts
            .get(key)
            .into_iter()
            .flatten()
            .find(|(kind, _)| *kind == FactKind::Spawns)
        {
            return Some(at.clone());
        }
        for site in self
            .calls_from
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.sites.get(i))
        {
            for callee in self.callee_keys(&site.callee) {
                if let Some(at) = self.spawns(&callee, seen) {
                    return Some(at);
                }
            }
        }
        None
    }
}

/// The decision on a channel judged by how its producers are fed: the first one fed per outside
/// item makes it hold with that evidence (the message's `{per}` filled in); otherwise it holds
/// when some producer is out of view (or none is known), or when `keep` says bounded producers
/// do not quiet it.
fn feeding_decision(fed: impl Iterator<Item = Fed>, message: &str, keep: bool) -> Decision {
    let mut unknown = false;
    let mut any = false;
    for f in fed {
        any = true;
        match f {
            Fed::Outside(at, words) => {
                return Decision {
                    holds: true,
                    evidence: Some(at),
                    upgrade: Some((message.replace("{per}", &words), words)),
                    also: None,
                    label: None,
                    open: false,
                }
            }
            Fed::Bounded => {}
            Fed::Unknown => unknown = true,
        }
    }
    Decision {
        holds: unknown || !any || keep,
        evidence: None,
        upgrade: None,
        also: None,
        label: None,
        open: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Position;

    fn at(line: u32) -> Site {
        let p = Position {
            line,
            column: 1,
            byte: 0,
        };
        Site {
            path: "src/a.rs".into(),
            region: Region { start: p, end: p },
        }
    }

    fn call(caller: Option<&str>, callee: &[&str], under_timeout: bool, line: u32) -> CallSite {
        CallSite {
            caller: caller.map(str::to_owned),
            callee: callee.iter().map(|k| k.to_string()).collect(),
            under_timeout,
            detached: false,
            pace: CallPace::Unknown,
            args: Vec::new(),
            at: at(line),
        }
    }

    fn join(functions: &[&str], calls: Vec<CallSite>) -> Join {
        Join::new([FileSummary {
            unit: "u".to_owned(),
            functions: functions.iter().map(|f| f.to_string()).collect(),
            facts: Vec::new(),
            calls,
        }])
    }

    fn unguarded(j: &Join, f: &str) -> bool {
        j.decide(
            "u",
            &Condition::SomeCallerUnguarded {
                function: f.to_owned(),
            },
        )
        .holds
    }

    #[test]
    fn a_name_set_holds_exactly_its_names() {
        let set = NameSet::new(["dial", "Conn", "dial", "a", "dialer", ""]);
        assert_eq!(set.len(), 5);
        for name in ["dial", "Conn", "a", "dialer", ""] {
            assert!(set.contains(name), "{name}");
        }
        for name in ["dia", "dials", "conn", "b", "Conn "] {
            assert!(!set.contains(name), "{name}");
        }
        assert!(!NameSet::default().contains(""));
    }

    #[test]
    fn callers_of_callers_decide_and_recursion_is_no_caller() {
        // dial <- helper (bare) <- run (under a timeout): bounded.
        let j = join(
            &["net::dial", "net::helper", "run"],
            vec![
                call(Some("net::helper"), &["net::dial"], false, 1),
                call(Some("run"), &["net::helper"], true, 2),
            ],
        );
        assert!(!unguarded(&j, "net::dial"));
        // A function that only calls itself has no caller in view.
        let j = join(
            &["<Conn>::connect"],
            vec![call(Some("<Conn>::connect"), &["<?>::connect"], false, 1)],
        );
        assert!(unguarded(&j, "<Conn>::connect"));
    }

    #[test]
    fn a_receiver_of_unknown_type_neither_clears_nor_keeps_a_connect() {
        // `timeout(d, x.dial())` on an unknown `x` is no evidence that `Conn::dial` is bounded.
        let j = join(
            &["<Conn>::dial", "run"],
            vec![call(Some("run"), &["<?>::dial"], true, 1)],
        );
        assert!(unguarded(&j, "<Conn>::dial"));
        // A typed caller that bounds it does clear it, whatever unknown receivers do.
        let j = join(
            &["<Conn>::dial", "run", "poll"],
            vec![
                call(Some("run"), &["<Conn>::dial"], true, 1),
                call(Some("poll"), &["<?>::dial"], false, 2),
            ],
        );
        assert!(!unguarded(&j, "<Conn>::dial"));
    }

    fn with_args(mut site: CallSite, args: &[(u16, AddrShape)]) -> CallSite {
        site.args = args.to_vec();
        site
    }

    fn remote(j: &Join, function: &str) -> Decision {
        j.decide(
            "u",
            &Condition::RemotePeer {
                params: vec![AddrParam {
                    function: function.to_owned(),
                    position: 0,
                }],
                and: None,
            },
        )
    }

    #[test]
    fn an_address_parameter_is_local_only_when_every_caller_in_view_gives_loopback() {
        // new <- wrap (passes its parameter on) <- main (loopback), cli (loopback): quiet.
        let calls = |last: &[(u16, AddrShape)]| {
            vec![
                with_args(
                    call(Some("<Wrap>::new"), &["<Client>::new"], false, 1),
                    &[(0, AddrShape::Param(0))],
                ),
                with_args(
                    call(Some("main"), &["<Wrap>::new"], false, 2),
                    &[(0, AddrShape::Loopback)],
                ),
                with_args(call(Some("cli"), &["<Wrap>::new"], false, 3), last),
            ]
        };
        let functions = ["<Client>::new", "<Wrap>::new", "main", "cli"];
        let j = join(&functions, calls(&[(0, AddrShape::Loopback)]));
        assert!(!remote(&j, "<Client>::new").holds);
        // One caller gives something else: it holds, with that call as evidence.
        let j = join(&functions, calls(&[]));
        let d = remote(&j, "<Client>::new");
        assert!(d.holds);
        assert_eq!(d.also.map(|(at, _)| at.region.start.line), Some(3));
        // No caller in view: it holds; a call only from the function itself is none.
        let j = join(
            &["<Client>::new"],
            vec![with_args(
                call(Some("<Client>::new"), &["<Client>::new"], false, 1),
                &[(0, AddrShape::Param(0))],
            )],
        );
        assert!(remote(&j, "<Client>::new").holds);
    }

    #[test]
    fn a_spawning_method_is_reached_through_an_unknown_receiver_when_unique() {
        let spawns = |methods: &[&str]| {
            let mut functions: Vec<&str> = methods.to_vec();
            functions.push("serve");
            Join::new([FileSummary {
                unit: "u".to_owned(),
                functions: functions.iter().map(|f| f.to_string()).collect(),
                facts: vec![("<Server>::serve_conn".to_owned(), FactKind::Spawns, at(3))],
                calls: Vec::new(),
            }])
            .decide(
                "u",
                &Condition::CalleeSpawns {
                    callee: vec!["<?>::serve_conn".to_owned()],
                },
            )
            .holds
        };
        assert!(spawns(&["<Server>::serve_conn"]));
        assert!(!spawns(&["<Server>::serve_conn", "<Proxy>::serve_conn"]));
    }

    #[test]
    fn a_handler_of_routers_that_all_apply_a_request_timeout_bounds_its_callees() {
        // fetch <- handle (a handler); the router that registers it decides.
        let decide = |facts: Vec<(&str, FactKind)>, detached: bool| {
            let mut c = call(Some("api::handle"), &["net::fetch"], false, 1);
            c.detached = detached;
            Join::new([FileSummary {
                unit: "u".to_owned(),
                functions: vec![
                    "net::fetch".into(),
                    "api::handle".into(),
                    "app::routes".into(),
                ],
                facts: facts
                    .into_iter()
                    .map(|(k, f)| (k.to_owned(), f, at(9)))
                    .collect(),
                calls: vec![c],
            }])
            .decide(
                "u",
                &Condition::SomeCallerUnguarded {
                    function: "net::fetch".to_owned(),
                },
            )
        };
        let served = |covered| ("app::serve", FactKind::RouterServed { covered });
        let handler = ("api::handle", FactKind::Handler);
        assert!(!decide(vec![handler.clone(), served(true)], false).holds);
        // Spawned from the handler: the task outlives the request.
        assert!(decide(vec![handler.clone(), served(true)], true).holds);
        // Another router with no layer: every handler is unbounded, labelled at that router.
        let d = decide(vec![handler.clone(), served(true), served(false)], false);
        assert!(d.holds && d.label.is_some(), "{d:?}");
        // No router seen, or not a handler: no caller in view.
        assert!(decide(vec![handler.clone()], false).holds);
        assert!(decide(vec![served(true)], false).holds);
        // A router a function returns must be taken in by another router, or carry the layer.
        let returned = |covered| ("app::routes", FactKind::RouterReturned { covered });
        let absorbs = (
            "app::serve",
            FactKind::AbsorbsRouter {
                callee: vec!["app::routes".to_owned()],
            },
        );
        assert!(decide(vec![handler.clone(), served(true), returned(false)], false).holds);
        assert!(
            !decide(
                vec![handler.clone(), served(true), returned(false), absorbs],
                false
            )
            .holds
        );
        assert!(!decide(vec![handler, returned(true)], false).holds);
    }
}
