use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(cargo_backpressure::cli::main(std::env::args_os()))
}
