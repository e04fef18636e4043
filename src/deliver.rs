//! Recipient deliveries under the Annex 1 policy (SPEC §4).
//!
//! `deliver` writes nothing the policy does not grant: the SQL that reads the
//! staged extracts selects only the columns the policy grants the
//! recipient's class, so other columns never leave DuckDB. Identifiers to be
//! pseudonymised go straight to `pseudonymise`. A delivery is written to a
//! temporary folder and renamed into place, so a failed run leaves the
//! previous delivery intact.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int32Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::disclosure;
use crate::error::{Error, Result};
use crate::policy::{Policy, RecipientClass, Treatment};
use crate::pseudonymise::{Pseudonymiser, SecretKey};
use crate::schema::Extract;
use crate::stage::Stage;

/// One recipient, as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// Folder name under `livraisons/`.
    pub nom: String,
    pub classe: RecipientClass,
    /// For a funder: its LHEO code-financeur.
    pub financeur_code: Option<i32>,
    /// For a partner: the département of the sessions.
    pub departement: Option<String>,
    /// For a partner: its public (`beneficiaire_rsa`, `travailleur_handicape`, `beneficiaire_aah`).
    pub public: Option<String>,
    /// Key file (hex), relative to the recipients file.
    pub cle: Option<PathBuf>,
    /// Statistical-secrecy threshold for its aggregates.
    pub seuil_secret: Option<u32>,
    /// Protection level: the narrowest interval, in whole units, to which an
    /// attacker may recompute a suppressed count of its aggregates.
    pub niveau_protection: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipientsFile {
    destinataires: Vec<Recipient>,
}

/// Loads the recipients file; key paths are resolved against its folder.
pub fn load_recipients(path: &Path) -> Result<Vec<Recipient>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let file: RecipientsFile =
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut names = std::collections::HashSet::new();
    let mut out = Vec::new();
    for mut r in file.destinataires {
        if r.nom.is_empty()
            || !r
                .nom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(Error::Config(format!(
                "{}: recipient name `{}` must be letters, digits, - or _",
                path.display(),
                r.nom
            )));
        }
        if !names.insert(r.nom.clone()) {
            return Err(Error::Config(format!(
                "{}: recipient `{}` appears twice",
                path.display(),
                r.nom
            )));
        }
        match r.classe {
            RecipientClass::Financeur if r.financeur_code.is_none() => {
                return Err(Error::Config(format!(
                    "{}: funder `{}` needs financeur_code",
                    path.display(),
                    r.nom
                )))
            }
            RecipientClass::Partenaire if r.departement.is_none() || r.public.is_none() => {
                return Err(Error::Config(format!(
                    "{}: partner `{}` needs departement and public",
                    path.display(),
                    r.nom
                )))
            }
            _ => {}
        }
        if let Some(p) = &r.public {
            if !matches!(
                p.as_str(),
                "beneficiaire_rsa" | "travailleur_handicape" | "beneficiaire_aah"
            ) {
                return Err(Error::Config(format!(
                    "{}: unknown public `{p}`",
                    path.display()
                )));
            }
        }
        if let Some(d) = &r.departement {
            if !crate::rules::is_departement(d) {
                return Err(Error::Config(format!(
                    "{}: `{d}` is not a département code",
                    path.display()
                )));
            }
        }
        r.cle = r
            .cle
            .map(|k| if k.is_absolute() { k } else { base.join(k) });
        out.push(r);
    }
    Ok(out)
}

/// One delivered file, as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    pub nom: String,
    pub sha256: String,
    /// Rows for Parquet files; absent for the dictionary.
    pub lignes: Option<u64>,
    /// Column name → Arrow type, for Parquet files.
    pub schema: Option<Vec<(String, String)>>,
}

/// `manifest.json` of a delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub logiciel: String,
    pub version: String,
    pub destinataire: String,
    pub classe: RecipientClass,
    pub politique_version: String,
    pub politique_sha256: String,
    pub date_arrete: String,
    pub empreinte_cle: Option<String>,
    pub entrees: BTreeMap<String, String>,
    pub fichiers: Vec<ManifestFile>,
}

/// What a run passes to the deliveries.
pub struct Context<'a> {
    pub stage: &'a Stage,
    pub policy: &'a Policy,
    pub cutoff: chrono::NaiveDate,
    /// Input file name → SHA-256.
    pub inputs: BTreeMap<String, String>,
    pub out: &'a Path,
    /// Attack the cleared cubes and reinforce until every suppressed count is proven protected.
    pub attack: bool,
    /// Patterns already found, by (threshold, protection level): the cubes
    /// are the same for every recipient, so recipients that share both
    /// share the pattern (and the attack).
    pub patterns: RefCell<HashMap<(u32, u32), Rc<Secrecy>>>,
}

/// The cleared families for one threshold and protection level.
pub struct Secrecy {
    families: Vec<(disclosure::CubeCells, disclosure::Pattern)>,
    /// The attacker's last report on each family, and its seconds.
    reports: Vec<(crate::attack::Report, f64)>,
}

impl Secrecy {
    fn find(ctx: &Context, threshold: u32, protection: u32) -> Result<Self> {
        let mut reports = Vec::new();
        let families = disclosure::FAMILIES
            .iter()
            .map(|(_, query)| {
                let cells = disclosure::cube_cells(ctx.stage, query)?;
                let pattern = if ctx.attack {
                    let attacked = std::time::Instant::now();
                    let (pattern, report) = cells.protect_against_attack(
                        i64::from(threshold),
                        f64::from(protection),
                        ATTACK_ROUNDS,
                    );
                    reports.push((report, attacked.elapsed().as_secs_f64()));
                    pattern
                } else {
                    cells.protect(i64::from(threshold))
                };
                Ok((cells, pattern))
            })
            .collect::<Result<_>>()?;
        Ok(Secrecy { families, reports })
    }
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The rows a recipient may receive: positionings (existing at the
/// cut-off) in its perimeter, and the sessions it sees.
fn perimeter_sql(r: &Recipient) -> (String, String) {
    match r.classe {
        RecipientClass::PoleEmploi | RecipientClass::Ministere | RecipientClass::Comite => {
            ("true".into(), "true".into())
        }
        RecipientClass::Financeur => {
            let code = r.financeur_code.unwrap_or_default();
            (
                format!("s.financeur_code = {code}"),
                format!("s.financeur_code = {code}"),
            )
        }
        RecipientClass::Partenaire => {
            let dep = sql_str(r.departement.as_deref().unwrap_or_default());
            let public = r.public.as_deref().unwrap_or("beneficiaire_rsa");
            (
                format!("s.departement = {dep} and coalesce(i.{public}, false)"),
                "s.session_id in (select session_id from dlv_positionnements)".into(),
            )
        }
    }
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

fn sha256_bytes(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

fn schema_of(schema: &Schema) -> Vec<(String, String)> {
    schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().to_string()))
        .collect()
}

/// A cube published after disclosure control: its query, its measures and
/// the cell families whose patterns it must follow.
struct ClearedCube {
    name: &'static str,
    query: &'static str,
    measures: &'static [&'static str],
    families: &'static [&'static str],
    by_motif: bool,
}

const CLEARED_CUBES: &[ClearedCube] = &[
    ClearedCube {
        name: "entonnoir",
        query: "out_entonnoir",
        measures: &[
            "nb_positionnements",
            "nb_presents_ico",
            "nb_retenus",
            "nb_ais_validees",
            "nb_entrees",
            "nb_abandons",
            "taux_entree",
            "nb_personnes_positionnees",
            "nb_personnes_entrees",
        ],
        families: &["cohorte"],
        by_motif: false,
    },
    ClearedCube {
        name: "delais",
        query: "out_delais",
        measures: &[
            "nb_entrees",
            "mediane_jours_entree",
            "p75_jours_entree",
            "mediane_jours_ico",
            "p75_jours_ico",
        ],
        families: &["cohorte"],
        by_motif: false,
    },
    ClearedCube {
        name: "pic",
        query: "out_pic",
        measures: &[
            "nb_personnes_positionnees",
            "nb_eligibles_pic_positionnes",
            "part_eligibles_pic_positionnes",
            "nb_personnes_entrees",
            "nb_eligibles_pic_entres",
            "part_eligibles_pic_entres",
        ],
        families: &["cohorte", "entrees"],
        by_motif: false,
    },
    ClearedCube {
        name: "abandons",
        query: "sec_abandons",
        measures: &["nb_entrees", "nb_abandons", "taux_abandon", "part_abandons"],
        families: &["cohorte"],
        by_motif: true,
    },
    ClearedCube {
        name: "remplissage",
        query: "out_remplissage",
        measures: &[
            "nb_sessions",
            "places_conventionnees",
            "nb_entres",
            "taux_remplissage",
        ],
        families: &["remplissage"],
        by_motif: false,
    },
];

/// The ministry and the committee receive cleared aggregates (default threshold 11).
fn aggregate_threshold(r: &Recipient) -> Option<u32> {
    match r.classe {
        RecipientClass::Ministere | RecipientClass::Comite => Some(r.seuil_secret.unwrap_or(11)),
        _ => None,
    }
}

/// The default protection level: no suppressed count can be recomputed to a
/// single whole value.
pub const DEFAULT_PROTECTION: u32 = 1;

/// Attack-and-reinforce rounds before giving up (the attack file then lists what is left).
const ATTACK_ROUNDS: usize = 8;

/// The attacker's result for one recipient, written to
/// `OUT/secret/attaque-<nom>.json` (internal, never delivered).
#[derive(Debug, Serialize)]
struct AttackSummary<'a> {
    destinataire: &'a str,
    seuil_secret: u32,
    niveau_protection: u32,
    familles: Vec<AttackFamily<'a>>,
}

#[derive(Debug, Serialize)]
struct AttackFamily<'a> {
    famille: &'a str,
    /// SHA-256 of the table attacked (cells, counts, relations): the same
    /// fingerprint in two runs means the same table.
    empreinte_table: String,
    cellules_supprimees: usize,
    effectifs_examines: usize,
    composantes: usize,
    plus_grande_composante: usize,
    programmes_resolus: usize,
    boites: usize,
    effectifs_prouves_sans_programme: usize,
    secondes: f64,
    effectifs_prouves_proteges: usize,
    relations_relachees: usize,
    zeros_deduits: usize,
    effectifs_prouves_dans_une_autre_famille: usize,
    effectifs_recalcules: usize,
    effectifs_sous_niveau_protection: usize,
    effectifs_non_prouves: usize,
    intervalle_le_plus_etroit: Option<AttackCell<'a>>,
    cellules_exposees: Vec<AttackCell<'a>>,
}

#[derive(Debug, Serialize)]
struct AttackCell<'a> {
    cle: &'a disclosure::CellKey,
    mesure: &'a str,
    valeur: i64,
    minimum: f64,
    maximum: f64,
}

/// A family or cube attacked: its name, cells, the attacker's last report
/// and the seconds its protection took.
type Attacked<'a> = (
    &'a str,
    &'a disclosure::CubeCells,
    &'a crate::attack::Report,
    f64,
);

fn write_attack(
    out: &Path,
    r: &Recipient,
    threshold: u32,
    protection: u32,
    attacked: &[Attacked],
) -> Result<()> {
    fn cell<'c>(cells: &'c disclosure::CubeCells, f: &crate::attack::Finding) -> AttackCell<'c> {
        AttackCell {
            cle: &cells.keys[f.cell],
            mesure: &cells.count_names[f.measure],
            valeur: f.value,
            minimum: f.min,
            maximum: f.max,
        }
    }
    let summary = AttackSummary {
        destinataire: &r.nom,
        seuil_secret: threshold,
        niveau_protection: protection,
        familles: attacked
            .iter()
            .map(|&(family, cells, rep, secs)| AttackFamily {
                famille: family,
                empreinte_table: cells.fingerprint(),
                cellules_supprimees: rep.cells,
                effectifs_examines: rep.counts,
                composantes: rep.components,
                plus_grande_composante: rep.largest_component,
                programmes_resolus: rep.programmes,
                boites: rep.boxes,
                effectifs_prouves_sans_programme: rep.proven_without_programme,
                secondes: secs,
                effectifs_prouves_proteges: rep.proven,
                relations_relachees: rep.relaxed_relations,
                zeros_deduits: rep.zeros_pinned,
                effectifs_prouves_dans_une_autre_famille: rep.proven_in_family,
                effectifs_recalcules: rep.pinned.len(),
                effectifs_sous_niveau_protection: rep.narrow.len(),
                effectifs_non_prouves: rep.unproven.len(),
                intervalle_le_plus_etroit: rep.narrowest.as_ref().map(|f| cell(cells, f)),
                cellules_exposees: rep
                    .narrow
                    .iter()
                    .chain(&rep.unproven)
                    .map(|f| cell(cells, f))
                    .collect(),
            })
            .collect(),
    };
    let dir = out.join("secret");
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let path = dir.join(format!("attaque-{}.json", r.nom));
    let json =
        serde_json::to_string_pretty(&summary).map_err(|e| Error::Internal(e.to_string()))?;
    std::fs::write(&path, json).map_err(Error::io(&path))
}

/// The internal audit of a recipient's suppressions (never delivered):
/// `OUT/secret/audit-<nom>.parquet`, one row per suppressed cell of each
/// family and of the abandon cube's reasons, with its true population, flag
/// and reason.
fn write_audit(
    out: &Path,
    name: &str,
    families: &[(&str, &disclosure::CubeCells, &disclosure::Pattern)],
) -> Result<()> {
    use arrow::array::Int64Array;
    let dir = out.join("secret");
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let mut lines: Vec<AuditLine<'_>> = Vec::new();
    for &(family, cells, pattern) in families {
        let measure = cells.count_names.first().map_or("", String::as_str);
        for a in &pattern.audit {
            lines.push(AuditLine {
                family,
                key: &cells.keys[a.cell],
                measure,
                value: cells.counts[a.cell][0],
                entry: a,
            });
        }
    }
    let text = |f: &dyn Fn(&AuditLine<'_>) -> Option<String>| -> ArrayRef {
        Arc::new(lines.iter().map(f).collect::<StringArray>())
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("famille", text(&|l| Some(l.family.to_string()))),
        ("periode", text(&|l| Some(l.key.periode.clone()))),
        ("type_periode", text(&|l| Some(l.key.type_periode.clone()))),
        ("niveau_geo", text(&|l| Some(l.key.niveau_geo.clone()))),
        ("code_geo", text(&|l| l.key.code_geo.clone())),
        ("dimension", text(&|l| Some(l.key.dimension.clone()))),
        ("modalite", text(&|l| Some(l.key.modalite.clone()))),
        ("motif_code", text(&|l| l.key.motif.clone())),
        ("mesure", text(&|l| Some(l.measure.to_string()))),
        (
            "valeur",
            Arc::new(lines.iter().map(|l| Some(l.value)).collect::<Int64Array>()),
        ),
        ("secret", text(&|l| Some(l.entry.flag.letter().to_string()))),
        ("raison", text(&|l| Some(l.entry.reason.clone()))),
    ];
    let batch = RecordBatch::try_from_iter(columns)?;
    let mut w = ParquetFile::create(&dir.join(format!("audit-{name}.parquet")), batch.schema())?;
    w.write(&batch)?;
    w.close()
}

/// One suppressed cell in the audit.
struct AuditLine<'a> {
    family: &'a str,
    key: &'a disclosure::CellKey,
    measure: &'a str,
    value: i64,
    entry: &'a disclosure::AuditEntry,
}

/// A zstd Parquet file being written batch by batch.
struct ParquetFile {
    writer: ArrowWriter<std::io::BufWriter<std::fs::File>>,
}

impl ParquetFile {
    fn create(path: &Path, schema: Arc<Schema>) -> Result<Self> {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_created_by(format!("ouistat {}", env!("CARGO_PKG_VERSION")))
            .build();
        let file = std::fs::File::create(path).map_err(Error::io(path))?;
        Ok(ParquetFile {
            writer: ArrowWriter::try_new(std::io::BufWriter::new(file), schema, Some(props))?,
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        Ok(self.writer.write(batch)?)
    }

    fn close(self) -> Result<()> {
        self.writer.close()?;
        Ok(())
    }
}

/// Checks every recipient's key before anything is written.
pub fn load_keys(recipients: &[Recipient], policy: &Policy) -> Result<Vec<Option<SecretKey>>> {
    recipients
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
        .collect()
}

/// Writes one recipient's delivery under `OUT/livraisons/<nom>/`; returns its
/// manifest and, for cleared aggregates, the seconds disclosure control took.
pub fn deliver(
    ctx: &Context<'_>,
    r: &Recipient,
    key: Option<&SecretKey>,
) -> Result<(Manifest, Option<f64>)> {
    let root = ctx.out.join("livraisons");
    let final_dir = root.join(&r.nom);
    let tmp_dir = root.join(format!(".tmp-{}", r.nom));
    if tmp_dir.exists() {
        std::fs::remove_dir_all(&tmp_dir).map_err(Error::io(&tmp_dir))?;
    }
    std::fs::create_dir_all(&tmp_dir).map_err(Error::io(&tmp_dir))?;
    let pseudonymiser = key.map(Pseudonymiser::new);

    let (pos_filter, session_filter) = perimeter_sql(r);
    let conn = &ctx.stage.conn;
    conn.execute_batch(&format!(
        "create or replace temp table dlv_positionnements as
         select p.positionnement_id, p.identifiant_spe, p.session_id
         from int_positionnements p
         inner join stg_sessions s using (session_id)
         inner join stg_individus i using (identifiant_spe)
         where {pos_filter};"
    ))?;
    let everyone = matches!(
        r.classe,
        RecipientClass::PoleEmploi | RecipientClass::Ministere
    );
    let cutoff = sql_str(&ctx.cutoff.format("%Y-%m-%d").to_string());
    let mut files = Vec::new();
    let mut dictionary = DictionaryWriter::new(r, ctx.policy, ctx.cutoff);
    for extract in Extract::ALL {
        let table = extract.name();
        let granted: Vec<(&str, Treatment)> = extract
            .columns()
            .iter()
            .map(|c| (c.name, ctx.policy.treatment(table, c.name, r.classe)))
            .filter(|(_, t)| *t != Treatment::Supprimer)
            .collect();
        if granted.is_empty() {
            continue;
        }
        let select: Vec<String> = granted.iter().map(|(c, _)| format!("t.\"{c}\"")).collect();
        let rows = match extract {
            Extract::Sessions if everyone => "true".to_string(),
            Extract::Sessions => session_filter.replace("s.", "t."),
            Extract::Individus if everyone => "true".to_string(),
            Extract::Individus => {
                "t.identifiant_spe in (select identifiant_spe from dlv_positionnements)".into()
            }
            Extract::Positionnements => {
                "t.positionnement_id in (select positionnement_id from dlv_positionnements)".into()
            }
            Extract::Evenements => format!(
                "t.positionnement_id in (select positionnement_id from dlv_positionnements) \
                 and t.enregistre_le < cast({cutoff} as date) + interval 1 day"
            ),
        };
        let sql = format!(
            "select {} from stg_{table} t where {rows} order by t.ligne",
            select.join(", ")
        );
        let mut stmt = conn.prepare(&sql)?;
        let stream = stmt.stream_arrow([])?;
        let treatments: Vec<Treatment> = granted.iter().map(|(_, t)| *t).collect();
        let schema = treat(
            &RecordBatch::new_empty(stream.get_schema()),
            &treatments,
            pseudonymiser.as_ref(),
        )?
        .schema();
        let name = format!("{table}.parquet");
        let path = tmp_dir.join(&name);
        let mut writer = ParquetFile::create(&path, schema.clone())?;
        let mut rows = 0usize;
        for batch in stream {
            let treated = treat(&batch?, &treatments, pseudonymiser.as_ref())?;
            rows += treated.num_rows();
            writer.write(&treated)?;
        }
        writer.close()?;
        dictionary.table(table, &schema, &granted, rows);
        files.push(ManifestFile {
            nom: name,
            sha256: crate::ingest::sha256_file(&path)?,
            lignes: Some(rows as u64),
            schema: Some(schema_of(&schema)),
        });
    }
    let mut secrecy_secs = None;
    if let Some(threshold) = aggregate_threshold(r) {
        let started = std::time::Instant::now();
        let protection = r.niveau_protection.unwrap_or(DEFAULT_PROTECTION);
        let cached = ctx.patterns.borrow().get(&(threshold, protection)).cloned();
        let secrecy = match cached {
            Some(s) => s,
            None => {
                let s = Rc::new(Secrecy::find(ctx, threshold, protection)?);
                ctx.patterns
                    .borrow_mut()
                    .insert((threshold, protection), Rc::clone(&s));
                s
            }
        };
        let (families, reports) = (&secrecy.families, &secrecy.reports);
        // The cubes cleared on their own relations (attacked here with
        // `--attack`), and their seconds.
        let mut by_motif: Vec<(&str, disclosure::ClearedByMotif, f64)> = Vec::new();
        let dir = tmp_dir.join("agregats");
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        for cube in CLEARED_CUBES {
            let sql = crate::queries::render(cube.query, &[]);
            let mut stmt = conn.prepare(&sql)?;
            let batches: Vec<RecordBatch> = stmt.query_arrow([])?.collect();
            let schema = stmt.schema();
            let batch = arrow::compute::concat_batches(&schema, &batches)?;
            let own: Vec<&(disclosure::CubeCells, disclosure::Pattern)> = disclosure::FAMILIES
                .iter()
                .zip(families)
                .filter(|((name, _), _)| cube.families.contains(name))
                .map(|(_, f)| f)
                .collect();
            let cleared = if cube.by_motif {
                let start = std::time::Instant::now();
                let c = disclosure::clear_by_motif(
                    &batch,
                    cube.measures,
                    &own,
                    i64::from(threshold),
                    ctx.attack.then_some((f64::from(protection), ATTACK_ROUNDS)),
                )?;
                let cleared = c.cleared.clone();
                by_motif.push((cube.name, c, start.elapsed().as_secs_f64()));
                cleared
            } else {
                disclosure::clear_cube(&batch, cube.measures, &own)?
            };
            let cube = cube.name;
            let name = format!("agregats/{cube}.parquet");
            let path = tmp_dir.join(&name);
            let mut writer = ParquetFile::create(&path, cleared.batch().schema())?;
            writer.write(cleared.batch())?;
            writer.close()?;
            dictionary.aggregate(cube, cleared.batch().num_rows(), threshold);
            files.push(ManifestFile {
                nom: name,
                sha256: crate::ingest::sha256_file(&path)?,
                lignes: Some(cleared.batch().num_rows() as u64),
                schema: Some(schema_of(&cleared.batch().schema())),
            });
        }
        if ctx.attack {
            let attacked: Vec<Attacked> = disclosure::FAMILIES
                .iter()
                .zip(families.iter().zip(reports))
                .map(|((family, _), ((cells, _), (rep, secs)))| (*family, cells, rep, *secs))
                .chain(by_motif.iter().filter_map(|(cube, c, secs)| {
                    c.report.as_ref().map(|rep| (*cube, &c.cells, rep, *secs))
                }))
                .collect();
            write_attack(ctx.out, r, threshold, protection, &attacked)?;
            let left: usize = attacked
                .iter()
                .map(|(_, _, rep, _)| rep.narrow.len() + rep.unproven.len())
                .sum();
            if left > 0 {
                // Fail closed: nothing is published that the attacker may
                // recompute (the delivery is still in its temporary folder).
                return Err(Error::Policy(format!(
                    "recipient `{}`: after reinforcement (at most {ATTACK_ROUNDS} rounds a stage, programmes for at most {} counts) the attacker still recomputes {left} suppressed counts too narrowly, or they could not be proven wide enough; see {}",
                    r.nom,
                    disclosure::PROGRAMMED_COUNTS,
                    ctx.out.join("secret").join(format!("attaque-{}.json", r.nom)).display()
                )));
            }
        }
        let audited: Vec<(&str, &disclosure::CubeCells, &disclosure::Pattern)> =
            disclosure::FAMILIES
                .iter()
                .zip(families)
                .map(|((family, _), (cells, pattern))| (*family, cells, pattern))
                .chain(
                    by_motif
                        .iter()
                        .map(|(cube, c, _)| (*cube, &c.cells, &c.pattern)),
                )
                .collect();
        write_audit(ctx.out, &r.nom, &audited)?;
        secrecy_secs = Some(started.elapsed().as_secs_f64());
    }
    let dict = dictionary.finish();
    let dict_path = tmp_dir.join("dictionnaire.md");
    std::fs::write(&dict_path, &dict).map_err(Error::io(&dict_path))?;
    files.push(ManifestFile {
        nom: "dictionnaire.md".into(),
        sha256: sha256_bytes(dict.as_bytes()),
        lignes: None,
        schema: None,
    });
    let manifest = Manifest {
        logiciel: "ouistat".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        destinataire: r.nom.clone(),
        classe: r.classe,
        politique_version: ctx.policy.version.clone(),
        politique_sha256: ctx.policy.sha256.clone(),
        date_arrete: ctx.cutoff.format("%Y-%m-%d").to_string(),
        empreinte_cle: key.map(SecretKey::fingerprint),
        entrees: ctx.inputs.clone(),
        fichiers: files,
    };
    let json =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    let manifest_path = tmp_dir.join("manifest.json");
    std::fs::write(&manifest_path, json).map_err(Error::io(&manifest_path))?;

    // Swap into place: the previous delivery survives until the new one is complete.
    let old_dir = root.join(format!(".old-{}", r.nom));
    if old_dir.exists() {
        std::fs::remove_dir_all(&old_dir).map_err(Error::io(&old_dir))?;
    }
    if final_dir.exists() {
        std::fs::rename(&final_dir, &old_dir).map_err(Error::io(&final_dir))?;
    }
    std::fs::rename(&tmp_dir, &final_dir).map_err(Error::io(&tmp_dir))?;
    if old_dir.exists() {
        std::fs::remove_dir_all(&old_dir).map_err(Error::io(&old_dir))?;
    }
    Ok((manifest, secrecy_secs))
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
        }
    }

    fn table(&mut self, table: &str, schema: &Schema, granted: &[(&str, Treatment)], rows: usize) {
        self.text.push_str(&format!(
            "\n## {table}.parquet ({rows} lignes)\n\n| colonne | signification | type | traitement | rubrique de l'annexe 1 | motif |\n|---|---|---|---|---|---|\n"
        ));
        for (field, (source, t)) in schema.fields().iter().zip(granted) {
            let entry = self.policy.entry(table, source);
            self.text.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                field.name(),
                entry.map_or("", |e| e.description.as_str()),
                type_label(field.data_type()),
                t.label(),
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

    fn aggregate(&mut self, cube: &str, rows: usize, threshold: u32) {
        self.text.push_str(&format!(
            "\n## agregats/{cube}.parquet ({rows} lignes)\n\n\
             Cube `{cube}` (colonnes du contrat de sortie v1) après contrôle du secret statistique : \
             un effectif strictement positif inférieur à {threshold} est masqué (secret primaire, `secret` = `A`), \
             ainsi que les cellules nécessaires pour qu'aucune cellule masquée ne puisse être recalculée \
             à partir des marges, des totaux géographiques et des mois (secret secondaire, `secret` = `D`). \
             Une cellule masquée l'est en entier : toutes ses mesures sont vides.\n"
        ));
        if cube == "abandons" {
            self.text.push_str(
                "\nLes lignes `motif_code` = `ensemble` reprennent chaque cellule de l'entonnoir \
                 (y compris sans entrée), avec son secret. La répartition par motif n'est diffusée \
                 que par quadrimestre, pour la France et les régions, tous publics confondus \
                 (`dimension` = `ensemble`) : plus fine, elle serait presque entièrement sous le seuil \
                 et ne pourrait pas être protégée. Le cube interne `indicateurs/abandons.parquet` \
                 garde toutes les répartitions et n'est jamais livré.\n",
            );
        }
    }

    fn finish(self) -> String {
        self.text
    }
}

/// Re-checks a delivery against its manifest: every file's SHA-256, row
/// count and schema, and no file that the manifest does not list.
pub fn verify(dir: &Path) -> Result<Manifest> {
    let manifest_path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        Error::Verify(format!(
            "{}: cannot read the manifest: {e}",
            manifest_path.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| Error::Verify(format!("{}: not a manifest: {e}", manifest_path.display())))?;
    let mut listed = std::collections::HashSet::new();
    for f in &manifest.fichiers {
        listed.insert(f.nom.clone());
        let path = dir.join(&f.nom);
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::Verify(format!("{}: missing or unreadable: {e}", path.display()))
        })?;
        if sha256_bytes(&bytes) != f.sha256 {
            return Err(Error::Verify(format!(
                "{}: SHA-256 differs from the manifest",
                path.display()
            )));
        }
        if let (Some(rows), Some(schema)) = (f.lignes, &f.schema) {
            let file = std::fs::File::open(&path).map_err(Error::io(&path))?;
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|e| {
                        Error::Verify(format!("{}: not readable Parquet: {e}", path.display()))
                    })?;
            let n = reader.metadata().file_metadata().num_rows() as u64;
            if n != rows {
                return Err(Error::Verify(format!(
                    "{}: {n} rows, manifest says {rows}",
                    path.display()
                )));
            }
            if &schema_of(reader.schema()) != schema {
                return Err(Error::Verify(format!(
                    "{}: schema differs from the manifest",
                    path.display()
                )));
            }
        }
    }
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        for e in std::fs::read_dir(&folder).map_err(Error::io(&folder))? {
            let e = e.map_err(Error::io(&folder))?;
            let name = format!("{prefix}{}", e.file_name().to_string_lossy());
            if e.path().is_dir() {
                pending.push((e.path(), format!("{name}/")));
            } else if name != "manifest.json" && !listed.contains(&name) {
                return Err(Error::Verify(format!(
                    "{}: not listed in the manifest",
                    dir.join(name).display()
                )));
            }
        }
    }
    Ok(manifest)
}
