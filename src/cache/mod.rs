//! The cache: per-file results (a file's findings, suppressed findings, test modules, prefiltered
//! flag or not-analysed reason, and what it gives the join: its summary and candidate findings),
//! what the run's later passes found in the files the prefilter skipped, the crate model's
//! per-file lexical scans, and each unit's outcome after its join, kept between runs so that a
//! second run over an unchanged tree reads almost nothing.
//!
//! Each file entry is stored under the file's path (and a slot, for a later pass's) with the
//! SHA-256 of the bytes it was computed from and a fingerprint of everything else that decides it
//! (the effective levels, rule options, API extensions, the file's crate facts, role, display
//! path, place in its crate and its package's defined names; see [`entry::result_context`]). A
//! file whose size and modification time are those recorded is trusted unchanged without being
//! read (as ruff trusts mtime); a stamp is recorded as trusted only when the file was last
//! modified at least [`RACY_SECONDS`] before the run that recorded it started, so an edit within
//! the file system's timestamp granularity is never missed (git's "racy clean" rule). Any other
//! file is read and hashed, and its entry is used only when the hash matches. A unit's entry is
//! stored under its name with the fingerprint of all its inputs (each file's placement, context,
//! trusted stamp and serving judgement; see `run.rs`'s `UnitKey`): when they are unchanged, its
//! files are neither looked up one by one nor joined again.
//!
//! The store is one binary file per tool build (`cache-v3.bin` in the cache folder; layout and
//! integrity check in `store.rs`), read whole and decoded lazily: an entry's value only when it
//! is looked up. It is never trusted when damaged or written by another build: then it is
//! empty, and an entry whose value does not decode is a miss. It is written atomically (a
//! temporary file in the same folder, renamed over it) after merging what a concurrent run wrote
//! meanwhile, so two runs never corrupt it (one may lose the other's new entries, which the next
//! run recomputes). It holds at most [`MAX_ENTRIES`] entries of each kind; beyond that the least
//! recently used are evicted.
pub mod entry;
mod store;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use store::{Header, Loaded};

/// The store file's name in the cache folder.
pub const STORE_FILE: &str = "cache-v3.bin";
/// Store files of earlier layouts, removed when a store is written (the JSON one was ~50 MB).
const OLD_STORE_FILES: &[&str] = &["cache-v1.json"];
/// Entries of each kind (file results, lexical scans, ...) kept at most: about 200 bytes each for
/// a clean file, so the store stays below some 100 MB even at the cap.
pub const MAX_ENTRIES: usize = 200_000;
/// A file modified this close to a run's start is read again next time (see the module docs).
pub const RACY_SECONDS: u64 = 2;
/// An entry used again is re-dated (and the store rewritten for it) only when its date is older
/// than this: a warm run over an unchanged tree writes nothing.
const REDATE_SECONDS: u64 = 24 * 60 * 60;

/// The SHA-256 of a file's bytes.
pub type FileDigest = [u8; 32];

/// A SHA-256 over the parts of a context (see [`fingerprint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

/// The kinds of entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A file's analysis outcome.
    Result,
    /// The crate model's lexical scan of a file.
    Scan,
    /// What a later pass of the run found in a file the prefilter skipped (see `run.rs`'s
    /// `Pass`), in slots: whether it mentions a set of words, and its analysis when parsed.
    Later,
    /// A unit's outcome after its join (see `run.rs`'s `lint_unit`), under its key: the digest
    /// is the fingerprint of every input of the unit.
    Unit,
}

/// How many kinds there are (the store has a section for each).
pub const KINDS: usize = 4;

impl Kind {
    pub const ALL: [Kind; KINDS] = [Kind::Result, Kind::Scan, Kind::Later, Kind::Unit];

    fn index(self) -> usize {
        self as usize
    }
}

/// A file's size and modification time, as the quick check compares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    size: u64,
    mtime_ns: u64,
}

impl Stamp {
    /// The stamp of an entry that stands for no one file (a unit's outcome): never trusted.
    pub const NONE: Stamp = Stamp {
        size: 0,
        mtime_ns: 0,
    };

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn mtime_ns(&self) -> u64 {
        self.mtime_ns
    }
}

/// The store as loaded, and the store file's stamp when it was read: unchanged at save, no
/// concurrent run wrote it.
struct Store {
    loaded: Option<Loaded>,
    file_stamp: Option<Stamp>,
}

impl Store {
    fn get(&self, kind: Kind, key: &str) -> Option<store::View<'_>> {
        self.loaded.as_ref()?.get(kind, key)
    }
}

/// An entry this run computed.
struct Fresh {
    header: Header,
    value: Vec<u8>,
}

/// The cache of one run: the store as loaded, and the entries this run adds or uses.
pub struct Cache {
    dir: PathBuf,
    tool: String,
    started: SystemTime,
    /// The store as loaded, read on a thread of its own while the run walks the tree.
    loaded: std::sync::OnceLock<Store>,
    loading: Mutex<Option<std::thread::JoinHandle<Store>>>,
    /// Each file's stamp, taken once (the crate model and the analysis both look it up).
    stamps: Mutex<HashMap<PathBuf, Option<Stamp>>>,
    fresh: Mutex<Vec<(Kind, String, Fresh)>>,
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
    pub(crate) run: std::sync::OnceLock<Fingerprint>,
    /// Per crate's facts, by their `Arc` (held, so that its address is not reused meanwhile).
    facts: Mutex<HashMap<usize, (std::sync::Arc<crate::manifest::CrateInfo>, Fingerprint)>>,
    /// Per unit's defined names, by their `Arc` (held likewise).
    names: Mutex<NamesMemo>,
}

type NamesMemo = HashMap<usize, (std::sync::Arc<crate::engine::summary::NameSet>, Fingerprint)>;

impl Memo {
    pub(crate) fn crate_facts(
        &self,
        info: &std::sync::Arc<crate::manifest::CrateInfo>,
        compute: impl FnOnce() -> Fingerprint,
    ) -> Fingerprint {
        memo_by_identity(&self.facts, info, compute)
    }

    pub(crate) fn unit_names(
        &self,
        names: &std::sync::Arc<crate::engine::summary::NameSet>,
        compute: impl FnOnce() -> Fingerprint,
    ) -> Fingerprint {
        memo_by_identity(&self.names, names, compute)
    }
}

/// The fingerprint of a shared value, computed once per value: keyed by the `Arc`'s address, which
/// the map keeps alive (the clone it holds) so that no other value can come to reuse it.
fn memo_by_identity<T>(
    map: &Mutex<HashMap<usize, (std::sync::Arc<T>, Fingerprint)>>,
    value: &std::sync::Arc<T>,
    compute: impl FnOnce() -> Fingerprint,
) -> Fingerprint {
    let key = std::sync::Arc::as_ptr(value) as *const () as usize;
    if let Some((_, print)) = lock(map).get(&key) {
        return *print;
    }
    let print = compute();
    lock(map).insert(key, (value.clone(), print));
    print
}

/// What a run got from the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub hits: usize,
    pub misses: usize,
}

impl Cache {
    /// The cache in `dir` (created when it is saved). A store that is missing, damaged, or
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
    /// not be started, or panicked).
    fn loaded(&self) -> &Store {
        self.loaded.get_or_init(|| {
            let handle = lock(&self.loading).take();
            handle
                .and_then(|h| h.join().ok())
                .unwrap_or_else(|| read_store(&self.dir.join(STORE_FILE), &self.tool))
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

    /// Whether a file with this stamp was modified long enough before the run started that the
    /// stamp may stand for its bytes in a later run (see the module docs).
    pub fn trusts(&self, stamp: &Stamp) -> bool {
        let racy_after = self
            .started
            .checked_sub(Duration::from_secs(RACY_SECONDS))
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        stamp.mtime_ns < racy_after
    }

    /// The entry of `kind` for `path` under `context`: when `digest` is given, only if it was
    /// computed from those bytes; without, only if the file's stamp is the one recorded (and was
    /// trusted). A value that does not decode is a miss. Returns it with its bytes' digest.
    pub fn lookup<T: DeserializeOwned>(
        &self,
        kind: Kind,
        path: &Path,
        context: &Fingerprint,
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
        context: &Fingerprint,
        stamp: Option<Stamp>,
        digest: Option<&FileDigest>,
    ) -> Option<(T, FileDigest)> {
        let key = slot_key(path.to_str()?, slot);
        self.lookup_key(kind, &key, context, stamp, digest)
    }

    /// [`Cache::lookup`] by the entry's key itself (a unit's entry is under its name).
    pub fn lookup_key<T: DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
        context: &Fingerprint,
        stamp: Option<Stamp>,
        digest: Option<&FileDigest>,
    ) -> Option<(T, FileDigest)> {
        let view = self.loaded().get(kind, key)?;
        let part = view.header;
        let same_bytes = match digest {
            Some(d) => part.digest == *d,
            None => {
                part.trusted
                    && stamp.is_some_and(|s| s.size == part.size && s.mtime_ns == part.mtime_ns)
            }
        };
        if !same_bytes || part.context != *context {
            return None;
        }
        let value = decode(view.value)?;
        if now_secs().saturating_sub(part.used) > REDATE_SECONDS {
            lock(&self.used).push((kind, key.to_owned()));
        }
        Some((value, part.digest))
    }

    /// Records a hit or a miss of the file results (for `--stats`).
    pub fn count(&self, hit: bool) {
        self.count_many(hit, 1);
    }

    /// Records `n` hits or misses (a unit's files, when its entry stands for them).
    pub fn count_many(&self, hit: bool, n: usize) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Stores `value` for `path`, computed from the bytes with `digest` under `context`; `stamp`
    /// is the file's, taken before it was read.
    pub fn store<T: Serialize>(
        &self,
        kind: Kind,
        path: &Path,
        context: &Fingerprint,
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
        context: &Fingerprint,
        stamp: Option<Stamp>,
        digest: &FileDigest,
        value: &T,
    ) {
        let (Some(path), Some(stamp)) = (path.to_str(), stamp) else {
            return;
        };
        let trusted = self.trusts(&stamp);
        self.store_key(
            kind,
            slot_key(path, slot),
            context,
            stamp,
            trusted,
            digest,
            value,
        );
    }

    /// [`Cache::store`] under the entry's key itself, with the stamp and trust it is kept with
    /// (a unit's entry has none: its digest stands for its inputs).
    #[allow(clippy::too_many_arguments)]
    pub fn store_key<T: Serialize>(
        &self,
        kind: Kind,
        key: String,
        context: &Fingerprint,
        stamp: Stamp,
        trusted: bool,
        digest: &FileDigest,
        value: &T,
    ) {
        let header = Header {
            size: stamp.size,
            mtime_ns: stamp.mtime_ns,
            trusted,
            digest: *digest,
            context: *context,
            used: now_secs(),
        };
        // Unchanged since loaded (a hit by digest after the stamp moved is stored again).
        if let Some(old) = self.loaded().get(kind, &key) {
            let undated = Header {
                used: old.header.used,
                ..header
            };
            if undated == old.header {
                return;
            }
        }
        let Ok(value) = postcard::to_allocvec(value) else {
            return;
        };
        lock(&self.fresh).push((kind, key, Fresh { header, value }));
    }

    /// Writes the store when this run added or renewed entries (call it once the run is over):
    /// the store on disk now (a concurrent run may have written it since it was loaded) merged with
    /// this run's entries, the oldest evicted beyond [`MAX_ENTRIES`], written to a temporary file
    /// renamed over it.
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
        let base = match self.loaded.into_inner() {
            Some(loaded) if loaded.file_stamp == current => loaded,
            _ => read_store(&file, &self.tool),
        };
        let now = now_secs();
        let used: HashSet<(usize, &str)> = used
            .iter()
            .map(|(k, key)| (k.index(), key.as_str()))
            .collect();
        let mut sections: [Vec<(&str, Header, &[u8])>; KINDS] = Default::default();
        for kind in Kind::ALL {
            let section = &mut sections[kind.index()];
            let mine: HashMap<&str, &Fresh> = fresh
                .iter()
                .filter(|(k, _, _)| *k == kind)
                .map(|(_, key, f)| (key.as_str(), f))
                .collect();
            // This run's entries win over the loaded ones of the same key.
            section.extend(
                mine.iter()
                    .map(|(key, f)| (*key, f.header, f.value.as_slice())),
            );
            if let Some(loaded) = &base.loaded {
                section.extend(
                    loaded
                        .iter(kind)
                        .filter(|v| !mine.contains_key(v.key))
                        .map(|v| {
                            let mut header = v.header;
                            if used.contains(&(kind.index(), v.key)) {
                                header.used = now;
                            }
                            (v.key, header, v.value)
                        }),
                );
            }
            evict_oldest(section, MAX_ENTRIES);
            section.sort_unstable_by(|a, b| a.0.cmp(b.0));
        }
        let bytes = store::write(&self.tool, &sections);
        mark_as_cache(&self.dir);
        remove_abandoned_temporaries(&self.dir);
        write_atomically(&self.dir, &file, &bytes)?;
        for old in OLD_STORE_FILES {
            let _ = std::fs::remove_file(self.dir.join(old));
        }
        Ok(())
    }
}

/// The store's key of a file's entry in `slot` (the path alone for the first).
fn slot_key(path: &str, slot: &str) -> String {
    if slot.is_empty() {
        path.to_owned()
    } else {
        format!("{path}\0{slot}")
    }
}

/// A value as the store keeps it; None when the bytes are not exactly one value of `T`.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Some(value),
        _ => None,
    }
}

/// The store in `file` when it is one and this build wrote it; else an empty store.
fn read_store(file: &Path, tool: &str) -> Store {
    // Taken before reading: a write in between makes it differ at save, never the other way.
    let file_stamp = Cache::stamp(file);
    let loaded = std::fs::read(file)
        .ok()
        .and_then(Loaded::parse)
        .filter(|l| l.tool() == tool);
    Store { loaded, file_stamp }
}

/// Keeps the `cap` most recently used entries.
fn evict_oldest(entries: &mut Vec<(&str, Header, &[u8])>, cap: usize) {
    if entries.len() <= cap {
        return;
    }
    // Newest first; among entries of the same date, by key (one run dates all its entries alike).
    entries.sort_unstable_by(|a, b| b.1.used.cmp(&a.1.used).then_with(|| a.0.cmp(b.0)));
    entries.truncate(cap);
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

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A SHA-256 over `parts`, each delimited (for context fingerprints).
pub fn fingerprint(parts: impl IntoIterator<Item = impl AsRef<[u8]>>) -> Fingerprint {
    let mut hasher = Sha256::new();
    for part in parts {
        let part = part.as_ref();
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    Fingerprint(hasher.finalize().into())
}

/// For the tests of the cache's guarantees (a damaged or foreign store is never trusted): a
/// store file read and rewritten whole.
#[doc(hidden)]
pub mod testing {
    use super::*;

    /// Whether `bytes` are a store of this layout (checksum, lengths, key order).
    pub fn is_store(bytes: &[u8]) -> bool {
        Loaded::parse(bytes.to_vec()).is_some()
    }

    /// Rewrites the store in `file` (valid again: its checksum recomputed) with the value of
    /// every entry of the `kinds` replaced by `value`, and its tool by `tool`, where given.
    /// False when it is no store.
    pub fn rewrite(file: &Path, values: Option<(&[u8], &[Kind])>, tool: Option<&str>) -> bool {
        let Some(loaded) = std::fs::read(file).ok().and_then(Loaded::parse) else {
            return false;
        };
        let sections: [Vec<(&str, Header, &[u8])>; KINDS] = Kind::ALL.map(|kind| {
            let replaced = values.filter(|(_, kinds)| kinds.contains(&kind));
            loaded
                .iter(kind)
                .map(|v| {
                    (
                        v.key,
                        v.header,
                        replaced.map_or(v.value, |(value, _)| value),
                    )
                })
                .collect()
        });
        let bytes = store::write(tool.unwrap_or(loaded.tool()), &sections);
        std::fs::write(file, bytes).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(used: u64) -> Header {
        Header {
            size: 0,
            mtime_ns: 0,
            trusted: true,
            digest: [0; 32],
            context: Fingerprint::default(),
            used,
        }
    }

    #[test]
    fn eviction_keeps_the_newest_within_the_cap() {
        let keys: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let mut entries: Vec<(&str, Header, &[u8])> = keys
            .iter()
            .zip(0..)
            .map(|(k, i)| (k.as_str(), header(i), &[][..]))
            .collect();
        evict_oldest(&mut entries, 4);
        let mut kept: Vec<u64> = entries.iter().map(|e| e.1.used).collect();
        kept.sort_unstable();
        assert_eq!(kept, vec![6, 7, 8, 9]);
    }

    #[test]
    fn a_value_with_bytes_left_over_is_a_miss() {
        let mut bytes = postcard::to_allocvec(&(1u32, "a")).unwrap();
        assert_eq!(decode::<(u32, String)>(&bytes), Some((1, "a".to_owned())));
        bytes.push(0);
        assert_eq!(decode::<(u32, String)>(&bytes), None);
    }
}
