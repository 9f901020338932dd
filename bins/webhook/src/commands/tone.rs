//! `inkdesk import-inbox | index`: the studio's past replies as tone examples, and the
//! wiring of the live retriever the server hands to the engine.
//!
//! The offline path: `import-inbox` turns an Instagram messages export into a review file
//! (every pair `"approved": false`); the studio marks the pairs it wants imitated; `index`
//! embeds only the approved pairs into `INKDESK_DATA_DIR/tone.index`, or uploads them to
//! Pinecone with `--pinecone`. `inkdesk serve` uses the index when it exists at start-up
//! (restart it after a rebuild) or Pinecone when `PINECONE_API_KEY` and `PINECONE_INDEX`
//! are set.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use inkdesk_tone::retrieve::EmbeddingCache;
use inkdesk_tone::{
    FileIndex, MemoryEmbeddingCache, OpenAiEmbedder, OpenAiEmbeddingsConfig, PineconeConfig,
    PineconeIndex, Progress, RetrievalConfig, RetryPolicy, Stage, ToneError, ToneRetriever,
    ToneSearch,
};
use url::Url;

use crate::EXIT_BAD_INPUT;
use crate::settings::{ProcessEnv, Settings};
use crate::studio;

/// The index file's name inside `INKDESK_DATA_DIR`.
pub const TONE_INDEX_FILE: &str = "tone.index";

/// Where OpenAI serves embeddings when `OPENAI_BASE_URL` is unset.
const OPENAI_API: &str = "https://api.openai.com/v1";

/// Longest wait for Pinecone's control plane to name an index's host.
const HOST_LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Query embeddings kept in memory by the live retriever.
const QUERY_CACHE_ENTRIES: usize = 2048;

/// Arguments of `inkdesk import-inbox`.
#[derive(Debug, Args)]
pub struct ImportInboxArgs {
    /// The unpacked export: its folder, its `messages` folder or its `inbox` folder.
    pub path: PathBuf,
    /// The review file to write (JSONL).
    #[arg(long, default_value = "tone-review.jsonl")]
    pub out: PathBuf,
    /// Studio profile (TOML): its `instagram_name` (else `name`) tells the studio's turns
    /// from the customer's.
    #[arg(long, env = "INKDESK_STUDIO")]
    pub studio: Option<PathBuf>,
}

/// Arguments of `inkdesk index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// The reviewed file; only lines with `"approved": true` are indexed.
    pub path: PathBuf,
    /// Upload to the Pinecone index `PINECONE_INDEX` instead of writing the index file.
    #[arg(long)]
    pub pinecone: bool,
}

/// Progress bars on stderr (drawn only on a terminal).
#[derive(Default)]
struct Bars {
    current: Mutex<Option<ProgressBar>>,
}

impl Progress for Bars {
    fn begin(&self, stage: Stage, total: u64) {
        let label = match stage {
            Stage::ReadingThreads => "reading threads",
            Stage::Embedding => "embedding",
        };
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(label);
        if let Ok(mut current) = self.current.lock() {
            *current = Some(bar);
        }
    }

    fn advance(&self, delta: u64) {
        if let Ok(current) = self.current.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.inc(delta);
        }
    }

    fn finish(&self) {
        if let Ok(mut current) = self.current.lock()
            && let Some(bar) = current.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// Errors the user fixes by changing the input, not by retrying.
fn is_bad_input(error: &ToneError, input: &Path) -> bool {
    match error {
        ToneError::ExportNotFound { .. }
        | ToneError::ExportParse { .. }
        | ToneError::ReviewParse { .. }
        | ToneError::NothingApproved { .. } => true,
        ToneError::Io { path, .. } => path == input,
        _ => false,
    }
}

fn bad_input(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(EXIT_BAD_INPUT))
}

/// `inkdesk import-inbox`.
pub fn import_inbox(args: &ImportInboxArgs) -> anyhow::Result<ExitCode> {
    let (profile, _) = match studio::load(args.studio.as_deref()) {
        Ok(loaded) => loaded,
        Err(err) => return bad_input(format!("{err:#}")),
    };
    let studio_name = profile.instagram_name.as_deref().unwrap_or(&profile.name);
    let bars = Bars::default();
    let report = match inkdesk_tone::import_inbox(&args.path, studio_name, &args.out, &bars) {
        Ok(report) => report,
        Err(err) if is_bad_input(&err, &args.path) => return bad_input(error_chain(&err)),
        Err(err) => return Err(err).context("import failed"),
    };
    println!(
        "read {} threads, {} messages (studio: \"{studio_name}\")",
        report.threads, report.messages
    );
    println!(
        "wrote {} pairs to {} (dropped: {} too short, {} automatic greetings, {} duplicates)",
        report.written,
        report.out.display(),
        report.too_short,
        report.greetings_removed,
        report.duplicates
    );
    if report.written == 0 {
        println!(
            "no pairs: is \"{studio_name}\" the studio's display name in the export? Set `instagram_name` in the studio profile."
        );
    } else {
        println!(
            "next: set \"approved\": true on the pairs the studio wants imitated, then run `inkdesk index {}`",
            report.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `inkdesk index`.
pub async fn index(args: &IndexArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env(&ProcessEnv)?;
    let Some(embedder) = embedder(&settings, false)? else {
        return bad_input(
            "no embeddings service: set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (a compatible server)",
        );
    };
    let bars = Bars::default();
    if args.pinecone {
        let Some((key, name)) = settings.tone.pinecone() else {
            return bad_input("--pinecone needs PINECONE_API_KEY and PINECONE_INDEX");
        };
        let mut config = PineconeConfig::new(pinecone_host(&settings).await?, key.clone());
        config.timeout = Duration::from_secs(30);
        config.retry = RetryPolicy::patient();
        let pinecone = PineconeIndex::new(config).context("cannot build the Pinecone client")?;
        let report =
            match inkdesk_tone::upload_to_pinecone(&args.path, &embedder, &pinecone, &bars).await {
                Ok(report) => report,
                Err(err) if is_bad_input(&err, &args.path) => return bad_input(error_chain(&err)),
                Err(err) => return Err(err).context("upload to Pinecone failed"),
            };
        println!(
            "embedded {} approved pairs with {}; Pinecone index {name} upserted {}",
            report.sent, report.model, report.upserted
        );
        return Ok(ExitCode::SUCCESS);
    }
    let dir = &settings.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let out = dir.join(TONE_INDEX_FILE);
    let report = match inkdesk_tone::build_index(&args.path, &embedder, &out, &bars).await {
        Ok(report) => report,
        Err(err) if is_bad_input(&err, &args.path) => return bad_input(error_chain(&err)),
        Err(err) => return Err(err).context("indexing failed"),
    };
    println!(
        "indexed {} approved pairs ({}, {} dimensions) into {}; restart `inkdesk serve` to use it",
        report.indexed,
        report.model,
        report.dimension,
        report.path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The embeddings adapter on the configured OpenAI-compatible server, if any. `live` is
/// for turns: short timeout, one retry (the retriever gives up after 5 s anyway).
pub fn embedder(settings: &Settings, live: bool) -> anyhow::Result<Option<OpenAiEmbedder>> {
    let model = &settings.model;
    if !model.is_configured() {
        return Ok(None);
    }
    let base = model.base_url.as_deref().unwrap_or(OPENAI_API);
    let base_url =
        Url::parse(base).with_context(|| format!("OPENAI_BASE_URL `{base}` is not a URL"))?;
    let mut config = OpenAiEmbeddingsConfig::new(
        base_url,
        model.api_key.clone(),
        settings.tone.embedding_model.clone(),
    );
    if live {
        config.timeout = Duration::from_secs(4);
        config.retry = RetryPolicy {
            max_retries: 1,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(1),
        };
    }
    Ok(Some(
        OpenAiEmbedder::new(config).context("cannot build the embeddings client")?,
    ))
}

async fn pinecone_host(settings: &Settings) -> anyhow::Result<Url> {
    let Some((key, name)) = settings.tone.pinecone() else {
        anyhow::bail!("PINECONE_API_KEY and PINECONE_INDEX are not both set");
    };
    let control = &settings.tone.pinecone_control_url;
    let control = Url::parse(control)
        .with_context(|| format!("PINECONE_CONTROL_URL `{control}` is not a URL"))?;
    PineconeIndex::resolve_host(&control, key, name, HOST_LOOKUP_TIMEOUT)
        .await
        .with_context(|| format!("cannot look up the host of Pinecone index {name}"))
}

/// A query-embedding cache in process memory (for `inkdesk chat`).
pub fn memory_cache() -> Arc<dyn EmbeddingCache> {
    Arc::new(MemoryEmbeddingCache::new(QUERY_CACHE_ENTRIES))
}

/// The live retriever for `inkdesk serve`: Pinecone when configured, else the index file
/// when it exists; `None` (with the reason logged) when there is no embedder or no index.
/// Never an error: tone examples are an extra. Query embeddings are cached in `cache`
/// (the shared store for `serve`, process memory for `chat`).
pub async fn retriever(
    settings: &Settings,
    cache: Arc<dyn EmbeddingCache>,
) -> Option<Arc<ToneRetriever>> {
    let index_path = settings.data_dir.join(TONE_INDEX_FILE);
    let pinecone = settings.tone.pinecone().is_some();
    if !pinecone && !index_path.exists() {
        tracing::debug!(path = %index_path.display(), "no tone index: replies without tone examples");
        return None;
    }
    let embedder = match embedder(settings, true) {
        Ok(Some(embedder)) => embedder,
        Ok(None) => return None,
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "tone examples off");
            return None;
        }
    };
    let search: Arc<dyn ToneSearch> = match settings.tone.pinecone() {
        Some((key, _)) => {
            let built = async {
                let host = pinecone_host(settings).await?;
                PineconeIndex::new(PineconeConfig::new(host, key.clone()))
                    .context("cannot build the Pinecone client")
            };
            match built.await {
                Ok(index) => Arc::new(index),
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "tone examples off");
                    return None;
                }
            }
        }
        None => Arc::new(FileIndex::new(index_path)),
    };
    tracing::info!(
        source = if pinecone { "pinecone" } else { "index file" },
        model = %settings.tone.embedding_model,
        "tone examples on"
    );
    Some(Arc::new(ToneRetriever::new(
        Arc::new(embedder),
        search,
        cache,
        RetrievalConfig::default(),
    )))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
