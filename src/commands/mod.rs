//! One small file per subcommand: each turns its clap arguments into the
//! library's checked configuration, calls the library and prints what the
//! user reads. Nothing below `commands` prints to stdout.

mod demo;
mod generate;
mod keygen;
mod purge;
mod query;
mod registre;
mod report;
mod run;
mod verify;

use crate::cli::Command;
use crate::error::Result;

pub use demo::demo_recipients;

/// Executes one command.
///
/// # Errors
/// The command's error, which `main` maps to an exit code.
pub fn execute(command: Command) -> Result<()> {
    match command {
        Command::Generate(args) => generate::execute(args),
        Command::Run(args) => run::execute(&args.into_config()).map(|_| ()),
        Command::Demo(args) => demo::execute(&args),
        Command::Keygen(args) => keygen::execute(&args),
        Command::Report(args) => report::execute(args),
        Command::Verify(args) => verify::execute(&args),
        Command::Query(args) => query::execute(args),
        Command::Registre(args) => registre::execute(args),
        Command::Purge(args) => purge::execute(&args),
    }
}
