//! The [`Transcriber`] port: audio in, text out, through an OpenAI-compatible
//! `/audio/transcriptions` endpoint ([`crate::OpenAiClient`] implements it).

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::ModelError;

/// One recording to transcribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptionRequest {
    /// The audio file's bytes.
    pub audio: Bytes,
    /// Its MIME type (`audio/mp4`, `audio/ogg`, …), sent as the file part's content type.
    pub mime: String,
    /// The file name sent with it; servers read the format from its extension.
    pub file_name: String,
    /// ISO-639-1 language hint (`el`, `en`); `None` lets the model detect it.
    pub language: Option<String>,
}

impl TranscriptionRequest {
    /// A request for `audio` of MIME type `mime` (as sniffed from the bytes), or `None` when
    /// the type is not one the transcription endpoint documents (flac, mp3, mp4, mpeg, mpga,
    /// m4a, ogg, wav, webm).
    pub fn for_audio(audio: Bytes, mime: &str, language: Option<&str>) -> Option<Self> {
        let (extension, content_type) = match mime {
            "audio/mp4" | "audio/m4a" | "audio/x-m4a" => ("m4a", "audio/mp4"),
            // Instagram voice notes are MP4 files; sniffing cannot tell audio-only MP4s.
            "video/mp4" => ("mp4", "audio/mp4"),
            "audio/mpeg" | "audio/mp3" => ("mp3", "audio/mpeg"),
            "audio/ogg" | "audio/opus" => ("ogg", "audio/ogg"),
            "audio/x-wav" | "audio/wav" | "audio/vnd.wave" => ("wav", "audio/wav"),
            "audio/webm" | "video/webm" => ("webm", "audio/webm"),
            "audio/x-flac" | "audio/flac" => ("flac", "audio/flac"),
            _ => return None,
        };
        Some(Self {
            audio,
            mime: content_type.to_owned(),
            file_name: format!("voice-note.{extension}"),
            language: language.map(str::to_owned),
        })
    }
}

/// What the transcription cost, as the server reported it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TranscriptionUsage {
    /// The model that was asked.
    pub model: String,
    /// Input tokens billed (`usage.input_tokens`; 0 when billed by duration).
    pub input_tokens: u32,
    /// Output tokens billed (`usage.output_tokens`).
    pub output_tokens: u32,
    /// Seconds of audio billed (`usage.seconds`, for models billed by duration).
    pub seconds: Option<f64>,
    /// Wall time of the call, retries included.
    pub latency: Duration,
}

/// A transcript.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transcription {
    /// The text, trimmed.
    pub text: String,
    /// The language the server detected, when it says (`verbose_json` servers do).
    pub language: Option<String>,
    /// Tokens or seconds billed.
    pub usage: TranscriptionUsage,
}

/// Turns recorded speech into text. Implementations: [`crate::OpenAiClient`] (any
/// OpenAI-compatible server) and `MockTranscriber` with the `testing` feature.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Transcriber: Send + Sync {
    /// Transcribes one recording.
    async fn transcribe(&self, request: TranscriptionRequest) -> Result<Transcription, ModelError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_formats_get_a_file_name_and_others_are_refused() {
        let request =
            TranscriptionRequest::for_audio(Bytes::from_static(b"x"), "video/mp4", Some("el"))
                .unwrap();
        assert_eq!(request.file_name, "voice-note.mp4");
        assert_eq!(request.mime, "audio/mp4");
        assert_eq!(request.language.as_deref(), Some("el"));
        let ogg = TranscriptionRequest::for_audio(Bytes::new(), "audio/ogg", None).unwrap();
        assert_eq!(ogg.file_name, "voice-note.ogg");
        for other in ["image/jpeg", "application/octet-stream", "video/quicktime"] {
            assert!(
                TranscriptionRequest::for_audio(Bytes::new(), other, None).is_none(),
                "{other}"
            );
        }
    }
}
