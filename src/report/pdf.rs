//! The report as an A4 PDF, printed from its HTML by headless Chromium.
//!
//! What always holds: the PDF is the HTML's own print (its `@page` rules:
//! A4, margins), written beside it, whole or absent. Chromium is an outside
//! program: when it is not installed the report is still written and the
//! caller is told why there is no PDF (`scripts/setup.sh` installs the
//! Debian package `chromium`). `OUISTAT_CHROMIUM` names another binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Where Chromium is looked for, in order, when `OUISTAT_CHROMIUM` is unset.
const CANDIDATES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// How long one print may take before it is given up.
const TIMEOUT: Duration = Duration::from_secs(180);

/// The outcome of printing the PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pdf {
    Written(PathBuf),
    /// Not written, and why (Chromium is not installed).
    Skipped(String),
}

/// The Chromium binary: `OUISTAT_CHROMIUM`, or the first candidate on
/// `PATH`; why there is none otherwise.
fn chromium() -> std::result::Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("OUISTAT_CHROMIUM") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "OUISTAT_CHROMIUM names {}, which is not a file",
                p.display()
            ))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| CANDIDATES.map(|c| dir.join(c)))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "Chromium was not found (chromium, chromium-browser or google-chrome on PATH): \
             install the Debian package `chromium` (scripts/setup.sh does), or name the \
             binary with OUISTAT_CHROMIUM"
                .to_string()
        })
}

/// Prints `html` to the PDF of the same name.
///
/// # Errors
/// `Output` naming the PDF when Chromium is there but fails or times out
/// (the machine's browser, not a bug: its last lines of error output in
/// the message); `Io` naming the PDF when it
/// cannot be moved in place.
pub(crate) fn print(html: &Path) -> Result<Pdf> {
    let pdf = html.with_extension("pdf");
    let browser = match chromium() {
        Ok(b) => b,
        Err(why) => {
            // A PDF of an earlier rendering would not match the new report.
            match std::fs::remove_file(&pdf) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&pdf)(e))
                }
                _ => {}
            }
            return Ok(Pdf::Skipped(why));
        }
    };
    let dir = html.parent().unwrap_or(Path::new("."));
    let name = pdf.file_name().unwrap_or_default().to_string_lossy();
    let partial = dir.join(format!(".{name}.en-cours"));
    // A profile of its own: two prints at once must not share one.
    let profile = tempfile::tempdir().map_err(Error::io(std::env::temp_dir()))?;
    // Its messages go to a file: a pipe nobody reads while it runs could fill.
    let log = profile.path().join("chromium.log");
    let log_file = std::fs::File::create(&log).map_err(Error::io(&log))?;
    let mut child = Command::new(&browser)
        // Nothing to fetch, nothing to update: the report is self-contained.
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", partial.display()))
        .arg(html)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .map_err(Error::io(&browser))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(Error::io(&browser))? {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            // Best effort: the child is ours and is given up.
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Output {
                path: html.with_extension("pdf"),
                problem: format!(
                    "{} did not print {} within {} s",
                    browser.display(),
                    html.display(),
                    TIMEOUT.as_secs()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !status.success() || !partial.is_file() {
        let stderr = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(Error::Output {
            path: html.with_extension("pdf"),
            problem: format!(
                "{} could not print {} ({status}): {}",
                browser.display(),
                html.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        });
    }
    std::fs::rename(&partial, &pdf).map_err(Error::io(&pdf))?;
    Ok(Pdf::Written(pdf))
}
