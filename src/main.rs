//! attune's entry point: a table of contents. Parse the command line, set up logging, hand
//! the command to the application, and map the outcome to an exit code.

mod commands;

use attune::cli::Cli;
use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match commands::execute(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", commands::describe(&e));
            commands::exit_code_for(&e)
        }
    }
}

/// Quiet by default (warnings and errors); `-v` raises the level; `RUST_LOG` wins.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // The embedded broker logs every client disconnect as an error, and whisper.cpp and ONNX
    // Runtime describe every model they load: neither is the kiosk's news.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("{level},rumqttd=off,whisper_rs=warn,ort=warn"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // The journal and log files get plain text, not colour codes.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
