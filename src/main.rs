//! The `profile-api` binary: reads the configuration, sets up logging and runs a subcommand.

use std::process::ExitCode;

use clap::Parser as _;
use profile_api::config::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: a request allocates and frees many small buffers
/// across threads, where glibc's malloc took about an eighth of the server's CPU under load
/// (`bench/README.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // A missing .env is normal; a malformed one is worth saying.
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("error: .env: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    let filter =
        EnvFilter::try_new(&cli.config.rust_log).unwrap_or_else(|_| EnvFilter::new("info"));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.config.log_format {
        LogFormat::Json => subscriber
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Pretty => subscriber.init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(profile_api::cli::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
