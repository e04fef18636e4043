//! `ouistat purge`: personal data destroyed on time, with its certificate.

use crate::cli::PurgeArgs;
use crate::error::Result;
use crate::policy::Policy;

pub(super) fn execute(args: &PurgeArgs) -> Result<()> {
    let policy = Policy::load(args.policy.as_deref())?;
    let rule = &policy.conservation;
    let as_of = args
        .as_of
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let (certificate, path) = crate::purge::purge(&args.out, rule, as_of, args.dry_run)?;
    let (verb, total) = match args.dry_run {
        true => ("would destroy", "to destroy"),
        false => ("destroyed", "destroyed"),
    };
    let rule_text = if certificate.regle.is_empty() {
        "no retention set: the policy has no [conservation] table".to_string()
    } else {
        certificate.regle.clone()
    };
    println!("retention as of {as_of}: {rule_text}");
    for f in &certificate.fichiers {
        println!(
            "  {verb} {} ({}, written {}, SHA-256 {})",
            f.chemin, f.nature, f.date_donnees, f.sha256
        );
    }
    let bytes: u64 = certificate.fichiers.iter().map(|f| f.octets).sum();
    println!(
        "{} files ({bytes} bytes) {total}",
        certificate.fichiers.len()
    );
    if let Some(p) = path {
        println!("destruction certificate: {}", p.display());
    }
    Ok(())
}
