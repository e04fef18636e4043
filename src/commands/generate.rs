//! `ouistat generate`: synthetic extracts.

use crate::cli::{GenFormat, GenerateArgs};
use crate::error::Result;
use crate::generate::{self, Format};

pub(super) fn execute(args: GenerateArgs) -> Result<()> {
    let summary = generate::generate(&generate::Options {
        out: args.out.clone(),
        persons: args.persons,
        seed: args.seed,
        format: match args.format {
            GenFormat::Csv => Format::Csv,
            GenFormat::Parquet => Format::Parquet,
        },
        defects: args.defects,
        region: args.region,
    })?;
    println!(
        "wrote {} sessions, {} persons, {} positionings, {} events to {} ({} injected defects)",
        summary.sessions,
        summary.individus,
        summary.positionnements,
        summary.evenements,
        args.out.display(),
        summary.defects
    );
    Ok(())
}
