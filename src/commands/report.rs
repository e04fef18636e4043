//! `ouistat report`: the committee report, as HTML, a workbook and a PDF.

use crate::cli::ReportArgs;
use crate::error::Result;
use crate::report::{render, Pdf, Rendered, ReportConfig};

pub(super) fn execute(args: ReportArgs) -> Result<()> {
    let done = render(&ReportConfig {
        out: args.out,
        region: args.region,
        period: args.period,
        from: args.from,
        template: args.template,
        libelles: args.libelles,
    })?;
    print_paths(&done);
    Ok(())
}

/// Prints where the report's files are, and why there is no PDF when there
/// is none.
pub(super) fn print_paths(done: &Rendered) {
    println!("report written to {}", done.html.display());
    println!("workbook written to {}", done.xlsx.display());
    match &done.pdf {
        Pdf::Written(p) => println!("PDF written to {}", p.display()),
        Pdf::Skipped(why) => println!("PDF not written: {why}"),
    }
}
