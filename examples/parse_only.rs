//! The benchmark's baseline: every `.rs` file under DIR through `syn::parse_file` (with span
//! locations, as the linter parses), on the same number of threads, nothing else.
//!
//!     cargo run --release --example parse_only -- DIR [THREADS]
use std::time::Instant;

use rayon::prelude::*;

// The same allocator as the linter, so that the comparison is the rules' cost and nothing else.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: parse_only DIR [THREADS]");
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(2);
    let files: Vec<_> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| e.into_path())
        .collect();
    let start = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(256 << 20)
        .build()
        .expect("thread pool");
    let (bytes, failed) = pool.install(|| {
        files
            .par_iter()
            .map(|path| {
                let Ok(text) = std::fs::read_to_string(path) else {
                    return (0, 1);
                };
                let ok = syn::parse_file(&text).is_ok();
                proc_macro2::extra::invalidate_current_thread_spans();
                (text.len(), usize::from(!ok))
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let secs = start.elapsed().as_secs_f64();
    let mb = bytes as f64 / 1e6;
    println!(
        "parse-only: {} files, {mb:.1} MB, {failed} not parsed, {secs:.2} s, {:.1} MB/s",
        files.len(),
        mb / secs
    );
}
