//! Pseudonymisation throughput beside the machine's own SHA-256 compression
//! rate, measured side by side in one run.
//!
//! ```sh
//! cargo bench --profile dev --bench pseudonymise
//! ```
//! An HMAC of a short id costs two compressions, so the per-core limit is
//! half the compression rate; the figures printed are ratios to that limit.

use std::hint::black_box;
use std::time::Instant;

use hmac::{Hmac, Mac};
use ouistat::testing::pseudonymise::{Pseudonymiser, SecretKey};
use rayon::prelude::*;
use sha2::digest::generic_array::GenericArray;

/// Items per second, the best of five runs (the machine is shared: the
/// best run is the one least disturbed).
fn rate(n: usize, mut f: impl FnMut()) -> f64 {
    (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            n as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}

fn main() {
    let n = 1_000_000usize;
    let ids: Vec<String> = (0..n)
        .map(|i| format!("{:09}{}", i, (b'A' + (i % 26) as u8) as char))
        .collect();
    let key_bytes = vec![0x5au8; 32];
    let key = SecretKey::from_bytes(key_bytes.clone()).expect("key");
    let p = Pseudonymiser::new(&key);

    // 1. The machine's SHA-256 compression rate (one core).
    let mut state = [0u32; 8];
    let block = *GenericArray::from_slice(&[7u8; 64]);
    let compressions = rate(n * 2, || {
        for _ in 0..n * 2 {
            sha2::compress256(&mut state, &[block]);
        }
        black_box(state);
    });
    let limit = compressions / 2.0;

    // 2. Our keyed HMAC, one core (MAC only, then with hex and normalisation).
    let mac_rate = rate(n, || {
        for id in &ids {
            black_box(p.mac(id.as_bytes()));
        }
    });
    let pseudo_rate = rate(n, || {
        let mut out = [0u8; 32];
        for id in &ids {
            p.pseudonym_into(id, &mut out);
            black_box(&out);
        }
    });

    // 3. The plain hmac crate with a cloned keyed state, one core.
    let keyed = Hmac::<sha2::Sha256>::new_from_slice(&key_bytes).expect("key");
    let crate_rate = rate(n, || {
        for id in &ids {
            let mut m = keyed.clone();
            m.update(id.as_bytes());
            black_box(m.finalize().into_bytes());
        }
    });

    // 4. All cores with rayon.
    let cores = rayon::current_num_threads();
    let par_rate = rate(n, || {
        ids.par_iter().with_min_len(4096).for_each(|id| {
            black_box(p.mac(id.as_bytes()));
        });
    });
    let refs: Vec<Option<&str>> = ids.iter().map(|s| Some(s.as_str())).collect();
    let par_pseudo_rate = rate(n, || {
        black_box(p.pseudonyms(&refs));
    });

    println!(
        "sha256 compressions/s (1 core)     {compressions:>14.0}  ({:.1} ns each)",
        1e9 / compressions
    );
    println!("limit: HMAC of a short id /s/core  {limit:>14.0}");
    println!(
        "ouistat mac        1 core  ids/s   {mac_rate:>14.0}  {:5.1} % of limit",
        100.0 * mac_rate / limit
    );
    println!("ouistat pseudonym  1 core  ids/s   {pseudo_rate:>14.0}  {:5.1} % of limit (with trim, upper-case, hex)", 100.0 * pseudo_rate / limit);
    println!(
        "hmac crate, cloned 1 core  ids/s   {crate_rate:>14.0}  {:5.1} % of limit",
        100.0 * crate_rate / limit
    );
    println!(
        "ouistat mac       {cores} cores ids/s   {par_rate:>14.0}  {:5.2}x one core",
        par_rate / mac_rate
    );
    println!(
        "ouistat pseudonyms {cores} cores ids/s  {par_pseudo_rate:>14.0}  {:5.2}x one core",
        par_pseudo_rate / pseudo_rate
    );
}
