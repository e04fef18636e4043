//! What the benches share: memory read from `/proc/self/status` (Linux).
// Each bench compiles this module for itself and uses part of it.
#![allow(dead_code)]

/// A line of `/proc/self/status` in MB (`VmRSS:` now, `VmHWM:` the peak).
pub(crate) fn rss_mb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Resets the peak resident size (`VmHWM`) to the current one, so that the
/// next [`rss_mb`]`("VmHWM:")` is the peak of what runs in between.
pub(crate) fn reset_peak() {
    // Linux: writing 5 to clear_refs resets the peak.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
