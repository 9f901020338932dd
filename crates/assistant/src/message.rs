//! The customer's pending messages as the engine sees them, and how a burst is combined
//! into one model message.
//!
//! Order is kept exactly: for each message, its story-reply or reply-to context, its text,
//! then one line per attachment (an analysed image shows its reference and measurements,
//! so the model can price *that* image and no other; a transcribed voice note shows its
//! words, marked as a voice note, and counts as what the customer said).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One message from the customer waiting for an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerMessage {
    /// The platform's message id.
    pub mid: String,
    /// When the customer sent it.
    pub sent_at: DateTime<Utc>,
    /// The text, if any.
    pub text: Option<String>,
    /// What the message answers, if anything.
    pub reply_to: Option<ReplyContext>,
    /// Attachments in the order sent.
    pub attachments: Vec<AttachmentInfo>,
    /// A reaction this event carries instead of text (a ❤ on our question, say).
    pub reaction: Option<ReactionInfo>,
}

impl CustomerMessage {
    /// A plain text message.
    pub fn text(mid: impl Into<String>, sent_at: DateTime<Utc>, text: impl Into<String>) -> Self {
        Self {
            mid: mid.into(),
            sent_at,
            text: Some(text.into()),
            reply_to: None,
            attachments: Vec::new(),
            reaction: None,
        }
    }

    /// A message with one image attachment.
    pub fn image(mid: impl Into<String>, sent_at: DateTime<Utc>, url: impl Into<String>) -> Self {
        Self {
            mid: mid.into(),
            sent_at,
            text: None,
            reply_to: None,
            attachments: vec![AttachmentInfo::image(url)],
            reaction: None,
        }
    }
}

/// What a customer's message replies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplyContext {
    /// One of the conversation's earlier messages.
    Message {
        /// Its id.
        mid: String,
        /// Its text, when the log still has it.
        quoted: Option<String>,
    },
    /// One of the studio's stories.
    Story {
        /// The story's media URL, when given.
        url: Option<String>,
    },
    /// The customer mentioned the studio in their story.
    StoryMention,
}

/// The kind of an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A photo (analysed by vision).
    Image,
    /// A video.
    Video,
    /// A voice message or audio.
    Audio,
    /// A file.
    File,
    /// A shared post.
    Share,
    /// A reel.
    Reel,
    /// A story mention.
    StoryMention,
    /// Anything else.
    Other,
}

/// An attachment and, for images, the result of the analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// What it is.
    pub kind: AttachmentKind,
    /// Where to download it (Instagram CDN; expires).
    pub url: Option<String>,
    /// The vision result, once analysed.
    pub analysis: Option<ImageAnalysis>,
    /// For a voice note: the transcript, once transcribed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<VoiceTranscript>,
}

impl AttachmentInfo {
    /// An image not analysed yet.
    pub fn image(url: impl Into<String>) -> Self {
        Self {
            kind: AttachmentKind::Image,
            url: Some(url.into()),
            analysis: None,
            transcript: None,
        }
    }

    /// A voice note not transcribed yet.
    pub fn audio(url: impl Into<String>) -> Self {
        Self {
            kind: AttachmentKind::Audio,
            url: Some(url.into()),
            analysis: None,
            transcript: None,
        }
    }
}

/// What became of a voice note, stored on the message it came with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum VoiceTranscript {
    /// The words, as the transcription model heard them.
    Transcribed {
        /// The transcript (capped by the profile's `voice_notes.max_transcript_chars`).
        text: String,
        /// The language asked for (ISO-639-1), if one was.
        language: Option<String>,
    },
    /// Not transcribed (too long or large, download or transcription failed, turned
    /// off); the model sees the plain "[voice message …]" line.
    Failed {
        /// Why, for traces (never shown to the customer).
        reason: String,
    },
}

impl VoiceTranscript {
    /// The words, when there are any.
    pub fn text(&self) -> Option<&str> {
        match self {
            VoiceTranscript::Transcribed { text, .. } if !text.trim().is_empty() => Some(text),
            _ => None,
        }
    }
}

/// A customer's reaction to one of our messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionInfo {
    /// The message reacted to.
    pub target_mid: String,
    /// The emoji (❤ by default on Instagram).
    pub emoji: String,
    /// The text of the message reacted to, when known.
    pub target_text: Option<String>,
}

/// What the vision model made of one image, stored on the message the image came with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ImageAnalysis {
    /// A design with measurements for the price formula.
    Measured(Measurements),
    /// Not a design to tattoo (a selfie, a screenshot, a healed tattoo).
    NotADesign {
        /// Short description.
        description: String,
    },
    /// The image could not be downloaded or analysed; the turn went on without it.
    Failed {
        /// Why, for traces (never shown to the customer).
        reason: String,
    },
}

/// Measurements of one design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    /// Short description.
    pub description: String,
    /// Height on skin, cm.
    pub height_cm: Decimal,
    /// Width on skin, cm.
    pub width_cm: Decimal,
    /// Ink coverage 0..=1.
    pub ink_coverage: Decimal,
    /// Style class name (one of the tool schema's styles).
    pub style: String,
}

/// The stable reference of attachment `index` of message `mid`, e.g. `img-3fa9c1`.
///
/// Short enough for the model to copy, derived from the message id so it never changes
/// between turns and never points at another message's image.
pub fn image_ref(mid: &str, index: usize) -> String {
    // FNV-1a, 64 bit: tiny, deterministic, no dependency.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in mid
        .bytes()
        .chain(b"#".iter().copied())
        .chain(index.to_string().bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("img-{:06x}", hash & 0xff_ffff)
}

/// A burst combined for the model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CombinedBurst {
    /// Everything in order, one line per item; the model's user message.
    pub text: String,
    /// Only what the customer typed, for language detection.
    pub customer_text: String,
    /// References of the analysed images, in order.
    pub image_refs: Vec<String>,
}

const QUOTE_CHARS: usize = 200;

fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= QUOTE_CHARS {
        one_line
    } else {
        let cut: String = one_line.chars().take(QUOTE_CHARS).collect();
        format!("{cut}…")
    }
}

/// Combines pending messages, oldest first, into one text for the model.
pub fn combine(messages: &[CustomerMessage]) -> CombinedBurst {
    let mut sorted: Vec<&CustomerMessage> = messages.iter().collect();
    // Stable: messages with the same timestamp keep their arrival order.
    sorted.sort_by_key(|m| m.sent_at);
    let mut out = CombinedBurst::default();
    let mut lines: Vec<String> = Vec::new();
    let mut typed: Vec<&str> = Vec::new();
    for message in sorted {
        match &message.reply_to {
            Some(ReplyContext::Story { .. }) => {
                lines.push("[reply to the studio's story]".to_owned())
            }
            Some(ReplyContext::StoryMention) => {
                lines.push("[the customer mentioned the studio in their story]".to_owned());
            }
            Some(ReplyContext::Message {
                quoted: Some(q), ..
            }) => {
                lines.push(format!("[in reply to: \"{}\"]", shorten(q)));
            }
            Some(ReplyContext::Message { quoted: None, .. }) => {
                lines.push("[in reply to an earlier message]".to_owned());
            }
            None => {}
        }
        if let Some(text) = message
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            lines.push(text.to_owned());
            typed.push(text);
        }
        for (index, attachment) in message.attachments.iter().enumerate() {
            if let Some(words) = voice_words(attachment) {
                lines.push(format!("{VOICE_NOTE_MARK} {}", words.trim()));
                typed.push(words.trim());
                continue;
            }
            lines.push(attachment_line(
                &message.mid,
                index,
                attachment,
                &mut out.image_refs,
            ));
        }
        if let Some(reaction) = &message.reaction {
            let mut line = format!("[the customer reacted {} to your message", reaction.emoji);
            if let Some(target) = &reaction.target_text {
                let _ = write!(line, ": \"{}\"", shorten(target));
            }
            line.push(']');
            lines.push(line);
        }
    }
    out.text = lines.join("\n");
    out.customer_text = typed.join("\n");
    out
}

/// How a transcribed voice note is marked where the model reads it.
pub const VOICE_NOTE_MARK: &str = "[voice note, transcribed]";

fn voice_words(attachment: &AttachmentInfo) -> Option<&str> {
    (attachment.kind == AttachmentKind::Audio)
        .then_some(attachment.transcript.as_ref())
        .flatten()
        .and_then(VoiceTranscript::text)
}

fn attachment_line(
    mid: &str,
    index: usize,
    attachment: &AttachmentInfo,
    refs: &mut Vec<String>,
) -> String {
    let name = match attachment.kind {
        AttachmentKind::Image => "image",
        AttachmentKind::Video => "video",
        AttachmentKind::Audio => "voice message",
        AttachmentKind::File => "file",
        AttachmentKind::Share => "shared post",
        AttachmentKind::Reel => "reel",
        AttachmentKind::StoryMention => "story mention",
        AttachmentKind::Other => "attachment",
    };
    if attachment.kind != AttachmentKind::Image {
        return format!("[{name}; it cannot be viewed here]");
    }
    match &attachment.analysis {
        Some(ImageAnalysis::Measured(m)) => {
            let reference = image_ref(mid, index);
            refs.push(reference.clone());
            format!(
                "[image {reference}: {}; {} × {} cm, ink coverage {}, style {}]",
                m.description,
                m.height_cm.normalize(),
                m.width_cm.normalize(),
                m.ink_coverage.normalize(),
                m.style
            )
        }
        Some(ImageAnalysis::NotADesign { description }) => {
            format!("[image: {description}; not a design to price]")
        }
        Some(ImageAnalysis::Failed { .. }) | None => {
            "[image that could not be analysed; ask for the size in cm and the style if a price is needed]".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal::dec;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 18, 9, 0, second).unwrap()
    }

    fn measured(description: &str) -> ImageAnalysis {
        ImageAnalysis::Measured(Measurements {
            description: description.to_owned(),
            height_cm: dec!(7.0),
            width_cm: dec!(7),
            ink_coverage: dec!(0.30),
            style: "light_shading".to_owned(),
        })
    }

    #[test]
    fn text_image_text_keep_their_order_and_each_image_its_own_reference() {
        let mut image = CustomerMessage::image("m2", at(2), "https://cdn/1.jpg");
        image.attachments[0].analysis = Some(measured("rose"));
        let mut second = CustomerMessage::image("m3", at(3), "https://cdn/2.jpg");
        second.attachments[0].analysis = Some(ImageAnalysis::Failed {
            reason: "download 403".to_owned(),
        });
        // Given out of order: combining sorts by send time.
        let burst = combine(&[
            CustomerMessage::text("m4", at(4), "and how much for both?"),
            second,
            image,
            CustomerMessage::text("m1", at(1), "Hi! I want this one"),
        ]);
        let lines: Vec<&str> = burst.text.lines().collect();
        let first_ref = image_ref("m2", 0);
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "Hi! I want this one");
        assert_eq!(
            lines[1],
            format!("[image {first_ref}: rose; 7 × 7 cm, ink coverage 0.3, style light_shading]")
        );
        assert!(lines[2].starts_with("[image that could not be analysed"));
        assert_eq!(lines[3], "and how much for both?");
        assert_eq!(burst.image_refs, [first_ref]);
        assert_eq!(
            burst.customer_text,
            "Hi! I want this one\nand how much for both?"
        );
    }

    #[test]
    fn story_replies_quotes_attachments_and_reactions_get_context_lines() {
        let story = CustomerMessage {
            reply_to: Some(ReplyContext::Story { url: None }),
            ..CustomerMessage::text("a", at(1), "Πόσο αυτό;")
        };
        let quoted = CustomerMessage {
            reply_to: Some(ReplyContext::Message {
                mid: "x".to_owned(),
                quoted: Some("Παρασκευή 20 Νοεμβρίου: 14:00".to_owned()),
            }),
            ..CustomerMessage::text("b", at(2), "αυτή")
        };
        let video = CustomerMessage {
            attachments: vec![AttachmentInfo {
                kind: AttachmentKind::Video,
                url: None,
                analysis: None,
                transcript: None,
            }],
            text: None,
            ..CustomerMessage::text("c", at(3), "")
        };
        let reaction = CustomerMessage {
            text: None,
            reaction: Some(ReactionInfo {
                target_mid: "q".to_owned(),
                emoji: "❤".to_owned(),
                target_text: Some("Να ακυρώσουμε το ραντεβού;".to_owned()),
            }),
            ..CustomerMessage::text("d", at(4), "")
        };
        let burst = combine(&[story, quoted, video, reaction]);
        assert_eq!(
            burst.text,
            "[reply to the studio's story]\nΠόσο αυτό;\n[in reply to: \"Παρασκευή 20 Νοεμβρίου: 14:00\"]\nαυτή\n[video; it cannot be viewed here]\n[the customer reacted ❤ to your message: \"Να ακυρώσουμε το ραντεβού;\"]"
        );
        assert_eq!(burst.customer_text, "Πόσο αυτό;\nαυτή");
    }

    #[test]
    fn a_transcribed_voice_note_is_marked_and_counts_as_what_the_customer_said() {
        let mut voice = CustomerMessage {
            text: None,
            attachments: vec![AttachmentInfo::audio("https://cdn/v.mp4")],
            ..CustomerMessage::text("v", at(2), "")
        };
        voice.attachments[0].transcript = Some(VoiceTranscript::Transcribed {
            text: " Πόσο κάνει ένα μικρό τριαντάφυλλο; ".to_owned(),
            language: Some("el".to_owned()),
        });
        let failed = CustomerMessage {
            text: None,
            attachments: vec![AttachmentInfo {
                transcript: Some(VoiceTranscript::Failed {
                    reason: "too long".to_owned(),
                }),
                ..AttachmentInfo::audio("https://cdn/w.mp4")
            }],
            ..CustomerMessage::text("w", at(3), "")
        };
        let burst = combine(&[CustomerMessage::text("t", at(1), "Γεια!"), voice, failed]);
        assert_eq!(
            burst.text,
            "Γεια!\n[voice note, transcribed] Πόσο κάνει ένα μικρό τριαντάφυλλο;\n[voice message; it cannot be viewed here]"
        );
        assert_eq!(
            burst.customer_text,
            "Γεια!\nΠόσο κάνει ένα μικρό τριαντάφυλλο;"
        );
        // Stored messages written before transcripts existed still read.
        let old: AttachmentInfo = serde_json::from_value(
            serde_json::json!({"kind": "audio", "url": null, "analysis": null}),
        )
        .unwrap();
        assert_eq!(old.transcript, None);
    }

    #[test]
    fn image_references_are_stable_short_and_distinct() {
        assert_eq!(image_ref("mid.1", 0), image_ref("mid.1", 0));
        assert_ne!(image_ref("mid.1", 0), image_ref("mid.1", 1));
        assert_ne!(image_ref("mid.1", 0), image_ref("mid.2", 0));
        assert_eq!(image_ref("x", 0).len(), 10);
    }
}
