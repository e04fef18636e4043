//! The shared builder and readers of the end-to-end tests.

use super::*;

pub(crate) const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/parcours");

/// A run of the CLI in a fresh temporary directory.
pub(crate) struct Run {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) args: Vec<String>,
}

impl Run {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        // Each run's own temporary directory (staging goes there).
        std::fs::create_dir(dir.path().join("tmp")).expect("tmp dir");
        Run {
            dir,
            args: Vec::new(),
        }
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Copies a fixture directory to `extraits/`.
    pub(crate) fn extracts(self, fixture: &str) -> Self {
        let to = self.path("extraits");
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(fixture).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
        self
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Self {
        let root = self.dir.path().to_string_lossy().into_owned();
        self.args = args
            .into_iter()
            .map(|a| a.as_ref().replace("{tmp}", &root))
            .collect();
        self
    }

    pub(crate) fn output(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ouistat"))
            .args(&self.args)
            .current_dir(self.dir.path())
            .env("TMPDIR", self.dir.path().join("tmp"))
            .output()
            .expect("run ouistat")
    }

    pub(crate) fn succeeds(&self) -> Output {
        let out = self.output();
        assert!(
            out.status.success(),
            "ouistat {:?} failed:\n{}",
            self.args,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub(crate) fn fails(&self) -> (i32, String) {
        let out = self.output();
        assert!(
            !out.status.success(),
            "ouistat {:?} should have failed",
            self.args
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// `run` on `{tmp}/extraits` into `{tmp}/sortie` at a cut-off.
pub(crate) fn run_args(cutoff: &str) -> Vec<String> {
    [
        "run",
        "--extracts",
        "{tmp}/extraits",
        "--out",
        "{tmp}/sortie",
        "--cutoff",
        cutoff,
    ]
    .map(String::from)
    .to_vec()
}

/// `run_args` for a test about the quarantine itself: a small fixture with
/// one bad row quarantines more than the 5 % that fail a run by default.
pub(crate) fn lenient_run_args(cutoff: &str) -> Vec<String> {
    let mut args = run_args(cutoff);
    args.extend(["--max-quarantine", "100%"].map(String::from));
    args
}

pub(crate) fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every row as column → displayed value ("" for null).
pub(crate) fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut out = Vec::new();
    for b in read_parquet(path) {
        for r in 0..b.num_rows() {
            let mut row = HashMap::new();
            for (i, f) in b.schema().fields().iter().enumerate() {
                let col = b.column(i);
                let v = if col.is_null(r) {
                    String::new()
                } else {
                    array_value_to_string(col, r).unwrap()
                };
                row.insert(f.name().clone(), v);
            }
            out.push(row);
        }
    }
    out
}

/// The one row matching every `(column, value)`.
pub(crate) fn one<'a>(
    rows: &'a [HashMap<String, String>],
    filter: &[(&str, &str)],
) -> &'a HashMap<String, String> {
    let found: Vec<_> = rows
        .iter()
        .filter(|r| {
            filter
                .iter()
                .all(|(k, v)| r.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one row for {filter:?}, found {}",
        found.len()
    );
    found[0]
}

pub(crate) fn assert_measures(row: &HashMap<String, String>, expected: &[(&str, &str)]) {
    for (k, v) in expected {
        assert_eq!(
            row.get(*k).map(String::as_str),
            Some(*v),
            "column {k} in {row:?}"
        );
    }
}

pub(crate) fn cube_row<'a>(
    rows: &'a [HashMap<String, String>],
    periode: &str,
    niveau: &str,
    code: &str,
    dim: &str,
    modalite: &str,
) -> &'a HashMap<String, String> {
    one(
        rows,
        &[
            ("periode", periode),
            ("niveau_geo", niveau),
            ("code_geo", code),
            ("dimension", dim),
            ("modalite", modalite),
        ],
    )
}

pub(crate) fn run_fixture() -> Run {
    let run = Run::new().extracts(FIXTURE).args(run_args("2026-06-30"));
    run.succeeds();
    run
}
