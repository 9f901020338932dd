//! One turn: combine, detect the language, analyse images, then the model with tools in
//! bounded rounds until `send_reply` (or a handoff, or a failure).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use inkdesk_domain::{ConversationId, FreeText, Language};
use inkdesk_openai::{ChatRequest, ChatResponse, Message, ModelTask, ToolCall, ToolChoice};
use serde_json::{Value, json};

use super::Engine;
use super::executor::{ToolAnswer, ToolContext};
use super::ledger::{EffectLedger, Unjournaled};
use super::record::{
    CallKind, ModelCallRecord, ToneHitRecord, ToneRecord, ToolRecord, TurnOutcomeKind, TurnRecord,
};
use super::vision::{NewAnalysis, analyse_pending};
use super::voice::{NewTranscript, transcribe_pending};
use crate::confirm::{PendingChange, PendingConfirmation, TurnId};
use crate::history::{HistoryEntry, Speaker};
use crate::intent::{Intent, answering_order};
use crate::language::{DetectedLanguage, detect_in_conversation};
use crate::message::{CustomerMessage, ImageAnalysis, Measurements, combine, image_ref};
use crate::prompt::{FixedText, TurnContext};
use crate::tone::{ToneHit, render_tone_section};
use crate::tools::schema::SEND_REPLY;
use crate::tools::{ArgContext, HandoffReason, ToolCommand, parse_tool_call};

/// Everything a turn needs to know about the conversation.
#[derive(Debug, Clone)]
pub struct TurnInput {
    /// The conversation (the customer), bound by the server.
    pub conversation: ConversationId,
    /// A unique id for this turn.
    pub turn: TurnId,
    /// The customer's messages not answered yet, with any analyses already stored.
    pub pending: Vec<CustomerMessage>,
    /// Earlier turns, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Measurements of images analysed in earlier turns, by reference.
    pub known_images: HashMap<String, Measurements>,
}

/// A request to hand the conversation to a person: mute the bot and notify the studio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRequest {
    /// Why.
    pub reason: HandoffReason,
    /// A line for the studio.
    pub note: Option<String>,
}

/// What a turn decided.
#[derive(Debug, Clone)]
pub struct TurnOutcome {
    /// The text to send to the customer, if any.
    pub reply: Option<String>,
    /// The reply's language.
    pub language: Language,
    /// Set when the conversation must be handed to a person.
    pub handoff: Option<HandoffRequest>,
    /// New image analyses, to store on their messages.
    pub analyses: Vec<NewAnalysis>,
    /// New voice-note transcripts, to store on their messages.
    pub transcripts: Vec<NewTranscript>,
    /// The customer's burst as it goes into the history.
    pub customer_entry: Option<HistoryEntry>,
    /// True when a cancel/reschedule question was asked: the ids of the reply's messages
    /// should be added to the pending confirmation (a ❤ on them means yes).
    pub asked_confirmation: bool,
    /// What happened, for traces.
    pub record: TurnRecord,
}

impl TurnOutcome {
    /// The assistant's turn as it goes into the history (the reply, when there is one).
    pub fn assistant_entry(&self, at: DateTime<Utc>) -> Option<HistoryEntry> {
        self.reply
            .as_ref()
            .map(|text| HistoryEntry::assistant(text.clone(), at))
    }
}

enum Ending {
    Reply { text: String, intents: Vec<Intent> },
    NoReply { intents: Vec<Intent> },
    Handoff(HandoffRequest),
    Failed(String),
}

impl Engine {
    /// Runs one turn for `input` at `now` without a journal (every effect is performed when
    /// the model asks). See [`Engine::respond_with`].
    pub async fn respond(&self, input: TurnInput, now: DateTime<Utc>) -> TurnOutcome {
        self.respond_with(input, now, &Unjournaled).await
    }

    /// Runs one turn for `input` at `now`, with calendar changes going through `ledger`
    /// (performed once, answered from the journal when a resumed turn asks again). Never
    /// fails: an unexpected failure ends the turn with the localised apology and a
    /// handoff, its cause kept in the record. A [`Fenced`](super::Fenced) ledger also ends it that way;
    /// the runner, which owns the ledger, knows not to send anything then.
    pub async fn respond_with(
        &self,
        mut input: TurnInput,
        now: DateTime<Utc>,
        ledger: &dyn EffectLedger,
    ) -> TurnOutcome {
        let started = tokio::time::Instant::now();
        let mut record = TurnRecord::new(input.turn.clone(), input.conversation.clone());
        let mut language = self.detect_language(&input);
        if input.pending.is_empty() {
            record.outcome = TurnOutcomeKind::Nothing;
            return TurnOutcome {
                reply: None,
                language: language.language,
                handoff: None,
                analyses: Vec::new(),
                transcripts: Vec::new(),
                customer_entry: None,
                asked_confirmation: false,
                record,
            };
        }

        // Voice notes first: their words are what the customer said, for the language, the
        // tone examples and the reply. In the conversation's language when the text made
        // it clear, else the studio's.
        let (transcripts, voice_calls) = transcribe_pending(
            self.transcriber.as_deref(),
            self.fetcher.as_ref(),
            &self.profile.voice_notes,
            language.language,
            ledger,
            &mut input.pending,
        )
        .await;
        record.model_calls.extend(voice_calls);
        if transcripts.iter().any(|t| t.transcript.text().is_some()) {
            language = self.detect_language(&input);
        }

        // Tone retrieval needs only what the customer said, so it runs alongside vision.
        let typed = combine(&input.pending).customer_text;
        let ((analyses, vision_calls), (tone_record, tone_hits)) = tokio::join!(
            analyse_pending(
                self.model.as_ref(),
                self.fetcher.as_ref(),
                self.prompts.vision(language.language),
                self.config.vision_detail,
                &mut input.pending,
            ),
            self.tone_examples(&typed),
        );
        record.model_calls.extend(vision_calls);
        record.tone = tone_record;
        let tone_section = render_tone_section(&tone_hits, language.language);
        let burst = combine(&input.pending);
        let mut images = input.known_images.clone();
        for message in &input.pending {
            for (index, attachment) in message.attachments.iter().enumerate() {
                if let Some(ImageAnalysis::Measured(m)) = &attachment.analysis {
                    images.insert(image_ref(&message.mid, index), m.clone());
                }
            }
        }
        let last_at = input.pending.iter().map(|m| m.sent_at).max().unwrap_or(now);
        let customer_entry = HistoryEntry::customer(burst.text.clone(), last_at);

        let mut asked_confirmation = false;
        let ending = self
            .converse(
                &input,
                &burst.text,
                &tone_section,
                &images,
                language,
                now,
                &mut record,
                &mut asked_confirmation,
                ledger,
            )
            .await;

        let lang = language.language;
        let (reply, handoff) = match ending {
            Ending::Reply { text, intents } => {
                record.intents = if intents.is_empty() {
                    intents_from_tools(&record.tools)
                } else {
                    answering_order(&intents)
                };
                record.outcome = TurnOutcomeKind::Replied;
                // A booking waiting for its deposit: how to pay, word for word.
                let text =
                    super::deposit::with_payment_text(text, &record.tools, &self.profile.sign_off);
                (Some(text), None)
            }
            Ending::NoReply { intents } => {
                record.intents = if intents.is_empty() {
                    intents_from_tools(&record.tools)
                } else {
                    answering_order(&intents)
                };
                record.outcome = TurnOutcomeKind::NoReply;
                (None, None)
            }
            Ending::Handoff(request) => {
                let text = match request.reason {
                    HandoffReason::Complaint => {
                        record.intents = vec![Intent::Complaint];
                        self.prompts.fixed(lang, FixedText::ComplaintAck)
                    }
                    _ => {
                        record.intents = intents_from_tools(&record.tools);
                        self.prompts.fixed(lang, FixedText::Handoff)
                    }
                };
                record.outcome = TurnOutcomeKind::HandedOff {
                    reason: request.reason,
                };
                (Some(text.to_owned()), Some(request))
            }
            Ending::Failed(cause) => {
                tracing::warn!(conversation = %input.conversation, cause = %cause, "turn failed; apologising and handing off");
                record.outcome = TurnOutcomeKind::Failed;
                record.failure = Some(cause);
                record.intents = intents_from_tools(&record.tools);
                (
                    Some(self.prompts.fixed(lang, FixedText::Apology).to_owned()),
                    Some(HandoffRequest {
                        reason: HandoffReason::Other,
                        note: Some("the assistant failed during this turn".to_owned()),
                    }),
                )
            }
        };
        record.latency = started.elapsed();
        TurnOutcome {
            reply,
            language: lang,
            handoff,
            analyses,
            transcripts,
            customer_entry: Some(customer_entry),
            asked_confirmation,
            record,
        }
    }

    /// Past studio replies similar to what the customer typed, with their trace record.
    /// Retrieval failures were logged by the source; they only mean no examples.
    async fn tone_examples(&self, typed: &str) -> (ToneRecord, Vec<ToneHit>) {
        let Some(source) = &self.tone else {
            return (ToneRecord::NotAsked, Vec::new());
        };
        match source.similar(typed).await {
            None => (ToneRecord::Off, Vec::new()),
            Some(hits) => {
                let record = ToneRecord::Retrieved {
                    hits: hits
                        .iter()
                        .map(|h| ToneHitRecord {
                            id: h.id.clone(),
                            score: h.score,
                        })
                        .collect(),
                };
                (record, hits)
            }
        }
    }

    fn detect_language(&self, input: &TurnInput) -> DetectedLanguage {
        let burst = combine(&input.pending);
        let earlier = input
            .history
            .iter()
            .rev()
            .filter(|h| h.speaker == Speaker::Customer)
            .map(|h| customer_lines(&h.text));
        let earlier: Vec<String> = earlier.collect();
        detect_in_conversation(
            &burst.customer_text,
            earlier.iter().map(String::as_str),
            self.profile.language,
        )
    }

    fn describe_pending(&self, pending: &PendingConfirmation, language: Language) -> String {
        let when = |at: DateTime<Utc>| {
            let local = at.with_timezone(&self.profile.time_zone);
            format!(
                "{} {}",
                inkdesk_calendar::format::format_date(local.date_naive(), language),
                local.format("%H:%M")
            )
        };
        match &pending.change {
            PendingChange::Cancel {
                booking, starts_at, ..
            } => format!("cancel booking {booking} ({})", when(*starts_at)),
            PendingChange::Reschedule {
                booking, from, to, ..
            } => format!(
                "move booking {booking} from {} to {}",
                when(*from),
                when(*to)
            ),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn converse(
        &self,
        input: &TurnInput,
        burst_text: &str,
        tone_section: &str,
        images: &HashMap<String, Measurements>,
        language: DetectedLanguage,
        now: DateTime<Utc>,
        record: &mut TurnRecord,
        asked_confirmation: &mut bool,
        ledger: &dyn EffectLedger,
    ) -> Ending {
        let pending = match self.confirmations.get(&input.conversation).await {
            Ok(p) => p.filter(|p| p.expires_at > now),
            Err(e) => return Ending::Failed(error_chain(&e)),
        };
        let no_show = match &self.no_shows {
            Some(records) => match records.record(&input.conversation).await {
                Ok(record) => record.map(|_| {
                    self.lifecycle
                        .as_ref()
                        .is_some_and(|l| l.deposits().is_some())
                }),
                Err(error) => {
                    tracing::warn!(conversation = %input.conversation, %error, "no-show record unreadable");
                    None
                }
            },
            None => None,
        };
        let context = TurnContext {
            now,
            language,
            no_show,
            pending_confirmation: pending.as_ref().map(|p| {
                let mut text = self.describe_pending(p, language.language);
                let hearted = input.pending.iter().any(|m| {
                    m.reaction
                        .as_ref()
                        .is_some_and(|r| p.question_mids.contains(&r.target_mid))
                });
                if hearted {
                    text.push_str(" — the customer reacted ❤ to this question, which means yes");
                }
                text
            }),
        };
        let tail = match self.prompts.turn_context(&context) {
            Ok(t) => t,
            Err(e) => return Ending::Failed(error_chain(&e)),
        };
        let mut messages = Vec::with_capacity(input.history.len() + 4);
        messages.push(Message::system(self.prompts.system()));
        for entry in &input.history {
            messages.push(match entry.speaker {
                Speaker::Customer => Message::user(entry.text.clone()),
                Speaker::Assistant => Message::assistant(entry.text.clone()),
                Speaker::Staff => Message::assistant(format!("[studio staff] {}", entry.text)),
            });
        }
        messages.push(Message::system(tail));
        messages.push(Message::user(burst_text));
        // Last, so everything before it stays a cacheable prefix across turns.
        if !tone_section.is_empty() {
            messages.push(Message::system(tone_section));
        }

        let tool_ctx = ToolContext {
            conversation: &input.conversation,
            turn: &input.turn,
            now,
            language: language.language,
            images,
            ledger,
        };
        let arg_ctx = ArgContext {
            profile: &self.profile,
            now,
        };
        let mut rounds = 0u32;
        loop {
            let forced = rounds >= self.config.max_tool_rounds;
            let choice = if forced {
                ToolChoice::Function(SEND_REPLY.to_owned())
            } else {
                self.config.tool_choice.clone()
            };
            let request = ChatRequest::new(ModelTask::Default, messages.clone())
                .with_tools(self.tools.clone(), choice);
            let started = tokio::time::Instant::now();
            let response = match self.model.complete(request).await {
                Ok(r) => r,
                Err(e) => {
                    record.model_calls.push(ModelCallRecord {
                        kind: CallKind::Reply,
                        model: String::new(),
                        prompt_tokens: 0,
                        cached_tokens: 0,
                        completion_tokens: 0,
                        audio_seconds: 0,
                        latency: started.elapsed(),
                        ok: false,
                    });
                    return Ending::Failed(error_chain(&e));
                }
            };
            record
                .model_calls
                .push(call_record(&response, started.elapsed()));

            if response.tool_calls.is_empty() {
                return match response.text.as_deref().map(str::trim) {
                    Some(text) if !text.is_empty() => Ending::Reply {
                        text: text.to_owned(),
                        intents: Vec::new(),
                    },
                    _ => Ending::Failed("the model gave neither text nor tool calls".to_owned()),
                };
            }

            messages.push(response.to_message());
            let alone = response.tool_calls.len() == 1;
            let studio_spoke = input
                .history
                .iter()
                .any(|h| matches!(h.speaker, Speaker::Assistant | Speaker::Staff));
            let mut reply = None;
            let mut handoff = None;
            for call in &response.tool_calls {
                let started = tokio::time::Instant::now();
                let (content, ok) = match self
                    .handle_call(
                        call,
                        CallSituation {
                            alone,
                            studio_spoke,
                        },
                        &arg_ctx,
                        &tool_ctx,
                        &mut reply,
                        &mut handoff,
                    )
                    .await
                {
                    Ok(answer) => {
                        *asked_confirmation |= answer.asked_confirmation;
                        (answer.content, answer.ok)
                    }
                    Err(cause) => {
                        record.tools.push(tool_record(
                            call,
                            &json!({"error": "failed"}),
                            false,
                            started,
                        ));
                        return Ending::Failed(cause);
                    }
                };
                record.tools.push(tool_record(call, &content, ok, started));
                messages.push(Message::tool_result(call.id.clone(), content.to_string()));
            }
            if let Some(request) = handoff {
                return Ending::Handoff(request);
            }
            match reply {
                Some(Reply::Text(text, intents)) => return Ending::Reply { text, intents },
                Some(Reply::Nothing(intents)) => return Ending::NoReply { intents },
                None => {}
            }
            rounds += 1;
            record.rounds = rounds;
            if forced {
                return Ending::Failed(format!(
                    "no reply after {rounds} tool rounds (limit {})",
                    self.config.max_tool_rounds
                ));
            }
        }
    }

    async fn handle_call(
        &self,
        call: &ToolCall,
        situation: CallSituation,
        arg_ctx: &ArgContext<'_>,
        tool_ctx: &ToolContext<'_>,
        reply: &mut Option<Reply>,
        handoff: &mut Option<HandoffRequest>,
    ) -> Result<ToolAnswer, String> {
        let alone = situation.alone;
        let arguments = match &call.arguments {
            Ok(v) => v,
            Err(bad) => {
                return Ok(ToolAnswer {
                    content: serde_json::from_str(&bad.to_tool_result()).unwrap_or(Value::Null),
                    ok: false,
                    asked_confirmation: false,
                });
            }
        };
        let command = match parse_tool_call(&call.name, arguments, arg_ctx) {
            Ok(c) => c,
            Err(e) => {
                return Ok(ToolAnswer {
                    content: serde_json::from_str(&e.to_tool_result()).unwrap_or(Value::Null),
                    ok: false,
                    asked_confirmation: false,
                });
            }
        };
        match command {
            ToolCommand::SendReply { text, intents } => {
                if !alone {
                    return Ok(ToolAnswer {
                        content: json!({"error": "call send_reply alone, after reading the other tools' results"}),
                        ok: false,
                        asked_confirmation: false,
                    });
                }
                if text.is_empty() {
                    return Ok(ToolAnswer {
                        content: json!({"error": "the text is empty"}),
                        ok: false,
                        asked_confirmation: false,
                    });
                }
                *reply = Some(Reply::Text(text, intents));
                Ok(ToolAnswer {
                    content: json!({"sent": true}),
                    ok: true,
                    asked_confirmation: false,
                })
            }
            ToolCommand::NoReply { intents } => {
                if !alone {
                    return Ok(ToolAnswer {
                        content: json!({"error": "call send_reply alone, after reading the other tools' results"}),
                        ok: false,
                        asked_confirmation: false,
                    });
                }
                if !situation.studio_spoke {
                    // A conversation's first messages always get an answer.
                    return Ok(ToolAnswer {
                        content: json!({"error": "the studio has not answered this customer yet: send a reply"}),
                        ok: false,
                        asked_confirmation: false,
                    });
                }
                *reply = Some(Reply::Nothing(intents));
                Ok(ToolAnswer {
                    content: json!({"sent": false}),
                    ok: true,
                    asked_confirmation: false,
                })
            }
            ToolCommand::Handoff { reason, note } => {
                *handoff = Some(HandoffRequest {
                    reason,
                    note: note.as_ref().map(FreeText::to_string),
                });
                Ok(ToolAnswer {
                    content: json!({"handed_off": true}),
                    ok: true,
                    asked_confirmation: false,
                })
            }
            other => self
                .execute(other, tool_ctx)
                .await
                .map_err(|e| error_chain(&e)),
        }
    }
}

/// How a turn's reply tool ended it.
enum Reply {
    /// Send this text; these intents.
    Text(String, Vec<Intent>),
    /// Send nothing; these intents.
    Nothing(Vec<Intent>),
}

/// What a tool call's handling needs to know about the round it came in.
#[derive(Clone, Copy)]
struct CallSituation {
    /// The only tool call of its round.
    alone: bool,
    /// The history has a message from the studio (bot or person).
    studio_spoke: bool,
}

fn call_record(response: &ChatResponse, latency: std::time::Duration) -> ModelCallRecord {
    ModelCallRecord {
        kind: CallKind::Reply,
        model: response.usage.model.clone(),
        prompt_tokens: response.usage.prompt_tokens,
        cached_tokens: response.usage.cached_tokens,
        completion_tokens: response.usage.completion_tokens,
        audio_seconds: 0,
        latency,
        ok: true,
    }
}

fn tool_record(
    call: &ToolCall,
    content: &Value,
    ok: bool,
    started: tokio::time::Instant,
) -> ToolRecord {
    ToolRecord {
        name: call.name.clone(),
        arguments: call.arguments_text(),
        result: content.to_string(),
        ok,
        latency: started.elapsed(),
    }
}

fn intents_from_tools(tools: &[ToolRecord]) -> Vec<Intent> {
    let found: Vec<Intent> = tools
        .iter()
        .filter_map(|t| Intent::from_tool_call(&t.name, &t.arguments))
        .collect();
    if found.is_empty() {
        vec![Intent::Other]
    } else {
        answering_order(&found)
    }
}

/// The customer-typed lines of a combined burst (context lines in brackets dropped).
fn customer_lines(text: &str) -> String {
    text.lines()
        .filter(|l| !(l.starts_with('[') && l.ends_with(']')))
        .collect::<Vec<_>>()
        .join("\n")
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
