//! `ouistat keygen`: a new pseudonymisation key.

use crate::cli::KeygenArgs;
use crate::error::Result;
use crate::pseudonymise::SecretKey;

pub(super) fn execute(args: &KeygenArgs) -> Result<()> {
    if args.rotation {
        let previous = crate::pseudonymise::previous_key_path(&args.out);
        SecretKey::rotate(&args.out)?;
        println!(
            "rotated: the previous key (fingerprint {}) is now {}; the next run delivers \
             with the new key and a table from old to new pseudonyms, then retires it",
            SecretKey::from_file(&previous)?.fingerprint(),
            previous.display()
        );
    } else {
        SecretKey::generate(&args.out)?;
    }
    let key = SecretKey::from_file(&args.out)?;
    println!(
        "wrote a new key to {} (fingerprint {})",
        args.out.display(),
        key.fingerprint()
    );
    Ok(())
}
