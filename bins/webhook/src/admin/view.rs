//! What the console shows, read from the ports: the inbox, a transcript, traces,
//! bookings and the status. Shared by the pages and the JSON API.

use std::time::Duration;

use chrono::{DateTime, Utc};
use inkdesk_domain::ConversationId;
use inkdesk_messaging::{ReplyWindows, SendKind};
use inkdesk_store::{Mute, Role, StoreError, Turn};
use serde::Serialize;
use serde_json::Value;

use inkdesk_assistant::message::{AttachmentKind, CustomerMessage, VoiceTranscript};
use inkdesk_assistant::runner::data::TurnData;
use inkdesk_openai::Usd;

use crate::app::App;

/// Most conversations in the inbox.
pub const INBOX_LIMIT: usize = 200;
/// Most turns read per conversation (the store keeps at most 200).
pub const TRANSCRIPT_LIMIT: usize = 200;
/// Prefix of a mute's reason set by a handoff (see the worker).
pub const HANDOFF_PREFIX: &str = "handoff: ";

/// Who answers a conversation now.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Status {
    /// The assistant answers.
    Bot,
    /// The assistant is quiet until `until` (a person replied or staff muted it).
    Muted {
        /// End of the mute.
        until: DateTime<Utc>,
        /// Why.
        reason: String,
    },
    /// The assistant handed the conversation to a person.
    HandedOff {
        /// End of the mute.
        until: DateTime<Utc>,
        /// The handoff's reason.
        reason: String,
    },
    /// The global switch is off.
    Paused,
}

impl Status {
    /// The status from the conversation's mute and the global switch.
    pub fn of(mute: Option<Mute>, paused: bool) -> Self {
        match mute {
            Some(m) => match m.reason.strip_prefix(HANDOFF_PREFIX) {
                Some(reason) => Status::HandedOff {
                    until: m.until,
                    reason: reason.to_owned(),
                },
                None => Status::Muted {
                    until: m.until,
                    reason: m.reason,
                },
            },
            None if paused => Status::Paused,
            None => Status::Bot,
        }
    }
}

/// One inbox line.
#[derive(Debug, Clone, Serialize)]
pub struct InboxRow {
    /// The conversation (the customer's Instagram-scoped id).
    pub conversation: String,
    /// The customer's Instagram name and username (`Name (@username)`), once fetched.
    pub customer: Option<String>,
    /// Latest activity.
    pub last_at: DateTime<Utc>,
    /// The latest turn's first characters.
    pub preview: String,
    /// Turns kept.
    pub turns: u64,
    /// Who answers.
    pub status: Status,
    /// A cancel or reschedule question waits for the customer's yes.
    pub awaiting_confirmation: bool,
    /// The customer's last message is unanswered and older than Meta's 24-hour window:
    /// the bot may not answer it; a person must (with the `HUMAN_AGENT` tag, within 7 days).
    pub needs_a_person: bool,
}

/// Whether the conversation has a pending cancel/reschedule confirmation.
pub async fn awaiting_confirmation(
    app: &App,
    conversation: &ConversationId,
) -> Result<bool, StoreError> {
    let key = crate::adapters::confirmation_key(conversation);
    Ok(app.stores.keyed.get(conversation, &key).await?.is_some())
}

/// The customer's `Name (@username)` when their profile is known; otherwise `None` (the
/// console shows the id) and, for a conversation the console lists (`fetch`), a fetch
/// starts in the background.
pub async fn customer_label(
    app: &App,
    conversation: &ConversationId,
    fetch: bool,
) -> Option<String> {
    let profile = if fetch {
        app.profiles.known(conversation).await
    } else {
        app.profiles
            .stored(conversation)
            .await
            .and_then(|s| s.profile().cloned())
    };
    profile.and_then(|p| p.label())
}

/// The inbox: handoffs first, then by latest activity.
pub async fn inbox(app: &App) -> Result<(bool, Vec<InboxRow>), StoreError> {
    let paused = app.stores.takeover.is_paused().await?;
    let mutes: std::collections::HashMap<ConversationId, Mute> = app
        .stores
        .takeover
        .list_muted()
        .await?
        .into_iter()
        .collect();
    let mut rows: Vec<InboxRow> = app
        .stores
        .log
        .conversations(INBOX_LIMIT)
        .await?
        .into_iter()
        .map(|s| InboxRow {
            status: Status::of(mutes.get(&s.conversation).cloned(), paused),
            conversation: s.conversation.to_string(),
            customer: None,
            last_at: s.last_at,
            preview: s.last_preview,
            turns: s.turns,
            awaiting_confirmation: false,
            needs_a_person: false,
        })
        .collect();
    let now = app.clock.now();
    for row in &mut rows {
        if let Ok(conversation) = ConversationId::parse(row.conversation.as_str()) {
            row.customer = customer_label(app, &conversation, true).await;
            row.awaiting_confirmation = awaiting_confirmation(app, &conversation).await?;
            row.needs_a_person = inkdesk_assistant::runner::requeue::needs_a_person(
                app.stores.log.as_ref(),
                &conversation,
                now,
            )
            .await?;
        }
    }
    rows.sort_by_key(|r| {
        (
            !(matches!(r.status, Status::HandedOff { .. }) || r.needs_a_person),
            std::cmp::Reverse(r.last_at),
        )
    });
    Ok((paused, rows))
}

/// One tool call of a turn.
#[derive(Debug, Clone, Serialize)]
pub struct ToolView {
    /// The tool.
    pub name: String,
    /// Arguments as the model wrote them.
    pub arguments: String,
    /// What the tool answered.
    pub result: String,
    /// False when refused or failed.
    pub ok: bool,
}

/// One model call of a turn.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCallView {
    /// `vision` or `reply`.
    pub kind: String,
    /// The model.
    pub model: String,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Of which cached.
    pub cached_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Wall time in milliseconds.
    pub latency_ms: u64,
    /// Whether it succeeded.
    pub ok: bool,
}

/// What the engine recorded for one assistant turn.
#[derive(Debug, Clone, Serialize)]
pub struct TraceView {
    /// The conversation.
    pub conversation: String,
    /// When the reply was recorded.
    pub at: DateTime<Utc>,
    /// Intents in answering order.
    pub intents: Vec<String>,
    /// Model calls.
    pub model_calls: Vec<ModelCallView>,
    /// Tool calls.
    pub tools: Vec<ToolView>,
    /// `replied`, `handed_off`, `failed`, `muted`, `nothing`.
    pub outcome: String,
    /// The error chain of a failed turn.
    pub failure: Option<String>,
    /// Wall time of the turn in milliseconds.
    pub latency_ms: u64,
}

/// The trace of an assistant turn, if it carries one (read back as the runner wrote it).
pub fn trace_of(conversation: &str, turn: &Turn) -> Option<TraceView> {
    let Some(TurnData::Trace(trace)) = TurnData::of(turn.data.as_ref()) else {
        return None;
    };
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    Some(TraceView {
        conversation: conversation.to_owned(),
        at: turn.at,
        intents: trace.intents.iter().map(name).collect(),
        model_calls: trace
            .model_calls
            .iter()
            .map(|c| ModelCallView {
                kind: name(&c.kind),
                model: c.model.clone(),
                prompt_tokens: u64::from(c.prompt_tokens),
                cached_tokens: u64::from(c.cached_tokens),
                completion_tokens: u64::from(c.completion_tokens),
                latency_ms: millis(c.latency),
                ok: c.ok,
            })
            .collect(),
        tools: trace
            .tools
            .iter()
            .map(|t| ToolView {
                name: t.name.clone(),
                arguments: t.arguments.clone(),
                result: t.result.clone(),
                ok: t.ok,
            })
            .collect(),
        outcome: serde_json::to_value(trace.outcome)
            .ok()
            .and_then(|o| o.get("kind").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default(),
        failure: trace.failure.clone(),
        latency_ms: millis(trace.latency),
    })
}

/// The snake_case name a record's enum serialises to, for display.
fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// One line of a transcript.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// `customer`, `assistant`, `staff` or `tool`.
    pub role: &'static str,
    /// What was said (or the tool summary).
    pub text: String,
    /// The sender unsent this message: its text is gone.
    pub unsent: bool,
    /// When.
    pub at: DateTime<Utc>,
    /// The platform's message id.
    pub message_id: Option<String>,
    /// An image analysis, pretty-printed.
    pub image_analysis: Option<String>,
    /// A customer's voice note, with what it said when it was transcribed.
    pub voice_note: Option<VoiceNoteView>,
    /// A handoff's reason and note.
    pub handoff: Option<Value>,
    /// The assistant turn's trace.
    pub trace: Option<TraceView>,
}

/// Model usage as the console shows it: one row per model and the total cost.
#[derive(Debug, Clone, Serialize, Default)]
pub struct UsageView {
    /// Per model, sorted by model.
    pub models: Vec<UsageRow>,
    /// All models' estimated cost, in US dollars (six decimals).
    pub cost_usd: String,
    /// All calls.
    pub calls: u64,
}

/// One model's usage.
#[derive(Debug, Clone, Serialize)]
pub struct UsageRow {
    /// The model as the server named it.
    pub model: String,
    /// Calls.
    pub calls: u64,
    /// Prompt tokens (cached ones included).
    pub prompt_tokens: u64,
    /// Of which cached.
    pub cached_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Seconds of audio billed by duration.
    pub audio_seconds: u64,
    /// Estimated cost in US dollars (six decimals).
    pub cost_usd: String,
}

impl UsageView {
    /// The view of the store's totals.
    pub fn of(totals: Vec<(String, inkdesk_store::ModelUsage)>) -> Self {
        let cost: u64 = totals.iter().map(|(_, u)| u.cost_nanos).sum();
        Self {
            calls: totals.iter().map(|(_, u)| u.calls).sum(),
            cost_usd: Usd(cost).to_string(),
            models: totals
                .into_iter()
                .map(|(model, u)| UsageRow {
                    model,
                    calls: u.calls,
                    prompt_tokens: u.prompt_tokens,
                    cached_tokens: u.cached_tokens,
                    completion_tokens: u.completion_tokens,
                    audio_seconds: u.audio_seconds,
                    cost_usd: Usd(u.cost_nanos).to_string(),
                })
                .collect(),
        }
    }
}

/// A customer's voice note as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct VoiceNoteView {
    /// Its words; `None` when it was not transcribed (the model then saw only
    /// "[voice message …]").
    pub transcript: Option<String>,
}

/// A conversation with its transcript.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationView {
    /// The conversation.
    pub conversation: String,
    /// The customer's Instagram name and username, once fetched.
    pub customer: Option<String>,
    /// Who answers.
    pub status: Status,
    /// A cancel or reschedule question waits for the customer's yes.
    pub awaiting_confirmation: bool,
    /// The customer's latest message.
    pub last_customer_at: Option<DateTime<Utc>>,
    /// True when a staff reply needs the `HUMAN_AGENT` tag (over 24 h since the customer wrote).
    pub needs_human_agent_tag: bool,
    /// Meta's reply windows now: how long each stays open.
    pub windows: WindowsView,
    /// Oldest first.
    pub entries: Vec<Entry>,
    /// The model usage and estimated cost of this conversation.
    pub usage: UsageView,
}

/// The time of the customer's newest message in `turns`. A reaction is not a message:
/// it does not reopen Meta's windows (the cautious reading of the policy).
pub fn last_customer_at(turns: &[Turn]) -> Option<DateTime<Utc>> {
    turns
        .iter()
        .filter(|t| t.role == Role::Customer && !is_reaction(t))
        .map(|t| t.at)
        .max()
}

/// Whether a customer turn records a reaction rather than a message.
pub fn is_reaction(turn: &Turn) -> bool {
    turn.data
        .as_ref()
        .and_then(|d| d.get("reaction"))
        .is_some_and(|r| !r.is_null())
}

/// One of Meta's reply windows, as the console shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WindowView {
    /// Whether a send of this kind is allowed now.
    pub open: bool,
    /// When it closes (or closed); `None` when the customer never wrote.
    pub closes_at: Option<DateTime<Utc>>,
    /// Whole minutes left (0 once closed); `None` when the customer never wrote.
    pub minutes_left: Option<i64>,
}

/// Both reply windows of a conversation.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WindowsView {
    /// 24 h after the customer's newest message: the bot, and staff without a tag.
    pub standard: WindowView,
    /// 7 days after it: staff with the `HUMAN_AGENT` tag.
    pub human_agent: WindowView,
}

impl WindowsView {
    /// The windows judged at `windows.now`.
    pub fn of(windows: &ReplyWindows) -> Self {
        let one = |kind| WindowView {
            open: windows.is_open(kind),
            closes_at: windows.closes_at(kind),
            minutes_left: windows.remaining(kind).map(|d| d.num_minutes()),
        };
        Self {
            standard: one(SendKind::Standard),
            human_agent: one(SendKind::HumanAgent),
        }
    }
}

/// The conversation's transcript; `None` when nothing is stored about it.
pub async fn conversation(
    app: &App,
    conversation: &ConversationId,
) -> Result<Option<ConversationView>, StoreError> {
    let turns = app
        .stores
        .log
        .recent(conversation, TRANSCRIPT_LIMIT)
        .await?;
    if turns.is_empty() {
        return Ok(None);
    }
    let paused = app.stores.takeover.is_paused().await?;
    let status = Status::of(app.stores.takeover.muted(conversation).await?, paused);
    let id = conversation.to_string();
    let last_customer = last_customer_at(&turns);
    let windows = ReplyWindows::new(last_customer, app.clock.now());
    let transcripts = voice_transcripts(&turns);
    let entries = turns
        .iter()
        .map(|turn| {
            let data = turn.data.as_ref();
            Entry {
                role: role_name(turn.role),
                unsent: inkdesk_store::change::is_unsent(turn),
                text: turn.text.clone(),
                at: turn.at,
                message_id: turn.message_id.clone(),
                image_analysis: match TurnData::of(data) {
                    Some(analysis @ TurnData::ImageAnalysis { .. }) => {
                        serde_json::to_value(&analysis)
                            .ok()
                            .and_then(|v| serde_json::to_string_pretty(&v["image_analysis"]).ok())
                    }
                    _ => None,
                },
                voice_note: voice_note(turn, &transcripts),
                handoff: match TurnData::of(data) {
                    Some(TurnData::Handoff { reason, note }) => {
                        Some(serde_json::json!({"reason": reason, "note": note}))
                    }
                    _ => None,
                },
                trace: trace_of(&id, turn),
            }
        })
        .collect();
    Ok(Some(ConversationView {
        customer: customer_label(app, conversation, true).await,
        conversation: id,
        status,
        awaiting_confirmation: awaiting_confirmation(app, conversation).await?,
        last_customer_at: last_customer,
        needs_human_agent_tag: !windows.is_open(SendKind::Standard),
        windows: WindowsView::of(&windows),
        entries,
        usage: UsageView::of(app.stores.usage.conversation_usage(conversation).await?),
    }))
}

/// The transcripts logged for voice notes, by message id (several notes in one message are
/// joined).
fn voice_transcripts(turns: &[Turn]) -> std::collections::HashMap<String, Vec<VoiceTranscript>> {
    let mut out: std::collections::HashMap<String, Vec<VoiceTranscript>> = Default::default();
    for turn in turns {
        if let Some(TurnData::VoiceTranscript {
            mid, transcript, ..
        }) = TurnData::of(turn.data.as_ref())
        {
            out.entry(mid).or_default().push(transcript);
        }
    }
    out
}

/// A customer turn's voice note as the console shows it: marked, with its words when it
/// was transcribed.
fn voice_note(
    turn: &Turn,
    transcripts: &std::collections::HashMap<String, Vec<VoiceTranscript>>,
) -> Option<VoiceNoteView> {
    if turn.role != Role::Customer || inkdesk_store::change::is_unsent(turn) {
        return None;
    }
    let message: CustomerMessage = serde_json::from_value(turn.data.clone()?).ok()?;
    if !message
        .attachments
        .iter()
        .any(|a| a.kind == AttachmentKind::Audio)
    {
        return None;
    }
    let words: Vec<&str> = transcripts
        .get(&message.mid)
        .into_iter()
        .flatten()
        .filter_map(VoiceTranscript::text)
        .collect();
    Some(VoiceNoteView {
        transcript: (!words.is_empty()).then(|| words.join("\n")),
    })
}

/// Traces of recent assistant turns, newest first, optionally of one conversation and/or
/// with one intent.
pub async fn traces(
    app: &App,
    conversation: Option<&ConversationId>,
    intent: Option<&str>,
) -> Result<Vec<TraceView>, StoreError> {
    let ids: Vec<ConversationId> = match conversation {
        Some(id) => vec![id.clone()],
        None => app
            .stores
            .log
            .conversations(50)
            .await?
            .into_iter()
            .map(|s| s.conversation)
            .collect(),
    };
    let mut out = Vec::new();
    for id in ids {
        let name = id.to_string();
        for turn in app.stores.log.recent(&id, TRANSCRIPT_LIMIT).await? {
            if let Some(trace) = trace_of(&name, &turn)
                && intent.is_none_or(|i| trace.intents.iter().any(|t| t == i))
            {
                out.push(trace);
            }
        }
    }
    out.sort_by_key(|t| std::cmp::Reverse(t.at));
    out.truncate(500);
    Ok(out)
}

/// An upcoming appointment.
#[derive(Debug, Clone, Serialize)]
pub struct BookingView {
    /// The calendar's id.
    pub id: String,
    /// The owning conversation.
    pub conversation: String,
    /// The customer's Instagram name and username (`Name (@username)`), once fetched.
    pub instagram: Option<String>,
    /// The customer's name.
    pub customer: String,
    /// The customer's phone (E.164).
    pub phone: String,
    /// What is tattooed.
    pub design: Option<String>,
    /// The quoted price.
    pub price: Option<String>,
    /// Start.
    pub start: DateTime<Utc>,
    /// Length in minutes.
    pub minutes: i64,
    /// The artist's key, when the booking has one.
    pub artist: Option<String>,
    /// The artist's name from the profile (see [`name_artists`]).
    pub artist_name: Option<String>,
    /// Whether the booking belongs to a customer's Instagram conversation (not one made
    /// from the console or the command line without one).
    pub linked: bool,
}

/// Fills in each booking's artist name from the profile.
pub fn name_artists(profile: &inkdesk_domain::StudioProfile, views: &mut [BookingView]) {
    for view in views {
        view.artist_name = view
            .artist
            .as_deref()
            .and_then(|k| inkdesk_domain::ArtistKey::parse(k).ok())
            .and_then(|k| profile.artist(&k).map(|a| a.name.clone()));
    }
}

/// Up to 200 upcoming bookings, soonest first.
pub async fn bookings(app: &App) -> Result<Vec<BookingView>, inkdesk_calendar::CalendarError> {
    let list = app.calendar.list_upcoming(app.clock.now(), 200).await?;
    let mut views: Vec<BookingView> = list.into_iter().map(booking_view).collect();
    for view in &mut views {
        if let Ok(conversation) = ConversationId::parse(view.conversation.as_str()) {
            view.instagram = customer_label(app, &conversation, false).await;
        }
    }
    name_artists(&app.profile, &mut views);
    Ok(views)
}

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The calendar failed.
    #[error(transparent)]
    Calendar(#[from] inkdesk_calendar::CalendarError),
}

/// One turn of the history as exported (traces are listed on their own).
#[derive(Debug, Clone, Serialize)]
pub struct ExportTurn {
    /// `customer`, `assistant`, `staff` or `tool`.
    pub role: &'static str,
    /// What was said.
    pub text: String,
    /// The platform's message id.
    pub message_id: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// What else is stored with it (attachments, image analyses, handoff notes).
    pub data: Option<Value>,
}

/// A mute as exported.
#[derive(Debug, Clone, Serialize)]
pub struct MuteExport {
    /// When it ends.
    pub until: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

/// Everything inkdesk holds about one customer: the answer to a data-access request.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    /// The file's format and version.
    pub format: &'static str,
    /// The customer's Instagram-scoped id (the conversation).
    pub conversation: String,
    /// The customer's Instagram name and username as fetched from Meta (or that they could
    /// not be), kept for the console.
    pub instagram_profile: Option<crate::profiles::StoredProfile>,
    /// When the file was made.
    pub exported_at: DateTime<Utc>,
    /// Days the history is kept after the latest message.
    pub history_retention_days: u32,
    /// Every kept turn, oldest first.
    pub transcript: Vec<ExportTurn>,
    /// What the assistant did in each of its turns (model and tool calls).
    pub traces: Vec<TraceView>,
    /// The customer's bookings, past and future, with the name, phone and design stored.
    pub bookings: Vec<BookingView>,
    /// Whether a person has the conversation (the bot muted), and until when.
    pub mute: Option<MuteExport>,
    /// A cancel or reschedule question waiting for the customer's yes.
    pub pending_confirmation: Option<Value>,
    /// Consents the customer gave. inkdesk asks for none today, so this list is empty;
    /// it is part of the format so that a consent recorded later is exported here.
    pub consents: Vec<Value>,
}

/// Collects [`Export`] for `conversation`.
pub async fn export(app: &App, conversation: &ConversationId) -> Result<Export, ExportError> {
    let id = conversation.to_string();
    let turns = app
        .stores
        .log
        .recent(conversation, TRANSCRIPT_LIMIT)
        .await?;
    let traces = turns.iter().filter_map(|t| trace_of(&id, t)).collect();
    let transcript = turns
        .iter()
        .map(|t| ExportTurn {
            role: role_name(t.role),
            text: t.text.clone(),
            message_id: t.message_id.clone(),
            at: t.at,
            data: t.data.as_ref().and_then(|d| match d {
                Value::Object(map) => {
                    let rest: serde_json::Map<String, Value> = map
                        .iter()
                        .filter(|(k, _)| k.as_str() != "trace")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    (!rest.is_empty()).then_some(Value::Object(rest))
                }
                other => Some(other.clone()),
            }),
        })
        .collect();
    // From the epoch: past bookings too.
    let bookings = app
        .calendar
        .upcoming_for(conversation, DateTime::UNIX_EPOCH)
        .await?
        .into_iter()
        .map(booking_view)
        .collect();
    let mute = app
        .stores
        .takeover
        .muted(conversation)
        .await?
        .map(|m| MuteExport {
            until: m.until,
            reason: m.reason,
        });
    let key = crate::adapters::confirmation_key(conversation);
    let pending_confirmation = app.stores.keyed.get(conversation, &key).await?;
    Ok(Export {
        format: "inkdesk-export/1",
        instagram_profile: app.profiles.stored(conversation).await,
        conversation: id,
        exported_at: app.clock.now(),
        history_retention_days: app.profile.conversation.history_retention_days,
        transcript,
        traces,
        bookings,
        mute,
        pending_confirmation,
        consents: Vec::new(),
    })
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Customer => "customer",
        Role::Assistant => "assistant",
        Role::Staff => "staff",
        Role::Tool => "tool",
    }
}

/// The console's view of one booking (Instagram label and artist name not filled in).
pub fn booking_view(b: inkdesk_calendar::Booking) -> BookingView {
    BookingView {
        linked: !matches!(
            b.conversation.as_str(),
            super::calendar::input::CONSOLE_CONVERSATION | "cli"
        ),
        artist: b.artist.as_ref().map(ToString::to_string),
        artist_name: None,
        id: b.id.to_string(),
        conversation: b.conversation.to_string(),
        instagram: None,
        customer: b.customer.to_string(),
        phone: b.phone.to_string(),
        design: b.design.as_ref().map(|d| d.as_str().to_owned()),
        price: b.price.as_ref().map(ToString::to_string),
        start: b.start,
        minutes: (b.end - b.start).num_minutes(),
    }
}

/// Today's counts, from the conversation log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    /// Conversations with activity today.
    pub active_conversations: u64,
    /// Customer messages.
    pub customer_messages: u64,
    /// Assistant replies.
    pub assistant_replies: u64,
    /// Staff replies (console or Instagram app).
    pub staff_replies: u64,
    /// Handoffs to a person.
    pub handoffs: u64,
}

/// Readiness and today's counters.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    /// `ok` or the store's error.
    pub store: String,
    /// `ok` or the calendar's error.
    pub calendar: String,
    /// The breaker's state (`closed`, `open`, `half_open`), or `not_configured`.
    pub model: String,
    /// Whether `IG_USER_ACCESS_TOKEN` is set.
    pub graph_token: bool,
    /// Whether handoff notifications go anywhere.
    pub notifications: bool,
    /// The global switch.
    pub paused: bool,
    /// Today (studio time zone) so far.
    pub today: Counters,
    /// The calendar feed's subscribe addresses (empty while `INKDESK_FEED_TOKEN` is unset).
    pub feeds: Vec<crate::http::feed::FeedLink>,
    /// The feed is on but `INKDESK_PUBLIC_URL` is unset, so the addresses are only paths.
    pub feed_needs_public_url: bool,
    /// Today's model usage and estimated cost, every replica's.
    pub usage_today: UsageView,
}

/// Checks every dependency (each with a short timeout) and counts today's activity.
pub async fn status(app: &App) -> StatusView {
    let limit = Duration::from_secs(5);
    let store = match tokio::time::timeout(limit, app.stores.health.ping()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timeout".to_owned(),
    };
    let now = app.clock.now();
    let calendar = match tokio::time::timeout(limit, app.calendar.list_upcoming(now, 1)).await {
        Ok(Ok(_)) => "ok".to_owned(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timeout".to_owned(),
    };
    let model = app.model.as_ref().map_or_else(
        || "not_configured".to_owned(),
        |m| m.breaker_state().as_str().to_owned(),
    );
    let paused = app.stores.takeover.is_paused().await.unwrap_or(false);
    let today = counters(app).await.unwrap_or_default();
    let public_url = app.admin.public_url();
    let feeds = crate::http::feed::links(app, public_url.unwrap_or(""));
    let day = now.with_timezone(&app.profile.time_zone).date_naive();
    let usage_today = match app.stores.usage.day_usage(day).await {
        Ok(totals) => UsageView::of(totals),
        Err(error) => {
            tracing::warn!(%error, "usage totals unavailable");
            UsageView::default()
        }
    };
    StatusView {
        feed_needs_public_url: !feeds.is_empty() && public_url.is_none(),
        feeds,
        store,
        calendar,
        model,
        graph_token: app.messenger.is_some(),
        notifications: app.admin.notifier().is_configured(),
        paused,
        today,
        usage_today,
    }
}

async fn counters(app: &App) -> Result<Counters, StoreError> {
    let tz = app.profile.time_zone;
    let now = app.clock.now();
    let today = now.with_timezone(&tz).date_naive();
    let is_today = |at: DateTime<Utc>| at.with_timezone(&tz).date_naive() == today;
    let mut c = Counters::default();
    for summary in app.stores.log.conversations(INBOX_LIMIT).await? {
        if !is_today(summary.last_at) {
            continue;
        }
        c.active_conversations += 1;
        for turn in app
            .stores
            .log
            .recent(&summary.conversation, TRANSCRIPT_LIMIT)
            .await?
        {
            if !is_today(turn.at) {
                continue;
            }
            match turn.role {
                Role::Customer => c.customer_messages += 1,
                Role::Assistant => c.assistant_replies += 1,
                Role::Staff => c.staff_replies += 1,
                Role::Tool => {
                    if matches!(
                        TurnData::of(turn.data.as_ref()),
                        Some(TurnData::Handoff { .. })
                    ) {
                        c.handoffs += 1;
                    }
                }
            }
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handoff_mute_is_shown_as_a_handoff_with_its_reason() {
        let until = Utc::now();
        let handoff = Mute {
            until,
            reason: "handoff: Complaint".into(),
        };
        assert_eq!(
            Status::of(Some(handoff), false),
            Status::HandedOff {
                until,
                reason: "Complaint".into()
            }
        );
        assert_eq!(Status::of(None, true), Status::Paused);
        assert_eq!(Status::of(None, false), Status::Bot);
    }

    #[test]
    fn windows_show_time_left_and_reactions_do_not_reopen_them() {
        let now = Utc::now();
        let turn = |hours_ago: i64, data: Option<Value>| Turn {
            role: Role::Customer,
            text: "x".into(),
            message_id: None,
            at: now - chrono::Duration::hours(hours_ago),
            data,
        };
        let turns = [
            turn(30, None),
            turn(1, Some(serde_json::json!({"reaction": {"emoji": "❤"}}))),
        ];
        let last = last_customer_at(&turns);
        assert_eq!(last, Some(now - chrono::Duration::hours(30)));
        let view = WindowsView::of(&ReplyWindows::new(last, now));
        assert!(!view.standard.open);
        assert_eq!(view.standard.minutes_left, Some(0));
        assert!(view.human_agent.open);
        assert_eq!(view.human_agent.minutes_left, Some(138 * 60));
        let never = WindowsView::of(&ReplyWindows::new(None, now));
        assert!(!never.human_agent.open);
        assert_eq!(never.human_agent.minutes_left, None);
    }
}
