//! The `ToneSearch` port (nearest past exchanges to a query vector) and its embedded
//! implementation over the index file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::RwLock;

use crate::error::IndexError;
use crate::index::VectorIndex;
use crate::review::ToneExample;

/// A past exchange similar to the query, with its cosine similarity.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneHit {
    /// The stored example.
    pub example: ToneExample,
    /// Cosine similarity in `[-1, 1]` (Pinecone: the index's metric score).
    pub score: f32,
    /// The example's id in the index (position for the file index, vector id for Pinecone).
    pub id: String,
}

/// Finds the stored exchanges nearest to a query vector. Implementations: [`FileIndex`]
/// (the embedded index file), [`crate::PineconeIndex`].
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait ToneSearch: Send + Sync {
    /// The `k` nearest examples, best first. `model` is the embedder's model name, checked
    /// against the index's where the index records it.
    async fn search(
        &self,
        query: &[f32],
        model: &str,
        k: usize,
    ) -> Result<Vec<ToneHit>, IndexError>;
}

/// The embedded index file, loaded on first use and kept in memory. A missing or corrupt
/// file is reported on each search (and retried on the next), so a studio can build the
/// index while the service runs; [`FileIndex::reload`] picks up a rebuilt file.
#[derive(Debug)]
pub struct FileIndex {
    path: PathBuf,
    loaded: RwLock<Option<Arc<VectorIndex>>>,
}

impl FileIndex {
    /// An index read lazily from `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            loaded: RwLock::new(None),
        }
    }

    /// An index already in memory (tests, benchmarks); `path` is only used in messages.
    pub fn from_index(path: impl Into<PathBuf>, index: VectorIndex) -> Self {
        Self {
            path: path.into(),
            loaded: RwLock::new(Some(Arc::new(index))),
        }
    }

    /// The file this index reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the file again (after `inkdesk index` rebuilt it); returns the entry count.
    pub async fn reload(&self) -> Result<usize, IndexError> {
        let path = self.path.clone();
        let index = tokio::task::spawn_blocking(move || VectorIndex::load(&path))
            .await
            .map_err(|e| IndexError::Io(std::io::Error::other(e)))??;
        let count = index.len();
        *self.loaded.write().await = Some(Arc::new(index));
        Ok(count)
    }

    async fn current(&self) -> Result<Arc<VectorIndex>, IndexError> {
        if let Some(index) = self.loaded.read().await.as_ref() {
            return Ok(Arc::clone(index));
        }
        self.reload().await?;
        self.loaded
            .read()
            .await
            .as_ref()
            .map(Arc::clone)
            .ok_or_else(|| IndexError::Missing {
                path: self.path.clone(),
            })
    }
}

#[async_trait]
impl ToneSearch for FileIndex {
    async fn search(
        &self,
        query: &[f32],
        model: &str,
        k: usize,
    ) -> Result<Vec<ToneHit>, IndexError> {
        let index = self.current().await?;
        if index.model() != model {
            return Err(IndexError::ModelMismatch {
                index: index.model().to_owned(),
                embedder: model.to_owned(),
            });
        }
        let found = index.search(query, k)?;
        Ok(found
            .into_iter()
            .filter_map(|(position, score)| {
                index.entry(position).map(|example| ToneHit {
                    example: example.clone(),
                    score,
                    id: position.to_string(),
                })
            })
            .collect())
    }
}
