//! The two entry points behind `inkdesk import-inbox` and `inkdesk index`, with a small
//! progress port the binary draws bars with.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::embed::Embedder;
use crate::error::{IndexError, ToneError};
use crate::export::{self, ImportOptions, normalise};
use crate::index::VectorIndex;
use crate::pinecone::PineconeIndex;
use crate::review::{self, ToneExample};
use crate::scrub::{scrub, scrub_personal};

/// A long-running step that reports progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the export's thread folders (total = threads).
    ReadingThreads,
    /// Embedding approved examples (total = examples).
    Embedding,
}

/// Receives progress of the import and indexing (the binary draws bars; tests ignore it).
pub trait Progress: Send + Sync {
    /// A stage starts with `total` units of work.
    fn begin(&self, stage: Stage, total: u64);
    /// `delta` more units are done.
    fn advance(&self, delta: u64);
    /// The current stage is over.
    fn finish(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _stage: Stage, _total: u64) {}
    fn advance(&self, _delta: u64) {}
    fn finish(&self) {}
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Thread folders read.
    pub threads: usize,
    /// Text messages read (after dropping system lines and media-only messages).
    pub messages: usize,
    /// Pairs written to the review file.
    pub written: usize,
    /// Pairs dropped as too short.
    pub too_short: usize,
    /// Studio messages dropped as the automatic greeting.
    pub greetings_removed: usize,
    /// Pairs dropped as exact duplicates (after scrubbing).
    pub duplicates: usize,
    /// The review file written.
    pub out: PathBuf,
}

/// What an index build did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexReport {
    /// Approved examples indexed.
    pub indexed: usize,
    /// Embedding model used.
    pub model: String,
    /// Vector dimension.
    pub dimension: usize,
    /// The index file written.
    pub path: PathBuf,
}

/// Import an Instagram messages export with default options for `studio_name` (the
/// studio's display name, `profile.instagram_name`) and write the review file.
pub fn import_inbox(
    path: &Path,
    studio_name: &str,
    out_jsonl: &Path,
    progress: &dyn Progress,
) -> Result<ImportReport, ToneError> {
    import_inbox_with(path, &ImportOptions::new(studio_name), out_jsonl, progress)
}

/// [`import_inbox`] with explicit options (greetings, minimum lengths).
pub fn import_inbox_with(
    path: &Path,
    options: &ImportOptions,
    out_jsonl: &Path,
    progress: &dyn Progress,
) -> Result<ImportReport, ToneError> {
    let inbox = export::find_inbox(path)?;
    let dirs = export::thread_dirs(&inbox)?;
    progress.begin(Stage::ReadingThreads, dirs.len() as u64);
    let mut threads = Vec::with_capacity(dirs.len());
    for dir in &dirs {
        threads.push(export::read_thread(dir, &options.studio_name)?);
        progress.advance(1);
    }
    progress.finish();
    let messages = threads.iter().map(|t| t.messages.len()).sum();
    let (pairs, stats) = export::pair_threads(&threads, options);
    let mut seen = HashSet::new();
    let mut examples = Vec::with_capacity(pairs.len());
    let mut duplicates = 0;
    let mut too_short = stats.too_short;
    for pair in pairs {
        let studio = scrub(&pair.studio);
        if studio.chars().count() < options.min_studio_chars {
            too_short += 1;
            continue;
        }
        if !seen.insert((normalise(&pair.customer), normalise(&studio))) {
            duplicates += 1;
            continue;
        }
        examples.push(ToneExample {
            customer: scrub_personal(&pair.customer),
            studio,
            thread: pair.thread,
            at: pair.at,
            approved: Some(false),
        });
    }
    review::write_jsonl(out_jsonl, &examples)?;
    Ok(ImportReport {
        threads: threads.len(),
        messages,
        written: examples.len(),
        too_short,
        greetings_removed: stats.greetings,
        duplicates,
        out: out_jsonl.to_path_buf(),
    })
}

/// How many texts go to the embedder per call from here (the adapter splits further).
const EMBED_CHUNK: usize = 128;

/// Embed the customer side of every approved example of `approved_jsonl` and write the
/// index file at `index_path` (atomically). See [`crate::review`] for the approval rule.
pub async fn build_index(
    approved_jsonl: &Path,
    embedder: &dyn Embedder,
    index_path: &Path,
    progress: &dyn Progress,
) -> Result<IndexReport, ToneError> {
    let examples = review::read_approved(approved_jsonl)?;
    let model = embedder.model();
    progress.begin(Stage::Embedding, examples.len() as u64);
    let mut index: Option<VectorIndex> = None;
    for chunk in examples.chunks(EMBED_CHUNK) {
        let texts: Vec<String> = chunk.iter().map(|e| e.customer.clone()).collect();
        let vectors = embedder.embed(&texts).await?;
        if vectors.len() != chunk.len() {
            return Err(crate::EmbedError::InvalidResponse(format!(
                "{} vectors for {} inputs",
                vectors.len(),
                chunk.len()
            ))
            .into());
        }
        for (example, vector) in chunk.iter().zip(vectors) {
            let index = index.get_or_insert_with(|| VectorIndex::new(&model, vector.len()));
            let mut stored = example.clone();
            stored.approved = None;
            index.push(stored, &vector)?;
        }
        progress.advance(chunk.len() as u64);
    }
    progress.finish();
    let index = index.ok_or(IndexError::ZeroVector)?;
    index.save(index_path)?;
    Ok(IndexReport {
        indexed: index.len(),
        model,
        dimension: index.dimension(),
        path: index_path.to_path_buf(),
    })
}

/// What an upload to Pinecone did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PineconeReport {
    /// Approved examples embedded and sent.
    pub sent: usize,
    /// What Pinecone says it upserted.
    pub upserted: usize,
    /// Embedding model used (the Pinecone index must have been created for its dimension).
    pub model: String,
}

/// A stable id for an example, so uploading the same file twice overwrites, not doubles.
pub fn example_id(example: &ToneExample) -> String {
    let mut hasher = Sha256::new();
    for part in [&example.thread, &example.customer, &example.studio] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(&hasher.finalize()[..16])
}

/// [`build_index`] for studios on Pinecone: embed the approved examples and upsert them
/// with their texts as metadata.
pub async fn upload_to_pinecone(
    approved_jsonl: &Path,
    embedder: &dyn Embedder,
    pinecone: &PineconeIndex,
    progress: &dyn Progress,
) -> Result<PineconeReport, ToneError> {
    let examples = review::read_approved(approved_jsonl)?;
    progress.begin(Stage::Embedding, examples.len() as u64);
    let mut upserted = 0;
    for chunk in examples.chunks(EMBED_CHUNK) {
        let texts: Vec<String> = chunk.iter().map(|e| e.customer.clone()).collect();
        let vectors = embedder.embed(&texts).await?;
        let records: Vec<(String, Vec<f32>, ToneExample)> = chunk
            .iter()
            .zip(vectors)
            .map(|(example, vector)| (example_id(example), vector, example.clone()))
            .collect();
        upserted += pinecone.upsert(&records).await?;
        progress.advance(chunk.len() as u64);
    }
    progress.finish();
    Ok(PineconeReport {
        sent: examples.len(),
        upserted,
        model: embedder.model(),
    })
}
