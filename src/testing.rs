//! The crate's public surface for its own integration tests, benches and
//! doc examples, and nothing else: every other module is private.
//!
//! Each sub-module mirrors the private module of the same name and
//! re-exports the items a test or a bench names, so that a test reads
//! `ouistat::testing::pipeline::run` where the code reads
//! `crate::pipeline::run`. Adding an item here is the only way to make it
//! reachable from outside the crate; `unreachable_pub` (in `Cargo.toml`)
//! flags any other `pub` item.

pub mod cli {
    pub use crate::cli::{Cli, Command, DEMO_PERSONS};
}
pub mod commands {
    pub use crate::commands::{demo_recipients, execute};
}
pub mod cube_dictionary {
    pub use crate::cube_dictionary::UNDESCRIBED;
}
pub mod deliver {
    pub use crate::deliver::read_cubes;
}
pub mod domain {
    pub mod fr {
        pub use crate::domain::fr::{fr_int, fr_pct};
    }
}
pub mod generate {
    pub use crate::generate::{csv_dir_to_text_parquet, generate, Format, Options, Summary};
}
pub mod geo {
    pub use crate::geo::region_name;
}
pub mod ingest {
    pub use crate::ingest::{
        find_sources, read_csv, Encoding, FileFormat, Record, Source, MAX_RECORD_LINES,
    };
}
pub mod kanon {
    pub use crate::kanon::{anonymise, Family, Microdata, Qi, Requirement, Step, Table};
}
pub mod pipeline {
    pub use crate::pipeline::{run, RunConfig, RunReport};
}
pub mod policy {
    pub use crate::policy::{RecipientClass, ANNEXE1};
}
pub mod pseudonymise {
    pub use crate::pseudonymise::{Pseudonymiser, SecretKey};
}
pub mod queries {
    pub use crate::queries::{get, materialise, render, seed_rows, SEEDS};
}
pub mod query {
    pub use crate::query::query;
}
pub mod report {
    pub use crate::report::{render, Pdf, ReportConfig, TEMPLATE};
}
pub mod rules {
    pub use crate::rules::{parse_date, parse_timestamp, PlausibleDates};
}
pub mod schema {
    pub use crate::schema::{Extract, Kind};
}
pub mod secrecy {
    pub use crate::secrecy::{
        protect_run, text, CubeBatch, Geography, Key, Plan, Protection, Release, Released, Settings,
    };
    pub mod cubes {
        pub use crate::secrecy::cubes::def;
    }
    pub mod gauss {
        pub use crate::secrecy::gauss::{suppress, Hidden};
    }
}
pub mod stage {
    pub use crate::stage::Stage;
}
pub mod toml_file {
    pub use crate::toml_file::parse;
}
pub mod validate {
    pub use crate::validate::Validator;
}
pub mod verdict {
    pub use crate::verdict::parse_share;
}
pub mod verify {
    pub use crate::verify::verify;
}
