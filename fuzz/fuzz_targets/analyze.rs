//! Arbitrary bytes through the whole per-file analysis: UTF-8 check, prefilter, depth and token
//! guard, parse, macro expansion, path resolution and every rule. Any panic or overflow is a bug.
//! The seed corpus is the fixtures and long runs of nesting steps (`fuzz/seed.sh`),
//! `fuzz/catalogue.dict` holds the catalogue's words, so the mutations stay close to code the rules
//! look at, and half the mutations insert long runs (`runs.rs`).
#![no_main]

mod runs;

use std::sync::OnceLock;

use cargo_backpressure::catalogue::Catalogue;
use cargo_backpressure::cli::build_engine;
use cargo_backpressure::engine::Engine;
use cargo_backpressure::manifest::CrateInfo;
use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fn engines() -> &'static [Engine; 2] {
    static ENGINES: OnceLock<[Engine; 2]> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let catalogue = Catalogue::global();
        // With the prefilter (as shipped) and without it (every input reaches the parser).
        [
            build_engine(catalogue, true, true),
            build_engine(catalogue, true, false),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let info = CrateInfo::default();
    for engine in engines() {
        let _ = engine.analyze(text, &info);
        // Spans are kept per thread; the run forgets them after each file, and so must the fuzzer.
        proc_macro2::extra::invalidate_current_thread_spans();
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    runs::mutate(data, size, max_size, seed)
});
