//! ouistat turns OuiForm extracts into statistics, anonymised deliveries and
//! committee reports.
//!
//! ```text
//! extracts ─▶ ingest ─▶ validate ─▶ stage (DuckDB) ─▶ indicators (queries/*.sql)
//!                           │                              │
//!                           ▼                              ▼
//!                      quarantine          secrecy (publication plan) ─▶ deliver ─▶ livraisons/
//!                                                                      └─▶ report  ─▶ rapport/
//! ```
//!
//! Only `pseudonymise` sees raw identifiers on their way out; only
//! `secrecy` builds a [`secrecy::Cleared`] table; `deliver` writes nothing
//! the policy or the publication plan does not grant; only `warehouse`
//! holds a DuckDB connection; the report reads one committee delivery.
//!
//! Imports run one way: `main` → `commands` (one file per subcommand, `cli`
//! for its flags) → `pipeline` → the stages → `warehouse`, with `domain`
//! (periods, French formatting, names, cube dimensions), `digest` and
//! `error` underneath; `scripts/module_graph.py` checks there is no cycle.

pub mod cleanup;
pub mod cli;
pub mod commands;
pub mod cube_dictionary;
pub mod deliver;
pub mod digest;
pub mod domain;
pub mod error;
pub mod generate;
pub mod geo;
pub mod history;
pub mod ingest;
pub mod kanon;
pub mod opposition;
pub mod output;
pub mod pipeline;
pub mod policy;
pub mod progress;
pub mod pseudonymise;
pub mod purge;
pub mod queries;
pub mod query;
pub mod register;
pub mod report;
pub mod rules;
pub mod schema;
pub mod secrecy;
pub mod stage;
pub mod summary;
pub mod toml_file;
pub mod validate;
pub mod verdict;
pub mod verify;
pub mod warehouse;

pub use error::{Error, ExitCode, Result};
