//! `ouistat verify`: deliveries against their manifests.

use crate::cli::VerifyArgs;
use crate::error::Result;

pub(super) fn execute(args: &VerifyArgs) -> Result<()> {
    crate::verify::verify(&args.dir, &mut std::io::stdout().lock())
}
