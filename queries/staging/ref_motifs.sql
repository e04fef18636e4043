-- The reason codes (`motifs.csv` or `--motifs`), appended by Rust.
create or replace table ref_motifs (type varchar, motif_code varchar, libelle varchar)
