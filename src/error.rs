//! The one error type of the library, and the exit codes it maps to.
//!
//! A user's mistake (bad arguments, an unreadable extract, a refused key)
//! names what to fix; a bug in ouistat says so (`Internal`).

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line arguments or configuration.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// An extract that cannot be read at all (missing file, bad header, wrong encoding).
    #[error("{file}: {problem}")]
    Unreadable { file: PathBuf, problem: String },

    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A refusal under the data-protection policy (key, recipient, column).
    #[error("refused by policy: {0}")]
    Policy(String),

    /// A run whose input is too damaged to deliver from (an extract with
    /// no accepted row, or too large a share quarantined): its quarantine
    /// and `run.json` are in place, nothing was delivered.
    #[error("{0}")]
    Rejected(String),

    /// A delivery that does not match its manifest.
    #[error("verification failed: {0}")]
    Verify(String),

    /// DuckDB refused a statement of ours (a query of `queries/` or one
    /// the engine builds): a bug in ouistat, the statement named.
    #[error("query `{query}` failed (this is a bug in ouistat): {problem}")]
    Query { query: String, problem: String },

    /// The machine ran short while running a named statement: out of memory,
    /// or a full disk. Not a bug: the advice says what to change.
    #[error("`{query}` could not finish: {problem}")]
    Resources { query: String, problem: String },

    /// A SQL statement given by the user failed.
    #[error("SQL error: {0}")]
    UserSql(String),

    /// Writing or reading an output file failed (a full disk, a file
    /// changed underneath): not a bug, the file and the cause are named.
    #[error("{path}: {problem}")]
    Output { path: PathBuf, problem: String },

    /// Something that should not happen: a bug in ouistat.
    #[error("internal error (this is a bug in ouistat): {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an Arrow or Parquet error with the file it concerns.
    pub fn output<E: std::fmt::Display>(path: impl Into<PathBuf>) -> impl FnOnce(E) -> Error {
        let path = path.into();
        move |e| Error::Output {
            path,
            problem: e.to_string(),
        }
    }

    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Config(_) => ExitCode::Usage,
            Error::Unreadable { .. } | Error::UserSql(_) | Error::Rejected(_) => ExitCode::BadInput,
            Error::Policy(_) => ExitCode::Refused,
            Error::Verify(_) => ExitCode::VerifyFailed,
            Error::Io { .. }
            | Error::Output { .. }
            | Error::Query { .. }
            | Error::Resources { .. }
            | Error::Internal(_) => ExitCode::Failed,
        }
    }
}

/// Arrow computations in memory (casts, takes, batches of a known schema):
/// their failure is a bug. Reading or writing a file goes through
/// [`Error::output`] instead, which names the file; Parquet errors have no
/// conversion, so that none becomes a bug by a stray `?`.
impl From<arrow::error::ArrowError> for Error {
    fn from(e: arrow::error::ArrowError) -> Self {
        Error::Internal(format!("arrow: {e}"))
    }
}

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    Ok = 0,
    Failed = 1,
    Usage = 2,
    BadInput = 3,
    Refused = 4,
    VerifyFailed = 5,
}
