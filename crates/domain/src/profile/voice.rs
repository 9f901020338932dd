//! Limits on customers' voice notes (transcribed for the model).

use serde::{Deserialize, Serialize};

use super::ProfileError;

/// The largest file OpenAI's transcription endpoint accepts.
pub const TRANSCRIPTION_MAX_BYTES: u32 = 25 * 1024 * 1024;

/// How voice notes are handled: the caps that keep a long or large recording from being
/// downloaded, paid for or put in front of the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceNotes {
    /// Transcribe voice notes at all (when a transcription model is configured).
    pub transcribe: bool,
    /// Largest recording downloaded, in bytes (at most 25 MiB, the endpoint's limit).
    pub max_bytes: u32,
    /// Longest recording transcribed, in seconds (read from the file's header where the
    /// format declares it: MP4/M4A, WAV).
    pub max_seconds: u32,
    /// Longest transcript kept, in characters (the rest is cut with "…").
    pub max_transcript_chars: u32,
}

impl Default for VoiceNotes {
    fn default() -> Self {
        // Instagram voice notes last at most a minute (about 1 MB of AAC); the caps leave
        // room for longer clips a customer forwards, and stop anything far beyond.
        Self {
            transcribe: true,
            max_bytes: 10 * 1024 * 1024,
            max_seconds: 180,
            max_transcript_chars: 2000,
        }
    }
}

impl VoiceNotes {
    pub(super) fn validate(&self) -> Result<(), ProfileError> {
        let checks: [(&'static str, bool, &str); 3] = [
            (
                "voice_notes.max_bytes",
                (1..=TRANSCRIPTION_MAX_BYTES).contains(&self.max_bytes),
                "must be between 1 and 26214400 (25 MiB)",
            ),
            (
                "voice_notes.max_seconds",
                (1..=3600).contains(&self.max_seconds),
                "must be between 1 and 3600",
            ),
            (
                "voice_notes.max_transcript_chars",
                (1..=20_000).contains(&self.max_transcript_chars),
                "must be between 1 and 20000",
            ),
        ];
        for (field, ok, message) in checks {
            if !ok {
                return Err(ProfileError::Invalid {
                    field,
                    message: message.to_owned(),
                });
            }
        }
        Ok(())
    }
}
