//! The `ouistat` binary: parse, call the library, map the error to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ouistat::Cli::parse();
    match ouistat::execute(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ouistat: {e}");
            std::process::ExitCode::from(e.exit_code() as u8)
        }
    }
}
