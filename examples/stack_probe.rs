//! Calibrates the depth guard (`src/guard.rs`): for each nesting shape, the stack one more level
//! takes in this build, the units the guard counts for it, and the stack per unit, which must stay
//! well under the worker stack over the limit (256 MiB / 16,384 = 16 KiB). Run it in the debug
//! build, the one with the largest frames; Linux only (it counts the stack's resident pages).
//!
//!     cargo run --example stack_probe             # the built-in shapes
//!     cargo run --example stack_probe -- FILE...  # the stack each file's analysis takes
use cargo_backpressure::catalogue::Catalogue;
use cargo_backpressure::cli::build_engine;
use cargo_backpressure::engine::Engine;
use cargo_backpressure::guard;
use cargo_backpressure::manifest::CrateInfo;

const WORKER_UNIT: f64 = (256u64 << 20) as f64 / guard::DEPTH_LIMIT as f64;

/// A name, and the whole file with `n` levels of it.
type Shape = (&'static str, fn(usize) -> String);

fn shapes() -> Vec<Shape> {
    vec![
        ("return", |n| {
            format!("fn f() {{ {}1; }}", "return ".repeat(n))
        }),
        ("break", |n| {
            format!("fn f() {{ loop {{ {}1; }} }}", "break ".repeat(n))
        }),
        ("neg", |n| format!("fn f() {{ {}x; }}", "- ".repeat(n))),
        ("borrow", |n| format!("fn f() {{ {}x; }}", "&".repeat(n))),
        ("assign", |n| format!("fn f() {{ {}x; }}", "x = ".repeat(n))),
        ("call_chain", |n| {
            format!("fn f() {{ f{}; }}", "()".repeat(n))
        }),
        ("index_chain", |n| {
            format!("fn f() {{ x{}; }}", "[0]".repeat(n))
        }),
        ("method_chain", |n| {
            format!("fn f() {{ x{}; }}", ".f()".repeat(n))
        }),
        ("sum", |n| format!("fn f() {{ x{}; }}", " + x".repeat(n))),
        ("closure", |n| {
            format!("fn f() {{ {}x; }}", "|a, b| ".repeat(n))
        }),
        ("async_block", |n| {
            format!(
                "fn f() {{ {}x{}; }}",
                "async move { ".repeat(n),
                " }".repeat(n)
            )
        }),
        ("parens", |n| {
            format!("fn f() {{ {}x{}; }}", "(".repeat(n), ")".repeat(n))
        }),
        ("blocks", |n| {
            format!("fn f() {{ {}x{}; }}", "{ ".repeat(n), " }".repeat(n))
        }),
        ("modules", |n| {
            format!("{}{}", "mod a { ".repeat(n), "}".repeat(n))
        }),
        ("fns_in_fns", |n| {
            format!("{}{}", "fn f() { ".repeat(n), "}".repeat(n))
        }),
        ("generic_types", |n| {
            format!("type T = {}u8{};", "Vec<".repeat(n), ">".repeat(n))
        }),
        ("reference_types", |n| {
            format!("type T = {}u8;", "&".repeat(n))
        }),
        ("pointer_types", |n| {
            format!("type T = {}u8;", "*const ".repeat(n))
        }),
        ("fn_pointer_types", |n| {
            format!("type T = {}u8;", "fn() -> ".repeat(n))
        }),
        ("dyn_fn_types", |n| {
            format!(
                "type T = {}u8{};",
                "Box<dyn Fn() -> ".repeat(n),
                ">".repeat(n)
            )
        }),
        ("qualified_paths", |n| {
            format!("type T = {}u8{};", "<".repeat(n), " as Tr>::A".repeat(n))
        }),
        ("reference_patterns", |n| {
            format!("fn f() {{ let {}x = y; }}", "&".repeat(n))
        }),
        ("binding_patterns", |n| {
            format!("fn f() {{ let {}y = z; }}", "x @ ".repeat(n))
        }),
        ("let_else", |n| {
            format!(
                "fn f() {{ {}return;{} }}",
                "let Some(x) = y else { ".repeat(n),
                " };".repeat(n)
            )
        }),
        ("macro_expanded", |n| {
            format!("fn f() {{ {}x{}; }}", "vec![".repeat(n), "]".repeat(n))
        }),
    ]
}

#[cfg(target_os = "linux")]
fn stack_used(engine: &Engine, text: &str) -> (usize, String) {
    extern "C" {
        fn mincore(addr: *mut std::ffi::c_void, len: usize, vec: *mut u8) -> i32;
    }
    const STACK: usize = 3 << 30;
    const PAGE: usize = 4096;
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(STACK)
            .spawn_scoped(s, || {
                let marker = 0u8;
                let top = std::ptr::addr_of!(marker) as usize & !(PAGE - 1);
                let outcome = match engine.analyze(text, &CrateInfo::default()) {
                    Ok(_) => "analysed".to_owned(),
                    Err(e) => e.to_string().chars().take(60).collect(),
                };
                // Down from the top until a long run of pages never touched.
                let (mut addr, mut lowest, mut misses) = (top, top, 0);
                while top - addr < STACK - (1 << 20) && misses < 256 {
                    let mut resident = 0u8;
                    // SAFETY: mincore only reads the page table for this thread's own stack.
                    if unsafe { mincore(addr as *mut _, PAGE, &mut resident) } != 0 {
                        break;
                    }
                    if resident & 1 == 1 {
                        lowest = addr;
                        misses = 0;
                    } else {
                        misses += 1;
                    }
                    addr -= PAGE;
                }
                (top - lowest, outcome)
            })
            .expect("thread")
            .join()
            .expect("no panic")
    })
}

#[cfg(not(target_os = "linux"))]
fn stack_used(_: &Engine, _: &str) -> (usize, String) {
    (0, "stack measurement needs Linux".to_owned())
}

fn main() {
    // No prefilter: every shape reaches the parser.
    let engine = build_engine(Catalogue::global(), false, false);
    let files: Vec<String> = std::env::args().skip(1).collect();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable file");
        let (used, outcome) = stack_used(&engine, &text);
        let depth = guard::estimated_depth(&text, usize::MAX);
        println!("{path}\t{used} bytes\testimate {depth}\t{outcome}");
    }
    if !files.is_empty() {
        return;
    }
    println!(
        "shape                 bytes/level  units/level  bytes/unit (worker: {WORKER_UNIT:.0})"
    );
    let (small, large) = (100, 200);
    for (name, shape) in shapes() {
        let (a, b) = (shape(small), shape(large));
        let (used_a, _) = stack_used(&engine, &a);
        let (used_b, outcome) = stack_used(&engine, &b);
        let bytes = (used_b as f64 - used_a as f64) / (large - small) as f64;
        let units = (guard::estimated_depth(&b, usize::MAX) as f64
            - guard::estimated_depth(&a, usize::MAX) as f64)
            / (large - small) as f64;
        let per_unit = if units > 0.0 {
            bytes / units
        } else {
            f64::INFINITY
        };
        let flag = if per_unit > WORKER_UNIT * 0.8 {
            "  <- too loose"
        } else {
            ""
        };
        println!("{name:<22}{bytes:>11.0}{units:>13.1}{per_unit:>12.0}  {outcome}{flag}");
    }
}
