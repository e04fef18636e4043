//! `ouistat report`: the committee report.

use crate::cli::ReportArgs;
use crate::error::Result;
use crate::report::{render, ReportConfig};

pub(super) fn execute(args: ReportArgs) -> Result<()> {
    let path = render(&ReportConfig {
        out: args.out,
        region: args.region,
        period: args.period,
        from: args.from,
        template: args.template,
    })?;
    println!("report written to {}", path.display());
    Ok(())
}
