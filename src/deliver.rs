//! Recipient deliveries under the Annex 1 policy (SPEC §4).
//!
//! `deliver` writes nothing the policy does not grant: the SQL that reads the
//! staged extracts selects only the columns the policy grants the
//! recipient's class, so other columns never leave DuckDB. Identifiers to be
//! pseudonymised go straight to `pseudonymise`. A delivery is written to a
//! temporary folder and renamed into place, so a failed run leaves the
//! previous delivery intact.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int32Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::output::ParquetFile;
use crate::policy::{Policy, RecipientClass, Treatment};
use crate::pseudonymise::{Pseudonymiser, RegisterDigests, SecretKey};
use crate::register::{self, Register};
use crate::schema::Extract;
use crate::secrecy::{self, Plan};
use crate::stage::Stage;

/// One recipient, as configured. Codes are strings, written quoted or not
/// (`region = 32`, `financeur_code = "2"`), and checked as they are read:
/// a region or département against the geography, a public against its
/// list, each error naming the file's line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Recipient {
    /// Folder name under `livraisons/`.
    pub nom: String,
    pub classe: RecipientClass,
    /// For a funder: its LHEO code-financeur.
    #[serde(default, deserialize_with = "lheo_code")]
    pub financeur_code: Option<i32>,
    /// For a partner: the département of the sessions.
    #[serde(default, deserialize_with = "crate::geo::departement")]
    pub departement: Option<String>,
    /// For a partner: its public, one of [`PUBLICS`].
    #[serde(default, deserialize_with = "public")]
    pub public: Option<String>,
    /// Key file (hex), relative to the recipients file.
    pub cle: Option<PathBuf>,
    /// Statistical-secrecy threshold for its aggregates.
    pub seuil_secret: Option<u32>,
    /// Protection level: the narrowest interval, in whole units, to which an
    /// attacker may recompute a suppressed count of its aggregates.
    pub niveau_protection: Option<u32>,
    /// For aggregates: a publication plan file, relative to the recipients
    /// file (the plan shipped for the class when absent).
    pub plan: Option<PathBuf>,
    /// For the committee: its region (INSEE code); only the region and its
    /// départements and zones d'emploi are published.
    #[serde(default, deserialize_with = "crate::geo::region")]
    pub region: Option<String>,
    /// For microdata: a k-anonymity stricter than the policy's for the class.
    pub k_anonymat: Option<u32>,
    /// For microdata: a smaller share of persons local suppression may remove.
    pub suppression_max: Option<f64>,
}

/// The publics a partner may receive: boolean columns of `individus`.
pub(crate) const PUBLICS: &[&str] = &[
    "beneficiaire_rsa",
    "travailleur_handicape",
    "beneficiaire_aah",
];

fn public<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let p = String::deserialize(d)?;
    if PUBLICS.contains(&p.as_str()) {
        Ok(Some(p))
    } else {
        Err(serde::de::Error::custom(format!(
            "unknown public `{p}`, expected one of {}",
            PUBLICS
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

/// A LHEO code-financeur, quoted or not (`2`, `"2"`).
fn lheo_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    let code = crate::geo::code(d)?;
    code.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "`{code}` is not a LHEO code-financeur (a number, e.g. 2 for the Région)"
        ))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipientsFile {
    destinataires: Vec<toml::Spanned<Recipient>>,
}

/// Loads the recipients file; key paths are resolved against its folder.
///
/// # Errors
/// `Config` naming the file and line of the first recipient that is
/// malformed or incomplete; `Policy` for a threshold below the floor.
pub(crate) fn load_recipients(path: &Path) -> Result<Vec<Recipient>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let origin = path.display().to_string();
    let file: RecipientsFile = crate::toml_file::parse(&origin, &text).map_err(Error::Config)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut names = std::collections::HashSet::new();
    let mut out = Vec::new();
    for spanned in file.destinataires {
        let at = crate::toml_file::at(&origin, &text, spanned.span().start);
        let mut r = spanned.into_inner();
        check_recipient(&r).map_err(|e| Error::Config(format!("{at}: {e}")))?;
        if !names.insert(r.nom.clone()) {
            return Err(Error::Config(format!(
                "{at}: recipient `{}` appears twice",
                r.nom
            )));
        }
        if let Some(t) = r.seuil_secret.filter(|t| *t < MIN_THRESHOLD) {
            return Err(Error::Policy(format!(
                "{at}: recipient `{}` sets seuil_secret = {t}, below the policy's floor of {MIN_THRESHOLD}",
                r.nom
            )));
        }
        r.cle = r
            .cle
            .map(|k| if k.is_absolute() { k } else { base.join(k) });
        r.plan = r
            .plan
            .map(|p| if p.is_absolute() { p } else { base.join(p) });
        plan_of(&r)?;
        out.push(r);
    }
    Ok(out)
}

/// What a recipient lacks for its class, or a name unfit for a folder.
fn check_recipient(r: &Recipient) -> std::result::Result<(), String> {
    if !crate::domain::names::is_recipient_name(&r.nom) {
        return Err(format!(
            "recipient name `{}` must be letters, digits, - or _",
            r.nom
        ));
    }
    match r.classe {
        RecipientClass::Financeur if r.financeur_code.is_none() => Err(format!(
            "funder `{}` needs financeur_code (its LHEO code, e.g. financeur_code = 2)",
            r.nom
        )),
        RecipientClass::Partenaire if r.departement.is_none() || r.public.is_none() => {
            Err(format!(
                "partner `{}` needs departement and public (e.g. departement = \"62\" and public = \"beneficiaire_rsa\")",
                r.nom
            ))
        }
        _ => Ok(()),
    }
}

/// One delivered file, as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ManifestFile {
    pub nom: String,
    pub sha256: String,
    /// Rows for Parquet files; absent for the dictionary.
    pub lignes: Option<u64>,
    /// Column name → Arrow type, for Parquet files.
    pub schema: Option<Vec<(String, String)>>,
}

/// `manifest.json` of a delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub logiciel: String,
    pub version: String,
    pub destinataire: String,
    pub classe: RecipientClass,
    pub politique_version: String,
    pub politique_sha256: String,
    pub date_arrete: String,
    pub empreinte_cle: Option<String>,
    pub entrees: BTreeMap<String, String>,
    /// For aggregates: the publication plan's version and SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    /// For aggregates: the statistical-secrecy threshold they were cleared at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seuil_secret: Option<u32>,
    /// For microdata: the re-identification risk, before and after
    /// generalisation (issue 25, `kanon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risque_reidentification: Option<crate::kanon::Report>,
    /// For microdata under an opposition list: the persons whose rows it
    /// kept out of this delivery, counted, never named (issue 26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personnes_opposition: Option<u64>,
    /// After a key rotation: the previous key's fingerprint; the delivery
    /// then holds `table_de_passage.parquet` (issue 26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empreinte_cle_precedente: Option<String>,
    pub fichiers: Vec<ManifestFile>,
}

/// What a run passes to the deliveries.
pub(crate) struct Context<'a> {
    pub stage: &'a Stage,
    pub policy: &'a Policy,
    pub cutoff: chrono::NaiveDate,
    /// Input file name → SHA-256.
    pub inputs: BTreeMap<String, String>,
    pub out: &'a Path,
    /// Every recipient of the run: those of aggregates are protected together.
    pub recipients: &'a [Recipient],
    /// The full cubes, read from the staging once for every recipient of aggregates.
    cubes: OnceCell<(Vec<secrecy::CubeBatch>, secrecy::Geography)>,
    /// The protection of every recipient of aggregates, by name, computed once.
    protections: OnceCell<BTreeMap<String, Rc<secrecy::Protection>>>,
    /// The release register of the output being built.
    register: RefCell<Register>,
    /// Issue 25: seconds spent measuring and anonymising microdata, and
    /// writing the whole delivery, per recipient (`run.json` timings).
    pub anonymisation_secondes: RefCell<BTreeMap<String, (f64, f64)>>,
    /// Issue 26: the register key and the opposition list.
    rights: Rights,
    /// Digests of every person's other identifiers, by the digest of their
    /// `identifiant_spe`, computed once.
    identifiers: OnceCell<std::collections::HashMap<String, [Option<String>; 3]>>,
}

/// What the register of deliveries needs of a run (issue 26).
pub(crate) struct Rights {
    /// Digests under the register key.
    pub digests: RegisterDigests,
    /// The register key's fingerprint.
    pub fingerprint: String,
    /// The opposition and limitation list, if any.
    pub oppositions: Option<Vec<crate::opposition::Opposition>>,
}

impl<'a> Context<'a> {
    /// A context for the deliveries of a run writing into `out`; reads the
    /// release register carried over there.
    ///
    /// # Errors
    /// `Config` when the register cannot be read or was written for another
    /// plan, class or region of one of `recipients`.
    pub(crate) fn new(
        stage: &'a Stage,
        policy: &'a Policy,
        cutoff: chrono::NaiveDate,
        inputs: BTreeMap<String, String>,
        out: &'a Path,
        recipients: &'a [Recipient],
        rights: Rights,
    ) -> Result<Self> {
        let register = open_register(out, recipients)?;
        stage_oppositions(stage, rights.oppositions.as_deref().unwrap_or_default())?;
        Ok(Context {
            stage,
            policy,
            cutoff,
            inputs,
            out,
            recipients,
            cubes: OnceCell::new(),
            protections: OnceCell::new(),
            register: RefCell::new(register),
            anonymisation_secondes: RefCell::new(BTreeMap::new()),
            rights,
            identifiers: OnceCell::new(),
        })
    }

    /// Digests of every staged person's other identifiers, by the digest of
    /// their `identifiant_spe`.
    fn identifiers(&self) -> Result<&std::collections::HashMap<String, [Option<String>; 3]>> {
        if let Some(m) = self.identifiers.get() {
            return Ok(m);
        }
        let d = &self.rights.digests;
        let kinds = register::IDENTIFIERS;
        let rows: Vec<[Option<String>; 4]> = self.stage.db().query_map(
            "identifiants_des_personnes",
            crate::queries::get("identifiants_des_personnes"),
            [],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
        )?;
        let mut map = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let digest = |i: usize| d.digest(kinds[i], row[i].as_deref());
            if let Some(spe) = digest(0) {
                map.insert(spe, [digest(1), digest(2), digest(3)]);
            }
        }
        Ok(self.identifiers.get_or_init(|| map))
    }

    /// The full cubes and the geography, read from the staging once.
    fn cubes(&self) -> Result<&(Vec<secrecy::CubeBatch>, secrecy::Geography)> {
        if let Some(c) = self.cubes.get() {
            return Ok(c);
        }
        let read = read_cubes(self.stage)?;
        Ok(self.cubes.get_or_init(|| read))
    }

    /// The regions the extracts cover, sorted: the register's perimeter.
    fn perimeter(&self) -> Result<Vec<String>> {
        let (_, geography) = self.cubes()?;
        let set: std::collections::BTreeSet<&String> = geography.values().collect();
        Ok(set.into_iter().cloned().collect())
    }

    /// The protection of every recipient of aggregates, computed together
    /// once, with every earlier release of the register as published.
    fn protections(&self) -> Result<&BTreeMap<String, Rc<secrecy::Protection>>> {
        if let Some(p) = self.protections.get() {
            return Ok(p);
        }
        let mut plans = Vec::new();
        for r in self.recipients {
            if let (Some(threshold), Some(plan)) = (aggregate_threshold(r), plan_of(r)?) {
                plans.push((r, threshold, plan));
            }
        }
        let releases: Vec<secrecy::Release> = plans
            .iter()
            .map(|(r, threshold, plan)| secrecy::Release {
                name: &r.nom,
                plan,
                settings: secrecy::Settings {
                    threshold: i64::from(*threshold),
                    protection: r.niveau_protection.unwrap_or(DEFAULT_PROTECTION),
                    region: r.region.clone(),
                },
            })
            .collect();
        let register = self.register.borrow();
        register.check_perimeter(&self.perimeter()?)?;
        // Releases at an earlier cut-off; one at this cut-off is this
        // release again, and is replaced.
        let cutoff = self.cutoff.format("%Y-%m-%d").to_string();
        let mut earlier = register.earlier()?;
        earlier.retain(|e| *e.date_arrete < *cutoff);
        let (cubes, geography) = self.cubes()?;
        let protected = secrecy::protect_run(&releases, cubes, geography, &earlier)?;
        let by_name = releases
            .iter()
            .zip(protected)
            .map(|(rel, p)| (rel.name.to_string(), Rc::new(p)))
            .collect();
        Ok(self.protections.get_or_init(|| by_name))
    }
}

/// Opens the release register of the output in `out` and checks that its
/// earlier releases were made under the plan, class and region each
/// recipient of aggregates has now.
///
/// # Errors
/// `Config` naming the recipient and what changed.
pub(crate) fn open_register(out: &Path, recipients: &[Recipient]) -> Result<Register> {
    let register = Register::open(out)?;
    register.check_log()?;
    for r in recipients {
        if let Some(plan) = plan_of(r)? {
            register.check(&register_recipient(r, &plan))?;
        }
    }
    Ok(register)
}

/// Stages the opposition list as `dlv_opposes(identifiant_spe, classe,
/// demande)`: each line matched to the staged persons by its identifier
/// (trimmed, upper-cased, as pseudonyms are), the earliest request kept.
fn stage_oppositions(stage: &Stage, list: &[crate::opposition::Opposition]) -> Result<()> {
    let db = stage.db();
    db.build_temp_table(
        "dlv_liste_opposition",
        crate::queries::get("dlv_liste_opposition"),
        [],
    )?;
    {
        let mut app = db.appender("dlv_liste_opposition")?;
        for o in list {
            for c in &o.classes {
                app.append_row(crate::warehouse::params![
                    o.kind,
                    o.identifiant,
                    c.name(),
                    o.date.to_string()
                ])
                .map_err(crate::warehouse::failed("dlv_liste_opposition"))?;
            }
        }
    }
    db.build_temp_table("dlv_opposes", crate::queries::get("dlv_opposes"), [])?;
    Ok(())
}

/// What secrecy did for one delivery of aggregates.
#[derive(Debug, Clone)]
pub(crate) struct Secrecy {
    /// Seconds from protection to the audit's record, the register included.
    pub secondes: f64,
    pub summary: secrecy::Summary,
}

/// A recipient as the release register knows it.
fn register_recipient<'r>(r: &'r Recipient, plan: &'r Plan) -> register::Recipient<'r> {
    register::Recipient {
        name: &r.nom,
        class: r.classe.name(),
        region: r.region.as_deref(),
        plan_version: &plan.version,
        plan_sha256: &plan.sha256,
    }
}

/// The rows a recipient may receive: builds `dlv_perimetre`, its
/// positionings (existing at the cut-off; a funder's or a partner's from
/// the national perimeter, `dlv_perimetre_tous`), then `dlv_retenus` (the persons
/// the opposition list withholds), `dlv_positionnements` (the perimeter
/// less them), `dlv_sessions` and `dlv_individus`, the models of
/// `queries/delivery/` for its class, its values bound.
fn build_perimeter(db: &crate::warehouse::Db, r: &Recipient, everyone: bool) -> Result<()> {
    use crate::queries::{get, render};
    let code = r.financeur_code.map(i64::from);
    let dep = r.departement.clone().unwrap_or_default();
    // A funder's or a partner's perimeter is a part of the national one.
    let national = matches!(
        r.classe,
        RecipientClass::PoleEmploi | RecipientClass::Ministere | RecipientClass::Comite
    );
    let tous = if national {
        "dlv_perimetre"
    } else {
        "dlv_perimetre_tous"
    };
    db.build_temp_table(tous, get("dlv_perimetre_national"), [])?;
    match r.classe {
        RecipientClass::PoleEmploi | RecipientClass::Ministere | RecipientClass::Comite => 0,
        RecipientClass::Financeur => db.build_temp_table(
            "dlv_perimetre",
            get("dlv_perimetre_financeur"),
            [code.unwrap_or_default()],
        )?,
        RecipientClass::Partenaire => {
            // The public is a column name: one of the constants of PUBLICS.
            let public = PUBLICS
                .iter()
                .find(|p| Some(**p) == r.public.as_deref())
                .copied()
                .unwrap_or(PUBLICS[0]);
            db.build_temp_table(
                "dlv_perimetre",
                &render("dlv_perimetre_partenaire", &[("public", public)]),
                [dep],
            )?
        }
    };
    db.build_temp_table(
        "dlv_retenus",
        get("dlv_retenus"),
        crate::warehouse::params![r.classe.name(), everyone],
    )?;
    db.build_temp_table("dlv_positionnements", get("dlv_positionnements"), [])?;
    match r.classe {
        RecipientClass::Financeur => db.build_temp_table(
            "dlv_sessions",
            get("dlv_sessions_financeur"),
            [code.unwrap_or_default()],
        )?,
        RecipientClass::Partenaire => {
            db.build_temp_table("dlv_sessions", get("dlv_sessions_partenaire"), [])?
        }
        _ => db.build_temp_table("dlv_sessions", get("dlv_sessions_national"), [])?,
    };
    db.build_temp_table("dlv_individus", get("dlv_individus"), [everyone])?;
    Ok(())
}

fn to_utf8(a: &ArrayRef) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(a, &DataType::Utf8)?)
}

/// Applies the column treatments to a batch read with only granted columns.
fn treat(
    batch: &RecordBatch,
    treatments: &[Treatment],
    pseudonymiser: Option<&Pseudonymiser>,
) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (i, field) in batch.schema().fields().iter().enumerate() {
        let col = batch.column(i);
        match treatments[i] {
            Treatment::Supprimer => {
                return Err(Error::Internal(format!(
                    "dropped column {} was selected",
                    field.name()
                )))
            }
            Treatment::Garder | Treatment::StructureSeulement => {
                fields.push(Field::new(field.name(), field.data_type().clone(), true));
                columns.push(col.clone());
            }
            Treatment::CommuneSeulement => {
                let text = to_utf8(col)?;
                let s = text.as_string::<i32>();
                let kept: StringArray = s
                    .iter()
                    .map(|v| v.filter(|c| crate::rules::is_commune(c)))
                    .collect();
                fields.push(Field::new(field.name(), DataType::Utf8, true));
                columns.push(Arc::new(kept));
            }
            Treatment::Pseudonymiser => {
                let p = pseudonymiser
                    .ok_or_else(|| Error::Internal("no key for a pseudonymised column".into()))?;
                let text = to_utf8(col)?;
                let s = text.as_string::<i32>();
                let ids: Vec<Option<&str>> = s.iter().collect();
                let pseudo: StringArray = p.pseudonyms(&ids);
                fields.push(Field::new(
                    format!("{}_pseudo", field.name()),
                    DataType::Utf8,
                    true,
                ));
                columns.push(Arc::new(pseudo));
            }
            Treatment::AnneeEtTrancheAge => {
                let dates = arrow::compute::cast(col, &DataType::Date32)?;
                let d = dates.as_primitive::<arrow::datatypes::Date32Type>();
                let years: Int32Array = d
                    .iter()
                    .map(|v| {
                        v.and_then(|days| {
                            use chrono::Datelike;
                            chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0)
                                .map(|t| t.year())
                        })
                    })
                    .collect();
                fields.push(Field::new("annee_naissance", DataType::Int32, true));
                columns.push(Arc::new(years));
            }
        }
    }
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

/// A schema as the manifest records it: column name → Arrow type.
pub(crate) fn schema_of(schema: &Schema) -> Vec<(String, String)> {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect()
}

/// The full cubes secrecy can publish, as computed (internal,
/// unsuppressed), and each département's and zone d'emploi's region (codes
/// found in several regions are left out).
pub fn read_cubes(stage: &Stage) -> Result<(Vec<secrecy::CubeBatch>, secrecy::Geography)> {
    let db = stage.db();
    let mut cubes = Vec::new();
    for def in secrecy::cubes::CUBES {
        let sql = crate::queries::render(def.query, &[]);
        let (schema, batches) = stage.query_with_crossing(def.query, &sql)?;
        let batch = arrow::compute::concat_batches(&schema, &batches)?;
        cubes.push(secrecy::CubeBatch {
            cube: def.cube,
            batch,
        });
    }
    let mut geography = secrecy::Geography::new();
    for level in crate::queries::levels_in_region() {
        let rows = db.query_map(
            "region_des_lieux",
            &crate::queries::render("region_des_lieux", &[("niveau", level)]),
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )?;
        for (code, region) in rows {
            geography.insert((level.to_string(), code), region);
        }
    }
    Ok((cubes, geography))
}

/// Whether the recipients' plans publish both départements and zones
/// d'emploi, so that secrecy needs their crossing
/// ([`crate::stage::Stage::aggregate_crossing`]).
///
/// # Errors
/// `Config` when a recipient's plan cannot be read.
pub(crate) fn crosses_zonings(recipients: &[Recipient]) -> Result<bool> {
    let mut plans = Vec::new();
    for r in recipients {
        plans.extend(plan_of(r)?);
    }
    Ok(secrecy::system::crosses_zonings(
        plans.iter().flat_map(|p| &p.tables),
    ))
}

/// The ministry and the committee receive cleared aggregates (default threshold 11).
fn aggregate_threshold(r: &Recipient) -> Option<u32> {
    match r.classe {
        RecipientClass::Ministere | RecipientClass::Comite => Some(r.seuil_secret.unwrap_or(11)),
        _ => None,
    }
}

/// The default protection level: no suppressed count can be recomputed to a
/// single whole value.
pub(crate) const DEFAULT_PROTECTION: u32 = 1;

/// The lowest threshold a recipients file may set: below it, primary
/// suppression would hide almost nothing (SPEC §5 default 11).
pub(crate) const MIN_THRESHOLD: u32 = 5;

/// The publication plan of a recipient of aggregates: its own file, or
/// the one shipped for its class.
pub(crate) fn plan_of(r: &Recipient) -> Result<Option<Plan>> {
    if aggregate_threshold(r).is_none() {
        return Ok(None);
    }
    match &r.plan {
        Some(path) => Plan::load(path).map(Some),
        None => Ok(Plan::shipped(r.classe)),
    }
}

/// The internal record of a recipient's secrecy (never delivered):
/// `OUT/secret/audit-<nom>.parquet`, one row per suppressed count with its
/// true value, flag, reason and the interval the recipient can compute;
/// `OUT/secret/secret-<nom>.json`, the shares of suppressed counts per
/// table and what the audit did.
fn write_audit(out: &Path, name: &str, protection: &secrecy::Protection) -> Result<()> {
    let dir = out.join("secret");
    crate::output::create_private_dir(&dir)?;
    let mut w = ParquetFile::create(
        &dir.join(format!("audit-{name}.parquet")),
        protection.audit.schema(),
    )?;
    w.write(&protection.audit)?;
    w.close()?;
    let json = serde_json::to_string_pretty(&protection.summary)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let path = dir.join(format!("secret-{name}.json"));
    std::fs::write(&path, json).map_err(Error::io(&path))
}

/// Checks every recipient's key before anything is written.
pub(crate) fn load_keys(
    recipients: &[Recipient],
    policy: &Policy,
) -> Result<Vec<Option<SecretKey>>> {
    let keys: Vec<Option<SecretKey>> = recipients
        .iter()
        .map(|r| {
            let needs_key = policy
                .columns
                .iter()
                .any(|c| c.treatment(r.classe) == Treatment::Pseudonymiser);
            match (&r.cle, needs_key) {
                (Some(path), true) => SecretKey::from_file(path).map(Some),
                (None, true) => Err(Error::Policy(format!(
                    "recipient `{}` receives pseudonyms and needs a key: add `cle = \"...\"` (create one with `ouistat keygen`)",
                    r.nom
                ))),
                (_, false) => Ok(None),
            }
        })
        .collect::<Result<_>>()?;
    // Issue 26: one key, one recipient, or its pseudonyms link two deliveries.
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for (r, key) in recipients.iter().zip(&keys) {
        if let Some(k) = key {
            if let Some(other) = seen.insert(k.fingerprint(), &r.nom) {
                return Err(Error::Policy(format!(
                    "recipients `{other}` and `{}` use the same key (fingerprint {}): each recipient \
                     needs its own, or their pseudonyms could be joined (create one with `ouistat keygen`)",
                    r.nom,
                    k.fingerprint()
                )));
            }
        }
    }
    Ok(keys)
}

/// The previous key of each recipient whose key was rotated
/// (`ouistat keygen --rotation`), for the table from old to new pseudonyms.
///
/// # Errors
/// As [`SecretKey::from_file`].
pub(crate) fn load_previous_keys(recipients: &[Recipient]) -> Result<Vec<Option<SecretKey>>> {
    recipients
        .iter()
        .map(|r| match &r.cle {
            Some(path) if crate::pseudonymise::previous_key_path(path).exists() => {
                SecretKey::from_file(&crate::pseudonymise::previous_key_path(path)).map(Some)
            }
            _ => Ok(None),
        })
        .collect()
}

/// Writes one recipient's delivery under `OUT/livraisons/<nom>/`; returns its
/// manifest and, for cleared aggregates, the seconds disclosure control took.
pub(crate) fn deliver(
    ctx: &Context<'_>,
    r: &Recipient,
    key: Option<&SecretKey>,
    previous: Option<&SecretKey>,
) -> Result<(Manifest, Option<Secrecy>)> {
    let root = ctx.out.join("livraisons");
    let tmp_dir = root.join(format!(".tmp-{}", r.nom));
    if tmp_dir.exists() {
        std::fs::remove_dir_all(&tmp_dir).map_err(Error::io(&tmp_dir))?;
    }
    std::fs::create_dir_all(&tmp_dir).map_err(Error::io(&tmp_dir))?;
    let written = write_delivery(ctx, r, (key, previous), &tmp_dir);
    if written.is_err() {
        // A delivery that fails midway leaves no microdata behind.
        let _ = std::fs::remove_dir_all(&tmp_dir);
    }
    written
}

/// A publication plan's version and SHA-256, as the manifest records them.
type PlanId = (String, String);

/// The cleared tables of a recipient of aggregates, with their audit and
/// their entry in the release register; returns the time secrecy took and
/// the plan's version and SHA-256 (`None` for a recipient of microdata).
fn write_aggregates(
    ctx: &Context<'_>,
    r: &Recipient,
    tmp_dir: &Path,
    dictionary: &mut DictionaryWriter<'_>,
    files: &mut Vec<ManifestFile>,
) -> Result<(Option<Secrecy>, Option<PlanId>)> {
    let (Some(threshold), Some(plan)) = (aggregate_threshold(r), plan_of(r)?) else {
        return Ok((None, None));
    };
    let started = std::time::Instant::now();
    let protection = Rc::clone(&ctx.protections()?[&r.nom]);
    let dir = tmp_dir.join("agregats");
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    for (table, cleared) in plan.tables.iter().zip(&protection.tables) {
        let name = format!("agregats/{}.parquet", cleared.name());
        let path = tmp_dir.join(&name);
        let batch = cleared.batch();
        let mut writer = ParquetFile::create(&path, batch.schema())?;
        writer.write(batch)?;
        writer.close()?;
        dictionary.aggregate(table, batch.num_rows(), threshold);
        files.push(ManifestFile {
            nom: name,
            sha256: crate::digest::sha256_file(&path)?,
            lignes: Some(batch.num_rows() as u64),
            schema: Some(schema_of(&batch.schema())),
        });
    }
    write_audit(ctx.out, &r.nom, &protection)?;
    ctx.register.borrow_mut().record(
        &register_recipient(r, &plan),
        &ctx.cutoff.format("%Y-%m-%d").to_string(),
        &ctx.perimeter()?,
        &protection.released,
    )?;
    let secrecy = Secrecy {
        secondes: started.elapsed().as_secs_f64(),
        summary: protection.summary.clone(),
    };
    Ok((
        Some(secrecy),
        Some((plan.version.clone(), plan.sha256.clone())),
    ))
}

/// Swaps a complete delivery into place under `root/<name>`: the previous
/// delivery survives until the new one is complete.
fn swap_into_place(tmp_dir: &Path, root: &Path, name: &str) -> Result<()> {
    let final_dir = root.join(name);
    let old_dir = root.join(format!(".old-{name}"));
    if old_dir.exists() {
        std::fs::remove_dir_all(&old_dir).map_err(Error::io(&old_dir))?;
    }
    if final_dir.exists() {
        std::fs::rename(&final_dir, &old_dir).map_err(Error::io(&final_dir))?;
    }
    std::fs::rename(tmp_dir, &final_dir).map_err(Error::io(tmp_dir))?;
    if old_dir.exists() {
        std::fs::remove_dir_all(&old_dir).map_err(Error::io(&old_dir))?;
    }
    Ok(())
}

/// The columns `r`'s class receives of `extract`, with their treatment.
fn granted(policy: &Policy, r: &Recipient, extract: Extract) -> Vec<(&'static str, Treatment)> {
    let table = extract.name();
    extract
        .columns()
        .iter()
        .map(|c| (c.name, policy.treatment(table, c.name, r.classe)))
        .filter(|(_, t)| *t != Treatment::Supprimer)
        .collect()
}

/// The query of a table of `r`'s delivery: the delivered columns, then the
/// person of each row for the register (issue 26) and, with `keys`, the
/// keys that give a row its person (issue 25), all dropped before writing.
fn read_sql(policy: &Policy, r: &Recipient, extract: Extract, keys: bool) -> String {
    let mut select: Vec<String> = granted(policy, r, extract)
        .iter()
        .map(|(c, _)| format!("t.\"{c}\""))
        .collect();
    if let Some(p) = person_of(extract) {
        select.push(format!("{p} as {PERSON_COLUMN}"));
    }
    if let Some(t) = crate::kanon::Table::from_name(extract.name()).filter(|_| keys) {
        for (column, hidden) in crate::kanon::read::key_columns(t) {
            select.push(format!("t.\"{column}\" as {hidden}"));
        }
    }
    crate::queries::render(
        &format!("livraison_{}", extract.name()),
        &[("colonnes", &select.join(", "))],
    )
}

/// The microdata of a delivery with quasi-identifiers, read once and
/// measured (issue 25).
struct Microdata {
    /// The generalisation and suppression chosen (`None`: the class
    /// declares no quasi-identifier).
    anon: Option<crate::kanon::Outcome>,
    /// The tables with quasi-identifiers, as read, by name.
    held: BTreeMap<&'static str, crate::kanon::read::Spilled>,
    /// Their private spill folder, removed when dropped: keep it while
    /// `held` is read back.
    spill: Option<crate::kanon::read::Spill>,
    /// Seconds measuring and anonymising.
    secs: f64,
}

/// Reads the tables of `r`'s delivery that carry quasi-identifiers once,
/// measures them while they are spilled to a private folder (at 2 M
/// persons the batches were 1.9 GB in memory), and chooses the
/// generalisation and suppression a required k-anonymity takes.
///
/// # Errors
/// `Policy`, naming the recipient, when k cannot be reached within the
/// share of suppression allowed; what reading and spilling raise.
fn read_microdata(ctx: &Context<'_>, r: &Recipient) -> Result<Microdata> {
    let db = ctx.stage.db();
    let mut md = Microdata {
        anon: None,
        held: BTreeMap::new(),
        spill: None,
        secs: 0.0,
    };
    let Some((qis, requirement)) = microdata_requirement(ctx, r)? else {
        return Ok(md);
    };
    let measuring = std::time::Instant::now();
    let zones = if qis
        .iter()
        .any(|q| q.ladder.contains(&crate::kanon::Step::ZoneEmploi))
    {
        crate::kanon::read::zones(db)?
    } else {
        crate::kanon::Reference::default()
    };
    let folder = md.spill.insert(crate::kanon::read::Spill::new(db)?);
    md.secs += measuring.elapsed().as_secs_f64();
    let mut collector = crate::kanon::read::Collector::new(qis, zones);
    for extract in Extract::ALL {
        let Some(t) = crate::kanon::Table::from_name(extract.name()) else {
            continue;
        };
        let mut secs = 0.0;
        let spilled = db.stream_arrow(
            &format!("delivery of {}", extract.name()),
            &read_sql(ctx.policy, r, extract, true),
            |schema| folder.create(t, schema),
            |w, batch| {
                let measuring = std::time::Instant::now();
                collector.push(t, &batch)?;
                w.write(&batch)?;
                secs += measuring.elapsed().as_secs_f64();
                Ok(())
            },
        )?;
        let measuring = std::time::Instant::now();
        md.held.insert(extract.name(), spilled.finish()?);
        md.secs += secs + measuring.elapsed().as_secs_f64();
    }
    let measuring = std::time::Instant::now();
    let outcome =
        crate::kanon::anonymise(collector.finish(), requirement).map_err(|e| match e {
            Error::Policy(m) => Error::Policy(format!("recipient `{}`: {m}", r.nom)),
            other => other,
        })?;
    md.secs += measuring.elapsed().as_secs_f64();
    md.anon = Some(outcome);
    Ok(md)
}

/// Writes a delivery into `tmp_dir`, then swaps it into place.
fn write_delivery(
    ctx: &Context<'_>,
    r: &Recipient,
    (key, previous): (Option<&SecretKey>, Option<&SecretKey>),
    tmp_dir: &Path,
) -> Result<(Manifest, Option<Secrecy>)> {
    let pseudonymisers = (
        key.map(Pseudonymiser::new),
        previous.map(Pseudonymiser::new),
    );
    let db = ctx.stage.db();
    let everyone = matches!(
        r.classe,
        RecipientClass::PoleEmploi | RecipientClass::Ministere
    );
    build_perimeter(db, r, everyone)?;
    let mut files = Vec::new();
    let mut dictionary = DictionaryWriter::new(r, ctx.policy, ctx.cutoff);
    // Issue 25: the re-identification risk of the microdata, and the
    // generalisation and suppression a required k-anonymity takes.
    let started = std::time::Instant::now();
    // The spill folder lives until the held tables are written.
    let Microdata {
        anon,
        held,
        spill: _spill,
        secs,
    } = read_microdata(ctx, r)?;
    let mut gathered = write_tables(
        ctx,
        r,
        tmp_dir,
        &pseudonymisers,
        (anon.as_ref(), held),
        &mut dictionary,
        &mut files,
    )?;
    gathered.anon_secs += secs;
    if previous.is_some() {
        files.push(write_bridge(tmp_dir, &gathered.bridge, &mut dictionary)?);
    }
    let (secrecy, plan_id) = write_aggregates(ctx, r, tmp_dir, &mut dictionary, &mut files)?;
    if let Some(a) = &anon {
        dictionary.text.push_str(&a.dictionary());
        ctx.anonymisation_secondes.borrow_mut().insert(
            r.nom.clone(),
            (gathered.anon_secs, started.elapsed().as_secs_f64()),
        );
    }
    let withheld = withheld(db)?;
    files.push(write_dictionary(tmp_dir, dictionary)?);
    let manifest = Manifest {
        logiciel: "ouistat".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        destinataire: r.nom.clone(),
        classe: r.classe,
        politique_version: ctx.policy.version.clone(),
        politique_sha256: ctx.policy.sha256.clone(),
        date_arrete: ctx.cutoff.format("%Y-%m-%d").to_string(),
        empreinte_cle: key.map(SecretKey::fingerprint),
        empreinte_cle_precedente: previous.map(SecretKey::fingerprint),
        entrees: ctx.inputs.clone(),
        plan_version: plan_id.as_ref().map(|p| p.0.clone()),
        plan_sha256: plan_id.map(|p| p.1),
        seuil_secret: secrecy.as_ref().and(aggregate_threshold(r)),
        risque_reidentification: anon.map(|a| a.report),
        personnes_opposition: (gathered.holds_persons && ctx.rights.oppositions.is_some())
            .then_some(withheld.len() as u64),
        fichiers: files,
    };
    let persons = match gathered.holds_persons {
        false => None,
        true => Some(persons_of(ctx, gathered.persons, &withheld)?),
    };
    publish(ctx, r, tmp_dir, &manifest, persons)?;
    Ok((manifest, secrecy))
}

/// The persons the delivery being written withholds (`dlv_retenus`), as
/// (raw `identifiant_spe`, date of their request), for the register.
fn withheld(db: &crate::warehouse::Db) -> Result<Vec<(String, String)>> {
    db.query_map(
        "lire_retenus",
        crate::queries::get("lire_retenus"),
        [],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
    )
}

/// Writes the tables of `r`'s delivery into `tmp_dir`, each with its
/// entry in `dictionary` and `files`: those k-anonymity read (`held`, by
/// name) from their spill, the others from the staging.
///
/// # Errors
/// As [`write_table`].
fn write_tables(
    ctx: &Context<'_>,
    r: &Recipient,
    tmp_dir: &Path,
    pseudonymisers: &(Option<Pseudonymiser>, Option<Pseudonymiser>),
    (anon, mut held): (
        Option<&crate::kanon::Outcome>,
        BTreeMap<&'static str, crate::kanon::read::Spilled>,
    ),
    dictionary: &mut DictionaryWriter<'_>,
    files: &mut Vec<ManifestFile>,
) -> Result<Gathered> {
    let mut gathered = Gathered::default();
    for (position, extract) in Extract::ALL.into_iter().enumerate() {
        let Some(t) = TableTreatment::new(ctx, r, extract, pseudonymisers, anon) else {
            continue;
        };
        let name = format!("{}.parquet", extract.name());
        let path = tmp_dir.join(&name);
        let spilled = held.remove(extract.name());
        let (schema, rows) = write_table(
            ctx,
            r,
            (extract, 1 << position),
            &t,
            spilled,
            &path,
            &mut gathered,
        )?;
        if let Some((a, kt)) = t.anon {
            dictionary.notes = t
                .granted
                .iter()
                .map(|(c, _)| a.column_note(kt, c).unwrap_or_default())
                .collect();
        }
        dictionary.table(extract.name(), &schema, &t.granted, rows);
        files.push(ManifestFile {
            nom: name,
            sha256: crate::digest::sha256_file(&path)?,
            lignes: Some(rows as u64),
            schema: Some(schema_of(&schema)),
        });
    }
    Ok(gathered)
}

/// Writes `manifest.json`, swaps the delivery into place under
/// `OUT/livraisons/`, and records it in the register of deliveries with
/// its `persons` when it holds some.
fn publish(
    ctx: &Context<'_>,
    r: &Recipient,
    tmp_dir: &Path,
    manifest: &Manifest,
    persons: Option<Vec<register::Person>>,
) -> Result<()> {
    let json =
        serde_json::to_string_pretty(manifest).map_err(|e| Error::Internal(e.to_string()))?;
    let manifest_path = tmp_dir.join("manifest.json");
    std::fs::write(&manifest_path, &json).map_err(Error::io(&manifest_path))?;
    swap_into_place(tmp_dir, &ctx.out.join("livraisons"), &r.nom)?;
    record(ctx, r, manifest, &json, persons)
}

/// Writes `dictionnaire.md` into `tmp_dir`; its entry in the manifest.
fn write_dictionary(tmp_dir: &Path, dictionary: DictionaryWriter<'_>) -> Result<ManifestFile> {
    let dict = dictionary.finish();
    let dict_path = tmp_dir.join("dictionnaire.md");
    std::fs::write(&dict_path, &dict).map_err(Error::io(&dict_path))?;
    Ok(ManifestFile {
        nom: "dictionnaire.md".into(),
        sha256: crate::digest::sha256_hex(dict.as_bytes()),
        lignes: None,
        schema: None,
    })
}

/// How the rows of one table of a delivery are treated on their way to
/// its file: the columns granted and their treatment, the pseudonyms, and
/// the generalisation and suppression k-anonymity chose.
struct TableTreatment<'a> {
    granted: Vec<(&'static str, Treatment)>,
    treatments: Vec<Treatment>,
    /// The positions of the granted columns in a batch as read.
    delivered: Vec<usize>,
    /// The position of the person of each row, read beside the granted
    /// columns for the register and never written.
    person_at: Option<usize>,
    pseudonymiser: Option<&'a Pseudonymiser>,
    /// Issue 26: after a rotation, the previous key's, for the table from
    /// old to new pseudonyms.
    old_pseudonymiser: Option<&'a Pseudonymiser>,
    anon: Option<(&'a crate::kanon::Outcome, crate::kanon::Table)>,
}

/// What the tables of one delivery gather for its manifest and the
/// register of deliveries.
#[derive(Default)]
struct Gathered {
    /// Issue 26: the persons each table holds, as register digests, with
    /// one bit per table (the position of its extract).
    persons: BTreeMap<String, u8>,
    holds_persons: bool,
    /// Issue 26: (column, old pseudonym, new pseudonym) after a rotation.
    bridge: std::collections::BTreeSet<(String, String, String)>,
    /// Seconds measuring and anonymising: reading the spilled tables back
    /// and writing the generalised values count as such.
    anon_secs: f64,
}

impl<'a> TableTreatment<'a> {
    /// `None` when `r`'s class receives no column of `extract`.
    fn new(
        ctx: &Context<'_>,
        r: &Recipient,
        extract: Extract,
        (pseudonymiser, old): &'a (Option<Pseudonymiser>, Option<Pseudonymiser>),
        anon: Option<&'a crate::kanon::Outcome>,
    ) -> Option<Self> {
        let granted = granted(ctx.policy, r, extract);
        if granted.is_empty() {
            return None;
        }
        Some(TableTreatment {
            treatments: granted.iter().map(|(_, t)| *t).collect(),
            delivered: (0..granted.len()).collect(),
            person_at: person_of(extract).map(|_| granted.len()),
            granted,
            pseudonymiser: pseudonymiser.as_ref(),
            old_pseudonymiser: old.as_ref(),
            anon: anon.and_then(|a| Some((a, crate::kanon::Table::from_name(extract.name())?))),
        })
    }

    /// The schema of the file: the granted columns of `read`, treated and
    /// generalised.
    fn schema(&self, read: &arrow::datatypes::SchemaRef) -> Result<arrow::datatypes::SchemaRef> {
        let empty = RecordBatch::new_empty(Arc::new(read.project(&self.delivered)?));
        let treated = treat(&empty, &self.treatments, self.pseudonymiser)?;
        Ok(match self.anon {
            Some((a, t)) => a.generalise(t, 0, &treated)?.schema(),
            None => treated.schema(),
        })
    }

    /// One batch as read, as written: treated, generalised, its suppressed
    /// rows dropped; its persons and pseudonyms gathered. `read` counts the
    /// rows read before suppression (the outcome's row offset).
    fn batch(
        &self,
        ctx: &Context<'_>,
        (batch, bit): (RecordBatch, u8),
        read: &mut usize,
        gathered: &mut Gathered,
    ) -> Result<RecordBatch> {
        let mut raw = batch.project(&self.delivered)?;
        let mut person = self.person_at.map(|p| Arc::clone(batch.column(p)));
        let mut treated = treat(&raw, &self.treatments, self.pseudonymiser)?;
        if let Some((a, t)) = self.anon {
            let n = treated.num_rows();
            let generalising = std::time::Instant::now();
            treated = a.generalise(t, *read, &treated)?;
            if let Some(keep) = a.keep(t, *read, n)? {
                treated = arrow::compute::filter_record_batch(&treated, &keep)?;
                raw = arrow::compute::filter_record_batch(&raw, &keep)?;
                person = person
                    .map(|p| arrow::compute::filter(&p, &keep))
                    .transpose()?;
            }
            gathered.anon_secs += generalising.elapsed().as_secs_f64();
            *read += n;
        }
        if let Some(person) = &person {
            let digests = ctx.rights.digests.digests("identifiant_spe", person)?;
            for d in digests.into_iter().flatten() {
                *gathered.persons.entry(d).or_default() |= bit;
            }
        }
        if let Some(old) = self.old_pseudonymiser {
            bridge_pseudonyms(old, &self.granted, &raw, &treated, &mut gathered.bridge)?;
        }
        Ok(treated)
    }
}

/// Writes one table of `r`'s delivery to `path`: from its spill when
/// k-anonymity read it already, streamed from the staging otherwise.
/// `bit` marks the table in the register's persons. Returns the schema
/// written and the rows.
///
/// # Errors
/// What reading, treating and writing raise; `Internal` when the rows
/// read differ from those k-anonymity measured.
fn write_table(
    ctx: &Context<'_>,
    r: &Recipient,
    (extract, bit): (Extract, u8),
    t: &TableTreatment<'_>,
    spilled: Option<crate::kanon::read::Spilled>,
    path: &Path,
    gathered: &mut Gathered,
) -> Result<(arrow::datatypes::SchemaRef, usize)> {
    gathered.holds_persons |= t.person_at.is_some();
    let start = |read: arrow::datatypes::SchemaRef| {
        let schema = t.schema(&read)?;
        let writer = ParquetFile::create(path, schema.clone())?;
        Ok((schema, writer, 0usize, 0usize))
    };
    let each = |(_, writer, rows, read): &mut (_, ParquetFile, usize, usize),
                batch: RecordBatch,
                gathered: &mut Gathered|
     -> Result<()> {
        let treated = t.batch(ctx, (batch, bit), read, gathered)?;
        *rows += treated.num_rows();
        writer.write(&treated)
    };
    let (schema, writer, rows, read) = match spilled {
        Some(spilled) => {
            // Reading the spill back counts as measuring (without
            // k-anonymity the rows stream from DuckDB to the file).
            let reading = std::time::Instant::now();
            let mut batches = spilled.read()?;
            gathered.anon_secs += reading.elapsed().as_secs_f64();
            let mut state = start(batches.schema())?;
            loop {
                let reading = std::time::Instant::now();
                let batch = batches.next().transpose()?;
                gathered.anon_secs += reading.elapsed().as_secs_f64();
                let Some(batch) = batch else { break };
                each(&mut state, batch, gathered)?;
            }
            state
        }
        None => ctx.stage.db().stream_arrow(
            &format!("delivery of {}", extract.name()),
            &read_sql(ctx.policy, r, extract, false),
            start,
            |state, batch| each(state, batch, gathered),
        )?,
    };
    writer.close()?;
    if let Some((a, kt)) = t.anon {
        a.check_rows(kt, read)?;
    }
    Ok((schema, rows))
}

/// Appends a delivery to the register of deliveries (issue 26): its
/// manifest, files and, for microdata, its persons as register digests.
///
/// # Errors
/// What appending to the register raises.
fn record(
    ctx: &Context<'_>,
    r: &Recipient,
    manifest: &Manifest,
    json: &str,
    persons: Option<Vec<register::Person>>,
) -> Result<()> {
    ctx.register.borrow_mut().append(register::NewDelivery {
        date_arrete: &manifest.date_arrete,
        destinataire: &r.nom,
        classe: r.classe.name(),
        politique_version: &manifest.politique_version,
        politique_sha256: &manifest.politique_sha256,
        plan_sha256: manifest.plan_sha256.as_deref(),
        empreinte_cle: manifest.empreinte_cle.as_deref(),
        empreinte_cle_precedente: manifest.empreinte_cle_precedente.as_deref(),
        manifest_json: json,
        fichiers: manifest
            .fichiers
            .iter()
            .map(|f| register::DeliveredFile {
                nom: f.nom.clone(),
                sha256: f.sha256.clone(),
                lignes: f.lignes,
                colonnes: f.schema.iter().flatten().map(|c| c.0.clone()).collect(),
            })
            .collect(),
        personnes: persons.map(|p| (p, ctx.rights.fingerprint.as_str())),
    })?;
    Ok(())
}

/// Adds to `bridge` each pseudonymised value of `batch` as (column, old
/// pseudonym, new pseudonym): `treated` holds the new ones, column for
/// column.
fn bridge_pseudonyms(
    old: &Pseudonymiser,
    granted: &[(&str, Treatment)],
    batch: &RecordBatch,
    treated: &RecordBatch,
    bridge: &mut std::collections::BTreeSet<(String, String, String)>,
) -> Result<()> {
    for (i, (column, t)) in granted.iter().enumerate() {
        if *t != Treatment::Pseudonymiser {
            continue;
        }
        let ids = to_utf8(batch.column(i))?;
        let ids: Vec<Option<&str>> = ids.as_string::<i32>().iter().collect();
        let before = old.pseudonyms(&ids);
        let after = to_utf8(treated.column(i))?;
        for (b, a) in before.iter().zip(after.as_string::<i32>().iter()) {
            if let (Some(b), Some(a)) = (b, a) {
                bridge.insert((column.to_string(), b.to_string(), a.to_string()));
            }
        }
    }
    Ok(())
}

/// Writes `table_de_passage.parquet`, from old to new pseudonyms for every
/// pseudonymised column, and describes it in the dictionary.
fn write_bridge(
    tmp_dir: &Path,
    bridge: &std::collections::BTreeSet<(String, String, String)>,
    dictionary: &mut DictionaryWriter<'_>,
) -> Result<ManifestFile> {
    let column = |f: fn(&(String, String, String)) -> &str| -> ArrayRef {
        Arc::new(bridge.iter().map(|r| Some(f(r))).collect::<StringArray>())
    };
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("colonne", DataType::Utf8, false),
            Field::new("pseudonyme_ancien", DataType::Utf8, false),
            Field::new("pseudonyme_nouveau", DataType::Utf8, false),
        ])),
        vec![column(|r| &r.0), column(|r| &r.1), column(|r| &r.2)],
    )?;
    let name = "table_de_passage.parquet";
    let path = tmp_dir.join(name);
    crate::output::write_parquet(&path, &batch)?;
    dictionary.text.push_str(&format!(
        "\n## {name} ({} lignes)\n\nLa clé de pseudonymisation de ce destinataire a changé : \
         pour chaque colonne pseudonymisée (`colonne`, nom d'origine), le pseudonyme sous l'ancienne \
         clé et celui sous la nouvelle, pour relier cette livraison aux précédentes. Les fichiers de \
         cette livraison ne portent que les nouveaux pseudonymes.\n",
        batch.num_rows()
    ));
    Ok(ManifestFile {
        nom: name.into(),
        sha256: crate::digest::sha256_file(&path)?,
        lignes: Some(batch.num_rows() as u64),
        schema: Some(schema_of(&batch.schema())),
    })
}

/// The persons of a delivery for the register: the digest of each one's
/// `identifiant_spe`, of their other identifiers, and the tables that held
/// them (bits in the order of [`Extract::ALL`]); then the persons
/// `withheld` (raw `identifiant_spe`, date of the request).
fn persons_of(
    ctx: &Context<'_>,
    persons: BTreeMap<String, u8>,
    withheld: &[(String, String)],
) -> Result<Vec<register::Person>> {
    let others = ctx.identifiers()?;
    let person = |spe: String, tables: String, opposition: Option<String>| register::Person {
        autres: others.get(&spe).cloned().unwrap_or_default(),
        identifiant_spe: spe,
        tables,
        opposition,
    };
    let mut out: Vec<register::Person> = persons
        .into_iter()
        .map(|(spe, bits)| {
            let tables = Extract::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, e)| e.name())
                .collect::<Vec<_>>()
                .join(",");
            person(spe, tables, None)
        })
        .collect();
    // The persons withheld, in the order of their digests: the staging
    // returns them in no fixed order, and the register's bytes must not
    // depend on it.
    let mut opposed: Vec<(String, String)> = withheld
        .iter()
        .filter_map(|(spe, request)| {
            let digest = ctx.rights.digests.digest("identifiant_spe", Some(spe))?;
            Some((digest, request.clone()))
        })
        .collect();
    opposed.sort();
    for (digest, request) in opposed {
        out.push(person(digest, String::new(), Some(request)));
    }
    Ok(out)
}

/// The person of a row of `extract`, a column of `livraison_<extract>`
/// (its staged table `t`, or for an event its positioning `d`): read beside
/// the delivered columns for the register (issue 26), never written.
/// `None` for sessions.
fn person_of(extract: Extract) -> Option<&'static str> {
    match extract {
        Extract::Sessions => None,
        Extract::Individus | Extract::Positionnements => Some("t.identifiant_spe"),
        Extract::Evenements => Some("d.identifiant_spe"),
    }
}

/// The name under which [`person_of`] is read.
const PERSON_COLUMN: &str = "ouistat_personne";

/// Issue 25: the quasi-identifiers a recipient receives as they are
/// and the k its class (or itself) requires, measured (`kanon`) on every
/// microdata delivery. `None` for a recipient without microdata
/// quasi-identifiers.
///
/// # Errors
/// `Policy` (exit 4) when the recipient asks for less than its class.
fn microdata_requirement(
    ctx: &Context<'_>,
    r: &Recipient,
) -> Result<Option<(Vec<crate::kanon::Qi>, Option<crate::kanon::Requirement>)>> {
    let qis = crate::policy::quasi::qis_for(
        &ctx.policy.quasi_identifiants,
        &ctx.policy.columns,
        r.classe,
    );
    if qis.is_empty() || r.classe == RecipientClass::Comite {
        return Ok(None);
    }
    let requirement = crate::policy::quasi::requirement(
        &ctx.policy.k_anonymat,
        r.classe,
        r.k_anonymat,
        r.suppression_max,
    )
    .map_err(|e| Error::Policy(format!("recipient `{}`: {e}", r.nom)))?;
    Ok(Some((qis, requirement)))
}

/// A column type as the data dictionary names it.
fn type_label(t: &DataType) -> String {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "texte".into(),
        DataType::Int32 | DataType::Int64 => "entier".into(),
        DataType::Float64 => "nombre décimal".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(..) => "date et heure".into(),
        DataType::Boolean => "booléen (vrai/faux)".into(),
        other => other.to_string(),
    }
}

struct DictionaryWriter<'a> {
    policy: &'a Policy,
    class: RecipientClass,
    text: String,
    /// Per granted column of the next table: its generalisation (issue 25).
    notes: Vec<String>,
}

fn class_label(c: RecipientClass) -> &'static str {
    match c {
        RecipientClass::PoleEmploi => "Pôle emploi (France Travail) — nominatif",
        RecipientClass::Financeur => {
            "financeur — nominatif, positionnements sur les sessions qu'il finance"
        }
        RecipientClass::Partenaire => "partenaire — son public et son territoire",
        RecipientClass::Ministere => {
            "ministère du travail — données pseudonymisées et généralisées"
        }
        RecipientClass::Comite => {
            "comité régional de suivi (DREETS) — agrégats seulement, secret statistique appliqué"
        }
    }
}

impl<'a> DictionaryWriter<'a> {
    fn new(r: &Recipient, policy: &'a Policy, cutoff: chrono::NaiveDate) -> Self {
        let mut text = format!(
            "# Dictionnaire des données — livraison « {} »\n\n\
             Destinataire : {}.\n\n\
             Date d'arrêté : {}. Politique appliquée : version {} (SHA-256 `{}`), transcrite de : {}.\n\n\
             Toute colonne que la politique n'accorde pas à ce destinataire est absente (règle « fail-closed »).\n",
            r.nom,
            class_label(r.classe),
            cutoff.format("%d/%m/%Y"),
            policy.version,
            policy.sha256,
            policy.source
        );
        if let Some(c) = r.financeur_code {
            text.push_str(&format!(
                "\nPérimètre : positionnements sur les sessions du financeur {c}.\n"
            ));
        }
        if let (Some(d), Some(p)) = (&r.departement, &r.public) {
            text.push_str(&format!(
                "\nPérimètre : personnes `{p}` positionnées sur des sessions du département {d}.\n"
            ));
        }
        DictionaryWriter {
            policy,
            class: r.classe,
            text,
            notes: Vec::new(),
        }
    }

    fn table(&mut self, table: &str, schema: &Schema, granted: &[(&str, Treatment)], rows: usize) {
        self.text.push_str(&format!(
            "\n## {table}.parquet ({rows} lignes)\n\n| colonne | signification | type | traitement | rubrique de l'annexe 1 | motif |\n|---|---|---|---|---|---|\n"
        ));
        let notes = std::mem::take(&mut self.notes);
        for (i, (field, (source, t))) in schema.fields().iter().zip(granted).enumerate() {
            let entry = self.policy.entry(table, source);
            let treatment = match notes.get(i).filter(|n| !n.is_empty()) {
                Some(note) if *t == Treatment::Garder => note.clone(),
                Some(note) => format!("{} ; {note}", t.label()),
                None => t.label().to_string(),
            };
            self.text.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                field.name(),
                entry.map_or("", |e| e.description.as_str()),
                type_label(field.data_type()),
                treatment,
                entry.map_or("", |e| e.rubrique.as_str()),
                entry.map_or("", |e| e.motif.as_str())
            ));
        }
        let withheld: Vec<String> = self
            .policy
            .columns
            .iter()
            .filter(|c| c.table == table && c.treatment(self.class) == Treatment::Supprimer)
            .map(|c| {
                if c.motif.is_empty() {
                    format!("`{}`", c.colonne)
                } else {
                    format!("`{}` ({})", c.colonne, c.motif)
                }
            })
            .collect();
        if !withheld.is_empty() {
            self.text
                .push_str(&format!("\nNon transmis : {}.\n", withheld.join(" ; ")));
        }
    }

    fn aggregate(&mut self, table: &secrecy::plan::Table, rows: usize, threshold: u32) {
        let nom = &table.nom;
        let cube = secrecy::cubes::def(table.cube).name;
        let dimension = table.dimension.as_deref().unwrap_or("ensemble seulement");
        self.text.push_str(&format!(
            "\n## agregats/{nom}.parquet ({rows} lignes)\n\n\
             Tableau du plan de diffusion : cube `{cube}`, niveaux {}, période `{}`, dimension {dimension}{}. \
             Secret statistique appliqué à chaque effectif : un effectif strictement positif inférieur à \
             {threshold} est masqué (secret primaire, `secret_<mesure>` = `A`), de même qu'une partie dont le \
             complément dans son tout (par exemple positionnements moins entrées) est inférieur au seuil \
             et un effectif dont l'évolution depuis une diffusion précédente est inférieure au seuil ; \
             d'autres effectifs sont masqués pour qu'aucun effectif masqué ne puisse être recalculé à partir \
             de l'ensemble des tableaux reçus (secret secondaire, `D`). Un taux ou une statistique est masqué \
             avec tout effectif dont il est calculé. La colonne `secret` résume la ligne.\n",
            table.niveaux.join(", "),
            table.type_periode,
            if table.motifs { ", répartition par motif d'abandon" } else { "" },
        ));
    }

    fn finish(self) -> String {
        self.text
    }
}
