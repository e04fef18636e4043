//! `ouistat keygen`: a new pseudonymisation key.

use crate::cli::KeygenArgs;
use crate::error::Result;
use crate::pseudonymise::SecretKey;

pub(super) fn execute(args: &KeygenArgs) -> Result<()> {
    SecretKey::generate(&args.out)?;
    let key = SecretKey::from_file(&args.out)?;
    println!(
        "wrote a new key to {} (fingerprint {})",
        args.out.display(),
        key.fingerprint()
    );
    Ok(())
}
