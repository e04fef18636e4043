//! The register: what each recipient of cleared aggregates received,
//! release after release, so that the next run treats it as published
//! (SPEC §5: secrecy holds against everything a recipient holds); and the
//! log of every delivery to every recipient, for the data-protection
//! officer (issue 26; convention art. 3 and 4.1, RGPD art. 15 to 18 and 33).
//!
//! What always holds:
//! - the register lives in `OUT/registre/`, readable by its owner only,
//!   carried over by every run into the next output, never delivered;
//! - `registre.json` lists the releases, one per recipient and cut-off, in a
//!   fixed order; `effectifs/<recipient>/date_arrete=<cut-off>.parquet`
//!   holds every count of one release with its true value and its flag
//!   (`A`, `D`, or null when published), so identical inputs and register
//!   give identical bytes;
//! - a register written for another plan, recipient or perimeter is refused,
//!   never silently ignored;
//! - `livraisons.jsonl` is append-only: one delivery a line, in canonical
//!   JSON (no spaces, fields in a fixed order), each holding the SHA-256 of
//!   the line before it, and `registre.json` the number of lines and the
//!   SHA-256 of the last, so that a removed or altered entry breaks the
//!   chain ([`Register::verify`]);
//! - persons appear only as keyed digests under the register's own key
//!   ([`crate::pseudonymise::RegisterDigests`]), in
//!   `personnes/<entry>-<recipient>.parquet`, never as raw identifiers nor
//!   as a recipient's pseudonyms; a copy of each manifest is kept in
//!   `manifestes/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::pseudonymise::SecretKey;
use crate::secrecy::{text, Key, Released, ReleasedCount, KEY_COLUMNS};

/// The register's folder under `OUT`.
pub(crate) const DIR: &str = "registre";

const INDEX: &str = "registre.json";
/// The register key's default file name, beside the recipients file.
pub(crate) const KEY_FILE: &str = "registre.cle";

/// Reads the register key, creating it (owner-only, as `ouistat keygen`
/// does) the first time.
///
/// # Errors
/// As [`SecretKey::from_file`] and [`SecretKey::generate`].
pub(crate) fn open_key(path: &Path) -> Result<SecretKey> {
    if !path.exists() {
        SecretKey::generate(path)?;
        eprintln!(
            "note: created the register key {} (keep it with the recipients' keys, outside the outputs)",
            path.display()
        );
    }
    SecretKey::from_file(path)
}

/// The log of deliveries, one canonical JSON entry a line.
const LOG: &str = "livraisons.jsonl";
/// The SHA-256 the first entry links to.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One release of aggregates to one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub destinataire: String,
    pub classe: String,
    pub region: Option<String>,
    /// The cut-off of the release (`YYYY-MM-DD`).
    pub date_arrete: String,
    pub plan_version: String,
    pub plan_sha256: String,
    /// The regions the extracts covered (INSEE codes, sorted).
    pub perimetre: Vec<String>,
    /// The counts file, relative to the register's folder.
    pub fichier: String,
    pub sha256: String,
    /// Counts released, and among them published (not suppressed).
    pub effectifs: usize,
    pub publies: usize,
}

/// The register, as read from `OUT/registre/` (empty when there is none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Register {
    pub diffusions: Vec<Entry>,
    /// The end of the log of deliveries, to detect its last entries removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub livraisons: Option<Head>,
    /// The destruction certificates (`ouistat purge`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destructions: Vec<DestructionRecord>,
    #[serde(skip)]
    dir: PathBuf,
}

/// The end of the log of deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Head {
    pub entrees: u64,
    /// SHA-256 of the last entry's line.
    pub derniere_sha256: String,
}

/// A destruction certificate, as the register records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DestructionRecord {
    pub horodatage: String,
    /// Relative to the register's folder.
    pub certificat: String,
    pub sha256: String,
}

/// One file of a delivery, as the log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeliveredFile {
    pub nom: String,
    pub sha256: String,
    pub lignes: Option<u64>,
    /// The columns the recipient received in it (empty for the dictionary).
    pub colonnes: Vec<String>,
}

/// The persons a delivery held, as a file of keyed digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PersonsFile {
    /// Relative to the register's folder.
    pub fichier: String,
    pub sha256: String,
    pub nombre: usize,
    /// Persons the opposition list kept out of the delivery (in the file
    /// too, with the date of their request).
    pub retenus: usize,
    /// The fingerprint of the register key the digests were made under.
    pub empreinte_cle_registre: String,
}

/// One delivery to one recipient: an entry of `livraisons.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Delivery {
    /// 1, 2, 3… in the order of the log.
    pub numero: u64,
    /// SHA-256 of the previous entry's line ([`GENESIS`] for the first).
    pub precedente_sha256: String,
    /// When the delivery was written (RFC 3339, UTC, to the second).
    pub horodatage: String,
    pub date_arrete: String,
    pub destinataire: String,
    pub classe: String,
    pub politique_version: String,
    pub politique_sha256: String,
    pub plan_sha256: Option<String>,
    /// Fingerprint of the recipient's pseudonymisation key.
    pub empreinte_cle: Option<String>,
    /// After a rotation: the previous key's fingerprint (the delivery then
    /// holds the table from old to new pseudonyms).
    pub empreinte_cle_precedente: Option<String>,
    /// The copy of the delivery's `manifest.json`, relative to the register.
    pub manifeste: String,
    pub manifeste_sha256: String,
    pub fichiers: Vec<DeliveredFile>,
    /// For microdata: the persons delivered, and those withheld.
    pub personnes: Option<PersonsFile>,
}

impl Delivery {
    /// The day of the delivery (`YYYY-MM-DD`, UTC).
    pub(crate) fn day(&self) -> &str {
        self.horodatage.get(..10).unwrap_or(&self.horodatage)
    }
}

/// One person of a delivery: keyed digests of their identifiers, and the
/// tables of the delivery that held them (`individus,positionnements`), or
/// the date of the request for which the opposition list withheld them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Person {
    pub identifiant_spe: String,
    /// Digests of `nir`, `identifiant_national_pe`, `identifiant_regional_pe`.
    pub autres: [Option<String>; 3],
    /// Empty for a person withheld.
    pub tables: String,
    /// For a person withheld: the date of the request (`YYYY-MM-DD`).
    pub opposition: Option<String>,
}

/// The identifier kinds a person is recorded under, as named in the
/// extracts: `identifiant_spe` first, then the columns of [`Person::autres`].
pub(crate) const IDENTIFIERS: [&str; 4] = [
    "identifiant_spe",
    "nir",
    "identifiant_national_pe",
    "identifiant_regional_pe",
];

/// What a delivery adds to the log, before it is numbered and chained.
pub(crate) struct NewDelivery<'a> {
    pub date_arrete: &'a str,
    pub destinataire: &'a str,
    pub classe: &'a str,
    pub politique_version: &'a str,
    pub politique_sha256: &'a str,
    pub plan_sha256: Option<&'a str>,
    pub empreinte_cle: Option<&'a str>,
    pub empreinte_cle_precedente: Option<&'a str>,
    pub manifest_json: &'a str,
    pub fichiers: Vec<DeliveredFile>,
    /// For microdata: the persons delivered and withheld, and the register
    /// key's fingerprint.
    pub personnes: Option<(Vec<Person>, &'a str)>,
}

/// Who a release is for, as the register checks it.
#[derive(Debug, Clone)]
pub(crate) struct Recipient<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub region: Option<&'a str>,
    pub plan_version: &'a str,
    pub plan_sha256: &'a str,
}

impl Register {
    /// Reads the register of the output being built in `out`.
    ///
    /// # Errors
    /// `Config` naming `registre.json` when it cannot be parsed.
    pub(crate) fn open(out: &Path) -> Result<Register> {
        let dir = out.join(DIR);
        let path = dir.join(INDEX);
        let mut register = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<Register>(&text).map_err(|e| {
                Error::Config(format!(
                    "{}: not a release register ({e}); move it aside to start a new one",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Register::default(),
            Err(e) => return Err(Error::io(&path)(e)),
        };
        register.dir = dir;
        Ok(register)
    }

    /// Refuses a recipient whose earlier releases were made under another
    /// plan, class or region: the counts it holds would not be the ones
    /// this run protects against.
    ///
    /// # Errors
    /// `Config` naming the recipient, the difference and what to do.
    pub(crate) fn check(&self, r: &Recipient) -> Result<()> {
        let Some(last) = self.diffusions.iter().rfind(|e| e.destinataire == r.name) else {
            return Ok(());
        };
        let differs = if last.plan_sha256 != r.plan_sha256 {
            Some(format!(
                "publication plan {} (SHA-256 {}…), now {} ({}…)",
                last.plan_version,
                &last.plan_sha256[..12.min(last.plan_sha256.len())],
                r.plan_version,
                &r.plan_sha256[..12.min(r.plan_sha256.len())]
            ))
        } else if last.classe != r.class || last.region.as_deref() != r.region {
            Some(format!(
                "class {} region {}, now class {} region {}",
                last.classe,
                last.region.as_deref().unwrap_or("-"),
                r.class,
                r.region.unwrap_or("-")
            ))
        } else {
            None
        };
        match differs {
            None => Ok(()),
            Some(what) => Err(Error::Config(format!(
                "the release register {} holds releases to `{}` at cut-off {} under {what}: \
                 secrecy cannot take them into account. Keep the recipient's plan, or give it \
                 a new name, or move {} aside to start a new register deliberately",
                self.dir.display(),
                r.name,
                last.date_arrete,
                self.dir.display()
            ))),
        }
    }

    /// Refuses a register written from extracts of another perimeter.
    ///
    /// # Errors
    /// `Config` naming both perimeters.
    pub(crate) fn check_perimeter(&self, perimeter: &[String]) -> Result<()> {
        match self.diffusions.iter().find(|e| e.perimetre != perimeter) {
            None => Ok(()),
            Some(e) => Err(Error::Config(format!(
                "the release register {} was written from extracts of regions {} (release to `{}` \
                 at {}), and these extracts cover regions {}: use another --out for another \
                 perimeter, or move the register aside to start a new one",
                self.dir.display(),
                e.perimetre.join(", "),
                e.destinataire,
                e.date_arrete,
                perimeter.join(", ")
            ))),
        }
    }

    /// Every count of every earlier release, for every recipient, with its
    /// true value and whether it was published.
    ///
    /// # Errors
    /// `Config` when a counts file is missing or altered (its SHA-256).
    pub(crate) fn earlier(&self) -> Result<Vec<Released>> {
        let mut out = Vec::new();
        for e in &self.diffusions {
            out.extend(self.counts(e)?);
        }
        Ok(out)
    }

    /// The last release to `recipient` before the cut-off `before`
    /// (`YYYY-MM-DD`), with every count it held: what that recipient was
    /// given at its previous meeting.
    ///
    /// # Errors
    /// As [`Register::earlier`].
    pub(crate) fn previous(
        &self,
        recipient: &str,
        before: &str,
    ) -> Result<Option<(Entry, Vec<Released>)>> {
        let Some(e) = self
            .diffusions
            .iter()
            .filter(|e| e.destinataire == recipient && e.date_arrete.as_str() < before)
            .max_by(|a, b| a.date_arrete.cmp(&b.date_arrete))
        else {
            return Ok(None);
        };
        Ok(Some((e.clone(), self.counts(e)?)))
    }

    /// The counts of one release, checked against their SHA-256.
    fn counts(&self, e: &Entry) -> Result<Vec<Released>> {
        let path = self.dir.join(&e.fichier);
        let sha = crate::digest::sha256_file(&path).map_err(|_| self.damaged(&path))?;
        if sha != e.sha256 {
            return Err(self.damaged(&path));
        }
        Ok(read_counts(&path)?
            .into_iter()
            .map(|c| Released {
                recipient: text(&e.destinataire),
                date_arrete: text(&e.date_arrete),
                variable: c.variable,
                key: c.key,
                value: c.value,
                published: c.flag.is_none(),
            })
            .collect())
    }

    fn damaged(&self, path: &Path) -> Error {
        Error::Config(format!(
            "{}: missing or altered counts of the release register (its SHA-256 no longer \
             matches registre.json)",
            path.display()
        ))
    }

    /// Records a release (replacing one to the same recipient at the same
    /// cut-off) and writes the register.
    ///
    /// # Errors
    /// `Io` or `Output` naming the file that could not be written.
    pub(crate) fn record(
        &mut self,
        r: &Recipient,
        date_arrete: &str,
        perimeter: &[String],
        counts: &[ReleasedCount],
    ) -> Result<()> {
        let fichier = format!("effectifs/{}/date_arrete={date_arrete}.parquet", r.name);
        let path = self.dir.join(&fichier);
        let parent = path.parent().unwrap_or(&self.dir).to_path_buf();
        crate::output::create_private_dir(&parent)?;
        crate::output::write_parquet(&path, &counts_batch(counts)?)?;
        let entry = Entry {
            destinataire: r.name.to_string(),
            classe: r.class.to_string(),
            region: r.region.map(str::to_string),
            date_arrete: date_arrete.to_string(),
            plan_version: r.plan_version.to_string(),
            plan_sha256: r.plan_sha256.to_string(),
            perimetre: perimeter.to_vec(),
            fichier,
            sha256: crate::digest::sha256_file(&path)?,
            effectifs: counts.len(),
            publies: counts.iter().filter(|c| c.flag.is_none()).count(),
        };
        self.diffusions
            .retain(|e| !(e.destinataire == entry.destinataire && e.date_arrete == date_arrete));
        self.diffusions.push(entry);
        self.diffusions.sort_by(|a, b| {
            (&a.date_arrete, &a.destinataire).cmp(&(&b.date_arrete, &b.destinataire))
        });
        self.save()
    }

    fn save(&self) -> Result<()> {
        let json =
            serde_json::to_string_pretty(self).map_err(|e| Error::Internal(e.to_string()))?;
        let index = self.dir.join(INDEX);
        std::fs::write(&index, json).map_err(Error::io(&index))
    }

    /// The log of deliveries, in order; empty when there is none.
    ///
    /// # Errors
    /// `Config` naming the line that is not an entry.
    pub(crate) fn deliveries(&self) -> Result<Vec<Delivery>> {
        Ok(self.log_lines()?.into_iter().map(|(_, d)| d).collect())
    }

    /// Each line of the log with the entry it holds.
    fn log_lines(&self) -> Result<Vec<(String, Delivery)>> {
        let path = self.dir.join(LOG);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&path)(e)),
        };
        text.lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .map(|d| (line.to_string(), d))
                    .map_err(|e| {
                        Error::Config(format!(
                            "{}:{}: not an entry of the register of deliveries ({e})",
                            path.display(),
                            i + 1
                        ))
                    })
            })
            .collect()
    }

    /// Appends a delivery to the log, chained to the last entry, with its
    /// persons' digests and a copy of its manifest; returns the entry.
    ///
    /// # Errors
    /// `Config` when the log is already broken (an append never hides an
    /// alteration); `Io` or `Output` naming the file that could not be written.
    pub(crate) fn append(&mut self, new: NewDelivery<'_>) -> Result<Delivery> {
        // The whole chain was verified when the run opened the register
        // (`check_log`); here, that its end is still the one recorded.
        let lines = self.log_lines()?;
        let end = lines
            .last()
            .map(|(line, _)| crate::digest::sha256_hex(line.as_bytes()));
        let head = self.livraisons.as_ref();
        if head.map(|h| (h.entrees, h.derniere_sha256.clone()))
            != end.map(|e| (lines.len() as u64, e))
        {
            return Err(self.damaged_log("its end is not the one registre.json records"));
        }
        let numero = self.livraisons.as_ref().map_or(0, |h| h.entrees) + 1;
        let precedente_sha256 = self
            .livraisons
            .as_ref()
            .map_or(GENESIS.to_string(), |h| h.derniere_sha256.clone());
        let stem = format!("{numero:06}-{}", new.destinataire);
        let manifeste = format!("manifestes/{stem}.json");
        crate::output::create_private_dir(&self.dir.join("manifestes"))?;
        let copy = self.dir.join(&manifeste);
        std::fs::write(&copy, new.manifest_json).map_err(Error::io(&copy))?;
        let personnes = match new.personnes {
            None => None,
            Some((persons, fingerprint)) => {
                let fichier = format!("personnes/{stem}.parquet");
                let path = self.dir.join(&fichier);
                crate::output::create_private_dir(&self.dir.join("personnes"))?;
                crate::output::write_parquet(&path, &persons_batch(&persons)?)?;
                let retenus = persons.iter().filter(|p| p.opposition.is_some()).count();
                Some(PersonsFile {
                    fichier,
                    sha256: crate::digest::sha256_file(&path)?,
                    nombre: persons.len() - retenus,
                    retenus,
                    empreinte_cle_registre: fingerprint.to_string(),
                })
            }
        };
        let entry = Delivery {
            numero,
            precedente_sha256,
            horodatage: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            date_arrete: new.date_arrete.to_string(),
            destinataire: new.destinataire.to_string(),
            classe: new.classe.to_string(),
            politique_version: new.politique_version.to_string(),
            politique_sha256: new.politique_sha256.to_string(),
            plan_sha256: new.plan_sha256.map(str::to_string),
            empreinte_cle: new.empreinte_cle.map(str::to_string),
            empreinte_cle_precedente: new.empreinte_cle_precedente.map(str::to_string),
            manifeste,
            manifeste_sha256: crate::digest::sha256_hex(new.manifest_json.as_bytes()),
            fichiers: new.fichiers,
            personnes,
        };
        let line = canonical(&entry)?;
        let path = self.dir.join(LOG);
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(Error::io(&path))?;
        std::io::Write::write_all(&mut log, format!("{line}\n").as_bytes())
            .map_err(Error::io(&path))?;
        self.livraisons = Some(Head {
            entrees: numero,
            derniere_sha256: crate::digest::sha256_hex(line.as_bytes()),
        });
        self.save()?;
        Ok(entry)
    }

    /// Writes a destruction certificate to `destructions/` and records it;
    /// returns its path.
    ///
    /// # Errors
    /// `Io` naming the file that could not be written.
    pub(crate) fn record_destruction<T: Serialize>(&mut self, certificate: &T) -> Result<PathBuf> {
        let json = serde_json::to_string_pretty(certificate)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let horodatage = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let certificat = format!(
            "destructions/certificat-{}-{}.json",
            horodatage.replace(':', ""),
            self.destructions.len() + 1
        );
        crate::output::create_private_dir(&self.dir.join("destructions"))?;
        let path = self.dir.join(&certificat);
        std::fs::write(&path, &json).map_err(Error::io(&path))?;
        self.destructions.push(DestructionRecord {
            horodatage,
            certificat,
            sha256: crate::digest::sha256_hex(json.as_bytes()),
        });
        self.save()?;
        Ok(path)
    }

    /// The files the certificates list as destroyed, relative to `OUT`;
    /// an altered or missing certificate is a problem.
    fn destroyed(&self, problems: &mut Vec<String>) -> std::collections::HashSet<String> {
        let mut out = std::collections::HashSet::new();
        for d in &self.destructions {
            let path = self.dir.join(&d.certificat);
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if crate::digest::sha256_hex(text.as_bytes()) != d.sha256 {
                problems.push(format!(
                    "destruction certificate {} missing or altered",
                    d.certificat
                ));
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            for f in value["fichiers"].as_array().into_iter().flatten() {
                out.extend(f["chemin"].as_str().map(str::to_string));
            }
        }
        out
    }

    /// Refuses a register whose log of deliveries is damaged: nothing more
    /// is appended to it, so that an alteration is never buried.
    ///
    /// # Errors
    /// `Config` naming the first problem and what to do.
    pub(crate) fn check_log(&self) -> Result<()> {
        match self.verify()?.first() {
            None => Ok(()),
            Some(p) => Err(self.damaged_log(p)),
        }
    }

    fn damaged_log(&self, problem: &str) -> Error {
        Error::Config(format!(
            "the register of deliveries {} is damaged ({problem}): nothing more is appended to it; \
             run `ouistat registre verify` and tell the data-protection officer",
            self.dir.join(LOG).display()
        ))
    }

    /// Checks the log of deliveries: each line canonical and numbered in
    /// order, each linked to the SHA-256 of the line before, the last one
    /// to `registre.json`, and each persons file and manifest copy unchanged.
    /// Returns the problems found, in order (none for an intact register).
    ///
    /// # Errors
    /// `Io` when the log cannot be read.
    pub(crate) fn verify(&self) -> Result<Vec<String>> {
        let path = self.dir.join(LOG);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io(&path)(e)),
        };
        let mut problems = Vec::new();
        let destroyed = self.destroyed(&mut problems);
        let mut previous = GENESIS.to_string();
        let mut count = 0u64;
        for (i, line) in text.lines().enumerate() {
            let at = i + 1;
            count += 1;
            let hash = crate::digest::sha256_hex(line.as_bytes());
            let entry: Delivery = match serde_json::from_str(line) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(format!("line {at}: not an entry ({e})"));
                    previous = hash;
                    continue;
                }
            };
            if canonical(&entry)? != line {
                problems.push(format!(
                    "line {at} (entry {}): altered, it is no longer the line ouistat wrote",
                    entry.numero
                ));
            }
            if entry.numero != count {
                problems.push(format!(
                    "line {at}: entry {} where entry {count} was expected (an entry was removed or moved)",
                    entry.numero
                ));
            }
            if entry.precedente_sha256 != previous {
                problems.push(format!(
                    "line {at} (entry {}): the entry before it was altered or removed (its SHA-256 no longer matches)",
                    entry.numero
                ));
            }
            let mut check_file = |what: &str, rel: &str, sha: &str| {
                let file = self.dir.join(rel);
                match crate::digest::sha256_file(&file) {
                    Ok(s) if s == sha => {}
                    Ok(_) => problems.push(format!("entry {}: {what} {rel} altered", entry.numero)),
                    Err(_) if destroyed.contains(&format!("{DIR}/{rel}")) => {}
                    Err(_) => {
                        problems.push(format!("entry {}: {what} {rel} missing", entry.numero))
                    }
                }
            };
            check_file("manifest copy", &entry.manifeste, &entry.manifeste_sha256);
            if let Some(p) = &entry.personnes {
                check_file("persons file", &p.fichier, &p.sha256);
            }
            previous = hash;
        }
        let head = self.livraisons.as_ref();
        let (expected, last) =
            head.map_or((0, GENESIS), |h| (h.entrees, h.derniere_sha256.as_str()));
        if expected != count {
            problems.push(format!(
                "{INDEX} records {expected} entries, the log holds {count} (entries were removed or added)"
            ));
        } else if last != previous {
            problems.push(format!(
                "the last entry ({count}) is not the one {INDEX} records (it was altered or replaced)"
            ));
        }
        Ok(problems)
    }

    /// The persons of a delivery, read back from its digests file.
    ///
    /// # Errors
    /// `Config` when the file is missing or altered.
    pub(crate) fn persons(&self, d: &Delivery) -> Result<Vec<Person>> {
        let Some(p) = &d.personnes else {
            return Ok(Vec::new());
        };
        let path = self.dir.join(&p.fichier);
        if !path.exists()
            && self
                .destroyed(&mut Vec::new())
                .contains(&format!("{DIR}/{}", p.fichier))
        {
            return Ok(Vec::new());
        }
        if crate::digest::sha256_file(&path).ok().as_deref() != Some(p.sha256.as_str()) {
            return Err(Error::Config(format!(
                "{}: missing or altered persons file of entry {} (run `ouistat registre verify`)",
                path.display(),
                d.numero
            )));
        }
        read_persons(&path)
    }
}

/// What the log says of one person (an access request, RGPD art. 15).
#[derive(Debug, Clone)]
pub(crate) enum Found {
    /// The delivery held the person's rows in these tables.
    Delivered(Delivery, String),
    /// The opposition list kept the person out of the delivery; the date
    /// of the request.
    Withheld(Delivery, String),
}

impl Register {
    /// Every delivery that held, or withheld, the person whose identifier
    /// of `kind` ([`IDENTIFIERS`]) has this register digest, in order.
    ///
    /// # Errors
    /// `Config` when a persons file is missing or altered, or was made
    /// under another register key than `fingerprint`.
    pub(crate) fn find(&self, kind: &str, digest: &str, fingerprint: &str) -> Result<Vec<Found>> {
        let slot = IDENTIFIERS
            .iter()
            .position(|k| *k == kind)
            .ok_or_else(|| Error::Internal(format!("unknown identifier kind {kind}")))?;
        let matches = |spe: &str, autres: &[Option<String>; 3]| match slot {
            0 => spe == digest,
            i => autres[i - 1].as_deref() == Some(digest),
        };
        let mut out = Vec::new();
        for d in self.deliveries()? {
            if let Some(p) = &d.personnes {
                if p.empreinte_cle_registre != fingerprint {
                    return Err(Error::Config(format!(
                        "entry {} of the register was recorded under the register key {}, \
                         not the one given ({fingerprint}): pass the key the run used",
                        d.numero, p.empreinte_cle_registre
                    )));
                }
            }
            let person = self
                .persons(&d)?
                .into_iter()
                .find(|p| matches(&p.identifiant_spe, &p.autres));
            match person {
                Some(Person {
                    opposition: Some(demande),
                    ..
                }) => out.push(Found::Withheld(d, demande)),
                Some(p) => out.push(Found::Delivered(d, p.tables)),
                None => {}
            }
        }
        Ok(out)
    }
}

/// The columns of `individus` a breach listing gives, to notify each person.
pub(crate) const CONTACT: [&str; 9] = [
    "identifiant_spe",
    "nir",
    "nom_naissance",
    "nom_usage",
    "prenom",
    "date_naissance",
    "email",
    "telephone",
    "adresse",
];

/// A breach scoped: the listing written for one delivery.
#[derive(Debug, Clone)]
pub(crate) struct Breach {
    pub file: PathBuf,
    /// Persons the delivery held, and among them those found in the extracts.
    pub persons: usize,
    pub found: usize,
}

/// The [`CONTACT`] columns of every person of the current `individus`
/// extract in `extracts`, read in a private staging at the cut-off of
/// delivery `d`.
///
/// # Errors
/// `Config` when `extracts` holds no `individus`; what reading it raises.
fn contacts_of_extract(d: &Delivery, extracts: &Path) -> Result<Vec<Vec<Option<String>>>> {
    let source = crate::ingest::find_sources(extracts)?
        .into_iter()
        .find(|s| s.extract == crate::schema::Extract::Individus)
        .ok_or_else(|| Error::Config(format!("{}: no individus extract", extracts.display())))?;
    let stage_dir = crate::stage::StageDir::private()?;
    let stage = crate::stage::Stage::open(
        None,
        &stage_dir.spill(),
        crate::warehouse::DEFAULT_MEMORY_LIMIT,
        None,
    )?;
    let cutoff = chrono::NaiveDate::parse_from_str(&d.date_arrete, "%Y-%m-%d")
        .map_err(|e| Error::Internal(format!("cut-off of entry {}: {e}", d.numero)))?;
    stage.load(
        &source,
        crate::ingest::Encoding::Utf8,
        &crate::rules::PlausibleDates::for_cutoff(cutoff),
    )?;
    stage.db().query_map(
        "contacts_des_personnes",
        crate::queries::get("contacts_des_personnes"),
        [],
        |r| (0..CONTACT.len()).map(|i| r.get(i)).collect(),
    )
}

/// Lists the persons one delivery held (RGPD art. 33 and 34), re-identified
/// from the current extracts' `individus` by their register digests, each
/// with the columns it received, as `violation-<recipient>-<entry>.csv` in
/// `to`, a new owner-only folder; persons no longer in the extracts are
/// listed by digest in `non_retrouves-<recipient>-<entry>.csv`.
///
/// # Errors
/// `Config` when `to` exists or the persons file is damaged; what reading
/// the extracts raises.
pub(crate) fn scope_breach(
    register: &Register,
    d: &Delivery,
    digests: &crate::pseudonymise::RegisterDigests,
    extracts: &Path,
    to: &Path,
) -> Result<Breach> {
    if to.exists() {
        return Err(Error::Config(format!(
            "{} exists: give a new folder for the listing (it is created readable by its owner only)",
            to.display()
        )));
    }
    let mut persons: std::collections::HashMap<String, String> = register
        .persons(d)?
        .into_iter()
        .filter(|p| p.opposition.is_none())
        .map(|p| (p.identifiant_spe, p.tables))
        .collect();
    let total = persons.len();
    let rows = contacts_of_extract(d, extracts)?;
    let columns_of = |tables: &str| -> String {
        tables
            .split(',')
            .filter_map(|t| {
                let f = d
                    .fichiers
                    .iter()
                    .find(|f| f.nom == format!("{t}.parquet"))?;
                Some(format!("{t} : {}", f.colonnes.join(", ")))
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let mut found = String::new();
    found.push_str(&format!("{};tables;colonnes_recues\n", CONTACT.join(";")));
    let mut n = 0;
    for row in rows {
        let Some(tables) = digests
            .digest("identifiant_spe", row[0].as_deref())
            .and_then(|k| persons.remove(&k))
        else {
            continue;
        };
        n += 1;
        let mut fields: Vec<String> = row.into_iter().map(Option::unwrap_or_default).collect();
        fields.push(tables.clone());
        fields.push(columns_of(&tables));
        found.push_str(&csv_line(&fields));
    }
    crate::output::create_private_dir(to)?;
    let stem = format!("{}-{}", d.destinataire, d.numero);
    let file = to.join(format!("violation-{stem}.csv"));
    std::fs::write(&file, found).map_err(Error::io(&file))?;
    if !persons.is_empty() {
        let mut missing: Vec<(String, String)> = persons.into_iter().collect();
        missing.sort();
        let mut text = String::from("empreinte_identifiant_spe;tables\n");
        for (k, t) in missing {
            text.push_str(&csv_line(&[k, t]));
        }
        let path = to.join(format!("non_retrouves-{stem}.csv"));
        std::fs::write(&path, text).map_err(Error::io(&path))?;
    }
    Ok(Breach {
        file,
        persons: total,
        found: n,
    })
}

/// One `;`-separated line, a field quoted when it holds `;`, `"` or a line break.
fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([';', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    format!("{}\n", quoted.join(";"))
}

/// An entry as one line of the log: compact JSON, fields in declaration order.
fn canonical(d: &Delivery) -> Result<String> {
    serde_json::to_string(d).map_err(|e| Error::Internal(e.to_string()))
}

fn persons_batch(persons: &[Person]) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, name) in IDENTIFIERS.iter().enumerate() {
        fields.push(Field::new(*name, DataType::Utf8, i > 0));
        let column: StringArray = persons
            .iter()
            .map(|p| match i {
                0 => Some(p.identifiant_spe.as_str()),
                _ => p.autres[i - 1].as_deref(),
            })
            .collect();
        columns.push(Arc::new(column));
    }
    fields.push(Field::new("tables", DataType::Utf8, false));
    columns.push(Arc::new(
        persons
            .iter()
            .map(|p| Some(p.tables.as_str()))
            .collect::<StringArray>(),
    ));
    fields.push(Field::new("opposition_demande_du", DataType::Utf8, true));
    columns.push(Arc::new(
        persons
            .iter()
            .map(|p| p.opposition.as_deref())
            .collect::<StringArray>(),
    ));
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// A column of a register file read as text.
fn text_column(batch: &RecordBatch, path: &Path, name: &str) -> Result<StringArray> {
    let c = batch
        .column_by_name(name)
        .ok_or_else(|| Error::Config(format!("{}: no column {name}", path.display())))?;
    Ok(arrow::compute::cast(c, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

fn read_persons(path: &Path) -> Result<Vec<Person>> {
    let mut out = Vec::new();
    for batch in crate::output::read_parquet(path)? {
        let col = |name: &str| text_column(&batch, path, name);
        let ids: Vec<StringArray> = IDENTIFIERS.iter().map(|k| col(k)).collect::<Result<_>>()?;
        let tables = col("tables")?;
        let opposition = col("opposition_demande_du")?;
        for row in 0..batch.num_rows() {
            let text = |a: &StringArray| a.is_valid(row).then(|| a.value(row).to_string());
            out.push(Person {
                identifiant_spe: ids[0].value(row).to_string(),
                autres: [text(&ids[1]), text(&ids[2]), text(&ids[3])],
                tables: tables.value(row).to_string(),
                opposition: text(&opposition),
            });
        }
    }
    Ok(out)
}

/// Reads one key column's value off a key.
type KeyPart<'a> = &'a dyn Fn(&Key) -> Option<String>;

fn counts_batch(counts: &[ReleasedCount]) -> Result<RecordBatch> {
    let text = |f: &dyn Fn(&ReleasedCount) -> Option<String>| -> ArrayRef {
        Arc::new(counts.iter().map(f).collect::<StringArray>())
    };
    let mut fields = vec![Field::new("effectif", DataType::Utf8, false)];
    let mut columns = vec![text(&|c| Some(c.variable.to_string()))];
    let parts: [KeyPart; 7] = [
        &|k| Some(k.periode.to_string()),
        &|k| Some(k.type_periode.to_string()),
        &|k| Some(k.niveau_geo.to_string()),
        &|k| k.code_geo.as_deref().map(str::to_string),
        &|k| Some(k.dimension.to_string()),
        &|k| Some(k.modalite.to_string()),
        &|k| Some(k.motif.to_string()),
    ];
    for (name, part) in KEY_COLUMNS.iter().zip(parts) {
        fields.push(Field::new(*name, DataType::Utf8, true));
        columns.push(text(&|c| part(&c.key)));
    }
    fields.push(Field::new("valeur", DataType::Int64, false));
    columns.push(Arc::new(
        counts.iter().map(|c| c.value).collect::<Int64Array>(),
    ));
    fields.push(Field::new("secret", DataType::Utf8, true));
    columns.push(text(&|c| c.flag.as_deref().map(str::to_string)));
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn read_counts(path: &Path) -> Result<Vec<ReleasedCount>> {
    let mut out = Vec::new();
    for batch in crate::output::read_parquet(path)? {
        let col = |name: &str| text_column(&batch, path, name);
        let variable = col("effectif")?;
        let keys: Vec<StringArray> = KEY_COLUMNS.iter().map(|k| col(k)).collect::<Result<_>>()?;
        let values = batch
            .column_by_name("valeur")
            .ok_or_else(|| Error::Config(format!("{}: no column valeur", path.display())))?;
        let values = arrow::compute::cast(values, &DataType::Int64)?;
        let values = values.as_primitive::<Int64Type>();
        let flags = col("secret")?;
        for row in 0..batch.num_rows() {
            let at = |a: &StringArray| a.is_valid(row).then(|| text(a.value(row)));
            let or_empty = |a: &StringArray| at(a).unwrap_or_else(|| text(""));
            out.push(ReleasedCount {
                variable: text(variable.value(row)),
                key: Key {
                    periode: or_empty(&keys[0]),
                    type_periode: or_empty(&keys[1]),
                    niveau_geo: or_empty(&keys[2]),
                    code_geo: at(&keys[3]),
                    dimension: or_empty(&keys[4]),
                    modalite: or_empty(&keys[5]),
                    motif: or_empty(&keys[6]),
                },
                value: values.value(row),
                flag: at(&flags),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(value: i64, flag: Option<&str>) -> ReleasedCount {
        ReleasedCount {
            variable: "nb_entrees".into(),
            key: Key {
                periode: "2026-T2".into(),
                type_periode: "quadrimestre".into(),
                niveau_geo: "region".into(),
                code_geo: Some("32".into()),
                dimension: "ensemble".into(),
                modalite: "ensemble".into(),
                motif: "ensemble".into(),
            },
            value,
            flag: flag.map(text),
        }
    }

    fn recipient(plan_sha256: &str) -> Recipient<'_> {
        Recipient {
            name: "comite",
            class: "comite",
            region: Some("32"),
            plan_version: "1",
            plan_sha256,
        }
    }

    fn delivery<'a>(name: &'a str, persons: Vec<Person>) -> NewDelivery<'a> {
        NewDelivery {
            date_arrete: "2026-10-31",
            destinataire: name,
            classe: "financeur",
            politique_version: "1",
            politique_sha256: "p",
            plan_sha256: None,
            empreinte_cle: Some("k"),
            empreinte_cle_precedente: None,
            manifest_json: "{}",
            fichiers: Vec::new(),
            personnes: Some((persons, "cle")),
        }
    }

    fn person(digest: &str) -> Person {
        Person {
            identifiant_spe: digest.into(),
            autres: [Some(format!("nir-{digest}")), None, None],
            tables: "individus".into(),
            opposition: None,
        }
    }

    #[test]
    fn the_log_is_chained_found_by_digest_and_an_alteration_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        crate::output::create_private_dir(&dir.path().join(DIR)).unwrap();
        let mut reg = Register::open(dir.path()).unwrap();
        reg.append(delivery("a", vec![person("x"), person("y")]))
            .unwrap();
        reg.append(delivery("b", vec![person("y")])).unwrap();
        let third = reg.append(delivery("a", vec![person("x")])).unwrap();
        assert_eq!(third.numero, 3);
        let reg = Register::open(dir.path()).unwrap();
        assert_eq!(reg.verify().unwrap(), Vec::<String>::new());
        let found: Vec<u64> = reg
            .find("nir", "nir-y", "cle")
            .unwrap()
            .iter()
            .map(|f| match f {
                Found::Delivered(d, _) | Found::Withheld(d, _) => d.numero,
            })
            .collect();
        assert_eq!(found, [1, 2]);
        assert!(reg.find("nir", "nir-y", "autre-cle").is_err());
        let log = dir.path().join(DIR).join(LOG);
        let text = std::fs::read_to_string(&log).unwrap();
        std::fs::write(
            &log,
            text.replacen("\"destinataire\":\"b\"", "\"destinataire\":\"c\"", 1),
        )
        .unwrap();
        let problems = reg.verify().unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("entry 3"), "{problems:?}");
        assert!(reg.check_log().is_err());
    }

    #[test]
    fn a_release_is_read_back_and_a_changed_plan_or_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Register::open(dir.path()).unwrap();
        crate::output::create_private_dir(&dir.path().join(DIR)).unwrap();
        let perimeter = vec!["32".to_string()];
        reg.record(
            &recipient("aaaa"),
            "2026-06-30",
            &perimeter,
            &[count(45, None), count(4, Some("A"))],
        )
        .unwrap();
        let again = Register::open(dir.path()).unwrap();
        assert_eq!(again.diffusions, reg.diffusions);
        let earlier = again.earlier().unwrap();
        let read: Vec<(i64, bool)> = earlier.iter().map(|e| (e.value, e.published)).collect();
        assert_eq!(read, [(45, true), (4, false)]);
        assert_eq!(&*earlier[0].date_arrete, "2026-06-30");
        assert!(again.check(&recipient("aaaa")).is_ok());
        let e = again.check(&recipient("bbbb")).unwrap_err().to_string();
        assert!(e.contains("comite") && e.contains("plan"), "{e}");
        assert!(again.check_perimeter(&["11".to_string()]).is_err());
        let file = dir.path().join(DIR).join(&again.diffusions[0].fichier);
        std::fs::write(&file, b"altered").unwrap();
        assert!(again.earlier().is_err());
    }
}
