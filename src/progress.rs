//! Progress on stderr for long stages, drawn by `indicatif`: a counter or
//! a bar, and silent when stderr is not a terminal (CI, logs, tests).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A counter (or a bar, when the total is known) on one stderr line.
pub(crate) struct Progress {
    label: &'static str,
    bar: ProgressBar,
}

impl Progress {
    /// A progress line named `label`; `total` items when known, else 0.
    pub(crate) fn new(label: &'static str, total: u64) -> Self {
        let bar = if total > 0 {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        };
        let template = if total > 0 {
            "{prefix}: {bar:30} {human_pos}/{human_len} ({elapsed})"
        } else {
            "{prefix}: {human_pos} {msg} ({elapsed})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_prefix(label);
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress { label, bar }
    }

    /// Reports `done` items.
    pub(crate) fn tick(&self, done: u64) {
        // Setting the position is cheap; indicatif redraws at most a few
        // times a second.
        if done.is_multiple_of(4096) {
            self.bar.set_position(done);
        }
    }

    /// Prints a one-line message (a stage that starts or finished, say).
    pub(crate) fn message(&self, text: &str) {
        self.bar.set_message(text.to_string());
        self.bar.println(format!("{}: {text}", self.label));
    }

    /// Ends the line with the time it took.
    pub(crate) fn done(&self) {
        let elapsed = self.bar.elapsed().as_secs_f64();
        self.bar.finish_and_clear();
        if !self.bar.is_hidden() {
            eprintln!("{}: done in {elapsed:.1}s", self.label);
        }
    }
}
