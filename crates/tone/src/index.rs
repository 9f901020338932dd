//! The embedded vector index: exact cosine search over normalised `f32` vectors, kept in
//! one file in the data dir.
//!
//! File format (version 1, little-endian):
//!
//! ```text
//! "INKTONE\x01"                      8 bytes magic
//! header length                      u32
//! header                             JSON {"version":1,"model":"…","dimension":D,"count":N}
//! vectors                            N × D × f32, each normalised to length 1
//! entries length                     u64
//! entries                            JSON array of N ToneExample
//! checksum                           SHA-256 of every byte before it
//! ```
//!
//! Writes go to a temporary file renamed over the old one, so a crash never leaves half an
//! index. At studio scale (thousands of pairs) a linear scan is enough: an `i8` copy of the
//! vectors (built at load, one scale per vector) is scanned for the best `max(8k, 32)`
//! candidates, which are then scored exactly in `f32`. Returned scores are exact cosines; the
//! candidate margin is far wider than the quantisation error, and a test checks the result
//! against brute force. See docs/PERFORMANCE.md, "Tone retrieval".

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::IndexError;
use crate::review::ToneExample;

const MAGIC: &[u8; 8] = b"INKTONE\x01";
const VERSION: u32 = 1;

/// What the index file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexHeader {
    /// Format version.
    pub version: u32,
    /// Embedding model the vectors came from.
    pub model: String,
    /// Vector dimension.
    pub dimension: usize,
    /// Number of entries.
    pub count: usize,
}

/// An in-memory index: examples with their normalised vectors.
#[derive(Debug, Clone)]
pub struct VectorIndex {
    model: String,
    dimension: usize,
    vectors: Vec<f32>,
    /// The same vectors as `i8` (one scale per vector): a scan reads a quarter of the bytes.
    quantized: Vec<i8>,
    scales: Vec<f32>,
    entries: Vec<ToneExample>,
}

/// Candidates kept by the quantised scan before exact re-ranking.
fn candidates(k: usize) -> usize {
    (k * 8).max(32)
}

/// Quantise a vector to `i8` with one scale: `x ≈ scale · q`.
fn quantise(vector: &[f32], out: &mut Vec<i8>) -> f32 {
    let max = vector.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    // In range by construction: |x / scale| ≤ 127.
    out.extend(
        vector
            .iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
    );
    scale
}

/// Integer dot product written so the compiler vectorises it.
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| i32::from(*x) * i32::from(*y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            *s += i32::from(*p) * i32::from(*q);
        }
    }
    acc.iter().sum::<i32>() + tail
}

/// Scale a vector to length 1; `None` for a zero (or non-finite) vector.
pub fn normalise(vector: &[f32]) -> Option<Vec<f32>> {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > f32::EPSILON && norm.is_finite()).then(|| vector.iter().map(|x| x / norm).collect())
}

/// Dot product written so the compiler vectorises it (eight independent sums).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Insert `(position, score)` into `best` (sorted, best first) keeping at most `k`.
fn keep_best(best: &mut Vec<(usize, f32)>, k: usize, position: usize, score: f32) {
    if best.len() == k && best.last().is_some_and(|&(_, worst)| score <= worst) {
        return;
    }
    let at = best.partition_point(|&(_, s)| s >= score);
    best.insert(at, (position, score));
    best.truncate(k);
}

impl VectorIndex {
    /// An empty index for vectors of `dimension` from `model`.
    pub fn new(model: impl Into<String>, dimension: usize) -> Self {
        Self {
            model: model.into(),
            dimension,
            vectors: Vec::new(),
            quantized: Vec::new(),
            scales: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// The embedding model of the vectors.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The vector dimension.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The example stored at `position`.
    pub fn entry(&self, position: usize) -> Option<&ToneExample> {
        self.entries.get(position)
    }

    /// Add an example with its (not necessarily normalised) vector.
    pub fn push(&mut self, example: ToneExample, vector: &[f32]) -> Result<(), IndexError> {
        if vector.len() != self.dimension {
            return Err(IndexError::DimensionMismatch {
                index: self.dimension,
                vector: vector.len(),
            });
        }
        let unit = normalise(vector).ok_or(IndexError::ZeroVector)?;
        self.vectors.extend_from_slice(&unit);
        let scale = quantise(&unit, &mut self.quantized);
        self.scales.push(scale);
        self.entries.push(example);
        Ok(())
    }

    /// The `k` entries most similar to `query` by cosine, best first, as
    /// `(position, score)`.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<(usize, f32)>, IndexError> {
        if query.len() != self.dimension {
            return Err(IndexError::DimensionMismatch {
                index: self.dimension,
                vector: query.len(),
            });
        }
        let query = normalise(query).ok_or(IndexError::ZeroVector)?;
        if k == 0 || self.dimension == 0 {
            return Ok(Vec::new());
        }
        // 1. Scan the i8 copies for the best few candidates (a quarter of the memory
        //    traffic), 2. score those exactly in f32. The quantisation error of a score is far
        //    below the gap the candidate margin covers, so the result is the exact top k.
        let mut q8 = Vec::with_capacity(self.dimension);
        let q_scale = quantise(&query, &mut q8);
        let wanted = candidates(k);
        let mut rough: Vec<(usize, f32)> = Vec::with_capacity(wanted + 1);
        for (position, (vector, scale)) in self
            .quantized
            .chunks_exact(self.dimension)
            .zip(&self.scales)
            .enumerate()
        {
            let score = dot_i8(&q8, vector) as f32 * scale * q_scale;
            keep_best(&mut rough, wanted, position, score);
        }
        let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
        for (position, _) in rough {
            let start = position * self.dimension;
            let exact = dot(&query, &self.vectors[start..start + self.dimension]);
            keep_best(&mut best, k, position, exact);
        }
        Ok(best)
    }

    /// Write the index to `path` atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), IndexError> {
        let header = IndexHeader {
            version: VERSION,
            model: self.model.clone(),
            dimension: self.dimension,
            count: self.entries.len(),
        };
        let header = serde_json::to_vec(&header).map_err(|e| IndexError::Corrupt(e.to_string()))?;
        let entries =
            serde_json::to_vec(&self.entries).map_err(|e| IndexError::Corrupt(e.to_string()))?;
        let header_len = u32::try_from(header.len())
            .map_err(|_| IndexError::Corrupt("header too large".into()))?;
        let mut bytes =
            Vec::with_capacity(64 + header.len() + self.vectors.len() * 4 + entries.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&header_len.to_le_bytes());
        bytes.extend_from_slice(&header);
        for x in &self.vectors {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        bytes.extend_from_slice(&(entries.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&entries);
        let checksum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&checksum);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(IndexError::Io)?;
        }
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, &bytes).map_err(IndexError::Io)?;
        fs::rename(&tmp, path).map_err(IndexError::Io)
    }

    /// Read an index written by [`VectorIndex::save`]. A missing file is
    /// [`IndexError::Missing`]; anything malformed is [`IndexError::Corrupt`].
    pub fn load(path: &Path) -> Result<Self, IndexError> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(IndexError::Missing {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(IndexError::Io(e)),
        };
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, IndexError> {
        let corrupt = |why: &str| IndexError::Corrupt(why.to_owned());
        if bytes.len() < MAGIC.len() + 4 + 8 + 32 || !bytes.starts_with(MAGIC) {
            return Err(corrupt("not a tone index file"));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != checksum {
            return Err(corrupt("checksum mismatch (truncated or damaged)"));
        }
        let mut cursor = Cursor {
            bytes: body,
            at: MAGIC.len(),
        };
        let header_len = u32::from_le_bytes(cursor.array()?) as usize;
        let header: IndexHeader = serde_json::from_slice(cursor.take(header_len)?)
            .map_err(|e| IndexError::Corrupt(format!("header: {e}")))?;
        if header.version != VERSION {
            return Err(IndexError::Corrupt(format!(
                "unsupported version {}",
                header.version
            )));
        }
        let floats = header
            .count
            .checked_mul(header.dimension)
            .ok_or_else(|| corrupt("size overflow"))?;
        let raw = cursor.take(
            floats
                .checked_mul(4)
                .ok_or_else(|| corrupt("size overflow"))?,
        )?;
        let vectors = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let entries_len = usize::try_from(u64::from_le_bytes(cursor.array()?))
            .map_err(|_| corrupt("size overflow"))?;
        let entries: Vec<ToneExample> = serde_json::from_slice(cursor.take(entries_len)?)
            .map_err(|e| IndexError::Corrupt(format!("entries: {e}")))?;
        if entries.len() != header.count || cursor.at != body.len() {
            return Err(corrupt("entry count does not match the header"));
        }
        let vectors: Vec<f32> = vectors;
        let mut quantized = Vec::with_capacity(vectors.len());
        let scales = if header.dimension == 0 {
            Vec::new()
        } else {
            vectors
                .chunks_exact(header.dimension)
                .map(|v| quantise(v, &mut quantized))
                .collect()
        };
        Ok(Self {
            model: header.model,
            dimension: header.dimension,
            vectors,
            quantized,
            scales,
            entries,
        })
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], IndexError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| IndexError::Corrupt("truncated".into()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], IndexError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn example(name: &str) -> ToneExample {
        ToneExample {
            customer: format!("customer {name}"),
            studio: format!("studio {name}"),
            thread: name.into(),
            at: DateTime::from_timestamp_millis(1_700_000_000_000).unwrap(),
            approved: None,
        }
    }

    fn sample() -> VectorIndex {
        let mut index = VectorIndex::new("test-model", 3);
        index.push(example("x"), &[1.0, 0.0, 0.0]).unwrap();
        index.push(example("xy"), &[1.0, 1.0, 0.0]).unwrap();
        index.push(example("y"), &[0.0, 2.0, 0.0]).unwrap();
        index.push(example("z"), &[0.0, 0.0, 5.0]).unwrap();
        index
    }

    #[test]
    fn search_ranks_by_cosine_best_first_regardless_of_length() {
        let hits = sample().search(&[3.0, 0.2, 0.0], 3).unwrap();
        let order: Vec<usize> = hits.iter().map(|h| h.0).collect();
        assert_eq!(order, vec![0, 1, 2]);
        assert!(hits[0].1 > 0.99 && hits[0].1 <= 1.0 + 1e-6);
        assert!((hits[1].1 - (3.2 / (9.04f32.sqrt() * 2f32.sqrt()))).abs() < 1e-5);
    }

    #[test]
    fn quantised_scan_then_exact_rerank_equals_brute_force() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for dimension in [7, 64, 384] {
            let mut index = VectorIndex::new("m", dimension);
            let mut plain = Vec::new();
            for n in 0..1500 {
                let v: Vec<f32> = (0..dimension).map(|_| next()).collect();
                index.push(example(&n.to_string()), &v).unwrap();
                plain.push(normalise(&v).unwrap());
            }
            for _ in 0..100 {
                let q: Vec<f32> = (0..dimension).map(|_| next()).collect();
                let qn = normalise(&q).unwrap();
                let mut brute: Vec<(usize, f32)> = plain
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i, v.iter().zip(&qn).map(|(a, b)| a * b).sum()))
                    .collect();
                brute.sort_by(|a, b| b.1.total_cmp(&a.1));
                let got = index.search(&q, 3).unwrap();
                let want: Vec<usize> = brute.iter().take(3).map(|h| h.0).collect();
                assert_eq!(got.iter().map(|h| h.0).collect::<Vec<_>>(), want);
                for (g, b) in got.iter().zip(&brute) {
                    assert!((g.1 - b.1).abs() < 1e-4);
                }
            }
        }
    }

    #[test]
    fn dot_matches_naive_sum_for_odd_lengths() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|i| 1.0 - i as f32 * 0.1).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.idx");
        let index = sample();
        index.save(&path).unwrap();
        let loaded = VectorIndex::load(&path).unwrap();
        assert_eq!(loaded.model(), "test-model");
        assert_eq!(loaded.dimension(), 3);
        assert_eq!(loaded.len(), 4);
        assert_eq!(loaded.entry(3), index.entry(3));
        assert_eq!(
            loaded.search(&[0.0, 0.0, 1.0], 1).unwrap(),
            index.search(&[0.0, 0.0, 1.0], 1).unwrap()
        );
    }

    #[test]
    fn missing_truncated_and_damaged_files_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.idx");
        assert!(matches!(
            VectorIndex::load(&path),
            Err(IndexError::Missing { .. })
        ));
        sample().save(&path).unwrap();
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
        assert!(matches!(
            VectorIndex::load(&path),
            Err(IndexError::Corrupt(_))
        ));
        let mut flipped = bytes.clone();
        flipped[40] ^= 0xff;
        fs::write(&path, &flipped).unwrap();
        assert!(matches!(
            VectorIndex::load(&path),
            Err(IndexError::Corrupt(_))
        ));
        fs::write(&path, b"hello").unwrap();
        assert!(matches!(
            VectorIndex::load(&path),
            Err(IndexError::Corrupt(_))
        ));
    }

    #[test]
    fn wrong_dimensions_and_zero_vectors_are_refused() {
        let mut index = sample();
        assert!(matches!(
            index.search(&[1.0, 0.0], 3),
            Err(IndexError::DimensionMismatch {
                index: 3,
                vector: 2
            })
        ));
        assert!(matches!(
            index.push(example("bad"), &[1.0]),
            Err(IndexError::DimensionMismatch { .. })
        ));
        assert!(matches!(
            index.push(example("zero"), &[0.0, 0.0, 0.0]),
            Err(IndexError::ZeroVector)
        ));
    }
}
