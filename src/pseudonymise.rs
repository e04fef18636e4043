//! Keyed pseudonymisation (SPEC §4): `HMAC-SHA256(key, normalised id)`,
//! hex-encoded and truncated to 128 bits.
//!
//! Only this module turns raw identifiers into pseudonyms, and only it holds
//! keys. A [`SecretKey`] has no `Debug` or `Display`, is wiped from memory
//! when dropped, and shows itself only as a fingerprint.

use std::path::Path;

use rayon::prelude::*;
use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

use crate::error::{Error, Result};

/// Minimum key length in bytes.
pub(crate) const MIN_KEY_BYTES: usize = 32;
/// Pseudonym length in hex characters (128 bits).
pub(crate) const PSEUDONYM_HEX: usize = 32;

const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// A secret HMAC key. Never printed, wiped on drop.
pub struct SecretKey {
    bytes: Vec<u8>,
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl SecretKey {
    /// A key from raw bytes; refused when shorter than 32 bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() < MIN_KEY_BYTES {
            let n = bytes.len();
            let mut b = bytes;
            b.zeroize();
            return Err(Error::Policy(format!(
                "key too short: {n} bytes, at least {MIN_KEY_BYTES} random bytes are required (use `ouistat keygen`)"
            )));
        }
        Ok(SecretKey { bytes })
    }

    /// Reads a key file holding hex (as `ouistat keygen` writes it).
    ///
    /// # Errors
    /// `Config` (exit 2) when the file cannot be read, naming it and the
    /// system's reason; `Policy` (exit 4) when it does not hold hex or the
    /// key is shorter than the policy's minimum.
    pub fn from_file(path: &Path) -> Result<Self> {
        let mut text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read key file {}: {e}", path.display())))?;
        let decoded = hex::decode(text.trim());
        text.zeroize();
        let bytes = decoded.map_err(|_| {
            Error::Policy(format!(
                "key file {} does not hold a hex-encoded key",
                path.display()
            ))
        })?;
        SecretKey::from_bytes(bytes).map_err(|e| match e {
            Error::Policy(m) => Error::Policy(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Writes a new random 32-byte key, hex-encoded, readable by its owner only.
    pub fn generate(path: &Path) -> Result<()> {
        use rand::RngCore;
        if path.exists() {
            return Err(Error::Config(format!(
                "{} already exists; refusing to overwrite a key",
                path.display()
            )));
        }
        let mut bytes = vec![0u8; MIN_KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let mut text = hex::encode(&bytes);
        bytes.zeroize();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        }
        write_private(path, text.as_bytes())?;
        text.zeroize();
        Ok(())
    }

    /// Rotates the key of `path` (issue 26): the current key becomes
    /// [`previous_key_path`], kept until the next delivery has carried the
    /// table from old to new pseudonyms, and a new key is written in its place.
    ///
    /// # Errors
    /// `Config` when there is no key to rotate, or a rotation is still
    /// pending (its previous key not yet retired by a run).
    pub fn rotate(path: &Path) -> Result<()> {
        let previous = previous_key_path(path);
        if previous.exists() {
            return Err(Error::Config(format!(
                "{} exists: the previous rotation is pending until a run delivers with the new key",
                previous.display()
            )));
        }
        SecretKey::from_file(path)?;
        std::fs::rename(path, &previous).map_err(Error::io(path))?;
        SecretKey::generate(path)
    }

    /// A public fingerprint of the key (SHA-256 of a domain tag and the key, 16 hex).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"ouistat-empreinte-cle:");
        h.update(&self.bytes);
        hex::encode(&h.finalize()[..8])
    }
}

/// Where a rotated key waits for the delivery that bridges its
/// pseudonyms to the new key's: `<key file>.ancienne`.
pub(crate) fn previous_key_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".ancienne");
    name.into()
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io(path))?;
    f.write_all(bytes).map_err(Error::io(path))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(Error::io(path))
}

/// HMAC-SHA256 with the keyed inner and outer states computed once, so a
/// short identifier costs two SHA-256 compressions.
pub struct Pseudonymiser {
    inner: [u32; 8],
    outer: [u32; 8],
    /// Kept for messages longer than one block (rare: ids are short).
    key_block: [u8; 64],
}

impl Drop for Pseudonymiser {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
        self.key_block.zeroize();
    }
}

fn state_after(pad: &[u8; 64]) -> [u32; 8] {
    let mut state = SHA256_IV;
    sha2::compress256(&mut state, &[*GenericArray::from_slice(pad)]);
    state
}

impl Pseudonymiser {
    pub fn new(key: &SecretKey) -> Self {
        let mut key_block = [0u8; 64];
        if key.bytes.len() > 64 {
            key_block[..32].copy_from_slice(&Sha256::digest(&key.bytes));
        } else {
            key_block[..key.bytes.len()].copy_from_slice(&key.bytes);
        }
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for i in 0..64 {
            ipad[i] ^= key_block[i];
            opad[i] ^= key_block[i];
        }
        let p = Pseudonymiser {
            inner: state_after(&ipad),
            outer: state_after(&opad),
            key_block,
        };
        ipad.zeroize();
        opad.zeroize();
        p
    }

    /// The full HMAC-SHA256 of `message`.
    pub fn mac(&self, message: &[u8]) -> [u8; 32] {
        state_bytes(&self.mac_state(message))
    }

    /// HMAC-SHA256 as the eight state words of the outer hash: a short
    /// message costs exactly two compressions and no other hashing.
    fn mac_state(&self, message: &[u8]) -> [u32; 8] {
        let mut block: GenericArray<u8, sha2::digest::consts::U64> = GenericArray::default();
        let inner = if message.len() <= 55 {
            block[..message.len()].copy_from_slice(message);
            block[message.len()] = 0x80;
            let bits = ((64 + message.len()) as u64) * 8;
            block[56..].copy_from_slice(&bits.to_be_bytes());
            let mut state = self.inner;
            sha2::compress256(&mut state, std::slice::from_ref(&block));
            state
        } else {
            let mut ipad = [0x36u8; 64];
            for (p, k) in ipad.iter_mut().zip(&self.key_block) {
                *p ^= k;
            }
            let mut h = Sha256::new();
            h.update(ipad);
            h.update(message);
            ipad.zeroize();
            let digest: [u8; 32] = h.finalize().into();
            let mut words = [0u32; 8];
            for (w, c) in words.iter_mut().zip(digest.chunks_exact(4)) {
                *w = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
            }
            words
        };
        // Outer block: the inner digest, 0x80, zeros, length (64 + 32 bytes).
        for (chunk, word) in block[..32].chunks_exact_mut(4).zip(&inner) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        block[32] = 0x80;
        block[33..56].fill(0);
        block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
        let mut state = self.outer;
        sha2::compress256(&mut state, std::slice::from_ref(&block));
        block.zeroize();
        state
    }

    /// Writes the pseudonym of an identifier (trimmed, upper-cased, keyed,
    /// 128 bits) as 32 lowercase hex digits into `out`.
    pub fn pseudonym_into(&self, id: &str, out: &mut [u8; PSEUDONYM_HEX]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let id = id.trim();
        let mut stack = [0u8; 64];
        let state = if id.len() <= stack.len() && id.is_ascii() {
            let normalised = &mut stack[..id.len()];
            normalised.copy_from_slice(id.as_bytes());
            normalised.make_ascii_uppercase();
            self.mac_state(normalised)
        } else {
            self.mac_state(id.to_uppercase().as_bytes())
        };
        // 128 bits = the first four words, big-endian, in hex.
        for (i, word) in state[..PSEUDONYM_HEX / 8].iter().enumerate() {
            for (j, b) in word.to_be_bytes().iter().enumerate() {
                out[8 * i + 2 * j] = HEX[usize::from(b >> 4)];
                out[8 * i + 2 * j + 1] = HEX[usize::from(b & 0x0f)];
            }
        }
    }

    /// The pseudonym of an identifier: trimmed, upper-cased, keyed, 128 bits in hex.
    pub fn pseudonym(&self, id: &str) -> String {
        let mut out = [0u8; PSEUDONYM_HEX];
        self.pseudonym_into(id, &mut out);
        out.iter().map(|&b| char::from(b)).collect()
    }

    /// Pseudonyms of many identifiers as an Arrow array, in parallel
    /// chunks; nulls stay null.
    pub fn pseudonyms(&self, ids: &[Option<&str>]) -> arrow::array::StringArray {
        use arrow::array::{Array, StringArray, StringBuilder};
        let chunks: Vec<StringArray> = ids
            .par_chunks(8192)
            .map(|chunk| {
                let mut b = StringBuilder::with_capacity(chunk.len(), chunk.len() * PSEUDONYM_HEX);
                let mut out = [0u8; PSEUDONYM_HEX];
                for id in chunk {
                    match id {
                        Some(s) => {
                            self.pseudonym_into(s, &mut out);
                            b.append_value(std::str::from_utf8(&out).expect("hex is ASCII"));
                        }
                        None => b.append_null(),
                    }
                }
                b.finish()
            })
            .collect();
        let refs: Vec<&dyn Array> = chunks.iter().map(|c| c as &dyn Array).collect();
        match refs.len() {
            0 => StringArray::from(Vec::<Option<&str>>::new()),
            _ => arrow::array::AsArray::as_string::<i32>(
                arrow::compute::concat(&refs).expect("same type").as_ref(),
            )
            .clone(),
        }
    }
}

/// Keyed digests of identifiers for the register of deliveries (issue 26):
/// HMAC-SHA256 under the register's own key, 128 bits in hex, of the
/// identifier's kind and its normalised value (`nir:1850…`), so that the
/// same value under two kinds gives two digests. The register holds these,
/// never a raw identifier nor a recipient's pseudonym.
pub(crate) struct RegisterDigests(Pseudonymiser);

impl RegisterDigests {
    pub(crate) fn new(key: &SecretKey) -> Self {
        RegisterDigests(Pseudonymiser::new(key))
    }

    /// The digest of one identifier of a kind (`identifiant_spe`, `nir`…);
    /// `None` for a missing or blank one.
    pub(crate) fn digest(&self, kind: &str, id: Option<&str>) -> Option<String> {
        let id = id?.trim();
        (!id.is_empty()).then(|| self.0.pseudonym(&format!("{kind}:{id}")))
    }

    /// The digests of a text column of identifiers of one kind.
    ///
    /// # Errors
    /// `Internal` when the column cannot be read as text.
    pub(crate) fn digests(
        &self,
        kind: &str,
        ids: &arrow::array::ArrayRef,
    ) -> Result<Vec<Option<String>>> {
        let text = arrow::compute::cast(ids, &arrow::datatypes::DataType::Utf8)?;
        Ok(arrow::array::AsArray::as_string::<i32>(&text)
            .iter()
            .map(|id| self.digest(kind, id))
            .collect())
    }
}

fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    fn key(bytes: &[u8]) -> SecretKey {
        SecretKey {
            bytes: bytes.to_vec(),
        }
    }

    /// RFC 4231 test cases 1–4, 6 and 7 (case 5 is about truncation).
    #[test]
    fn rfc4231_vectors() {
        let cases: &[(Vec<u8>, Vec<u8>, &str)] = &[
            (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (
                (1..=25).collect(),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (k, msg, expected) in cases {
            let p = Pseudonymiser::new(&key(k));
            assert_eq!(hex::encode(p.mac(msg)), *expected);
        }
    }

    #[test]
    fn fast_path_matches_the_hmac_crate() {
        let k = key(&[7u8; 32]);
        let p = Pseudonymiser::new(&k);
        for len in 0..120 {
            let msg: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let mut reference = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
            reference.update(&msg);
            assert_eq!(
                p.mac(&msg).to_vec(),
                reference.finalize().into_bytes().to_vec(),
                "len {len}"
            );
        }
    }

    #[test]
    fn pseudonyms_are_normalised_keyed_and_128_bits() {
        let a = Pseudonymiser::new(&key(&[1u8; 32]));
        let b = Pseudonymiser::new(&key(&[2u8; 32]));
        assert_eq!(a.pseudonym(" 123abc "), a.pseudonym("123ABC"));
        assert_ne!(a.pseudonym("123ABC"), b.pseudonym("123ABC"));
        assert_eq!(a.pseudonym("x").len(), PSEUDONYM_HEX);
        let many = a.pseudonyms(&[Some("123abc"), None]);
        assert_eq!(many.value(0), a.pseudonym("123ABC"));
        assert!(arrow::array::Array::is_null(&many, 1));
        // Non-ASCII identifiers take the Unicode upper-casing path.
        assert_eq!(a.pseudonym("éa"), a.pseudonym("ÉA"));
    }

    #[test]
    fn register_digests_separate_kinds_and_normalise() {
        let d = RegisterDigests::new(&key(&[3u8; 32]));
        let a = d.digest("nir", Some(" 185abc ")).unwrap();
        assert_eq!(Some(a.clone()), d.digest("nir", Some("185ABC")));
        assert_ne!(Some(a.clone()), d.digest("identifiant_spe", Some("185ABC")));
        // Not the recipient's pseudonym under the same key either.
        assert_ne!(a, Pseudonymiser::new(&key(&[3u8; 32])).pseudonym("185ABC"));
        assert_eq!(d.digest("nir", Some("  ")), None);
        assert_eq!(d.digest("nir", None), None);
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(SecretKey::from_bytes(vec![0u8; 31]).is_err());
        assert!(SecretKey::from_bytes(vec![0u8; 32]).is_ok());
    }
}
