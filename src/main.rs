use std::process::ExitCode;

// syn allocates a node per token and frees the tree after each file: mimalloc's per-thread free
// lists make that churn cheaper than the system allocator's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(cargo_backpressure::cli::main(std::env::args_os()))
}
