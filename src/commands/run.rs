//! `ouistat run`: the pipeline, then its summary.

use crate::cli::{InputEncoding, RunArgs};
use crate::error::Result;
use crate::ingest::Encoding;
use crate::pipeline::{self, RunConfig, RunReport};

impl RunArgs {
    /// The checked configuration of a run.
    pub(super) fn into_config(self) -> RunConfig {
        let mut cfg = RunConfig::new(self.extracts, self.out, self.cutoff);
        cfg.periods = self.periods;
        cfg.encoding = match self.encoding {
            InputEncoding::Utf8 => Encoding::Utf8,
            InputEncoding::Windows1252 => Encoding::Windows1252,
        };
        cfg.motifs = self.motifs;
        cfg.memory_limit = self.memory_limit;
        cfg.threads = self.threads;
        cfg.keep_stage = self.keep_stage;
        cfg.recipients = self.recipients;
        cfg.policy = self.policy;
        if let Some(day) = self.earliest_date {
            cfg.earliest_activity = day;
        }
        cfg.latest_activity = self.latest_date;
        cfg.max_quarantine = self.max_quarantine;
        cfg.register_key = self.register_key;
        cfg.opposition = self.opposition;
        cfg
    }
}

/// Runs the pipeline and prints its summary, that of a refused run too
/// (before its error).
pub(super) fn execute(cfg: &RunConfig) -> Result<RunReport> {
    let report = pipeline::execute(cfg)?;
    print!("{}", crate::summary::render(&report, &cfg.out));
    pipeline::conclude(report)
}
