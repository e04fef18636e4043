//! `ouistat query`: SQL over a run's outputs, printed.

use crate::cli::{QueryArgs, QueryFormat};
use crate::error::{Error, Result};
use crate::query::{self, OutputFormat};

pub(super) fn execute(args: QueryArgs) -> Result<()> {
    let out = match args.out {
        Some(out) => out,
        None => crate::output::find_output(&std::env::current_dir().map_err(Error::io("."))?)?,
    };
    let batches = query::query(&out, &args.sql)?;
    let format = match args.format {
        QueryFormat::Table => OutputFormat::Table,
        QueryFormat::Csv => OutputFormat::Csv,
        QueryFormat::CsvFr => OutputFormat::CsvFr,
        QueryFormat::Json => OutputFormat::Json,
    };
    print!("{}", query::render(&batches, format)?);
    Ok(())
}
