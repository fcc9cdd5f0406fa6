//! The cache: per-file results (a file's findings, suppressed findings, test modules, prefiltered
//! flag or not-analysed reason, and what it gives the join: its summary and candidate findings),
//! what the run's later passes found in the files the prefilter skipped, and the crate model's
//! per-file lexical scans, kept between runs so that a second run over an unchanged tree reads
//! almost nothing. The join itself is redone each run, from the summaries at hand.
//!
//! Each entry is stored under the file's path (and a slot, for a later pass's) with the SHA-256
//! of the bytes it was computed from and a fingerprint of everything else that decides it (the
//! effective levels, rule options, API extensions, the file's crate facts, role, display path,
//! place in its crate and its package's defined names; see [`entry::result_context`]). A
//! file whose size and modification time are those recorded is trusted unchanged without being
//! read (as ruff trusts mtime); a stamp is recorded as trusted only when the file was last
//! modified at least [`RACY_SECONDS`] before the run that recorded it started, so an edit within
//! the file system's timestamp granularity is never missed (git's "racy clean" rule). Any other
//! file is read and hashed, and its entry is used only when the hash matches.
//!
//! The store is one JSON file per tool build (`cache-v1.json` in the cache folder), never trusted
//! when it does not parse or was written by another build: then it is empty, and a bad entry is a
//! miss. It is written atomically (a temporary file in the same folder, renamed over it) after
//! merging what a concurrent run wrote meanwhile, so two runs never corrupt it (one may lose the
//! other's new entries, which the next run recomputes). It holds at most [`MAX_ENTRIES`] entries
//! of each kind; beyond that the least recently used are evicted.
pub mod entry;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// The layout of the store file; a store of another format is ignored.
const FORMAT: u32 = 2;
/// The store file's name in the cache folder.
pub const STORE_FILE: &str = "cache-v1.json";
/// Entries of each kind (file results, lexical scans) kept at most: about 200 bytes each for a
/// clean file, so the store stays below some 100 MB even at the cap.
pub const MAX_ENTRIES: usize = 200_000;
/// A file modified this close to a run's start is read again next time (see the module docs).
pub const RACY_SECONDS: u64 = 2;
/// An entry used again is re-dated (and the store rewritten for it) only when its date is older
/// than this: a warm run over an unchanged tree writes nothing.
const REDATE_SECONDS: u64 = 24 * 60 * 60;

/// The SHA-256 of a file's bytes.
pub type FileDigest = [u8; 32];

/// The two kinds of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A file's analysis outcome.
    Result,
    /// The crate model's lexical scan of a file.
    Scan,
    /// What a later pass of the run found in a file the prefilter skipped (see `run.rs`'s
    /// `Pass`), in slots: whether it mentions a set of words, and its analysis when parsed.
    Later,
}

/// A file's size and modification time, as the quick check compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    size: u64,
    mtime_ns: u64,
}

impl Stamp {
    pub fn size(&self) -> u64 {
        self.size
    }
}

#[derive(Serialize, Deserialize, Default)]
struct Store {
    format: u32,
    /// The build that wrote it ([`tool_fingerprint`]).
    tool: String,
    results: HashMap<String, Part>,
    scans: HashMap<String, Part>,
    #[serde(default)]
    later: HashMap<String, Part>,
    /// The store file's stamp when it was read: unchanged at save, no concurrent run wrote it.
    #[serde(skip)]
    file_stamp: Option<Stamp>,
}

impl Store {
    fn map(&self, kind: Kind) -> &HashMap<String, Part> {
        match kind {
            Kind::Result => &self.results,
            Kind::Scan => &self.scans,
            Kind::Later => &self.later,
        }
    }
    fn map_mut(&mut self, kind: Kind) -> &mut HashMap<String, Part> {
        match kind {
            Kind::Result => &mut self.results,
            Kind::Scan => &mut self.scans,
            Kind::Later => &mut self.later,
        }
    }
}

/// One file's entry of one kind (one-letter names: the store holds one per file).
#[derive(Serialize, Deserialize, Clone)]
struct Part {
    #[serde(rename = "s")]
    size: u64,
    #[serde(rename = "m")]
    mtime_ns: u64,
    /// Whether the stamp may stand for the bytes (the file was not modified just before).
    #[serde(rename = "t")]
    trusted: bool,
    /// Hex SHA-256 of the bytes the value was computed from.
    #[serde(rename = "d")]
    digest: String,
    /// Hex fingerprint of everything else the value depends on.
    #[serde(rename = "c")]
    context: String,
    /// Seconds since the epoch when a run last used it.
    #[serde(rename = "u")]
    used: u64,
    #[serde(rename = "v")]
    value: Box<RawValue>,
}

/// The cache of one run: the store as loaded, and the entries this run adds or uses.
pub struct Cache {
    dir: PathBuf,
    tool: String,
    started: SystemTime,
    /// The store as loaded, read on a thread of its own while the run walks the tree.
    loaded: std::sync::OnceLock<Store>,
    loading: Mutex<Option<std::thread::JoinHandle<Option<Store>>>>,
    /// Each file's stamp, taken once (the crate model and the analysis both look it up).
    stamps: Mutex<HashMap<PathBuf, Option<Stamp>>>,
    fresh: Mutex<Vec<(Kind, String, Part)>>,
    /// Loaded entries this run used whose date is old enough to be renewed.
    used: Mutex<Vec<(Kind, String)>>,
    hits: AtomicUsize,
    misses: AtomicUsize,
    /// Fingerprint parts shared by many files of the run.
    pub(crate) memo: Memo,
}

/// Fingerprint parts computed once per run ([`entry::result_context`]).
#[derive(Default)]
pub(crate) struct Memo {
    /// The parts every file shares (engine settings, rule options, API extensions).
    pub(crate) run: std::sync::OnceLock<String>,
    /// Per crate's facts, by their `Arc` (held, so that its address is not reused meanwhile).
    facts: Mutex<HashMap<usize, (std::sync::Arc<crate::manifest::CrateInfo>, String)>>,
    /// Per unit's defined names, by their `Arc` (held likewise).
    names: Mutex<NamesMemo>,
}

type NamesMemo = HashMap<usize, (std::sync::Arc<crate::engine::summary::NameSet>, String)>;

impl Memo {
    pub(crate) fn crate_facts(
        &self,
        info: &std::sync::Arc<crate::manifest::CrateInfo>,
        compute: impl FnOnce() -> String,
    ) -> String {
        memo_by_identity(&self.facts, info, compute)
    }

    pub(crate) fn unit_names(
        &self,
        names: &std::sync::Arc<crate::engine::summary::NameSet>,
        compute: impl FnOnce() -> String,
    ) -> String {
        memo_by_identity(&self.names, names, compute)
    }
}

/// The fingerprint of a shared value, computed once per value: keyed by the `Arc`'s address, which
/// the map keeps alive (the clone it holds) so that no other value can come to reuse it.
fn memo_by_identity<T>(
    map: &Mutex<HashMap<usize, (std::sync::Arc<T>, String)>>,
    value: &std::sync::Arc<T>,
    compute: impl FnOnce() -> String,
) -> String {
    let key = std::sync::Arc::as_ptr(value) as *const () as usize;
    if let Some((_, print)) = lock(map).get(&key) {
        return print.clone();
    }
    let print = compute();
    lock(map).insert(key, (value.clone(), print.clone()));
    print
}

/// What a run got from the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub hits: usize,
    pub misses: usize,
}

impl Cache {
    /// The cache in `dir` (created when it is saved). A store that is missing, does not parse, or
    /// was written by another build of the tool reads as empty.
    pub fn open(dir: &Path) -> Cache {
        let tool = tool_fingerprint();
        let (file, wanted) = (dir.join(STORE_FILE), tool.clone());
        let loading = std::thread::Builder::new()
            .name("backpressure-cache".to_owned())
            .spawn(move || read_store(&file, &wanted))
            .ok();
        Cache {
            dir: dir.to_path_buf(),
            tool,
            started: SystemTime::now(),
            loaded: std::sync::OnceLock::new(),
            loading: Mutex::new(loading),
            stamps: Mutex::new(HashMap::new()),
            fresh: Mutex::new(Vec::new()),
            used: Mutex::new(Vec::new()),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            memo: Memo::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store as loaded (waits for the loading thread the first time; read here if it could
    /// not be started).
    fn loaded(&self) -> &Store {
        self.loaded.get_or_init(|| {
            let handle = lock(&self.loading).take();
            let store = match handle {
                Some(h) => h.join().ok().flatten(),
                None => read_store(&self.dir.join(STORE_FILE), &self.tool),
            };
            store.unwrap_or_else(|| Store {
                format: FORMAT,
                tool: self.tool.clone(),
                ..Store::default()
            })
        })
    }

    /// [`Cache::stamp`], taken once per run for each file.
    pub fn stamp_of(&self, path: &Path) -> Option<Stamp> {
        if let Some(stamp) = lock(&self.stamps).get(path) {
            return *stamp;
        }
        let stamp = Cache::stamp(path);
        lock(&self.stamps).insert(path.to_path_buf(), stamp);
        stamp
    }

    pub fn counts(&self) -> Counts {
        Counts {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    /// The file's size and modification time (None when it cannot be read: no quick check).
    pub fn stamp(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(Stamp {
            size: meta.len(),
            mtime_ns: u64::try_from(mtime.as_nanos()).ok()?,
        })
    }

    /// The entry of `kind` for `path` under `context`: when `digest` is given, only if it was
    /// computed from those bytes; without, only if the file's stamp is the one recorded (and was
    /// trusted). A value that does not deserialise is a miss. Returns it with its bytes' digest.
    pub fn lookup<T: DeserializeOwned>(
        &self,
        kind: Kind,
        path: &Path,
        context: &str,
        stamp: Option<Stamp>,
        digest: Option<&FileDigest>,
    ) -> Option<(T, FileDigest)> {
        self.lookup_slot(kind, path, "", context, stamp, digest)
    }

    /// [`Cache::lookup`] of one of a file's entries of `kind` (several, told apart by `slot`).
    pub fn lookup_slot<T: DeserializeOwned>(
        &self,
        kind: Kind,
        path: &Path,
        slot: &str,
        context: &str,
        stamp: Option<Stamp>,
        digest: Option<&FileDigest>,
    ) -> Option<(T, FileDigest)> {
        let key = slot_key(path, slot)?;
        let key = key.as_str();
        let part = self.loaded().map(kind).get(key)?;
        let same_bytes = match digest {
            Some(d) => part.digest == hex(d),
            None => {
                part.trusted
                    && stamp.is_some_and(|s| s.size == part.size && s.mtime_ns == part.mtime_ns)
            }
        };
        if !same_bytes || part.context != context {
            return None;
        }
        let value = serde_json::from_str(part.value.get()).ok()?;
        let digest = unhex(&part.digest)?;
        if now_secs().saturating_sub(part.used) > REDATE_SECONDS {
            lock(&self.used).push((kind, key.to_owned()));
        }
        Some((value, digest))
    }

    /// Records a hit or a miss of the file results (for `--stats`).
    pub fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Stores `value` for `path`, computed from the bytes with `digest` under `context`; `stamp`
    /// is the file's, taken before it was read.
    pub fn store<T: Serialize>(
        &self,
        kind: Kind,
        path: &Path,
        context: &str,
        stamp: Option<Stamp>,
        digest: &FileDigest,
        value: &T,
    ) {
        self.store_slot(kind, path, "", context, stamp, digest, value);
    }

    /// [`Cache::store`] in one of a file's slots (see [`Cache::lookup_slot`]).
    #[allow(clippy::too_many_arguments)]
    pub fn store_slot<T: Serialize>(
        &self,
        kind: Kind,
        path: &Path,
        slot: &str,
        context: &str,
        stamp: Option<Stamp>,
        digest: &FileDigest,
        value: &T,
    ) {
        let (Some(key), Some(stamp)) = (slot_key(path, slot), stamp) else {
            return;
        };
        let key = key.as_str();
        // Unchanged since loaded (a hit by digest after the stamp moved is stored again).
        if let Some(old) = self.loaded().map(kind).get(key) {
            if old.size == stamp.size
                && old.mtime_ns == stamp.mtime_ns
                && old.digest == hex(digest)
                && old.context == context
                && old.trusted
            {
                return;
            }
        }
        let Ok(text) = serde_json::to_string(value) else {
            return;
        };
        let Ok(value) = RawValue::from_string(text) else {
            return;
        };
        let racy_after = self
            .started
            .checked_sub(Duration::from_secs(RACY_SECONDS))
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        let part = Part {
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
            trusted: stamp.mtime_ns < racy_after,
            digest: hex(digest),
            context: context.to_owned(),
            used: now_secs(),
            value,
        };
        lock(&self.fresh).push((kind, key.to_owned(), part));
    }

    /// Writes the store when this run added or renewed entries (call it once the run is over):
    /// the store on disk now (a concurrent run may have written it since it was loaded) merged with this run's entries,
    /// the oldest evicted beyond [`MAX_ENTRIES`], written to a temporary file renamed over it.
    pub fn save(self) -> Result<(), String> {
        let fresh = self.fresh.into_inner().unwrap_or_else(|e| e.into_inner());
        let used = self.used.into_inner().unwrap_or_else(|e| e.into_inner());
        if fresh.is_empty() && used.is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let file = self.dir.join(STORE_FILE);
        let current = Cache::stamp(&file);
        // The store as loaded when nobody wrote the file since (no second read of it), else as
        // the concurrent run left it.
        let mut store = match self.loaded.into_inner() {
            Some(loaded) if loaded.file_stamp == current => loaded,
            _ => read_store(&file, &self.tool).unwrap_or_else(|| Store {
                format: FORMAT,
                tool: self.tool.clone(),
                ..Store::default()
            }),
        };
        let now = now_secs();
        for (kind, key) in used {
            if let Some(part) = store.map_mut(kind).get_mut(&key) {
                part.used = now;
            }
        }
        for (kind, key, part) in fresh {
            store.map_mut(kind).insert(key, part);
        }
        for kind in [Kind::Result, Kind::Scan, Kind::Later] {
            evict_oldest(store.map_mut(kind), MAX_ENTRIES);
        }
        let text = serde_json::to_vec(&store).map_err(|e| e.to_string())?;
        mark_as_cache(&self.dir);
        remove_abandoned_temporaries(&self.dir);
        write_atomically(&self.dir, &file, &text)
    }
}

/// The store's key of a file's entry in `slot` (the path alone for the first).
fn slot_key(path: &Path, slot: &str) -> Option<String> {
    let path = path.to_str()?;
    Some(if slot.is_empty() {
        path.to_owned()
    } else {
        format!("{path}\0{slot}")
    })
}

/// The store in `file` when it parses and this build wrote it.
fn read_store(file: &Path, tool: &str) -> Option<Store> {
    // Taken before reading: a write in between makes it differ at save, never the other way.
    let file_stamp = Cache::stamp(file);
    let bytes = std::fs::read(file).ok()?;
    let mut store: Store = serde_json::from_slice(&bytes).ok()?;
    store.file_stamp = file_stamp;
    (store.format == FORMAT && store.tool == tool).then_some(store)
}

fn evict_oldest(map: &mut HashMap<String, Part>, cap: usize) {
    if map.len() <= cap {
        return;
    }
    // Newest first; among entries of the same date, by path (one run dates all its entries alike).
    let mut order: Vec<(u64, String)> = map.iter().map(|(k, p)| (p.used, k.clone())).collect();
    order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (_, key) in order.into_iter().skip(cap) {
        map.remove(&key);
    }
}

/// Marks the folder as ruff marks its own: git ignores everything in it (so a cache inside a
/// fixture or a project without `/target` in its .gitignore never shows as untracked), and backup
/// tools skip it (CACHEDIR.TAG).
fn mark_as_cache(dir: &Path) {
    let marks = [
        (".gitignore", "# Created by cargo-backpressure.\n*\n"),
        (
            "CACHEDIR.TAG",
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo-backpressure.\n",
        ),
    ];
    for (name, text) in marks {
        let path = dir.join(name);
        if !path.exists() {
            let _ = std::fs::write(path, text);
        }
    }
}

/// Temporary files a killed run left (older than an hour: a live run renames its own in
/// moments), so that the folder stays bounded too.
fn remove_abandoned_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let hour_ago = SystemTime::now() - Duration::from_secs(60 * 60);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let abandoned = name.starts_with(TEMP_PREFIX)
            && name.ends_with(TEMP_SUFFIX)
            && entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < hour_ago);
        if abandoned {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

const TEMP_PREFIX: &str = ".cache-";
const TEMP_SUFFIX: &str = ".tmp";

fn write_atomically(dir: &Path, file: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    temp.write_all(bytes)
        .and_then(|()| temp.flush())
        .map_err(|e| format!("cannot write the cache: {e}"))?;
    temp.persist(file)
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(())
}

/// The tool's version and its executable's size and modification time: a rebuilt binary (whose
/// rules may have changed under the same version) starts from an empty cache.
pub fn tool_fingerprint() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| Cache::stamp(&p))
        .map(|s| format!("{}-{}", s.size, s.mtime_ns))
        .unwrap_or_default();
    format!("{}+{exe}", env!("CARGO_PKG_VERSION"))
}

/// The SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> FileDigest {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<FileDigest> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A hex SHA-256 over `parts`, each delimited (for context fingerprints).
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(used: u64) -> Part {
        Part {
            size: 0,
            mtime_ns: 0,
            trusted: true,
            digest: String::new(),
            context: String::new(),
            used,
            value: RawValue::from_string("null".to_owned()).unwrap(),
        }
    }

    #[test]
    fn eviction_keeps_the_newest_within_the_cap() {
        let mut map: HashMap<String, Part> = (0..10).map(|i| (i.to_string(), part(i))).collect();
        evict_oldest(&mut map, 4);
        let mut kept: Vec<u64> = map.values().map(|p| p.used).collect();
        kept.sort_unstable();
        assert_eq!(kept, vec![6, 7, 8, 9]);
    }

    #[test]
    fn hex_round_trips() {
        let d = digest(b"abc");
        assert_eq!(unhex(&hex(&d)), Some(d));
        assert_eq!(unhex("zz"), None);
    }
}
