//! Voice notes: each audio attachment of the pending messages is downloaded under the
//! profile's size cap, checked against its length cap, transcribed once and the transcript
//! stored on the attachment, where [`combine`](crate::message::combine) shows it to the model
//! as what the customer said. Any failure leaves the plain "[voice message …]" line and the
//! turn goes on.
//!
//! **Once.** A transcript is journalled through the [`EffectLedger`] as soon as it is made
//! (key `transcript:<mid>#<index>`): a turn resumed after a crash reads it back instead of
//! paying for the same recording again. The runner logs the turn's transcripts with its
//! outcome, and later turns read them from the history.

use inkdesk_domain::Language;
use inkdesk_domain::profile::VoiceNotes;
use inkdesk_messaging::AttachmentFetcher;
use inkdesk_openai::{Transcriber, TranscriptionRequest};
use serde::{Deserialize, Serialize};

use super::ledger::EffectLedger;
use super::record::{CallKind, ModelCallRecord};
use crate::message::{AttachmentKind, CustomerMessage, VoiceTranscript};

/// A new transcript, to be stored on attachment `index` of message `mid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTranscript {
    /// The message the voice note came with.
    pub mid: String,
    /// Its position among the message's attachments.
    pub index: usize,
    /// The result.
    pub transcript: VoiceTranscript,
}

/// The ledger key of one voice note's transcript.
pub fn transcript_key(mid: &str, index: usize) -> String {
    format!("transcript:{mid}#{index}")
}

/// ISO-639-1 code of a reply language, the transcription endpoint's `language`.
pub fn iso_code(language: Language) -> &'static str {
    match language {
        Language::El => "el",
        Language::En => "en",
    }
}

/// Transcribes every voice note in `messages` that has no transcript yet, in place;
/// returns the new transcripts (to store) and the model calls made. Without a transcriber,
/// or with transcription turned off in the profile, nothing changes.
pub(crate) async fn transcribe_pending(
    transcriber: Option<&dyn Transcriber>,
    fetcher: &dyn AttachmentFetcher,
    caps: &VoiceNotes,
    language: Language,
    ledger: &dyn EffectLedger,
    messages: &mut [CustomerMessage],
) -> (Vec<NewTranscript>, Vec<ModelCallRecord>) {
    let Some(transcriber) = transcriber.filter(|_| caps.transcribe) else {
        return (Vec::new(), Vec::new());
    };
    let mut jobs = Vec::new();
    for (m, message) in messages.iter().enumerate() {
        for (index, attachment) in message.attachments.iter().enumerate() {
            if attachment.kind == AttachmentKind::Audio && attachment.transcript.is_none() {
                jobs.push((m, index, message.mid.clone(), attachment.url.clone()));
            }
        }
    }
    if jobs.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let language = iso_code(language);
    let results = futures::future::join_all(jobs.iter().map(|(_, index, mid, url)| async move {
        let key = transcript_key(mid, *index);
        if let Some(done) = ledger.performed(&key).await
            && let Ok(transcript) = serde_json::from_value::<VoiceTranscript>(done)
        {
            return (transcript, None, false);
        }
        let Some(url) = url else {
            return (failed("the voice note has no URL"), None, false);
        };
        transcribe_one(transcriber, fetcher, caps, language, url).await
    }))
    .await;
    let mut transcripts = Vec::with_capacity(jobs.len());
    let mut calls = Vec::new();
    for ((m, index, mid, _), (transcript, call, journal)) in jobs.into_iter().zip(results) {
        if journal {
            // Journalled one by one: the ledger's writes must not overlap. A refusal (the
            // lease is gone) is the runner's to act on once the engine returns.
            let value = serde_json::to_value(&transcript).unwrap_or_default();
            if let Err(error) = ledger.done(&transcript_key(&mid, index), &value).await {
                tracing::warn!(%error, "transcript not journalled");
            }
        }
        calls.extend(call);
        if let Some(attachment) = messages[m].attachments.get_mut(index) {
            attachment.transcript = Some(transcript.clone());
        }
        transcripts.push(NewTranscript {
            mid,
            index,
            transcript,
        });
    }
    (transcripts, calls)
}

fn failed(reason: impl Into<String>) -> VoiceTranscript {
    VoiceTranscript::Failed {
        reason: reason.into(),
    }
}

/// One voice note: the transcript, the model call (when one was made) and whether to
/// journal it (a call was made: its answer must not be paid for twice).
async fn transcribe_one(
    transcriber: &dyn Transcriber,
    fetcher: &dyn AttachmentFetcher,
    caps: &VoiceNotes,
    language: &str,
    url: &str,
) -> (VoiceTranscript, Option<ModelCallRecord>, bool) {
    let downloaded = match fetcher.fetch_capped(url, caps.max_bytes as usize).await {
        Ok(d) => d,
        Err(e) => return (failed(format!("download failed: {e}")), None, false),
    };
    if let Some(seconds) = downloaded.declared_seconds()
        && seconds > u64::from(caps.max_seconds)
    {
        let reason = format!(
            "the recording lasts {seconds} s, over the {} s cap",
            caps.max_seconds
        );
        return (failed(reason), None, false);
    }
    let Some(request) =
        TranscriptionRequest::for_audio(downloaded.bytes, &downloaded.mime, Some(language))
    else {
        let reason = format!(
            "not an audio format the transcriber reads ({})",
            downloaded.mime
        );
        return (failed(reason), None, false);
    };
    let started = tokio::time::Instant::now();
    match transcriber.transcribe(request).await {
        Ok(transcription) => {
            let usage = &transcription.usage;
            let call = ModelCallRecord {
                kind: CallKind::Transcribe,
                model: usage.model.clone(),
                prompt_tokens: usage.input_tokens,
                cached_tokens: 0,
                completion_tokens: usage.output_tokens,
                audio_seconds: usage
                    .seconds
                    .map_or(0, |s| s.max(0.0).ceil().min(f64::from(u32::MAX)) as u32),
                latency: started.elapsed(),
                ok: true,
            };
            let text = cap_chars(&transcription.text, caps.max_transcript_chars as usize);
            let transcript = if text.is_empty() {
                failed("no speech recognised")
            } else {
                VoiceTranscript::Transcribed {
                    text,
                    language: Some(language.to_owned()),
                }
            };
            (transcript, Some(call), true)
        }
        Err(e) => {
            let call = ModelCallRecord {
                kind: CallKind::Transcribe,
                model: String::new(),
                prompt_tokens: 0,
                cached_tokens: 0,
                completion_tokens: 0,
                audio_seconds: 0,
                latency: started.elapsed(),
                ok: false,
            };
            (
                failed(format!("transcription failed: {e}")),
                Some(call),
                false,
            )
        }
    }
}

/// `text` trimmed and cut to `max` characters (with "…" when cut).
fn cap_chars(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use inkdesk_messaging::StaticFetcher;
    use inkdesk_openai::{ModelError, Transcription, TranscriptionUsage};
    use serde_json::Value;

    use super::*;
    use crate::engine::ledger::Fenced;
    use crate::message::AttachmentInfo;

    struct Counting(AtomicUsize);

    #[async_trait]
    impl Transcriber for Counting {
        async fn transcribe(
            &self,
            request: TranscriptionRequest,
        ) -> Result<Transcription, ModelError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            assert_eq!(request.language.as_deref(), Some("el"));
            Ok(Transcription {
                text: " Θα ήθελα ραντεβού την Παρασκευή ".to_owned(),
                language: None,
                usage: TranscriptionUsage {
                    model: "gpt-4o-mini-transcribe".to_owned(),
                    input_tokens: 90,
                    output_tokens: 12,
                    ..TranscriptionUsage::default()
                },
            })
        }
    }

    /// A journal in memory: what `done` recorded, `performed` answers.
    #[derive(Default)]
    struct Journal(Mutex<Vec<(String, Value)>>);

    #[async_trait]
    impl EffectLedger for Journal {
        async fn performed(&self, key: &str) -> Option<Value> {
            let entries = self.0.lock().unwrap();
            entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        }
        async fn begin(&self, _key: &str) -> Result<(), Fenced> {
            Ok(())
        }
        async fn done(&self, key: &str, result: &Value) -> Result<(), Fenced> {
            self.0
                .lock()
                .unwrap()
                .push((key.to_owned(), result.clone()));
            Ok(())
        }
    }

    fn voice_message(mid: &str, url: &str) -> Vec<CustomerMessage> {
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        vec![CustomerMessage {
            text: None,
            attachments: vec![AttachmentInfo::audio(url)],
            ..CustomerMessage::text(mid, at, "")
        }]
    }

    #[tokio::test]
    async fn a_resumed_turn_reads_the_journalled_transcript_instead_of_paying_again() {
        let fetcher = StaticFetcher::new();
        fetcher.insert(
            "https://cdn/v.mp4",
            inkdesk_messaging::download::duration::mp4_header_for_tests(12),
        );
        let transcriber = Counting(AtomicUsize::new(0));
        let journal = Journal::default();
        let caps = VoiceNotes::default();
        let mut first = voice_message("m1", "https://cdn/v.mp4");
        let (made, calls) = transcribe_pending(
            Some(&transcriber),
            &fetcher,
            &caps,
            Language::El,
            &journal,
            &mut first,
        )
        .await;
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].kind, CallKind::Transcribe);
        assert_eq!(calls[0].prompt_tokens, 90);
        assert_eq!(
            made[0].transcript.text(),
            Some("Θα ήθελα ραντεβού την Παρασκευή")
        );
        // The same turn again (crashed before its plan): the journal answers.
        let mut again = voice_message("m1", "https://cdn/v.mp4");
        let (made_again, calls) = transcribe_pending(
            Some(&transcriber),
            &fetcher,
            &caps,
            Language::El,
            &journal,
            &mut again,
        )
        .await;
        assert_eq!(transcriber.0.load(Ordering::SeqCst), 1);
        assert!(calls.is_empty());
        assert_eq!(made_again, made);
        assert_eq!(
            again[0].attachments[0].transcript,
            first[0].attachments[0].transcript
        );
    }

    #[tokio::test]
    async fn a_recording_over_the_length_cap_is_not_sent_and_the_turn_goes_on() {
        let fetcher = StaticFetcher::new();
        fetcher.insert(
            "https://cdn/long.mp4",
            inkdesk_messaging::download::duration::mp4_header_for_tests(600),
        );
        let transcriber = Counting(AtomicUsize::new(0));
        let mut messages = voice_message("m2", "https://cdn/long.mp4");
        messages[0]
            .attachments
            .push(AttachmentInfo::audio("https://cdn/missing.mp4"));
        let (made, calls) = transcribe_pending(
            Some(&transcriber),
            &fetcher,
            &VoiceNotes::default(),
            Language::El,
            &Journal::default(),
            &mut messages,
        )
        .await;
        assert_eq!(transcriber.0.load(Ordering::SeqCst), 0);
        assert!(calls.is_empty());
        assert!(
            matches!(&made[0].transcript, VoiceTranscript::Failed { reason } if reason.contains("600 s"))
        );
        assert!(
            matches!(&made[1].transcript, VoiceTranscript::Failed { reason } if reason.contains("download"))
        );
        let line = crate::message::combine(&messages).text;
        assert_eq!(
            line,
            "[voice message; it cannot be viewed here]\n[voice message; it cannot be viewed here]"
        );
    }

    #[test]
    fn long_transcripts_are_cut_on_a_character_boundary() {
        assert_eq!(cap_chars("  γεια σας  ", 20), "γεια σας");
        assert_eq!(cap_chars("αβγδεζηθ", 5), "αβγδ…");
        assert_eq!(cap_chars("αβγδεζηθ", 5).chars().count(), 5);
    }
}
