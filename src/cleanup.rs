//! Folders that hold raw personal data or a half-written output, removed
//! however a run ends: by their owner's `Drop` on return, error and panic;
//! by one signal handler on SIGINT, SIGTERM and SIGHUP; and, for a run
//! killed with SIGKILL (which nothing can catch), by the next run, which
//! finds them by name: `<prefix><pid>…` of a process that is gone.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

/// The folders of this process that a signal must remove.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes `path` if the process is stopped by a signal, until [`release`].
pub(crate) fn guard(path: &Path) {
    static HANDLER: Once = Once::new();
    HANDLER.call_once(|| {
        // Another handler may already be installed by an embedding
        // program: then its owner answers for cleaning up.
        let _ = ctrlc::set_handler(|| {
            if let Ok(dirs) = LIVE.lock() {
                for d in dirs.iter() {
                    let _ = std::fs::remove_dir_all(d);
                }
            }
            std::process::exit(130);
        });
    });
    if let Ok(mut live) = LIVE.lock() {
        live.push(path.to_path_buf());
    }
}

/// `path` no longer needs removing on a signal.
pub(crate) fn release(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|p| p != path);
    }
}

/// Removes the folders of `dir` named `<prefix><pid>…` whose process is
/// gone. Linux only (it asks `/proc`); elsewhere nothing is removed.
pub(crate) fn remove_abandoned(dir: &Path, prefix: &str) {
    for path in abandoned(dir, prefix) {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// The folders of `dir` named `<prefix><pid>…` whose process is gone,
/// sorted by name. Linux only (it asks `/proc`); elsewhere none.
pub(crate) fn abandoned(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    if !Path::new("/proc/self").exists() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix(prefix)
                .and_then(|rest| rest.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|pid| !Path::new("/proc").join(pid.to_string()).exists())
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}
