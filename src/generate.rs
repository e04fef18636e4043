//! The synthetic OuiForm extract generator (SPEC §7).
//!
//! Deterministic: the same options give the same bytes. Persons are streamed,
//! so memory is bounded by the session list whatever the scale. With a
//! defect rate it corrupts rows in every way `validate` catches and lists
//! each corrupted line (and the children the quarantine cascades to) in
//! `defauts_injectes.csv`, so tests know exactly what must be quarantined.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::rules;
use crate::schema::{rule, Extract};

/// Output format of the generated extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub out: PathBuf,
    pub persons: u64,
    pub seed: u64,
    pub format: Format,
    /// Share of rows (0..=1) that receive a defect.
    pub defects: f64,
    /// Generate one region's extract (INSEE code), as a DREETS would have
    /// it: every session and person in that region. France when `None`.
    pub region: Option<String>,
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub sessions: u64,
    pub individus: u64,
    pub positionnements: u64,
    pub evenements: u64,
    pub defects: u64,
}

/// The name of the injected-defects list written beside the extracts.
pub(crate) const DEFECTS_FILE: &str = "defauts_injectes.csv";

/// Regions (INSEE code), their départements and a weight (≈ job seekers).
const REGIONS: &[(&str, &[&str], u32)] = &[
    ("11", &["75", "77", "78", "91", "92", "93", "94", "95"], 18),
    ("24", &["18", "28", "36", "37", "41", "45"], 4),
    ("27", &["21", "25", "39", "58", "70", "71", "89", "90"], 4),
    ("28", &["14", "27", "50", "61", "76"], 5),
    ("32", &["02", "59", "60", "62", "80"], 14),
    (
        "44",
        &["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"],
        8,
    ),
    ("52", &["44", "49", "53", "72", "85"], 5),
    ("53", &["22", "29", "35", "56"], 5),
    (
        "75",
        &[
            "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
        ],
        9,
    ),
    (
        "76",
        &[
            "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
        ],
        10,
    ),
    (
        "84",
        &[
            "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
        ],
        11,
    ),
    ("93", &["04", "05", "06", "13", "83", "84"], 8),
    ("94", &["2A", "2B"], 1),
    ("01", &["971"], 1),
    ("04", &["974"], 2),
];

const FORMATIONS: &[(&str, &str)] = &[
    ("Agent de propreté et d'hygiène", "42056"),
    ("Préparateur de commandes en entrepôt", "31812"),
    ("Conducteur de transport en commun sur route", "31815"),
    ("Assistant de vie aux familles", "42025"),
    ("Aide-soignant", "43436"),
    ("Cuisinier", "42752"),
    ("Serveur en restauration", "42781"),
    ("Soudeur assembleur industriel", "23684"),
    ("Électricien d'équipement du bâtiment", "22354"),
    ("Maçon", "22335"),
    ("Développeur web et web mobile", "31054"),
    ("Secrétaire assistant", "35054"),
    ("Comptable assistant", "32663"),
    ("Employé commercial en magasin", "34566"),
    ("Remise à niveau — savoirs de base", "15041"),
    ("Français langue étrangère", "15235"),
    ("Agent de sûreté et de sécurité privée", "42811"),
    ("Technicien de maintenance industrielle", "31688"),
];

const PRENOMS_F: &[&str] = &[
    "Marie", "Camille", "Léa", "Manon", "Chloé", "Sarah", "Inès", "Julie", "Nadia", "Sophie",
    "Aurélie", "Fatima", "Émilie", "Laura", "Océane", "Yasmine",
];
const PRENOMS_M: &[&str] = &[
    "Thomas",
    "Lucas",
    "Hugo",
    "Nicolas",
    "Kévin",
    "Mehdi",
    "Julien",
    "Maxime",
    "Romain",
    "Antoine",
    "Karim",
    "Dylan",
    "Théo",
    "Sébastien",
    "Mamadou",
    "Yanis",
];
const NOMS: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
    "Fournier", "Morel", "Girard", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "Benali",
    "Nguyen", "Diallo", "Da Silva",
];
const PAYS: &[&str] = &[
    "France",
    "France",
    "France",
    "France",
    "Maroc",
    "Algérie",
    "Portugal",
    "Sénégal",
];
const NIVEAUX_W: &[(&str, u32)] = &[
    ("AFS", 6),
    ("CP4", 4),
    ("CFG", 8),
    ("C3A", 9),
    ("C12", 6),
    ("NV5", 20),
    ("NV4", 27),
    ("NV3", 10),
    ("NV2", 6),
    ("NV1", 4),
];
const DISPOSITIFS_W: &[(&str, u32)] = &[
    ("AFC", 30),
    ("PRF", 35),
    ("POEC", 10),
    ("SIEG", 5),
    ("PARCOURS_INTEGRE", 10),
    ("AUTRE", 10),
];
const MOTIFS_ABANDON: &[&str] = &[
    "AB01", "AB02", "AB03", "AB04", "AB05", "AB06", "AB07", "AB99",
];
const MOTIFS_ICO: &[&str] = &["IC01", "IC02", "IC03", "IC04", "IC05"];
const MOTIFS_AIS: &[&str] = &["AI01", "AI02", "AI03"];

/// The first day sessions may start, and the extraction date: nothing is
/// recorded after it.
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 6).expect("valid date")
}
fn extraction_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 31).expect("valid date")
}

struct Session {
    id: String,
    region_index: usize,
    date_debut: NaiveDate,
    date_fin: NaiveDate,
    defective: bool,
}

fn weighted<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen_range(0..total);
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

/// The regions to draw from, with their weights: one region, or France.
fn region_weights(only: Option<&str>) -> Vec<(usize, u32)> {
    REGIONS
        .iter()
        .enumerate()
        .filter(|(_, r)| only.is_none_or(|code| r.0 == code))
        .map(|(i, r)| (i, r.2))
        .collect()
}

/// A zone d'emploi code, nested in its region: region code + 2 digits.
fn zone_emploi(region: &str, commune_number: u32) -> String {
    let region_digits = if region.len() == 2 { region } else { "00" };
    format!("{region_digits}{:02}", commune_number % 7 + 1)
}

fn commune(departement: &str, n: u32) -> String {
    if departement.len() == 3 {
        format!("{departement}{:02}", n % 100)
    } else {
        format!("{departement}{:03}", n % 1000)
    }
}

/// One extract being written, with its line counter (header = line 1).
struct Writer {
    name: &'static str,
    out: BufWriter<File>,
    path: PathBuf,
    line: u64,
}

impl Writer {
    fn create(dir: &Path, extract: Extract) -> Result<Self> {
        let path = dir.join(format!("{}.csv", extract.name()));
        let file = File::create(&path).map_err(Error::io(&path))?;
        let mut w = Writer {
            name: extract.name(),
            out: BufWriter::with_capacity(1 << 20, file),
            path,
            line: 0,
        };
        let header: Vec<String> = extract
            .columns()
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        w.write_raw(header.join(";").as_bytes())?;
        Ok(w)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(Error::io(&self.path))?;
        self.out.write_all(b"\r\n").map_err(Error::io(&self.path))?;
        self.line += 1;
        Ok(())
    }

    /// Writes a row and returns its physical line number.
    fn row(&mut self, fields: &[String]) -> Result<u64> {
        self.write_raw(&encode_row(fields, None))?;
        Ok(self.line)
    }

    /// Writes a row whose `field` holds bytes that are not UTF-8.
    fn row_with_bad_bytes(&mut self, fields: &[String], field: usize) -> Result<u64> {
        self.write_raw(&encode_row(fields, Some(field)))?;
        Ok(self.line)
    }

    fn finish(mut self) -> Result<PathBuf> {
        self.out.flush().map_err(Error::io(&self.path))?;
        Ok(self.path)
    }
}

/// One CSV row, quoted where needed; `bad_field` gets Windows-1252 bytes
/// (invalid in a UTF-8 file) appended.
fn encode_row(fields: &[String], bad_field: Option<usize>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            buf.push(b';');
        }
        let quoted = f.contains([';', '"', '\n', '\r']);
        if quoted {
            buf.push(b'"');
            buf.extend_from_slice(f.replace('"', "\"\"").as_bytes());
        } else {
            buf.extend_from_slice(f.as_bytes());
        }
        if bad_field == Some(i) {
            // "é" in Windows-1252: an invalid byte in a UTF-8 file.
            buf.extend_from_slice(b" soci\xe9t\xe9");
        }
        if quoted {
            buf.push(b'"');
        }
    }
    buf
}

/// Records every injected defect: file, line, expected rule.
struct DefectLog {
    out: BufWriter<File>,
    path: PathBuf,
    count: u64,
}

impl DefectLog {
    fn create(dir: &Path) -> Result<Self> {
        let path = dir.join(DEFECTS_FILE);
        let file = File::create(&path).map_err(Error::io(&path))?;
        let mut out = BufWriter::new(file);
        writeln!(out, "fichier;ligne;regle").map_err(Error::io(&path))?;
        Ok(DefectLog {
            out,
            path,
            count: 0,
        })
    }

    fn record(&mut self, file: &str, line: u64, rule: &str) -> Result<()> {
        self.count += 1;
        writeln!(self.out, "{file}.csv;{line};{rule}").map_err(Error::io(&self.path))
    }
}

/// Date formatting: real exports mix ISO and French formats.
#[derive(Clone, Copy)]
struct DateStyle(bool);

impl DateStyle {
    fn date(self, d: NaiveDate) -> String {
        if self.0 {
            d.format("%d/%m/%Y").to_string()
        } else {
            d.format("%Y-%m-%d").to_string()
        }
    }
    fn ts(self, t: NaiveDateTime) -> String {
        if self.0 {
            t.format("%d/%m/%Y %H:%M:%S").to_string()
        } else {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        }
    }
}

fn yes_no(b: bool) -> String {
    if b { "O" } else { "N" }.to_string()
}

fn at_time(rng: &mut ChaCha8Rng, d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(
        rng.gen_range(8..18),
        rng.gen_range(0..60),
        rng.gen_range(0..60),
    )
    .expect("valid time")
}

/// The defect kinds each extract can receive, as the rule that must catch them.
fn defect_kinds(extract: Extract, format: Format) -> Vec<&'static str> {
    let mut kinds = match extract {
        Extract::Sessions => vec![
            rule::TYPE,
            rule::ENUM,
            rule::REQUIRED,
            rule::FORMAT,
            rule::SIRET,
            rule::DATE_ORDER,
            rule::RANGE,
            rule::DUPLICATE,
        ],
        Extract::Individus => vec![
            rule::NIR,
            rule::ENUM,
            rule::REQUIRED,
            rule::TYPE,
            rule::DUPLICATE,
            rule::IMPLAUSIBLE_DATE,
        ],
        Extract::Positionnements => vec![
            rule::FOREIGN_KEY,
            rule::ENUM,
            rule::TYPE,
            rule::REQUIRED,
            rule::DUPLICATE,
            rule::IMPLAUSIBLE_DATE,
        ],
        Extract::Evenements => vec![
            rule::FOREIGN_KEY,
            rule::STATUS,
            rule::DATE_ORDER,
            rule::ENUM,
            rule::TYPE,
            rule::IMPLAUSIBLE_DATE,
        ],
    };
    if format == Format::Csv {
        kinds.push(rule::FIELD_COUNT);
        if extract != Extract::Evenements {
            kinds.push(rule::UTF8);
        }
    }
    kinds
}

struct Gen {
    rng: ChaCha8Rng,
    opts: Options,
    defects: DefectLog,
    turns: [usize; 4],
}

impl Gen {
    /// Whether the next row gets a defect, and which: kinds take turns per
    /// extract, so that every kind appears as soon as there are enough defects.
    fn defect(&mut self, extract: Extract) -> Option<&'static str> {
        if self.opts.defects > 0.0 && self.rng.gen_bool(self.opts.defects.min(1.0)) {
            let kinds = defect_kinds(extract, self.opts.format);
            let turn = &mut self.turns[extract as usize];
            *turn += 1;
            Some(kinds[(*turn - 1) % kinds.len()])
        } else {
            None
        }
    }

    /// Writes `fields` with `defect` applied and logs it. Returns the line of
    /// the row (not of an extra duplicate line) and whether it is quarantined.
    fn emit(
        &mut self,
        w: &mut Writer,
        extract: Extract,
        mut fields: Vec<String>,
        defect: Option<&'static str>,
    ) -> Result<(u64, bool)> {
        let Some(kind) = defect else {
            return Ok((w.row(&fields)?, false));
        };
        match (extract, kind) {
            (_, k) if k == rule::DUPLICATE => {
                let first = w.row(&fields)?;
                // A second occurrence of the same id: the later line is quarantined.
                let line = w.row(&fields)?;
                self.defects.record(w.name, line, kind)?;
                return Ok((first, false));
            }
            (_, k) if k == rule::UTF8 => {
                let line = w.row_with_bad_bytes(&fields, fields.len() - 1)?;
                self.defects.record(w.name, line, kind)?;
                return Ok((line, true));
            }
            _ => corrupt(&mut self.rng, extract, kind, &mut fields)?,
        }
        let line = w.row(&fields)?;
        self.defects.record(w.name, line, kind)?;
        Ok((line, true))
    }
}

/// Breaks one field of a generated line the way `kind`'s rule catches.
/// One arm per (extract, rule) defect the generator can plant: a table,
/// longer than a function should be, kept whole so that every defect reads
/// in one place.
///
/// # Errors
/// `Internal` for a rule the generator cannot plant in `extract`.
fn corrupt(
    rng: &mut impl Rng,
    extract: Extract,
    kind: &'static str,
    fields: &mut Vec<String>,
) -> Result<()> {
    let idx = |name: &str| extract.column_index(name).expect("known column");
    match (extract, kind) {
        (_, k) if k == rule::FIELD_COUNT => {
            if rng.gen_bool(0.5) {
                fields.pop();
            } else {
                fields.push("en trop".into());
            }
        }
        (Extract::Sessions, k) if k == rule::TYPE => fields[idx("duree_heures")] = "120h".into(),
        (Extract::Sessions, k) if k == rule::ENUM => fields[idx("dispositif")] = "CPF".into(),
        (Extract::Sessions, k) if k == rule::REQUIRED => fields[idx("intitule")].clear(),
        (Extract::Sessions, k) if k == rule::FORMAT => fields[idx("formacode")] = "4205".into(),
        (Extract::Sessions, k) if k == rule::SIRET => {
            let s = &mut fields[idx("organisme_siret")];
            let last = s.pop().unwrap_or('0');
            let bumped = char::from(b'0' + ((last as u8 - b'0' + 1) % 10));
            s.push(bumped);
            if s.starts_with(rules::SIREN_LA_POSTE) || rules::is_siret(s) {
                *s = "12345678901234".into();
            }
        }
        (Extract::Sessions, k) if k == rule::DATE_ORDER => {
            let debut = rules::parse_date(&fields[idx("date_debut")]).expect("generated date");
            fields[idx("date_fin")] = (debut - Duration::days(10)).format("%Y-%m-%d").to_string();
        }
        (Extract::Sessions, k) if k == rule::RANGE => {
            fields[idx("places_conventionnees")] = "0".into()
        }
        (Extract::Individus, k) if k == rule::NIR => {
            let nir = &mut fields[idx("nir")];
            if nir.len() == 15 {
                let key: u8 = nir[13..].parse().unwrap_or(0);
                *nir = format!("{}{:02}", &nir[..13], key % 97 + 1);
            } else {
                *nir = "1234".into();
            }
        }
        (Extract::Individus, k) if k == rule::ENUM => fields[idx("civilite")] = "MLLE".into(),
        (Extract::Individus, k) if k == rule::REQUIRED => fields[idx("prenom")].clear(),
        (Extract::Individus, k) if k == rule::TYPE => {
            fields[idx("date_naissance")] = "31/02/1990".into()
        }
        (Extract::Individus, k) if k == rule::IMPLAUSIBLE_DATE => {
            // The usual placeholder of an unknown birth date.
            fields[idx("date_naissance")] = "1900-01-01".into()
        }
        (Extract::Positionnements, k) if k == rule::IMPLAUSIBLE_DATE => {
            // A typo for 2026.
            fields[idx("date_positionnement")] = "15/02/1026 10:00:00".into()
        }
        (Extract::Evenements, k) if k == rule::IMPLAUSIBLE_DATE => {
            fields[idx("date_evenement")] = "1026-03-02".into()
        }
        (Extract::Positionnements, k) if k == rule::FOREIGN_KEY => {
            fields[idx("session_id")] = "S-INCONNUE".into();
        }
        (Extract::Positionnements, k) if k == rule::ENUM => {
            fields[idx("prescripteur_type")] = "APEC".into()
        }
        (Extract::Positionnements, k) if k == rule::TYPE => {
            fields[idx("date_positionnement")] = "2026-13-01 10:00:00".into();
        }
        (Extract::Positionnements, k) if k == rule::REQUIRED => {
            fields[idx("date_positionnement")].clear()
        }
        (Extract::Evenements, k) if k == rule::FOREIGN_KEY => {
            fields[idx("positionnement_id")] = "P-INCONNU".into()
        }
        (Extract::Evenements, k) if k == rule::STATUS => {
            let t = fields[idx("type")].clone();
            fields[idx("statut")] = if t == "AIS" { "AES_RECUE" } else { "VALIDEE" }.into();
        }
        (Extract::Evenements, k) if k == rule::DATE_ORDER => {
            let d = rules::parse_date(&fields[idx("date_evenement")]).expect("generated date");
            fields[idx("enregistre_le")] = (d - Duration::days(3))
                .format("%Y-%m-%d 09:00:00")
                .to_string();
        }
        (Extract::Evenements, k) if k == rule::ENUM => fields[idx("type")] = "RELANCE".into(),
        (Extract::Evenements, k) if k == rule::TYPE => {
            fields[idx("date_evenement")] = "2026-02-30".into()
        }
        _ => {
            return Err(Error::Internal(format!(
                "no defect {kind} for {}",
                extract.name()
            )))
        }
    }
    Ok(())
}

/// Generates the four extracts into `opts.out`.
///
/// ```no_run
/// use ouistat::testing::generate::{generate, Format, Options};
/// let summary = generate(&Options {
///     out: "extraits".into(), persons: 1000, seed: 42, format: Format::Csv, defects: 0.0,
///     region: None,
/// })?;
/// assert!(summary.positionnements > 0);
/// # Ok::<(), ouistat::Error>(())
/// ```
pub fn generate(opts: &Options) -> Result<Summary> {
    if !(0.0..=1.0).contains(&opts.defects) {
        return Err(Error::Config("--defects must be between 0 and 1".into()));
    }
    if let Some(code) = &opts.region {
        if region_weights(Some(code)).is_empty() {
            return Err(Error::Config(format!(
                "--region {code}: not a region of the generator ({})",
                REGIONS.iter().map(|r| r.0).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    std::fs::create_dir_all(&opts.out).map_err(Error::io(&opts.out))?;
    let csv_dir = match opts.format {
        Format::Csv => opts.out.clone(),
        Format::Parquet => {
            let d = opts.out.join(".csv-tmp");
            std::fs::create_dir_all(&d).map_err(Error::io(&d))?;
            d
        }
    };
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(opts.seed),
        opts: opts.clone(),
        defects: DefectLog::create(&opts.out)?,
        turns: [0; 4],
    };
    let mut summary = Summary::default();
    let sessions = write_sessions(&mut g, &csv_dir, &mut summary)?;
    write_people(&mut g, &csv_dir, &sessions, &mut summary)?;
    g.defects.out.flush().map_err(Error::io(&g.defects.path))?;
    summary.defects = g.defects.count;
    if opts.format == Format::Parquet {
        csv_dir_to_text_parquet(&csv_dir, &opts.out)?;
        std::fs::remove_dir_all(&csv_dir).map_err(Error::io(&csv_dir))?;
    }
    Ok(summary)
}

fn write_sessions(g: &mut Gen, dir: &Path, summary: &mut Summary) -> Result<Vec<Session>> {
    let n = (g.opts.persons / 20).max(12);
    let mut w = Writer::create(dir, Extract::Sessions)?;
    let span = (extraction_day() - first_day()).num_days() - 20;
    let weights = region_weights(g.opts.region.as_deref());
    let mut sessions = Vec::with_capacity(n as usize);
    for i in 0..n {
        let rng = &mut g.rng;
        let region_index = *weighted(rng, &weights);
        let (region, depts, _) = REGIONS[region_index];
        let dept = pick(rng, depts);
        let commune_n: u32 = rng.gen_range(1..400);
        let (intitule, formacode) = FORMATIONS[rng.gen_range(0..FORMATIONS.len())];
        let dispositif = *weighted(rng, DISPOSITIFS_W);
        let financeur = match dispositif {
            "PRF" | "SIEG" | "PARCOURS_INTEGRE" => 2,
            "AFC" | "POEC" => 4,
            _ => *[8u32, 5, 7, 11, 16, 0].choose(rng).expect("non-empty"),
        };
        let date_debut = first_day() + Duration::days(rng.gen_range(0..span));
        let duree: i64 = rng.gen_range(35..900);
        let date_fin = date_debut + Duration::days(duree / 5 + 7);
        let places: u32 = rng.gen_range(8..21);
        let siret = if rng.gen_bool(0.03) {
            // A La Poste establishment: digit sum multiple of 5.
            let mut s = format!("{}{:04}", rules::SIREN_LA_POSTE, rng.gen_range(0..10000));
            let sum: u32 = s.bytes().map(|b| u32::from(b - b'0')).sum();
            s.push(char::from(b'0' + ((5 - sum % 5) % 5) as u8));
            s
        } else {
            let prefix = format!(
                "{:09}{:04}",
                rng.gen_range(100_000_000u64..999_999_999),
                rng.gen_range(1..100)
            );
            format!("{prefix}{}", rules::siret_check_digit(&prefix))
        };
        let style = DateStyle(rng.gen_bool(0.2));
        let id = format!("S{:07}", i + 1);
        let fields = vec![
            id.clone(),
            intitule.to_string(),
            if rng.gen_bool(0.97) {
                formacode.to_string()
            } else {
                String::new()
            },
            dispositif.to_string(),
            financeur.to_string(),
            siret,
            format!("Organisme de formation {}", rng.gen_range(1..500)),
            commune(dept, commune_n),
            dept.to_string(),
            region.to_string(),
            zone_emploi(region, commune_n),
            style.date(date_debut),
            style.date(date_fin),
            duree.to_string(),
            places.to_string(),
        ];
        let defect = g.defect(Extract::Sessions);
        let (_, defective) = g.emit(&mut w, Extract::Sessions, fields, defect)?;
        summary.sessions += 1;
        sessions.push(Session {
            id,
            region_index,
            date_debut,
            date_fin,
            defective,
        });
    }
    w.finish()?;
    Ok(sessions)
}

fn nir_for(rng: &mut ChaCha8Rng, male: bool, birth: NaiveDate, dept: &str) -> String {
    use chrono::Datelike;
    let dept2 = if dept.len() == 3 { "97" } else { dept };
    let commune = if dept.len() == 3 {
        format!("{}{:02}", &dept[2..], rng.gen_range(1..30))
    } else {
        format!("{:03}", rng.gen_range(1..400))
    };
    let first13 = format!(
        "{}{:02}{:02}{}{}{:03}",
        if male { 1 } else { 2 },
        birth.year() % 100,
        birth.month(),
        dept2,
        commune,
        rng.gen_range(1..999)
    );
    let key = rules::nir_key(&first13).expect("digits");
    format!("{first13}{key:02}")
}

struct Person {
    id: String,
    region_index: usize,
    young: bool,
    rsa: bool,
    th: bool,
}

/// Draws one person (its row of `individus`), in the order the generator
/// has always drawn it, so that a seed gives the same extracts.
///
/// One function of about 110 lines on purpose: the row's 26 fields are
/// drawn in the extract's column order, which the seed fixes; split into
/// pieces, that order would no longer be read in one place.
fn draw_person(rng: &mut ChaCha8Rng, p: u64, region_index: usize) -> (Person, Vec<String>) {
    let (_, depts, _) = REGIONS[region_index];
    let dept = pick(rng, depts);
    let male = rng.gen_bool(0.52);
    let age_years: i64 = match rng.gen_range(0..100) {
        0..=29 => rng.gen_range(17..26),
        30..=79 => rng.gen_range(26..50),
        _ => rng.gen_range(50..63),
    };
    let birth = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date")
        - Duration::days(age_years * 365 + rng.gen_range(0..365));
    let young = age_years < 26;
    let person = Person {
        id: format!("{:09}{}", p + 1, char::from(b'A' + (p % 26) as u8)),
        region_index,
        young,
        rsa: rng.gen_bool(if young { 0.05 } else { 0.18 }),
        th: rng.gen_bool(0.08),
    };
    let prenom = if male {
        pick(rng, PRENOMS_M)
    } else {
        pick(rng, PRENOMS_F)
    };
    let nom = pick(rng, NOMS);
    let style = DateStyle(rng.gen_bool(0.2));
    let commune_res = commune(dept, rng.gen_range(1..400));
    let inscrit = rng.gen_bool(0.85);
    let some = |rng: &mut ChaCha8Rng, p: f64, make: &dyn Fn(&mut ChaCha8Rng) -> String| {
        if rng.gen_bool(p) {
            make(rng)
        } else {
            String::new()
        }
    };
    let email_suffix = p % 1000;
    let fields = vec![
        person.id.clone(),
        some(rng, 0.9, &|r| {
            format!(
                "{:07}{}",
                r.gen_range(0..10_000_000),
                char::from(b'A' + r.gen_range(0..26u8))
            )
        }),
        some(rng, 0.8, &|r| format!("{:08}", r.gen_range(0..100_000_000))),
        if young {
            some(rng, 0.7, &|r| {
                format!("{:010}", r.gen_range(0..10_000_000_000u64))
            })
        } else {
            String::new()
        },
        some(rng, 0.85, &|r| nir_for(r, male, birth, dept)),
        if male { "M" } else { "MME" }.to_string(),
        nom.to_string(),
        some(rng, if male { 0.0 } else { 0.3 }, &|r| {
            pick(r, NOMS).to_string()
        }),
        prenom.to_string(),
        style.date(birth),
        some(rng, 0.96, &|r| {
            let depts = REGIONS[r.gen_range(0..REGIONS.len())].1;
            let d = pick(r, depts);
            commune(d, r.gen_range(1..400))
        }),
        some(rng, 0.97, &|r| pick(r, PAYS).to_string()),
        some(rng, 0.97, &|_| "française".to_string()),
        some(rng, 0.95, &|r| {
            format!("06{:08}", r.gen_range(0..100_000_000))
        }),
        some(rng, 0.9, &|_| {
            format!(
                "{}.{}{email_suffix}@exemple.fr",
                prenom.to_lowercase(),
                nom.to_lowercase().replace(' ', "")
            )
        }),
        some(rng, 0.96, &|r| {
            format!("{} rue des Lilas, {commune_res}", r.gen_range(1..200))
        }),
        commune_res.clone(),
        weighted(rng, NIVEAUX_W).to_string(),
        some(rng, 0.6, &|_| "CAP".to_string()),
        {
            let r: f64 = rng.gen();
            if r < 0.05 {
                String::new()
            } else {
                yes_no(r < 0.6)
            }
        },
        yes_no(inscrit),
        if inscrit {
            let d = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date")
                + Duration::days(rng.gen_range(0..700));
            style.date(d)
        } else {
            String::new()
        },
        if inscrit {
            pick(rng, &["A", "A", "A", "B", "C", "D", "E"]).to_string()
        } else {
            String::new()
        },
        yes_no(person.th),
        yes_no(person.rsa),
        yes_no(rng.gen_bool(0.03)),
    ];
    (person, fields)
}

/// Writes the one to three positionings of a person (and their events),
/// on a session of its region most of the time.
fn write_positionings(
    g: &mut Gen,
    (wp, we): (&mut Writer, &mut Writer),
    person: &Person,
    (sessions, pool): (&[Session], &[usize]),
    person_defective: bool,
    positionnement_seq: &mut u64,
    summary: &mut Summary,
) -> Result<()> {
    let k = match g.rng.gen_range(0..100) {
        0..=59 => 1,
        60..=87 => 2,
        _ => 3,
    };
    for _ in 0..k {
        *positionnement_seq += 1;
        let s_idx = if pool.is_empty() || g.rng.gen_bool(0.05) {
            g.rng.gen_range(0..sessions.len())
        } else {
            pool[g.rng.gen_range(0..pool.len())]
        };
        let session = &sessions[s_idx];
        let parent_defective = person_defective || session.defective;
        let n = write_positionnement(
            g,
            (&mut *wp, &mut *we),
            person,
            session,
            *positionnement_seq,
            parent_defective,
        )?;
        summary.positionnements += 1;
        summary.evenements += n;
    }
    Ok(())
}

fn write_people(
    g: &mut Gen,
    dir: &Path,
    sessions: &[Session],
    summary: &mut Summary,
) -> Result<()> {
    let mut wi = Writer::create(dir, Extract::Individus)?;
    let mut wp = Writer::create(dir, Extract::Positionnements)?;
    let mut we = Writer::create(dir, Extract::Evenements)?;
    let mut by_region: Vec<Vec<usize>> = vec![Vec::new(); REGIONS.len()];
    for (i, s) in sessions.iter().enumerate() {
        by_region[s.region_index].push(i);
    }
    let weights = region_weights(g.opts.region.as_deref());
    let progress = crate::progress::Progress::new("generate", g.opts.persons);
    let mut positionnement_seq = 0u64;
    for p in 0..g.opts.persons {
        progress.tick(p);
        let rng = &mut g.rng;
        let mut region_index = *weighted(rng, &weights);
        if by_region[region_index].is_empty() {
            region_index = sessions[rng.gen_range(0..sessions.len())].region_index;
        }
        let (person, fields) = draw_person(rng, p, region_index);
        let defect = g.defect(Extract::Individus);
        let (_, person_defective) = g.emit(&mut wi, Extract::Individus, fields, defect)?;
        summary.individus += 1;

        write_positionings(
            g,
            (&mut wp, &mut we),
            &person,
            (sessions, &by_region[region_index]),
            person_defective,
            &mut positionnement_seq,
            summary,
        )?;
    }
    progress.done();
    wi.finish()?;
    wp.finish()?;
    we.finish()?;
    Ok(())
}

/// Writes one positioning of `person` on `session` and its events;
/// returns the number of events written (none for a positioning drawn
/// after the extraction day).
fn write_positionnement(
    g: &mut Gen,
    (wp, we): (&mut Writer, &mut Writer),
    person: &Person,
    session: &Session,
    seq: u64,
    parent_defective: bool,
) -> Result<u64> {
    let day = session.date_debut - Duration::days(g.rng.gen_range(5..80));
    if day > extraction_day() {
        return Ok(0);
    }
    let id = format!("P{seq:09}");
    let fields = positionnement_fields(&mut g.rng, person, session, &id, day);
    let defect = g.defect(Extract::Positionnements);
    let (line, own_defect) = g.emit(wp, Extract::Positionnements, fields, defect)?;
    if parent_defective && !own_defect {
        g.defects.record(wp.name, line, rule::PARENT)?;
    }
    let events = parcours(&mut g.rng, day, session);
    write_events(g, we, &id, events, parent_defective || own_defect)
}

/// The row of `positionnements` for positioning `id`, made on `day`: the
/// prescriber follows the person's situation (young people by Missions
/// locales, disabled people by Cap emploi, RSA by the Département).
fn positionnement_fields(
    rng: &mut ChaCha8Rng,
    person: &Person,
    session: &Session,
    id: &str,
    day: NaiveDate,
) -> Vec<String> {
    let at = at_time(rng, day);
    let prescripteur = if person.young && rng.gen_bool(0.6) {
        "ML"
    } else if person.th && rng.gen_bool(0.5) {
        "CE"
    } else if person.rsa && rng.gen_bool(0.4) {
        "CD"
    } else {
        *weighted(
            rng,
            &[
                ("PE", 75),
                ("REGION", 8),
                ("AUTRE", 7),
                ("CD", 5),
                ("ML", 5),
            ],
        )
    };
    let dept = REGIONS[person.region_index].1[0];
    let structure = format!("{prescripteur}{dept}{:03}", rng.gen_range(1..40));
    let style = DateStyle(rng.gen_bool(0.2));
    let conseiller = pick(rng, NOMS);
    vec![
        id.to_string(),
        person.id.clone(),
        session.id.clone(),
        prescripteur.to_string(),
        structure,
        format!("{} {}", pick(rng, PRENOMS_F), conseiller),
        format!(
            "{}@{}.exemple.fr",
            conseiller.to_lowercase().replace(' ', ""),
            prescripteur.to_lowercase()
        ),
        yes_no(matches!(prescripteur, "CD" | "REGION" | "AUTRE")),
        style.ts(at),
        yes_no(rng.gen_bool(0.4)),
        yes_no(rng.gen_bool(0.3)),
        if rng.gen_bool(0.5) {
            "Projet de reconversion vers le métier visé; stage d'immersion réalisé".into()
        } else {
            String::new()
        },
        if rng.gen_bool(0.2) {
            "Mobilité: pas de permis, garde d'enfants".into()
        } else {
            String::new()
        },
    ]
}

/// Writes the events of positioning `id` recorded by the extraction day;
/// when the positioning or its parents are defective (`cascade`), each
/// event is recorded as quarantined with them. Returns the events written.
fn write_events(
    g: &mut Gen,
    we: &mut Writer,
    id: &str,
    events: Vec<Event>,
    cascade: bool,
) -> Result<u64> {
    let mut n = 0;
    for ev in events {
        if ev.recorded.date() > extraction_day() {
            continue;
        }
        let style = DateStyle(g.rng.gen_bool(0.2));
        let fields = vec![
            id.to_string(),
            ev.kind.to_string(),
            ev.statut.unwrap_or_default().to_string(),
            ev.motif.unwrap_or_default().to_string(),
            style.date(ev.date),
            style.ts(ev.recorded),
        ];
        let defect = g.defect(Extract::Evenements);
        let (line, own) = g.emit(we, Extract::Evenements, fields, defect)?;
        if cascade && !own {
            g.defects.record(we.name, line, rule::PARENT)?;
        }
        n += 1;
    }
    Ok(n)
}

struct Event {
    kind: &'static str,
    statut: Option<&'static str>,
    motif: Option<&'static str>,
    date: NaiveDate,
    recorded: NaiveDateTime,
}

/// The events of one positioning as they are drawn, in date order; each
/// event's recording time lags its date by up to a week.
struct Parcours(Vec<Event>);

impl Parcours {
    fn push(
        &mut self,
        rng: &mut ChaCha8Rng,
        (kind, statut, motif): (&'static str, Option<&'static str>, Option<&'static str>),
        date: NaiveDate,
    ) {
        let lag = Duration::days(rng.gen_range(0..8));
        let recorded = at_time(rng, date + lag);
        self.0.push(Event {
            kind,
            statut,
            motif,
            date,
            recorded,
        });
    }
}

/// A plausible parcours for one positioning, in date order: the first
/// meeting (ICO), then for a person kept the agreement (AIS), then for an
/// agreed one the training itself.
fn parcours(rng: &mut ChaCha8Rng, day: NaiveDate, session: &Session) -> Vec<Event> {
    let mut out = Parcours(Vec::new());
    if let Some(ico_day) = first_meeting(rng, &mut out, day) {
        if agreement(rng, &mut out, ico_day, session) {
            training(rng, &mut out, session);
        }
    }
    out.0
}

/// The first meeting (ICO), perhaps postponed once; the day of a person
/// kept (`PRESENT_RETENU`), `None` otherwise.
fn first_meeting(rng: &mut ChaCha8Rng, out: &mut Parcours, day: NaiveDate) -> Option<NaiveDate> {
    let mut ico_day = day + Duration::days(rng.gen_range(2..15));
    if rng.gen_bool(0.08) {
        // A first meeting postponed, then a second one: the latest wins.
        out.push(rng, ("ICO", Some("REPORTE"), None), ico_day);
        ico_day += Duration::days(rng.gen_range(3..10));
    }
    if rng.gen_bool(0.04) {
        return None; // no news yet
    }
    let statut = *weighted(
        rng,
        &[
            ("PRESENT_RETENU", 58),
            ("PRESENT_NON_RETENU", 14),
            ("ABSENT", 14),
            ("DESISTE", 10),
            ("REPORTE", 4),
        ],
    );
    let motif = match statut {
        "PRESENT_NON_RETENU" | "DESISTE" => Some(pick(rng, MOTIFS_ICO)),
        _ => None,
    };
    out.push(rng, ("ICO", Some(statut), motif), ico_day);
    (statut == "PRESENT_RETENU").then_some(ico_day)
}

/// The training plan and the agreement (AIS); whether it leads to an
/// entry (not refused, cancelled or withdrawn).
fn agreement(
    rng: &mut ChaCha8Rng,
    out: &mut Parcours,
    ico_day: NaiveDate,
    session: &Session,
) -> bool {
    if rng.gen_bool(0.5) {
        let d = ico_day + Duration::days(rng.gen_range(1..6));
        out.push(rng, ("PLAN_FORMATION", None, None), d);
    }
    let ais = *weighted(rng, &[("VALIDEE", 86), ("REFUSEE", 9), ("ANNULEE", 5)]);
    let ais_day = (ico_day + Duration::days(rng.gen_range(2..12))).min(session.date_debut);
    let motif = if ais == "VALIDEE" {
        None
    } else {
        Some(pick(rng, MOTIFS_AIS))
    };
    out.push(rng, ("AIS", Some(ais), motif), ais_day);
    if ais != "VALIDEE" || rng.gen_bool(0.08) {
        if rng.gen_bool(0.05) {
            // Withdrawal before entry: an ABANDON that is not an abandon.
            let motif = pick(rng, MOTIFS_ABANDON);
            out.push(
                rng,
                ("ABANDON", None, Some(motif)),
                ais_day + Duration::days(1),
            );
        }
        return false;
    }
    true
}

/// The entry, perhaps an absence, then an abandon or the final report
/// (BILAN) at the session's end.
fn training(rng: &mut ChaCha8Rng, out: &mut Parcours, session: &Session) {
    let entry = session.date_debut + Duration::days(rng.gen_range(0..3));
    let aes = if rng.gen_bool(0.9) {
        "AES_RECUE"
    } else {
        "AES_NON_RECUE"
    };
    out.push(rng, ("ENTREE", Some(aes), None), entry);
    let length = (session.date_fin - entry).num_days().max(1);
    if rng.gen_bool(0.2) {
        let d = entry + Duration::days(rng.gen_range(0..length));
        let motif = pick(rng, &["AS01", "AS02"]);
        out.push(rng, ("ABSENCE", None, Some(motif)), d);
    }
    if rng.gen_bool(0.1) {
        let d = entry + Duration::days(rng.gen_range(0..length));
        let motif = if rng.gen_bool(0.02) {
            "ZZ42"
        } else {
            pick(rng, MOTIFS_ABANDON)
        };
        out.push(rng, ("ABANDON", None, Some(motif)), d);
        return;
    }
    let bilan = *weighted(
        rng,
        &[("TERMINE", 40), ("CERTIFIE", 45), ("NON_CERTIFIE", 15)],
    );
    out.push(rng, ("BILAN", Some(bilan), None), session.date_fin);
}

/// Converts the generator's CSV extracts to all-text Parquet files.
pub fn csv_dir_to_text_parquet(csv_dir: &Path, out: &Path) -> Result<()> {
    let db = crate::warehouse::Db::in_memory()?;
    for extract in Extract::ALL {
        let csv = csv_dir.join(format!("{}.csv", extract.name()));
        let parquet = out.join(format!("{}.parquet", extract.name()));
        db.copy_to_parquet_with(
            "csv_en_texte",
            crate::queries::get("csv_en_texte"),
            [csv.to_string_lossy().into_owned()],
            &parquet,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_nest_in_their_region() {
        for (region, depts, _) in REGIONS {
            for d in *depts {
                let z = zone_emploi(region, 17);
                assert!(rules::is_zone_emploi(&z), "{z}");
                assert!(rules::is_commune(&commune(d, 123)), "{d}");
                assert!(rules::is_departement(d));
            }
        }
    }

    #[test]
    fn generated_nirs_are_valid() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for dept in ["62", "2A", "2B", "971"] {
            let birth = NaiveDate::from_ymd_opt(1990, 5, 17).unwrap();
            let nir = nir_for(&mut rng, true, birth, dept);
            assert_eq!(rules::nir_problem(&nir), None, "{nir}");
        }
    }
}
