//! The terminal summary of a run, as `dbt run` ends one: the
//! reconciliation, each delivery with its rows and its share of suppressed
//! counts, the warnings by rule, and where each output is.

use std::fmt::Write as _;
use std::path::Path;

use crate::pipeline::RunReport;

/// `a of b (x %)`.
fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        format!("{part} of 0")
    } else {
        format!(
            "{part} of {whole} ({:.1} %)",
            part as f64 * 100.0 / whole as f64
        )
    }
}

/// The suppressed counts of a recipient, when it received aggregates, and
/// the counts of its earlier releases taken as published.
fn secrecy_of(report: &RunReport, name: &str) -> Option<String> {
    let s = report.secret.get(name)?;
    let (a, d) = (s.primaires_a as u64, s.secondaires_d as u64);
    Some(format!(
        "suppressed counts {} (A {a}, D {d}); {} counts of earlier releases taken as published",
        share(a + d, s.effectifs as u64),
        s.diffusions_anterieures
    ))
}

/// The reconciliation table: rows read, accepted and quarantined per extract.
pub(crate) fn reconciliation(report: &RunReport) -> String {
    let mut s = format!(
        "{:<16} {:>10} {:>10} {:>12}\n",
        "extract", "read", "accepted", "quarantined"
    );
    for (name, r) in &report.reconciliation {
        let _ = writeln!(
            s,
            "{name:<16} {:>10} {:>10} {:>12}",
            r.lues, r.acceptees, r.quarantaine
        );
    }
    s
}

/// Each delivery with its rows, its suppressed counts and its folder.
fn deliveries(report: &RunReport, out: &Path) -> String {
    if !report.refus.is_empty() {
        return "\nDeliveries: none, the input check failed (below).\n".into();
    }
    if report.livraisons.is_empty() {
        return "\nDeliveries: none (no --recipients).\n".into();
    }
    let mut s = String::from("\nDeliveries:\n");
    for (name, rows) in &report.livraisons {
        let folder = out.join("livraisons").join(name);
        let _ = write!(s, "  {name:<20} {rows:>10} rows  {}", folder.display());
        if let Some(secret) = secrecy_of(report, name) {
            let _ = write!(s, "  {secret}");
        }
        s.push('\n');
    }
    s
}

/// The warnings by rule and column (the rows are kept).
fn warnings(report: &RunReport) -> String {
    if report.avertissements.is_empty() {
        return "\nWarnings: none.\n".into();
    }
    let mut s = String::from("\nWarnings (rows kept):\n");
    for w in &report.avertissements {
        let _ = writeln!(
            s,
            "  {:<16} {:<26} {:<24} {:>8}",
            w.extrait, w.regle, w.colonne, w.nb
        );
    }
    s
}

/// Where each output is.
fn outputs(report: &RunReport, out: &Path) -> String {
    let o = out.display();
    let mut s = format!(
        "\nOutputs:\n  {o}/run.json       inputs, reconciliation, warnings, timings\n  \
         {o}/quarantaine/   rejected rows with file, line and rule (internal)\n  \
         {o}/indicateurs/   unsuppressed indicators, Parquet, and their dictionnaire.md (internal)\n  \
         {o}/historique/    the indicators of every cut-off, <cube>/date_arrete=…/ (internal)\n"
    );
    if !report.livraisons.is_empty() {
        let _ = writeln!(
            s,
            "  {o}/livraisons/    deliveries, each with manifest.json and dictionnaire.md"
        );
    }
    if out.join("secret").is_dir() {
        let _ = writeln!(
            s,
            "  {o}/secret/        secrecy audit of each recipient of aggregates (internal)"
        );
    }
    for kept in &report.rapports_conserves {
        let _ = writeln!(s, "  {o}/{kept}   report of the previous run, kept");
    }
    s
}

/// The whole summary of a run whose output is `out`.
pub(crate) fn render(report: &RunReport, out: &Path) -> String {
    [
        reconciliation(report),
        deliveries(report, out),
        warnings(report),
        outputs(report, out),
    ]
    .concat()
}
