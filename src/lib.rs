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
//! `error` underneath. The `architecture` tests check there is no cycle and
//! that only `warehouse` names DuckDB; `scripts/module_graph.py` prints the
//! graph.
//!
//! Every module is private. The binary reaches [`Cli`] and [`execute`]; the
//! integration tests, benches and doc examples reach what they need
//! through [`testing`], and `unreachable_pub` flags any other `pub` item.

mod cleanup;
mod cli;
mod commands;
mod cube_dictionary;
mod deliver;
mod digest;
mod domain;
mod error;
mod generate;
mod geo;
mod history;
mod ingest;
mod kanon;
mod opposition;
mod output;
mod pipeline;
mod policy;
mod progress;
mod pseudonymise;
mod purge;
mod queries;
mod query;
mod register;
mod report;
mod rules;
mod schema;
mod secrecy;
mod stage;
mod summary;
mod toml_file;
mod validate;
mod verdict;
mod verify;
mod warehouse;

pub mod testing;

#[cfg(test)]
mod architecture;

pub use cli::Cli;
pub use commands::execute;
pub use error::{Error, ExitCode, Result};
