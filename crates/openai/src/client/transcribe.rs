//! `POST {base}/audio/transcriptions`: the multipart upload OpenAI documents (`file`,
//! `model`, `language`, `response_format=json`) and its JSON answer
//! (`{"text", "usage": {"type": "tokens", …} | {"type": "duration", "seconds"}}`).

use async_trait::async_trait;
use serde::Deserialize;
use tokio::time::Instant;
use tracing::Instrument;

use super::OpenAiClient;
use super::multipart::Form;
use crate::error::ModelError;
use crate::transcribe::{Transcriber, Transcription, TranscriptionRequest, TranscriptionUsage};

/// The JSON answer; every field but `text` optional (compatible servers send less).
#[derive(Debug, Deserialize)]
struct WireTranscription {
    text: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u32,
    #[serde(default)]
    output_tokens: u32,
    #[serde(default)]
    seconds: Option<f64>,
}

#[async_trait]
impl Transcriber for OpenAiClient {
    async fn transcribe(&self, request: TranscriptionRequest) -> Result<Transcription, ModelError> {
        let model = self.config.tasks.transcribe.clone();
        let span =
            tracing::info_span!("transcription", model = %model, bytes = request.audio.len());
        async {
            let permit = self
                .transcribe_breaker
                .try_acquire()
                .map_err(|retry_in| ModelError::Unavailable { retry_in })?;
            let mut form = Form::default()
                .file("file", &request.file_name, &request.mime, request.audio)
                .text("model", model.clone());
            if let Some(language) = &request.language {
                form = form.text("language", language.clone());
            }
            let (content_type, body) = form.text("response_format", "json").encode();
            let started = Instant::now();
            let deadline = self.config.deadline;
            let outcome = tokio::time::timeout(
                deadline,
                self.post_with_retries(
                    &self.transcriptions,
                    &content_type,
                    body,
                    started + deadline,
                ),
            )
            .await
            .unwrap_or(Err(ModelError::Timeout { after: deadline }));
            match &outcome {
                Ok(_) | Err(ModelError::Rejected { .. }) => permit.success(),
                Err(_) => permit.failure(),
            }
            let (bytes, _retries) = outcome.inspect_err(|error| {
                tracing::warn!(error = %error, "transcription failed");
            })?;
            let wire: WireTranscription =
                serde_json::from_slice(&bytes).map_err(|e| ModelError::InvalidResponse {
                    reason: format!("body is not a transcription: {e}"),
                })?;
            let usage = wire.usage.unwrap_or_default();
            let transcription = Transcription {
                text: wire.text.trim().to_owned(),
                language: wire.language,
                usage: TranscriptionUsage {
                    model,
                    input_tokens: usage.input_tokens,
                    output_tokens: usage.output_tokens,
                    seconds: usage.seconds,
                    latency: started.elapsed(),
                },
            };
            tracing::info!(
                input_tokens = transcription.usage.input_tokens,
                output_tokens = transcription.usage.output_tokens,
                latency_ms = transcription.usage.latency.as_millis() as u64,
                "transcription finished"
            );
            Ok(transcription)
        }
        .instrument(span)
        .await
    }
}
