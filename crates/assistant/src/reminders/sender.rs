//! [`ReminderSender`]: one claimed reminder job, sent exactly once.
//!
//! ```text
//! claim ─► settled before? complete : sent before? log + settle
//!       ─► booking re-read: gone / not confirmed / started ─► settle skipped
//!                           moved ─► the job moves with it (nothing sent)
//!       ─► channel: DM (24-hour window open) | SMS (consent + Twilio) | by hand
//!       ─► record "attempting" (fenced, renews the lease) ─► send ─► record the id
//!       ─► log the reminder in the conversation ─► record "settled" ─► (the job runner
//!          completes the job)
//! ```
//!
//! Invariants:
//! - **Fenced.** Every record is [`Schedule::record_job`] under the claim's token, refused
//!   once the lease is lost or ran out; a send happens only right after such a record
//!   succeeded, so a worker that lost its job never sends.
//! - **Decided once.** The channel and text are recorded before the send; a resumed job
//!   whose last holder had not yet attempted decides afresh (nothing went out).
//! - **The window that stays open.** A holder that dies after the upstream accepted and
//!   before the id was recorded leaves no record. For a DM, Meta's echo of the text (kept by
//!   the webhook, see [`note_reminder_send`]) proves the delivery and the resumed job does
//!   not send again; without an echo it sends once more. For an SMS (Twilio has neither
//!   idempotency keys nor echoes) the resumed job never sends again: it is settled "maybe
//!   sent" and listed for a person, since two texts are worse than one check by hand.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use inkdesk_calendar::{Booking, Calendar, CalendarError};
use inkdesk_domain::{Clock, StudioProfile};
use inkdesk_messaging::sms::{Sms, SmsError};
use inkdesk_messaging::{Messenger, ReplyWindows, SendKind, SendOptions};
use inkdesk_store::{
    ConversationLog, JobClaim, Keyed, Outbox, Role, Schedule, StoreError, Takeover, Turn,
};
use serde::{Deserialize, Serialize};

use super::text::{ReminderKind, ReminderTexts};
use super::{ReminderJob, ReminderPlanner, is_confirmed};
use crate::confirm::TurnId;
use crate::jobs::{JobHandler, JobResult};
use crate::runner::data::TurnData;
use crate::runner::echo::{chunk_echo, note_reminder_send};

/// How long the ids of sent reminders are remembered to recognise their echoes.
const OUTBOX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// How many upcoming bookings a sweep looks at.
const SWEEP_LIMIT: usize = 500;

/// How many log entries are searched for the customer's newest message.
const WINDOW_LOOKBACK: usize = 64;

/// Tunables of the sender.
#[derive(Debug, Clone)]
pub struct ReminderConfig {
    /// The lease of a claimed job (renewed by every record).
    pub lease: Duration,
    /// Failed sends (upstream down, rate-limited) before a person is asked to remind.
    pub max_failures: u32,
    /// First retry delay, doubled per failure.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
}

impl Default for ReminderConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            max_failures: 5,
            retry_base: Duration::from_secs(60),
            retry_max: Duration::from_secs(1800),
        }
    }
}

/// Metrics of the reminders.
pub trait ReminderObserver: Send + Sync {
    /// A claimed reminder ended with `outcome` (a [`ReminderOutcome::label`]).
    fn reminder_ended(&self, outcome: &str);
}

impl ReminderObserver for () {
    fn reminder_ended(&self, _outcome: &str) {}
}

/// Where a test may stop a reminder as if its process died there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderStep {
    /// The attempt (channel and text) was recorded; nothing was sent.
    Attempting,
    /// The upstream accepted the reminder; its id is not recorded.
    SentUnrecorded,
    /// The outcome is recorded; the job is not completed yet.
    BeforeComplete,
}

type Faults = Arc<dyn Fn(ReminderStep) -> bool + Send + Sync>;

/// The ports a reminder uses.
#[derive(Clone)]
pub struct ReminderPorts {
    /// The jobs.
    pub schedule: Arc<dyn Schedule>,
    /// Moves a job whose booking moved without it.
    pub planner: ReminderPlanner,
    /// The bookings.
    pub calendar: Arc<dyn Calendar>,
    /// Conversations (the window, the language, the reminder's record).
    pub log: Arc<dyn ConversationLog>,
    /// Ids of sent messages (our echoes).
    pub outbox: Arc<dyn Outbox>,
    /// Notes of reminders being sent and their echoes.
    pub keyed: Arc<dyn Keyed>,
    /// The global pause.
    pub takeover: Arc<dyn Takeover>,
    /// Instagram, when configured.
    pub messenger: Option<Arc<dyn Messenger>>,
    /// Twilio, when configured.
    pub sms: Option<Arc<dyn Sms>>,
    /// The studio.
    pub profile: Arc<StudioProfile>,
    /// The texts.
    pub texts: ReminderTexts,
    /// Metrics.
    pub observer: Arc<dyn ReminderObserver>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// How a reminder went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An Instagram message.
    Dm,
    /// A text message through Twilio.
    Sms,
}

impl Channel {
    fn label(self) -> &'static str {
        match self {
            Channel::Dm => "dm",
            Channel::Sms => "sms",
        }
    }
}

/// How a reminder job ended, kept in its progress (the console reads it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Settled {
    /// Sent.
    Sent {
        /// How.
        channel: Channel,
    },
    /// No channel could take it: a person should remind the customer.
    ByHand {
        /// Why (for the studio).
        reason: String,
    },
    /// The sender died while the upstream had it; it may have gone out (SMS only).
    MaybeSent {
        /// How it was tried.
        channel: Channel,
    },
    /// Not needed any more.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// What a reminder job has decided and done, kept in the job across claims.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderProgress {
    /// The channel of the attempt.
    pub channel: Option<Channel>,
    /// The text of the attempt.
    pub text: Option<String>,
    /// A send was (about to be) made.
    pub attempted: bool,
    /// The upstream's id of the sent reminder.
    pub sent: Option<String>,
    /// Failed attempts (the upstream did not take it).
    pub failures: u32,
    /// How it ended.
    pub settled: Option<Settled>,
}

impl ReminderProgress {
    /// Reads a job's progress (an unreadable one counts as none).
    pub fn of(value: Option<&serde_json::Value>) -> Self {
        value
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// How one claim of a reminder job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderOutcome {
    /// Sent by DM.
    SentDm,
    /// Sent by SMS.
    SentSms,
    /// Listed for a person.
    ByHand,
    /// May have been sent (the SMS sender died mid-request); listed for a person.
    MaybeSent,
    /// Not needed (cancelled, not confirmed, started).
    Skipped,
    /// The booking moved: the job moved with it.
    Moved,
    /// Failed for now; retried later.
    Retry,
    /// Another worker has the job.
    LostLease,
    /// A fault plan stopped it (tests).
    Crashed,
}

impl ReminderOutcome {
    /// A short label for metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::SentDm => "sent_dm",
            Self::SentSms => "sent_sms",
            Self::ByHand => "by_hand",
            Self::MaybeSent => "maybe_sent",
            Self::Skipped => "skipped",
            Self::Moved => "moved",
            Self::Retry => "retry",
            Self::LostLease => "lost_lease",
            Self::Crashed => "crashed",
        }
    }

    fn of(settled: &Settled) -> Self {
        match settled {
            Settled::Sent {
                channel: Channel::Dm,
            } => Self::SentDm,
            Settled::Sent {
                channel: Channel::Sms,
            } => Self::SentSms,
            Settled::ByHand { .. } => Self::ByHand,
            Settled::MaybeSent { .. } => Self::MaybeSent,
            Settled::Skipped { .. } => Self::Skipped,
        }
    }
}

#[derive(Debug)]
enum Stop {
    Lost,
    Crash,
    Retry(String),
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::StaleLease => Stop::Lost,
            other => Stop::Retry(format!("store: {other}")),
        }
    }
}

/// Sends claimed reminders. Cheap to share behind an `Arc`.
pub struct ReminderSender {
    ports: ReminderPorts,
    config: ReminderConfig,
    faults: Option<Faults>,
}

impl std::fmt::Debug for ReminderSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReminderSender")
            .field("config", &self.config)
            .field("dm", &self.ports.messenger.is_some())
            .field("sms", &self.ports.sms.is_some())
            .finish_non_exhaustive()
    }
}

impl ReminderSender {
    /// A sender over `ports`.
    pub fn new(ports: ReminderPorts, config: ReminderConfig) -> Self {
        Self {
            ports,
            config,
            faults: None,
        }
    }

    /// The same sender stopping where `faults` says (crash-injection tests).
    pub fn with_faults(
        mut self,
        faults: impl Fn(ReminderStep) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.faults = Some(Arc::new(faults));
        self
    }

    /// The sender's settings.
    pub fn config(&self) -> &ReminderConfig {
        &self.config
    }

    /// Schedules the reminders missing for the calendar's next bookings (see
    /// [`ReminderPlanner::sweep`]); the binary calls it every few minutes.
    pub async fn sweep(&self) -> Result<usize, super::SweepError> {
        self.ports
            .planner
            .sweep(self.ports.calendar.as_ref(), SWEEP_LIMIT)
            .await
    }

    /// Whether a reminder can go out at all without a person: by DM (Instagram
    /// configured) or by SMS (Twilio configured). The prompt says what it may promise.
    pub fn channels(&self) -> (bool, bool) {
        (self.ports.messenger.is_some(), self.ports.sms.is_some())
    }

    /// Runs one claimed reminder job to its end (or until it must stop): how it went, and
    /// what the job runner does with the claim (complete it, retry it later, or leave it to
    /// its lease).
    pub async fn handle(&self, claim: &JobClaim) -> (ReminderOutcome, JobResult) {
        let (outcome, result) = match self.step(claim).await {
            Ok(ReminderOutcome::Moved) => (ReminderOutcome::Moved, JobResult::Left),
            Ok(outcome) => (outcome, JobResult::Done),
            Err(Stop::Lost) => {
                tracing::warn!(job = %claim.key, "reminder lease lost; another worker has it");
                (ReminderOutcome::LostLease, JobResult::Left)
            }
            Err(Stop::Crash) => (ReminderOutcome::Crashed, JobResult::Left),
            Err(Stop::Retry(reason)) => {
                let at = self.after(backoff(&self.config, claim.attempt));
                tracing::warn!(job = %claim.key, reason, "reminder postponed");
                (ReminderOutcome::Retry, JobResult::RetryAt(at))
            }
        };
        self.ports.observer.reminder_ended(outcome.label());
        (outcome, result)
    }

    fn crash_at(&self, step: ReminderStep) -> Result<(), Stop> {
        match &self.faults {
            Some(faults) if faults(step) => {
                tracing::warn!(?step, "fault plan: reminder stopped");
                Err(Stop::Crash)
            }
            _ => Ok(()),
        }
    }

    fn after(&self, delay: Duration) -> DateTime<Utc> {
        let now = self.ports.clock.now();
        chrono::Duration::from_std(delay)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(now)
    }

    async fn record(&self, claim: &JobClaim, progress: &ReminderProgress) -> Result<(), Stop> {
        self.ports
            .schedule
            .record_job(claim, progress.to_value(), self.config.lease)
            .await?;
        Ok(())
    }

    async fn settle(
        &self,
        claim: &JobClaim,
        mut progress: ReminderProgress,
        settled: Settled,
    ) -> Result<ReminderOutcome, Stop> {
        let outcome = ReminderOutcome::of(&settled);
        match &settled {
            Settled::ByHand { reason } => {
                tracing::info!(job = %claim.key, reason, "reminder left to a person");
            }
            Settled::Skipped { reason } => {
                tracing::info!(job = %claim.key, reason, "reminder not needed");
            }
            _ => {}
        }
        progress.settled = Some(settled);
        self.record(claim, &progress).await?;
        self.crash_at(ReminderStep::BeforeComplete)?;
        Ok(outcome)
    }

    fn turn_id(job: &ReminderJob) -> TurnId {
        TurnId(format!("reminder-{}", job.booking.as_str()))
    }

    async fn step(&self, claim: &JobClaim) -> Result<ReminderOutcome, Stop> {
        let ports = &self.ports;
        let mut progress = ReminderProgress::of(claim.progress.as_ref());
        if let Some(settled) = &progress.settled {
            // The last holder settled it and died before completing: complete it now.
            return Ok(ReminderOutcome::of(settled));
        }
        let Some(job) = ReminderJob::from_value(&claim.payload) else {
            let reason = "the job cannot be read".to_owned();
            return self
                .settle(claim, progress, Settled::Skipped { reason })
                .await;
        };
        if progress.sent.is_some() {
            return self.finish(claim, &job, progress).await;
        }
        let booking = match ports.calendar.get(&job.booking).await {
            Ok(booking) => booking,
            Err(CalendarError::Gone(_) | CalendarError::NotFound(_)) => {
                let reason = "the booking was cancelled".to_owned();
                return self
                    .settle(claim, progress, Settled::Skipped { reason })
                    .await;
            }
            Err(error) => return Err(Stop::Retry(format!("calendar: {error}"))),
        };
        if booking.start != job.start {
            // Moved without its reminder (by hand in the calendar): the job follows.
            ports.planner.moved(&booking).await?;
            tracing::info!(job = %claim.key, "the booking moved; its reminder moved with it");
            return Ok(ReminderOutcome::Moved);
        }
        if progress.attempted {
            match progress.channel {
                Some(Channel::Sms) => {
                    let channel = Channel::Sms;
                    return self
                        .settle(claim, progress, Settled::MaybeSent { channel })
                        .await;
                }
                Some(Channel::Dm) => {
                    let text = progress.text.clone().unwrap_or_default();
                    if let Some(mid) = chunk_echo(
                        ports.keyed.as_ref(),
                        &job.conversation,
                        &Self::turn_id(&job),
                        &text,
                    )
                    .await?
                    {
                        tracing::info!(job = %claim.key, "reminder already delivered (its echo came back)");
                        ports.outbox.remember(&mid, OUTBOX_TTL).await?;
                        progress.sent = Some(mid);
                        self.record(claim, &progress).await?;
                        return self.finish(claim, &job, progress).await;
                    }
                }
                None => {}
            }
        }
        if !is_confirmed(&booking) {
            let reason = "the booking is not confirmed".to_owned();
            return self
                .settle(claim, progress, Settled::Skipped { reason })
                .await;
        }
        if booking.start <= ports.clock.now() {
            let reason = "the appointment has started".to_owned();
            return self
                .settle(claim, progress, Settled::Skipped { reason })
                .await;
        }
        let (channel, text) = match self.decide(&job, &booking).await? {
            Ok(decided) => decided,
            Err(reason) => {
                return self
                    .settle(claim, progress, Settled::ByHand { reason })
                    .await;
            }
        };
        progress.channel = Some(channel);
        progress.text = Some(text.clone());
        progress.attempted = true;
        self.record(claim, &progress).await?;
        self.crash_at(ReminderStep::Attempting)?;
        match channel {
            Channel::Dm => self.send_dm(claim, &job, progress, &text).await,
            Channel::Sms => self.send_sms(claim, &job, &booking, progress, &text).await,
        }
    }

    /// The channel and text, or why a person must remind the customer.
    async fn decide(
        &self,
        job: &ReminderJob,
        booking: &Booking,
    ) -> Result<Result<(Channel, String), String>, Stop> {
        let ports = &self.ports;
        if ports.takeover.is_paused().await? {
            return Ok(Err("the assistant is paused".to_owned()));
        }
        let turns = ports.log.recent(&job.conversation, WINDOW_LOOKBACK).await?;
        let customer: Vec<&Turn> = turns
            .iter()
            .filter(|t| t.role == Role::Customer && !is_reaction(t))
            .collect();
        let last = customer.iter().map(|t| t.at).max();
        let language = crate::language::detect_in_conversation(
            "",
            customer.iter().rev().map(|t| t.text.as_str()),
            ports.profile.language,
        )
        .language;
        let window = ReplyWindows::new(last, ports.clock.now());
        if ports.messenger.is_some() && window.is_open(SendKind::Standard) {
            let text = ports
                .texts
                .render(&ports.profile, booking, language, ReminderKind::Dm);
            return Ok(if text.is_empty() {
                Err("the reminder text is empty".to_owned())
            } else {
                Ok((Channel::Dm, text))
            });
        }
        if ports.sms.is_none() {
            return Ok(Err(
                "outside Instagram's 24-hour window, and SMS is not configured".to_owned(),
            ));
        }
        if !super::sms_consent(booking) {
            return Ok(Err(
                "outside Instagram's 24-hour window, and the customer did not agree to SMS"
                    .to_owned(),
            ));
        }
        let text = ports
            .texts
            .render(&ports.profile, booking, language, ReminderKind::Sms);
        Ok(if text.is_empty() {
            Err("the reminder text is empty".to_owned())
        } else {
            Ok((Channel::Sms, text))
        })
    }

    async fn failed(
        &self,
        claim: &JobClaim,
        mut progress: ReminderProgress,
        reason: String,
    ) -> Result<ReminderOutcome, Stop> {
        progress.attempted = false;
        progress.failures = progress.failures.saturating_add(1);
        if progress.failures >= self.config.max_failures {
            let reason = format!("{reason} ({} attempts)", progress.failures);
            return self
                .settle(claim, progress, Settled::ByHand { reason })
                .await;
        }
        self.record(claim, &progress).await?;
        Err(Stop::Retry(reason))
    }

    async fn send_dm(
        &self,
        claim: &JobClaim,
        job: &ReminderJob,
        mut progress: ReminderProgress,
        text: &str,
    ) -> Result<ReminderOutcome, Stop> {
        let ports = &self.ports;
        let Some(messenger) = &ports.messenger else {
            return Err(Stop::Retry("no messenger".to_owned()));
        };
        note_reminder_send(
            ports.keyed.as_ref(),
            &job.conversation,
            &Self::turn_id(job),
            text,
        )
        .await?;
        match messenger
            .send_text(&job.conversation, text, SendOptions::default())
            .await
        {
            Ok(ids) => {
                self.crash_at(ReminderStep::SentUnrecorded)?;
                for id in &ids {
                    ports.outbox.remember(id.as_str(), OUTBOX_TTL).await?;
                }
                let ids: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
                progress.sent = Some(ids.join(","));
                self.record(claim, &progress).await?;
                self.finish(claim, job, progress).await
            }
            Err(failure) if !failure.delivered.is_empty() => {
                for id in &failure.delivered {
                    ports.outbox.remember(id.as_str(), OUTBOX_TTL).await?;
                }
                let ids: Vec<&str> = failure.delivered.iter().map(|id| id.as_str()).collect();
                progress.sent = Some(ids.join(","));
                self.record(claim, &progress).await?;
                self.finish(claim, job, progress).await
            }
            Err(failure) if failure.error.is_retryable() => {
                let reason = format!("Instagram did not take the reminder: {}", failure.error);
                self.failed(claim, progress, reason).await
            }
            Err(failure) => {
                let reason = format!("Instagram refused the reminder: {}", failure.error);
                self.settle(claim, progress, Settled::ByHand { reason })
                    .await
            }
        }
    }

    async fn send_sms(
        &self,
        claim: &JobClaim,
        job: &ReminderJob,
        booking: &Booking,
        mut progress: ReminderProgress,
        text: &str,
    ) -> Result<ReminderOutcome, Stop> {
        let Some(sms) = &self.ports.sms else {
            return Err(Stop::Retry("no SMS sender".to_owned()));
        };
        match sms.send_sms(&booking.phone, text).await {
            Ok(receipt) => {
                self.crash_at(ReminderStep::SentUnrecorded)?;
                progress.sent = Some(receipt.sid);
                self.record(claim, &progress).await?;
                self.finish(claim, job, progress).await
            }
            Err(error) if error.is_retryable() => {
                // Not Twilio's own words: they may quote the number.
                let reason = match error {
                    SmsError::RateLimited { .. } => "Twilio rate-limited the SMS",
                    _ => "Twilio was unavailable",
                };
                self.failed(claim, progress, reason.to_owned()).await
            }
            Err(SmsError::Ambiguous(_)) => {
                let channel = Channel::Sms;
                self.settle(claim, progress, Settled::MaybeSent { channel })
                    .await
            }
            Err(error) => {
                // Twilio's own message may quote the number: only the kind is kept.
                let reason = match &error {
                    SmsError::Unsubscribed(_) => {
                        "the customer unsubscribed from our texts (STOP)".to_owned()
                    }
                    SmsError::Rejected(api) | SmsError::Unauthorized(api) => match api.code {
                        Some(code) => format!("Twilio refused the SMS (error {code})"),
                        None => format!("Twilio refused the SMS (HTTP {})", api.status),
                    },
                    _ => "Twilio refused the SMS".to_owned(),
                };
                self.settle(claim, progress, Settled::ByHand { reason })
                    .await
            }
        }
    }

    /// The reminder went out: record it in the conversation (once), settle, complete.
    async fn finish(
        &self,
        claim: &JobClaim,
        job: &ReminderJob,
        progress: ReminderProgress,
    ) -> Result<ReminderOutcome, Stop> {
        let ports = &self.ports;
        let channel = progress.channel.unwrap_or(Channel::Dm);
        let text = progress.text.clone().unwrap_or_default();
        let data = TurnData::Reminder {
            booking: job.booking.as_str().to_owned(),
            channel: channel.label().to_owned(),
            start: Some(job.start),
        }
        .to_value();
        let entry = Turn {
            role: Role::Assistant,
            text: match channel {
                Channel::Dm => text,
                Channel::Sms => format!("[reminder sent by SMS] {text}"),
            },
            message_id: match channel {
                Channel::Dm => progress
                    .sent
                    .as_deref()
                    .and_then(|ids| ids.split(',').next())
                    .map(str::to_owned),
                Channel::Sms => None,
            },
            at: ports.clock.now(),
            data: Some(data),
        };
        // The last holder may have logged it before dying.
        let recent = ports.log.recent(&job.conversation, WINDOW_LOOKBACK).await?;
        if !recent.iter().any(|t| t.data == entry.data) {
            ports.log.append(&job.conversation, entry).await?;
        }
        tracing::info!(job = %claim.key, channel = channel.label(), "reminder sent");
        self.settle(claim, progress, Settled::Sent { channel })
            .await
    }
}

fn is_reaction(turn: &Turn) -> bool {
    turn.data
        .as_ref()
        .and_then(|d| d.get("reaction"))
        .is_some_and(|r| !r.is_null())
}

/// The delay before attempt `attempt + 1`.
fn backoff(config: &ReminderConfig, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    config
        .retry_base
        .saturating_mul(factor)
        .min(config.retry_max)
}

#[async_trait::async_trait]
impl JobHandler for ReminderSender {
    fn kind(&self) -> &'static str {
        super::JOB_KIND
    }

    async fn run(&self, claim: &JobClaim) -> JobResult {
        self.handle(claim).await.1
    }
}
