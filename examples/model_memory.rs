//! What the crate model keeps: the bytes live after the walk, at the model's peak and after it is
//! built, counted by a wrapping allocator (peak RSS also counts what the allocator retains).
//!
//!     cargo run --release --example model_memory -- DIR
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use cargo_backpressure::crate_model::CrateModel;
use cargo_backpressure::walk::Sources;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the allocator the linter uses.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: model_memory DIR");
    let sources = Sources::new(&[dir.into()]).expect("a directory to walk");
    let listed = Mutex::new(Vec::new());
    sources.walk(2, &|file| listed.lock().expect("no panic").push(file));
    let files = listed.into_inner().expect("no panic");
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let model = CrateModel::build(files.iter().map(|f| f.path.as_path()));
    let after = LIVE.load(Ordering::Relaxed);
    println!(
        "{} files: live after the walk {}, model peak +{}, model kept +{}",
        files.len(),
        mib(before),
        mib(PEAK.load(Ordering::Relaxed) - before),
        mib(after - before)
    );
    drop(model);
}
