//! Progress on stderr for long stages, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// A counter that redraws one stderr line now and then.
pub struct Progress {
    label: &'static str,
    total: u64,
    enabled: bool,
    start: Instant,
}

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Self {
        Progress {
            label,
            total,
            enabled: std::io::stderr().is_terminal(),
            start: Instant::now(),
        }
    }

    /// Reports `done` items; redraws every 65,536 items.
    pub fn tick(&self, done: u64) {
        if self.enabled && done.is_multiple_of(65_536) {
            let mut err = std::io::stderr().lock();
            if self.total > 0 {
                let _ = write!(err, "\r{}: {done}/{} ", self.label, self.total);
            } else {
                let _ = write!(err, "\r{}: {done} ", self.label);
            }
        }
    }

    /// Prints a one-line message (a stage that finished, say).
    pub fn message(&self, text: &str) {
        if self.enabled {
            let _ = writeln!(std::io::stderr().lock(), "\r{}: {text}", self.label);
        }
    }

    pub fn done(&self) {
        if self.enabled {
            let _ = writeln!(
                std::io::stderr().lock(),
                "\r{}: done in {:.1}s          ",
                self.label,
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}
