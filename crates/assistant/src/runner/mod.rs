//! The turn runner: what one claimed conversation's turn does, in which order, exactly once.
//!
//! The binary's workers only claim conversations and bound how many run at once; everything
//! a turn does happens here, behind the store's and the messenger's ports:
//!
//! ```text
//! claim ─► journal open? resume it : (window? ─► open journal ─► engine with the ledger)
//!       ─► plan journalled (chunks in order)
//!       ─► per chunk: lease renewed + not muted/paused + window open? ─► send ─► record id
//!       ─► log outcome + mute on handoff (journalled) ─► notify (journalled) ─► ack
//! ```
//!
//! Invariants:
//! - **Decided once.** The model's decision (the reply's chunks, the handoff) and each
//!   calendar change are written to the journal before anything depends on them; a turn
//!   claimed again resumes the journal and never asks the model again for a decision it has.
//! - **Fenced.** Before every side effect the lease is renewed (which fails once another
//!   worker holds the conversation) and mute and pause are read again; a heartbeat keeps
//!   the lease during long model calls. A turn that lost its lease stops without acting.
//! - **The window that stays open.** A process that dies after Instagram accepted a chunk
//!   and before its id was recorded leaves no record of the send (the Send API has no
//!   idempotency key). Meta's echo of the chunk, kept by the webhook
//!   ([`echo::note_chunk_echo`]), is the proof a resumed turn looks for before sending its
//!   first unsent chunk again; only when that echo never arrived is the chunk sent twice
//!   (and its echo is still recognised as ours, so it never mutes the conversation).

pub mod data;
pub mod echo;
pub mod faults;
pub mod history;
pub mod journal;
pub mod requeue;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inkdesk_domain::{Clock, ConversationId};
use inkdesk_messaging::{
    MAX_MESSAGE_BYTES, Messenger, ReplyWindows, SendError, SendKind, SendOptions, split_message,
};
use inkdesk_store::{
    Claim, ConversationLog, Inbox, Keyed, Outbox, Role, StoreError, Takeover, Turn, TurnJournal,
};
use serde_json::Value;

use crate::confirm::TurnId;
use crate::engine::{EffectLedger, Engine, Fenced, TurnInput, TurnOutcome, TurnRecord};
use crate::prompt::FixedText;
use data::TurnData;
use faults::{FaultPlan, NoFaults, Step};
use journal::{Chunk, Effect, HandoffPlan, Journal, Plan};

/// How many claims without an ack (crashes and lost leases included) are tolerated, as a
/// multiple of [`RunnerConfig::max_attempts`], before the conversation goes to a person.
/// Explicit failures count against `max_attempts` itself; crashes only against this much
/// higher bound, so a flapping replica does not silence customers while a message that
/// kills its process every time still ends with a person.
const CRASH_FACTOR: u32 = 4;

/// How long the ids of sent messages are remembered to recognise their echoes.
const OUTBOX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Tunables of the runner.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The lease on a claimed conversation (renewed by a heartbeat every third of it).
    pub lease: Duration,
    /// The longest a turn may take from claim to reply; after it the turn ends with the
    /// apology and a handoff.
    pub turn_deadline: Duration,
    /// Attempts before the conversation goes to a person.
    pub max_attempts: u32,
    /// First retry delay; doubled on each further attempt.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Most queued messages one turn answers.
    pub max_messages: usize,
    /// Most images one turn analyses.
    pub max_images: usize,
    /// History entries given to the model.
    pub history_turns: usize,
    /// How long a handoff mutes the bot.
    pub handoff_mute: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            turn_deadline: Duration::from_secs(300),
            max_attempts: 5,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(300),
            max_messages: 20,
            max_images: 4,
            history_turns: 20,
            handoff_mute: Duration::from_secs(2 * 3600),
        }
    }
}

/// What the runner tells the rest of the service (metrics, the studio's notifications).
pub trait TurnObserver: Send + Sync {
    /// A turn ended with `outcome` (a [`RunOutcome::label`]).
    fn turn_ended(&self, outcome: &str);
    /// The engine's record of a turn (model calls, tools), once per decided turn.
    fn decided(&self, record: &TurnRecord);
    /// Chunks accepted by Instagram.
    fn sent(&self, chunks: u64);
    /// The conversation was handed to a person: tell the studio.
    fn handed_off(&self, conversation: &ConversationId, reason: &str);
    /// A resumed turn found a chunk already delivered (by its echo) and did not send it
    /// again.
    fn recovered_from_echo(&self) {}
}

/// An observer that does nothing (tests, tools).
#[derive(Debug, Default, Clone, Copy)]
pub struct QuietObserver;

impl TurnObserver for QuietObserver {
    fn turn_ended(&self, _outcome: &str) {}
    fn decided(&self, _record: &TurnRecord) {}
    fn sent(&self, _chunks: u64) {}
    fn handed_off(&self, _conversation: &ConversationId, _reason: &str) {}
}

/// The ports a turn uses.
#[derive(Clone)]
pub struct RunnerPorts {
    /// The debounce queue (leases, acks, retries).
    pub inbox: Arc<dyn Inbox>,
    /// Turn journals.
    pub journal: Arc<dyn TurnJournal>,
    /// The conversation log.
    pub log: Arc<dyn ConversationLog>,
    /// Mutes and the global switch.
    pub takeover: Arc<dyn Takeover>,
    /// Ids of sent messages.
    pub outbox: Arc<dyn Outbox>,
    /// Small keyed values (the echoes that prove a chunk was delivered).
    pub keyed: Arc<dyn Keyed>,
    /// The engine; `None` without a model (messages are recorded for a person).
    pub engine: Option<Arc<Engine>>,
    /// Sends replies; `None` without a token (recorded for a person).
    pub messenger: Option<Arc<dyn Messenger>>,
    /// Metrics and notifications.
    pub observer: Arc<dyn TurnObserver>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// How a turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// The reply went out.
    Sent,
    /// The turn decided to send nothing.
    NoReply,
    /// The reply went out (if any) and the conversation went to a person.
    HandedOff,
    /// A person has the conversation: nothing was sent.
    Muted,
    /// The assistant is paused: nothing was sent; the messages are answered on resume.
    Paused,
    /// No model or no send token: recorded for a person.
    Recorded,
    /// The customer's newest message is outside Meta's 24-hour window: handed to a person.
    OutsideWindow,
    /// Something failed; the turn is retried later.
    Postponed,
    /// Too many failed attempts: handed to a person.
    GaveUp,
    /// The reply could not be sent (not retryable): handed to a person.
    SendFailed,
    /// The lease was lost: another worker has the conversation; nothing more was done.
    LostLease,
    /// A fault plan stopped the turn (tests only).
    Crashed,
}

impl RunOutcome {
    /// A short label for metrics and logs.
    pub fn label(self) -> &'static str {
        match self {
            RunOutcome::Sent => "sent",
            RunOutcome::NoReply => "no_reply",
            RunOutcome::HandedOff => "handoff",
            RunOutcome::Muted => "muted",
            RunOutcome::Paused => "paused",
            RunOutcome::Recorded => "recorded",
            RunOutcome::OutsideWindow => "outside_window",
            RunOutcome::Postponed => "postponed",
            RunOutcome::GaveUp => "gave_up",
            RunOutcome::SendFailed => "send_failed",
            RunOutcome::LostLease => "lost_lease",
            RunOutcome::Crashed => "crashed",
        }
    }
}

/// Why a turn stopped early.
#[derive(Debug)]
enum Stop {
    /// The lease is no longer ours.
    Lost,
    /// A person took the conversation mid-turn.
    TakenOver,
    /// The assistant was paused mid-turn.
    Paused,
    /// Retry later (sending failed retryably, the store failed).
    Retry(String),
    /// The fault plan stopped the turn.
    Crash,
}

impl From<StoreError> for Stop {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::StaleLease => Stop::Lost,
            other => Stop::Retry(format!("store: {other}")),
        }
    }
}

/// Runs claimed turns. Cheap to share behind an `Arc`.
pub struct Runner {
    ports: RunnerPorts,
    config: RunnerConfig,
    faults: Arc<dyn FaultPlan>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.config)
            .field("engine", &self.ports.engine.is_some())
            .field("messenger", &self.ports.messenger.is_some())
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner over `ports`.
    pub fn new(ports: RunnerPorts, config: RunnerConfig) -> Self {
        Self {
            ports,
            config,
            faults: Arc::new(NoFaults),
        }
    }

    /// The same runner stopping where `faults` says (crash-injection tests).
    pub fn with_faults(mut self, faults: Arc<dyn FaultPlan>) -> Self {
        self.faults = faults;
        self
    }

    /// The runner's settings.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// Runs one claimed conversation's turn to its end (or until it must stop).
    pub async fn run(&self, claim: Claim) -> RunOutcome {
        let heartbeat = Heartbeat::start(self.ports.inbox.clone(), &claim, self.config.lease);
        let turn = TurnRun {
            runner: self,
            claim: &claim,
            journal: Mutex::new(None),
            unsaved: AtomicBool::new(false),
            bounded: std::sync::OnceLock::new(),
            heartbeat: &heartbeat,
            stop: Mutex::new(None),
        };
        let result = turn.run().await;
        heartbeat.stop();
        let conversation = &claim.conversation;
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(Stop::Crash) => RunOutcome::Crashed,
            Err(Stop::Lost) => {
                tracing::warn!(%conversation, "lease lost during the turn; another worker takes over");
                RunOutcome::LostLease
            }
            Err(Stop::TakenOver) => RunOutcome::Muted,
            Err(Stop::Paused) => RunOutcome::Paused,
            Err(Stop::Retry(reason)) => {
                turn.note_failure().await;
                self.postpone(&claim, &reason).await
            }
        };
        self.ports.observer.turn_ended(outcome.label());
        outcome
    }

    /// Gives the claim back for a retry after the attempt's backoff.
    async fn postpone(&self, claim: &Claim, reason: &str) -> RunOutcome {
        let delay = backoff(&self.config, claim.attempt);
        let conversation = &claim.conversation;
        tracing::warn!(%conversation, attempt = claim.attempt, reason, retry_in_s = delay.as_secs(), "turn postponed; messages stay queued");
        let at = after(self.ports.clock.now(), delay);
        match self.ports.inbox.postpone(claim, at).await {
            Ok(()) => RunOutcome::Postponed,
            Err(StoreError::StaleLease) => RunOutcome::LostLease,
            Err(error) => {
                // The lease runs out by itself; the next claim counts as another attempt.
                tracing::error!(%conversation, %error, "could not postpone the turn");
                RunOutcome::Postponed
            }
        }
    }
}

/// The delay before attempt `attempt + 1`.
pub fn backoff(config: &RunnerConfig, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    config
        .retry_base
        .saturating_mul(factor)
        .min(config.retry_max)
}

fn after(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now)
}

/// Renews the lease in the background while a turn runs.
struct Heartbeat {
    lost: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    fn start(inbox: Arc<dyn Inbox>, claim: &Claim, lease: Duration) -> Self {
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        let claim = claim.clone();
        let period = (lease / 3).max(Duration::from_millis(50));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                match inbox.renew(&claim, lease).await {
                    Ok(_) => {}
                    Err(StoreError::StaleLease) => {
                        flag.store(true, Ordering::SeqCst);
                        break;
                    }
                    // A blip: the next beat tries again, well inside the lease.
                    Err(error) => tracing::warn!(%error, "lease heartbeat failed"),
                }
            }
        });
        Self { lost, task }
    }

    fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Heartbeat {
    // A turn abandoned mid-way (shutdown past its grace, a task aborted) must not keep its
    // lease alive: the conversation would never be taken over.
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One turn in progress.
struct TurnRun<'a> {
    runner: &'a Runner,
    claim: &'a Claim,
    journal: Mutex<Option<Journal>>,
    /// The journal was opened in memory and not written yet (it is written before the
    /// first calendar change, or with the plan).
    unsaved: AtomicBool,
    /// [`TurnRun::bounded`], once computed.
    bounded: std::sync::OnceLock<(Vec<crate::message::CustomerMessage>, Vec<String>)>,
    heartbeat: &'a Heartbeat,
    /// Why the ledger refused an effect (read after the engine returns).
    stop: Mutex<Option<Stop>>,
}

impl TurnRun<'_> {
    fn ports(&self) -> &RunnerPorts {
        &self.runner.ports
    }

    fn conversation(&self) -> &ConversationId {
        &self.claim.conversation
    }

    fn crash_at(&self, step: Step) -> Result<(), Stop> {
        if self.runner.faults.crash_at(step) {
            tracing::warn!(conversation = %self.conversation(), ?step, "fault plan: turn stopped");
            Err(Stop::Crash)
        } else {
            Ok(())
        }
    }

    fn current(&self) -> Option<Journal> {
        self.journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Writes `journal` under the claim's token (and keeps it as the current one).
    async fn save(&self, journal: Journal) -> Result<(), Stop> {
        self.ports()
            .journal
            .write_journal(self.claim, journal.to_value())
            .await?;
        self.unsaved.store(false, Ordering::SeqCst);
        *self.journal.lock().unwrap_or_else(PoisonError::into_inner) = Some(journal);
        Ok(())
    }

    /// Opens the journal in memory only. Until a side effect needs it, nothing depends on
    /// it: a turn that dies before writing it left nothing to resume and simply runs again
    /// under a new id (no calendar change was made under the old one).
    fn open(&self, journal: Journal) {
        self.unsaved.store(true, Ordering::SeqCst);
        *self.journal.lock().unwrap_or_else(PoisonError::into_inner) = Some(journal);
    }

    /// The right to act now: the lease is still ours (renewed), no person has the
    /// conversation and the assistant is not paused.
    async fn fence(&self) -> Result<(), Stop> {
        if self.heartbeat.is_lost() {
            return Err(Stop::Lost);
        }
        let ports = self.ports();
        ports
            .inbox
            .renew(self.claim, self.runner.config.lease)
            .await?;
        if ports.takeover.is_paused().await? {
            return Err(Stop::Paused);
        }
        if ports.takeover.muted(self.conversation()).await?.is_some() {
            return Err(Stop::TakenOver);
        }
        Ok(())
    }

    async fn run(&self) -> Result<RunOutcome, Stop> {
        let ports = self.ports();
        let conversation = self.conversation();
        let stored = ports
            .journal
            .read_journal(conversation)
            .await?
            .and_then(|entry| Journal::from_value(&entry.body));

        let max = self.runner.config.max_attempts;
        let failures = stored.as_ref().map_or(0, |j| j.failures);
        // Claims that found the assistant paused are neither failures nor crashes.
        let held = stored.as_ref().map_or(0, |j| j.held);
        let claims = self.claim.attempt.saturating_sub(held);
        if failures >= max || claims > max.saturating_mul(CRASH_FACTOR) {
            return self.give_up(stored).await;
        }
        if ports.takeover.is_paused().await? {
            return self.hold_back(stored, RunOutcome::Paused).await;
        }
        if ports.takeover.muted(conversation).await?.is_some() {
            return self.hold_back(stored, RunOutcome::Muted).await;
        }
        let (Some(engine), Some(_)) = (&ports.engine, &ports.messenger) else {
            tracing::info!(%conversation, "no model or no send token: recorded for a person");
            let handled = self.claim_ids();
            ports.inbox.ack(self.claim, &handled).await?;
            return Ok(RunOutcome::Recorded);
        };

        if stored.is_none() && self.bounded().0.is_empty() {
            // Nothing the engine can read (undecodable entries only): handled, unanswered.
            let (_, handled) = self.bounded();
            ports.inbox.ack(self.claim, &handled).await?;
            return Ok(RunOutcome::NoReply);
        }
        let journal = match stored {
            Some(journal) if journal.plan.is_some() => {
                tracing::info!(%conversation, turn = %journal.turn.0, "resuming a decided turn");
                // Re-written under our token: from here on the old holder cannot write.
                self.save(journal).await?;
                (self.current(), true)
            }
            stored => (Some(self.decide(engine, stored).await?), false),
        };
        let (Some(journal), resumed) = journal else {
            return Err(Stop::Retry("journal vanished".to_owned()));
        };
        self.deliver_and_finish(journal, resumed).await
    }

    /// Counts a failed attempt in the journal (written under the still-live lease), so the
    /// attempt limit counts failures, not crashes. A store that cannot be read or written
    /// leaves the count as it is; the claim count still bounds the retries.
    async fn note_failure(&self) {
        let journal = match self.current() {
            Some(journal) => Some(journal),
            None => match self.ports().journal.read_journal(self.conversation()).await {
                Ok(entry) => Some(
                    entry
                        .and_then(|e| Journal::from_value(&e.body))
                        .unwrap_or_else(|| Journal::new(self.turn_id(), self.bounded().1)),
                ),
                Err(_) => None,
            },
        };
        if let Some(mut journal) = journal {
            journal.failures = journal.failures.saturating_add(1);
            if let Err(stop) = self.save(journal).await {
                tracing::warn!(conversation = %self.conversation(), ?stop, "could not count the failed attempt");
            }
        }
    }

    fn claim_ids(&self) -> Vec<String> {
        self.claim
            .messages
            .iter()
            .map(|m| m.message_id.clone())
            .collect()
    }

    /// Paused or muted at claim time: nothing is sent. An open journal is kept (paused:
    /// retried later) or closed (muted: a person has the conversation); the messages stay
    /// in the log and are queued again when the bot is back (see [`requeue`]).
    async fn hold_back(
        &self,
        stored: Option<Journal>,
        outcome: RunOutcome,
    ) -> Result<RunOutcome, Stop> {
        let ports = self.ports();
        if outcome == RunOutcome::Paused
            && let Some(mut journal) = stored.clone()
        {
            // A decided turn waits for the resume; the wait is counted so that the claims
            // it takes do not add up to the crash limit.
            journal.held = journal.held.saturating_add(1);
            self.save(journal).await?;
            let at = after(ports.clock.now(), self.runner.config.retry_max);
            ports.inbox.postpone(self.claim, at).await?;
            return Ok(outcome);
        }
        let mut handled = self.claim_ids();
        if let Some(journal) = &stored {
            handled.extend(journal.handled.iter().cloned());
            if let Some(plan) = &journal.plan {
                self.log_withheld(plan, "a person took the conversation")
                    .await?;
            }
        }
        ports.inbox.ack(self.claim, &handled).await?;
        Ok(outcome)
    }

    /// Too many attempts: one apology if nothing went out and the window allows it, then
    /// a person.
    async fn give_up(&self, stored: Option<Journal>) -> Result<RunOutcome, Stop> {
        let conversation = self.conversation();
        let attempts = stored.as_ref().map_or(0, |j| j.failures).max(
            self.claim
                .attempt
                .saturating_sub(stored.as_ref().map_or(0, |j| j.held))
                .saturating_sub(1),
        );
        tracing::error!(%conversation, attempts, "turn failed too often; handing the conversation to a person");
        let mut journal = stored.unwrap_or_else(|| {
            let (_, handled) = self.bounded();
            Journal::new(self.turn_id(), handled)
        });
        let nothing_sent = journal
            .plan
            .as_ref()
            .is_none_or(|p| p.sent_ids().is_empty());
        let apology = if nothing_sent && self.window_open() {
            self.fixed(FixedText::Apology)
        } else {
            None
        };
        let mut plan = journal.plan.take().unwrap_or_else(|| empty_plan("gave_up"));
        plan.chunks.retain(|c| c.sent.is_some());
        if let Some(text) = apology {
            plan.chunks.extend(chunks_of(&text));
        }
        plan.handoff = Some(HandoffPlan {
            reason: "Failed".to_owned(),
            note: Some(format!("the assistant failed {attempts} times in a row")),
        });
        plan.label = "gave_up".to_owned();
        journal.plan = Some(plan);
        self.save(journal.clone()).await?;
        // One try at sending: a failure now goes straight to the person.
        match self.deliver_and_finish(journal, false).await {
            Err(Stop::Retry(_)) => {
                self.finish_without_sending().await?;
                Ok(RunOutcome::GaveUp)
            }
            Ok(_) => Ok(RunOutcome::GaveUp),
            Err(other) => Err(other),
        }
    }

    fn turn_id(&self) -> TurnId {
        TurnId(format!("{}-{}", self.conversation(), self.claim.token))
    }

    /// The messages this turn answers (within the turn's bounds) and their ids, decoded
    /// once per claim.
    fn bounded(&self) -> (Vec<crate::message::CustomerMessage>, Vec<String>) {
        self.bounded_ref().clone()
    }

    fn bounded_ref(&self) -> &(Vec<crate::message::CustomerMessage>, Vec<String>) {
        self.bounded.get_or_init(|| {
            history::select_bounded(
                &self.claim.messages,
                self.runner.config.max_messages,
                self.runner.config.max_images,
            )
        })
    }

    /// The newest customer message among those queued, if any. A reaction counts only
    /// when nothing else is queued (the ❤ that confirms a question the bot just asked).
    fn newest_customer_message(&self) -> Option<DateTime<Utc>> {
        let (messages, _) = self.bounded_ref();
        let written = messages
            .iter()
            .filter(|m| m.reaction.is_none())
            .map(|m| m.sent_at)
            .max();
        written.or_else(|| messages.iter().map(|m| m.sent_at).max())
    }

    fn window_open(&self) -> bool {
        ReplyWindows::new(self.newest_customer_message(), self.ports().clock.now())
            .is_open(SendKind::Standard)
    }

    fn fixed(&self, text: FixedText) -> Option<String> {
        self.ports()
            .engine
            .as_ref()
            .map(|e| e.prompts().fixed(e.profile().language, text).to_owned())
    }

    /// Runs the engine (or resumes a turn that crashed before its plan) and journals the
    /// plan.
    async fn decide(&self, engine: &Engine, stored: Option<Journal>) -> Result<Journal, Stop> {
        let ports = self.ports();
        let conversation = self.conversation();
        let (messages, handled) = self.bounded();
        let stored_again = stored.is_some();
        let journal = match stored {
            // Crashed before the plan: the same turn again (same id, effects kept).
            Some(mut journal) => {
                journal.handled = handled.clone();
                journal
            }
            None => Journal::new(self.turn_id(), handled.clone()),
        };
        if !self.window_open() {
            tracing::info!(%conversation, "the customer's newest message is outside Meta's 24-hour window; handing to a person");
            let mut journal = journal;
            let mut plan = empty_plan(RunOutcome::OutsideWindow.label());
            plan.handoff = Some(HandoffPlan {
                reason: "OutsideWindow".to_owned(),
                note: Some(
                    "the customer's newest message is older than Instagram's 24-hour reply window; only a person may answer (HUMAN_AGENT, within 7 days)".to_owned(),
                ),
            });
            journal.plan = Some(plan);
            self.save(journal.clone()).await?;
            return Ok(journal);
        }
        if stored_again {
            // A resumed journal is written again under our token before anything else.
            self.save(journal.clone()).await?;
        } else {
            self.open(journal.clone());
        }
        self.crash_at(Step::Opened)?;

        let queued: HashSet<&str> = self
            .claim
            .messages
            .iter()
            .map(|m| m.message_id.as_str())
            .collect();
        let limit = self.runner.config.history_turns;
        let window = limit * 3 + self.claim.messages.len();
        let turns = ports.log.recent(conversation, window).await?;
        let (history, known_images) = history::history_of(&turns, &queued, limit);
        let input = TurnInput {
            conversation: conversation.clone(),
            turn: journal.turn.clone(),
            pending: messages,
            history,
            known_images,
        };
        let now = ports.clock.now();
        let decided = tokio::time::timeout(
            self.runner.config.turn_deadline,
            engine.respond_with(input, now, self),
        )
        .await;
        if let Some(stop) = self
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            return Err(stop);
        }
        // Effects recorded by the ledger while the engine ran are in the current journal.
        let mut journal = self.current().unwrap_or(journal);
        let plan = match decided {
            Ok(outcome) => {
                ports.observer.decided(&outcome.record);
                plan_of(&outcome)
            }
            Err(_) => {
                tracing::warn!(%conversation, deadline_s = self.runner.config.turn_deadline.as_secs(), "turn passed its deadline; apologising and handing off");
                let mut plan = empty_plan("deadline");
                if let Some(text) = self.fixed(FixedText::Apology) {
                    plan.chunks = chunks_of(&text);
                }
                plan.handoff = Some(HandoffPlan {
                    reason: "Deadline".to_owned(),
                    note: Some("the assistant took too long to answer".to_owned()),
                });
                plan
            }
        };
        journal.plan = Some(plan);
        self.save(journal.clone()).await?;
        self.crash_at(Step::AfterPlan)?;
        Ok(journal)
    }

    /// Sends every chunk not sent yet, then records the outcome and acks.
    /// Sends the plan's unsent chunks in order, then finishes the turn. On a `resumed`
    /// turn the first unsent chunk may have reached Instagram just before its sender
    /// died: when Meta's echo of it was kept ([`echo::chunk_echo`]) it counts as sent.
    async fn deliver_and_finish(
        &self,
        mut journal: Journal,
        resumed: bool,
    ) -> Result<RunOutcome, Stop> {
        let ports = self.ports();
        let conversation = self.conversation();
        let Some(messenger) = ports.messenger.clone() else {
            return Err(Stop::Retry("no messenger".to_owned()));
        };
        let mut failed = false;
        // Only the first unsent chunk can have been in flight when the last holder died.
        let mut may_be_delivered = resumed;
        let count = journal.plan.as_ref().map_or(0, |p| p.chunks.len());
        for k in 0..count {
            let Some(text) = journal
                .plan
                .as_ref()
                .and_then(|p| p.chunks.get(k))
                .filter(|c| c.sent.is_none())
                .map(|c| c.text.clone())
            else {
                continue;
            };
            match self.fence().await {
                Ok(()) => {}
                Err(Stop::TakenOver) => {
                    if let Some(plan) = &journal.plan {
                        self.log_withheld(plan, "a person took the conversation mid-turn")
                            .await?;
                    }
                    let handled = journal.handled.clone();
                    ports.inbox.ack(self.claim, &handled).await?;
                    return Ok(RunOutcome::Muted);
                }
                Err(other) => return Err(other),
            }
            if std::mem::take(&mut may_be_delivered)
                && let Some(mid) =
                    echo::chunk_echo(ports.keyed.as_ref(), conversation, &journal.turn, &text)
                        .await?
            {
                tracing::info!(%conversation, chunk = k, "chunk already delivered (its echo came back): not sent again");
                ports.outbox.remember(&mid, OUTBOX_TTL).await?;
                if let Some(chunk) = journal.plan.as_mut().and_then(|p| p.chunks.get_mut(k)) {
                    chunk.sent = Some(mid);
                }
                self.save(journal.clone()).await?;
                ports.observer.recovered_from_echo();
                continue;
            }
            if !self.window_open() {
                tracing::info!(%conversation, "reply window closed before the reply went out");
                if let Some(plan) = journal.plan.as_mut() {
                    plan.chunks.retain(|c| c.sent.is_some());
                    plan.handoff = Some(HandoffPlan {
                        reason: "OutsideWindow".to_owned(),
                        note: Some(
                            "Instagram's 24-hour reply window closed before the reply went out"
                                .to_owned(),
                        ),
                    });
                    plan.label = RunOutcome::OutsideWindow.label().to_owned();
                }
                self.save(journal.clone()).await?;
                break;
            }
            match messenger
                .send_text(conversation, &text, SendOptions::default())
                .await
            {
                Ok(ids) => {
                    self.crash_at(Step::SentUnrecorded(k))?;
                    for id in &ids {
                        ports.outbox.remember(id.as_str(), OUTBOX_TTL).await?;
                    }
                    if let Some(chunk) = journal.plan.as_mut().and_then(|p| p.chunks.get_mut(k)) {
                        chunk.sent = Some(
                            ids.iter()
                                .map(|id| id.as_str().to_owned())
                                .collect::<Vec<_>>()
                                .join(","),
                        );
                    }
                    self.save(journal.clone()).await?;
                    ports.observer.sent(ids.len() as u64);
                    self.crash_at(Step::AfterChunk(k))?;
                }
                Err(failure) => {
                    for id in &failure.delivered {
                        ports.outbox.remember(id.as_str(), OUTBOX_TTL).await?;
                    }
                    match &failure.error {
                        SendError::TokenInvalid(_) => {
                            tracing::error!(%conversation, error = %failure.error, "Instagram token invalid or expired: replies cannot be sent")
                        }
                        other => {
                            tracing::warn!(%conversation, error = %other, "reply chunk not sent")
                        }
                    }
                    if failure.error.is_retryable() {
                        return Err(Stop::Retry(format!("sending failed: {}", failure.error)));
                    }
                    failed = true;
                    if let Some(plan) = journal.plan.as_mut() {
                        plan.chunks.retain(|c| c.sent.is_some());
                        plan.label = RunOutcome::SendFailed.label().to_owned();
                        if plan.handoff.is_none() {
                            plan.handoff = Some(HandoffPlan {
                                reason: "SendFailed".to_owned(),
                                note: Some(format!(
                                    "the reply could not be sent: {}",
                                    failure.error
                                )),
                            });
                        }
                    }
                    self.save(journal.clone()).await?;
                    break;
                }
            }
        }
        self.finish(journal, failed, resumed).await
    }

    /// Records the outcome (log, mute), notifies, acks — each step once.
    async fn finish(
        &self,
        mut journal: Journal,
        failed: bool,
        resumed: bool,
    ) -> Result<RunOutcome, Stop> {
        let ports = self.ports();
        let conversation = self.conversation();
        let Some(plan) = journal.plan.clone() else {
            return Err(Stop::Retry("no plan to finish".to_owned()));
        };
        let now = ports.clock.now();
        if !journal.recorded {
            self.fence_for_records().await?;
            if plan.asked_confirmation
                && let Some(engine) = &ports.engine
                && let Err(error) = engine.note_question(conversation, &plan.sent_ids()).await
            {
                // The reply went out; only the ❤-as-yes shortcut is lost.
                tracing::warn!(%conversation, %error, "could not store the confirmation question's ids");
            }
            let mut entries = outcome_entries(&plan, now);
            if resumed {
                // The last holder may have died part-way through these appends.
                self.drop_already_logged(&journal, &mut entries).await?;
            }
            for (n, entry) in entries.into_iter().enumerate() {
                ports.log.append(conversation, entry).await?;
                if n == 0 {
                    self.crash_at(Step::Recording)?;
                }
            }
            if let Some(handoff) = &plan.handoff {
                ports
                    .takeover
                    .mute(
                        conversation,
                        after(now, self.runner.config.handoff_mute),
                        format!("handoff: {}", handoff.reason),
                    )
                    .await?;
            }
            // Not saved on its own: a turn resumed before the ack finds what is already
            // logged (above), and the mute is idempotent; with a handoff the mark is saved
            // with the notification's. One journal write fewer per turn.
            journal.recorded = true;
        }
        if let Some(handoff) = &plan.handoff
            && !journal.notified
        {
            ports.observer.handed_off(conversation, &handoff.reason);
            tracing::info!(%conversation, reason = %handoff.reason, "conversation handed to a person");
            journal.notified = true;
            self.save(journal.clone()).await?;
        }
        self.crash_at(Step::BeforeAck)?;
        ports.inbox.ack(self.claim, &journal.handled).await?;
        Ok(outcome_of(&plan, failed))
    }

    /// Before writing the outcome: the lease must still be ours (a mute set meanwhile no
    /// longer matters: the reply is out).
    async fn fence_for_records(&self) -> Result<(), Stop> {
        if self.heartbeat.is_lost() {
            return Err(Stop::Lost);
        }
        self.ports()
            .inbox
            .renew(self.claim, self.runner.config.lease)
            .await?;
        Ok(())
    }

    /// Gave up and could not send: record the handoff and ack.
    async fn finish_without_sending(&self) -> Result<(), Stop> {
        let Some(mut journal) = self.current() else {
            return Ok(());
        };
        if let Some(plan) = journal.plan.as_mut() {
            plan.chunks.retain(|c| c.sent.is_some());
        }
        // It may follow a finish that failed part-way: skip what is already logged.
        self.finish(journal, true, true).await.map(|_| ())
    }

    async fn log_withheld(&self, plan: &Plan, reason: &str) -> Result<(), Stop> {
        let unsent: Vec<&str> = plan
            .chunks
            .iter()
            .filter(|c| c.sent.is_none())
            .map(|c| c.text.as_str())
            .collect();
        if unsent.is_empty() {
            return Ok(());
        }
        let ports = self.ports();
        let data = TurnData::Withheld {
            reason: reason.to_owned(),
            text: unsent.join("\n"),
        };
        let text = format!("reply not sent: {reason}");
        let turn = Turn {
            role: Role::Tool,
            text,
            message_id: None,
            at: ports.clock.now(),
            data: Some(data.to_value()),
        };
        ports.log.append(self.conversation(), turn).await?;
        Ok(())
    }

    /// Removes from `entries` those the last holder of this turn already logged before it
    /// died: entries equal in role, text, id and data that follow the newest message this
    /// turn answers (earlier turns' entries come before it).
    async fn drop_already_logged(
        &self,
        journal: &Journal,
        entries: &mut Vec<Turn>,
    ) -> Result<(), Stop> {
        if entries.is_empty() {
            return Ok(());
        }
        let recent = self
            .ports()
            .log
            .recent(self.conversation(), LOGGED_LOOKBACK)
            .await?;
        let start = recent
            .iter()
            .rposition(|t| {
                t.message_id
                    .as_ref()
                    .is_some_and(|id| journal.handled.contains(id))
            })
            .map_or(0, |i| i + 1);
        let logged = &recent[start..];
        entries.retain(|entry| {
            !logged.iter().any(|t| {
                t.role == entry.role
                    && t.text == entry.text
                    && t.message_id == entry.message_id
                    && t.data == entry.data
            })
        });
        Ok(())
    }
}

/// How far back a resumed turn looks for the entries its last holder logged: a turn logs
/// at most a few (one per image analysed, the reply, the handoff), and messages that
/// arrived meanwhile may follow them.
const LOGGED_LOOKBACK: usize = 64;

#[async_trait]
impl EffectLedger for TurnRun<'_> {
    async fn performed(&self, key: &str) -> Option<Value> {
        self.current().and_then(|j| j.effect(key).cloned())
    }

    async fn begin(&self, _key: &str) -> Result<(), Fenced> {
        let fenced = async {
            self.fence().await?;
            // The turn's id (the calendar's idempotency keys) must be on record before
            // the first change made under it.
            if self.unsaved.load(Ordering::SeqCst)
                && let Some(journal) = self.current()
            {
                self.save(journal).await?;
            }
            Ok(())
        }
        .await;
        match fenced {
            Ok(()) => Ok(()),
            Err(stop) => {
                let reason = format!("{stop:?}");
                *self.stop.lock().unwrap_or_else(PoisonError::into_inner) = Some(stop);
                Err(Fenced(reason))
            }
        }
    }

    async fn done(&self, key: &str, result: &Value) -> Result<(), Fenced> {
        let outcome = async {
            self.crash_at(Step::AfterEffect)?;
            let mut journal = self
                .current()
                .unwrap_or_else(|| Journal::new(self.turn_id(), Vec::new()));
            journal.effects.push(Effect {
                key: key.to_owned(),
                result: result.clone(),
            });
            self.save(journal).await
        }
        .await;
        outcome.map_err(|stop| {
            let reason = format!("{stop:?}");
            *self.stop.lock().unwrap_or_else(PoisonError::into_inner) = Some(stop);
            Fenced(reason)
        })
    }
}

/// The log entries that record a decided turn's outcome, in order: image analyses, the
/// trace of a turn that sent nothing, the reply as sent, the handoff.
fn outcome_entries(plan: &Plan, at: DateTime<Utc>) -> Vec<Turn> {
    let tool = |text: &str, data: TurnData| Turn {
        role: Role::Tool,
        text: text.to_owned(),
        message_id: None,
        at,
        data: Some(data.to_value()),
    };
    let mut entries = Vec::new();
    for analysis in &plan.analyses {
        let data = TurnData::ImageAnalysis {
            mid: analysis.mid.clone(),
            index: analysis.index,
            analysis: analysis.analysis.clone(),
        };
        entries.push(tool("image analysed", data));
    }
    for voice in &plan.transcripts {
        let data = TurnData::VoiceTranscript {
            mid: voice.mid.clone(),
            index: voice.index,
            transcript: voice.transcript.clone(),
        };
        let text = match voice.transcript.text() {
            Some(_) => "voice note transcribed",
            None => "voice note not transcribed",
        };
        entries.push(tool(text, data));
    }
    let sent = plan.sent_text();
    if sent.is_empty()
        && plan.handoff.is_none()
        && let Some(record) = plan.record.clone()
    {
        // A turn that chose to send nothing still leaves its trace.
        entries.push(tool("no reply needed", TurnData::Trace(record)));
    }
    if !sent.is_empty() {
        entries.push(Turn {
            role: Role::Assistant,
            text: sent,
            message_id: plan.sent_ids().first().cloned(),
            at,
            data: plan.record.clone().map(|r| TurnData::Trace(r).to_value()),
        });
    }
    if let Some(handoff) = &plan.handoff {
        let data = TurnData::Handoff {
            reason: handoff.reason.clone(),
            note: handoff.note.clone(),
        };
        entries.push(tool(
            &format!("handed to a person: {}", handoff.reason),
            data,
        ));
    }
    entries
}

fn empty_plan(label: &str) -> Plan {
    Plan {
        chunks: Vec::new(),
        handoff: None,
        analyses: Vec::new(),
        transcripts: Vec::new(),
        asked_confirmation: false,
        record: None,
        label: label.to_owned(),
    }
}

fn chunks_of(text: &str) -> Vec<Chunk> {
    split_message(text, MAX_MESSAGE_BYTES)
        .into_iter()
        .map(|text| Chunk { text, sent: None })
        .collect()
}

/// The journalled plan of an engine outcome.
fn plan_of(outcome: &TurnOutcome) -> Plan {
    let handoff = outcome.handoff.as_ref().map(|h| HandoffPlan {
        reason: format!("{:?}", h.reason),
        note: h.note.clone(),
    });
    let label = if handoff.is_some() {
        RunOutcome::HandedOff.label()
    } else if outcome.reply.is_some() {
        RunOutcome::Sent.label()
    } else {
        RunOutcome::NoReply.label()
    };
    Plan {
        chunks: outcome.reply.as_deref().map(chunks_of).unwrap_or_default(),
        handoff,
        analyses: outcome.analyses.clone(),
        transcripts: outcome.transcripts.clone(),
        asked_confirmation: outcome.asked_confirmation,
        record: Some(outcome.record.clone()),
        label: label.to_owned(),
    }
}

fn outcome_of(plan: &Plan, failed: bool) -> RunOutcome {
    if failed {
        return RunOutcome::SendFailed;
    }
    match plan.label.as_str() {
        "outside_window" => RunOutcome::OutsideWindow,
        "gave_up" => RunOutcome::GaveUp,
        _ if plan.handoff.is_some() => RunOutcome::HandedOff,
        _ if plan.chunks.is_empty() => RunOutcome::NoReply,
        _ => RunOutcome::Sent,
    }
}
