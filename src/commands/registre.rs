//! `ouistat registre`: the register of deliveries for the data-protection
//! officer: the list, its verification, a person's access request and a
//! breach's scope.

use std::path::{Path, PathBuf};

use crate::cli::{LivraisonArgs, PersonneArgs, RegistreArgs, RegistreCommand, RegistreListArgs};
use crate::error::{Error, Result};
use crate::pseudonymise::{RegisterDigests, SecretKey};
use crate::register::{Delivery, Found, Register};

pub(super) fn execute(args: RegistreArgs) -> Result<()> {
    match args.command {
        None => list(&args.list),
        Some(RegistreCommand::Verify { out }) => verify(out),
        Some(RegistreCommand::Personne(args)) => person(&args),
        Some(RegistreCommand::Livraison(args)) => breach(&args),
    }
}

/// The register of the output `out`, or of the one the current folder is in.
fn open(out: Option<PathBuf>) -> Result<(PathBuf, Register)> {
    let out = match out {
        Some(out) => out,
        None => crate::output::find_output(&std::env::current_dir().map_err(Error::io("."))?)?,
    };
    let register = Register::open(&out)?;
    Ok((out, register))
}

fn list(args: &RegistreListArgs) -> Result<()> {
    let (_, register) = open(args.out.clone())?;
    let all = register.deliveries()?;
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let shown: Vec<&Delivery> = all
        .iter()
        .filter(|d| args.recipient.as_ref().is_none_or(|r| *r == d.destinataire))
        .filter(|d| args.since.is_none_or(|s| d.day() >= day(s).as_str()))
        .filter(|d| args.until.is_none_or(|u| d.day() <= day(u).as_str()))
        .filter(|d| args.cutoff.is_none_or(|c| d.date_arrete == day(c)))
        .collect();
    println!(
        "{:>5}  {:<20}  {:<10}  {:<18}  {:<11}  {:>5}  {:>9}  {:>8}  {:>8}  key",
        "entry",
        "delivered (UTC)",
        "cut-off",
        "recipient",
        "class",
        "files",
        "rows",
        "persons",
        "withheld"
    );
    for d in &shown {
        let rows: u64 = d.fichiers.iter().filter_map(|f| f.lignes).sum();
        println!(
            "{:>5}  {:<20}  {:<10}  {:<18}  {:<11}  {:>5}  {:>9}  {:>8}  {:>8}  {}",
            d.numero,
            d.horodatage,
            d.date_arrete,
            d.destinataire,
            d.classe,
            d.fichiers.len(),
            rows,
            d.personnes
                .as_ref()
                .map_or("-".into(), |p| p.nombre.to_string()),
            d.personnes.as_ref().map_or(0, |p| p.retenus),
            d.empreinte_cle.as_deref().unwrap_or("-")
        );
    }
    println!("{} of {} entries", shown.len(), all.len());
    Ok(())
}

fn verify(out: Option<PathBuf>) -> Result<()> {
    let (out, register) = open(out)?;
    let problems = register.verify()?;
    let n = register.livraisons.as_ref().map_or(0, |h| h.entrees);
    if problems.is_empty() {
        println!(
            "register of deliveries {}: {n} entries, chain intact{}",
            out.join(crate::register::DIR).display(),
            register
                .livraisons
                .as_ref()
                .map_or(String::new(), |h| format!(
                    " (last entry SHA-256 {})",
                    h.derniere_sha256
                ))
        );
        return Ok(());
    }
    for p in &problems {
        println!("FAILED  {p}");
    }
    Err(Error::Verify(format!(
        "the register of deliveries in {} is damaged: {} problem(s)",
        out.display(),
        problems.len()
    )))
}

fn key(path: &Path) -> Result<(RegisterDigests, String)> {
    let key = SecretKey::from_file(path)?;
    Ok((RegisterDigests::new(&key), key.fingerprint()))
}

fn person(args: &PersonneArgs) -> Result<()> {
    let (_, register) = open(args.out.clone())?;
    let (digests, fingerprint) = key(&args.register_key)?;
    let id = &args.id;
    let (kind, value) = [
        ("identifiant_spe", &id.identifiant_spe),
        ("nir", &id.nir),
        ("identifiant_national_pe", &id.identifiant_national_pe),
        ("identifiant_regional_pe", &id.identifiant_regional_pe),
    ]
    .into_iter()
    .find_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    .ok_or_else(|| Error::Config("give one identifier of the person".into()))?;
    let digest = digests
        .digest(kind, Some(value))
        .ok_or_else(|| Error::Config(format!("--{} is blank", kind.replace('_', "-"))))?;
    let found = register.find(kind, &digest, &fingerprint)?;
    let delivered = found
        .iter()
        .filter(|f| matches!(f, Found::Delivered(..)))
        .count();
    println!(
        "{kind} {value}: in {delivered} deliveries of {} in the register",
        register.livraisons.as_ref().map_or(0, |h| h.entrees)
    );
    for f in &found {
        match f {
            Found::Delivered(d, tables) => {
                println!(
                    "  entry {} {} to {} ({}), cut-off {}, policy {} (SHA-256 {}…), key {}",
                    d.numero,
                    d.horodatage,
                    d.destinataire,
                    d.classe,
                    d.date_arrete,
                    d.politique_version,
                    &d.politique_sha256[..12.min(d.politique_sha256.len())],
                    d.empreinte_cle.as_deref().unwrap_or("none (identifiers as they are)")
                );
                for t in tables.split(',') {
                    if let Some(file) = d.fichiers.iter().find(|f| f.nom == format!("{t}.parquet")) {
                        println!("      {}: {}", file.nom, file.colonnes.join(", "));
                    }
                }
            }
            Found::Withheld(d, request) => println!(
                "  entry {} {} to {} ({}), cut-off {}: withheld by the opposition list (request of {request})",
                d.numero, d.horodatage, d.destinataire, d.classe, d.date_arrete
            ),
        }
    }
    Ok(())
}

fn breach(args: &LivraisonArgs) -> Result<()> {
    let (_, register) = open(args.out.clone())?;
    let (digests, fingerprint) = key(&args.register_key)?;
    let date = args.date.format("%Y-%m-%d").to_string();
    let entries: Vec<Delivery> = register
        .deliveries()?
        .into_iter()
        .filter(|d| d.destinataire == args.name && (d.day() == date || d.date_arrete == date))
        .collect();
    if entries.is_empty() {
        return Err(Error::Config(format!(
            "no delivery to `{}` made on or cut off at {date} in the register (see `ouistat registre --recipient {}`)",
            args.name, args.name
        )));
    }
    for d in &entries {
        if let Some(p) = d
            .personnes
            .as_ref()
            .filter(|p| p.empreinte_cle_registre != fingerprint)
        {
            return Err(Error::Config(format!(
                "entry {} was recorded under the register key {}, not the one given ({fingerprint})",
                d.numero, p.empreinte_cle_registre
            )));
        }
        let to = match entries.len() {
            1 => args.to.clone(),
            _ => args.to.join(format!("entree-{}", d.numero)),
        };
        let b = crate::register::scope_breach(&register, d, &digests, &args.extracts, &to)?;
        println!(
            "entry {} ({} to {}, cut-off {}): {} persons, {} found in the extracts, listed in {}",
            d.numero,
            d.horodatage,
            d.destinataire,
            d.date_arrete,
            b.persons,
            b.found,
            b.file.display()
        );
    }
    Ok(())
}
