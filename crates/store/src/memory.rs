//! In-process adapter: one mutex around plain maps, TTLs checked against the clock.
//!
//! For tests and `--ephemeral` runs; everything is lost when the process ends.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inkdesk_domain::{Clock, ConversationId};

use crate::StoreError;
use crate::change::{MessageChange, edit_payload};
use crate::model::{
    Claim, ConversationSummary, Hold, HoldOutcome, IncomingMessage, IntakeOutcome, JournalEntry,
    ModelUsage, Mute, NotQueued, PendingMessage, SlotKey, StoreOptions, Turn, USAGE_DAYS_KEPT,
    after, preview,
};
use crate::ports::{
    ConversationLog, Dedupe, Health, Inbox, Intake, Keyed, Outbox, SlotHolds, Takeover,
    TurnJournal, UsageTotals,
};

/// Every port in process memory.
#[derive(Debug)]
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    options: StoreOptions,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    logs: HashMap<ConversationId, Log>,
    queue: HashMap<ConversationId, Queued>,
    last_token: u64,
    dedupe: HashMap<String, DateTime<Utc>>,
    outbox: HashMap<String, DateTime<Utc>>,
    mutes: HashMap<ConversationId, Mute>,
    paused: bool,
    /// slot → (conversation → expiry)
    holds: BTreeMap<SlotKey, HashMap<ConversationId, DateTime<Utc>>>,
    /// (conversation, key) → (value, expiry)
    keyed: HashMap<(ConversationId, String), (serde_json::Value, DateTime<Utc>)>,
    /// Open turn journals.
    journals: HashMap<ConversationId, JournalEntry>,
    /// Usage per (day, model).
    usage_days: BTreeMap<(chrono::NaiveDate, String), ModelUsage>,
    /// Usage per conversation and model, with the conversation's retention.
    usage_convs: HashMap<ConversationId, (BTreeMap<String, ModelUsage>, DateTime<Utc>)>,
}

#[derive(Debug)]
struct Log {
    turns: VecDeque<Turn>,
    expires_at: DateTime<Utc>,
}

#[derive(Debug)]
struct Queued {
    messages: Vec<PendingMessage>,
    /// Due time from the latest push (the debounce deadline).
    due: DateTime<Utc>,
    lease: Option<(u64, DateTime<Utc>)>,
    /// Claims since the last ack.
    attempts: u32,
}

impl Queued {
    /// When the conversation becomes claimable: its due time, or the lease end if later.
    fn ready_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self.lease {
            Some((_, until)) if until > now => self.due.max(until),
            _ => self.due,
        }
    }
}

impl MemoryStore {
    /// An empty store reading time from `clock`.
    pub fn new(clock: Arc<dyn Clock>, options: StoreOptions) -> Self {
        Self {
            clock,
            options,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> (MutexGuard<'_, State>, DateTime<Utc>) {
        let guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (guard, self.clock.now())
    }
}

impl State {
    fn append(&mut self, conv: &ConversationId, turn: Turn, now: DateTime<Utc>, o: &StoreOptions) {
        let expires_at = after(now, o.retention);
        live_log(self, conv, now);
        let log = self.logs.entry(conv.clone()).or_insert_with(|| Log {
            turns: VecDeque::new(),
            expires_at,
        });
        log.expires_at = expires_at;
        log.turns.push_back(turn);
        while log.turns.len() > o.max_turns {
            log.turns.pop_front();
        }
    }

    fn push(&mut self, conv: &ConversationId, message: PendingMessage, due: DateTime<Utc>) {
        let q = self.queue.entry(conv.clone()).or_insert_with(|| Queued {
            messages: Vec::new(),
            due,
            lease: None,
            attempts: 0,
        });
        if q.messages
            .iter()
            .any(|m| m.message_id == message.message_id)
        {
            return;
        }
        q.messages.push(message);
        q.due = due;
    }

    /// Marks `id` seen until `expires`; false if it already was (and still is).
    fn first_seen(&mut self, id: &str, expires: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        if self.dedupe.len() > 4096 {
            self.dedupe.retain(|_, exp| *exp > now);
        }
        match self.dedupe.get(id) {
            Some(exp) if *exp > now => false,
            _ => {
                self.dedupe.insert(id.to_owned(), expires);
                true
            }
        }
    }

    fn is_muted(&self, conv: &ConversationId, now: DateTime<Utc>) -> bool {
        self.mutes.get(conv).is_some_and(|m| m.until > now)
    }
}

fn live_log<'a>(
    state: &'a mut State,
    conv: &ConversationId,
    now: DateTime<Utc>,
) -> Option<&'a Log> {
    if state.logs.get(conv).is_some_and(|l| l.expires_at <= now) {
        state.logs.remove(conv);
    }
    state.logs.get(conv)
}

#[async_trait]
impl ConversationLog for MemoryStore {
    async fn append(&self, conversation: &ConversationId, turn: Turn) -> Result<(), StoreError> {
        let (mut st, now) = self.lock();
        st.append(conversation, turn, now, &self.options);
        Ok(())
    }

    async fn recent(
        &self,
        conversation: &ConversationId,
        n: usize,
    ) -> Result<Vec<Turn>, StoreError> {
        let (mut st, now) = self.lock();
        Ok(live_log(&mut st, conversation, now)
            .map(|log| {
                let skip = log.turns.len().saturating_sub(n);
                log.turns.iter().skip(skip).cloned().collect()
            })
            .unwrap_or_default())
    }

    async fn conversations(&self, limit: usize) -> Result<Vec<ConversationSummary>, StoreError> {
        let (mut st, now) = self.lock();
        st.logs.retain(|_, log| log.expires_at > now);
        let mut out: Vec<ConversationSummary> = st
            .logs
            .iter()
            .filter_map(|(conv, log)| {
                log.turns.back().map(|last| ConversationSummary {
                    conversation: conv.clone(),
                    last_at: last.at,
                    last_preview: preview(&last.text),
                    turns: log.turns.len() as u64,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.last_at
                .cmp(&a.last_at)
                .then_with(|| a.conversation.cmp(&b.conversation))
        });
        out.truncate(limit);
        Ok(out)
    }

    async fn change_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
        change: &MessageChange,
    ) -> Result<usize, StoreError> {
        let (mut st, now) = self.lock();
        if live_log(&mut st, conversation, now).is_none() {
            return Ok(0);
        }
        let Some(log) = st.logs.get_mut(conversation) else {
            return Ok(0);
        };
        let changes = crate::change::plan(log.turns.make_contiguous(), message_id, change);
        let count = changes.len();
        for (index, turn) in changes {
            log.turns[index] = turn;
        }
        Ok(count)
    }

    async fn delete_conversation(&self, conversation: &ConversationId) -> Result<(), StoreError> {
        let (mut st, _) = self.lock();
        st.logs.remove(conversation);
        st.queue.remove(conversation);
        st.mutes.remove(conversation);
        for holders in st.holds.values_mut() {
            holders.remove(conversation);
        }
        st.holds.retain(|_, h| !h.is_empty());
        st.keyed.retain(|(conv, _), _| conv != conversation);
        st.journals.remove(conversation);
        st.usage_convs.remove(conversation);
        Ok(())
    }
}

#[async_trait]
impl Keyed for MemoryStore {
    async fn put(
        &self,
        conversation: &ConversationId,
        key: &str,
        value: serde_json::Value,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (mut st, now) = self.lock();
        st.keyed.insert(
            (conversation.clone(), key.to_owned()),
            (value, after(now, ttl)),
        );
        Ok(())
    }

    async fn get(
        &self,
        conversation: &ConversationId,
        key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let (st, now) = self.lock();
        Ok(st
            .keyed
            .get(&(conversation.clone(), key.to_owned()))
            .filter(|(_, exp)| *exp > now)
            .map(|(value, _)| value.clone()))
    }

    async fn delete(&self, conversation: &ConversationId, key: &str) -> Result<(), StoreError> {
        let (mut st, _) = self.lock();
        st.keyed.remove(&(conversation.clone(), key.to_owned()));
        Ok(())
    }

    async fn increment(
        &self,
        conversation: &ConversationId,
        key: &str,
        ttl: Duration,
    ) -> Result<u64, StoreError> {
        let (mut st, now) = self.lock();
        let slot = (conversation.clone(), key.to_owned());
        let live = st
            .keyed
            .get(&slot)
            .filter(|(_, exp)| *exp > now)
            .and_then(|(value, exp)| Some((value.as_u64()?, *exp)));
        let (count, expires) = match live {
            Some((count, exp)) => (count.saturating_add(1), exp),
            None => (1, after(now, ttl)),
        };
        st.keyed.insert(slot, (serde_json::json!(count), expires));
        Ok(count)
    }
}

#[async_trait]
impl Inbox for MemoryStore {
    async fn push(
        &self,
        conversation: &ConversationId,
        message: PendingMessage,
        debounce: Duration,
    ) -> Result<(), StoreError> {
        let (mut st, now) = self.lock();
        st.push(conversation, message, after(now, debounce));
        Ok(())
    }

    async fn claim_due(&self, max: usize, lease: Duration) -> Result<Vec<Claim>, StoreError> {
        let (mut st, now) = self.lock();
        st.queue
            .retain(|_, q| !q.messages.is_empty() || q.lease.is_some_and(|(_, u)| u > now));
        let mut due: Vec<(DateTime<Utc>, ConversationId)> = st
            .queue
            .iter()
            .map(|(c, q)| (q.ready_at(now), c.clone()))
            .filter(|(at, _)| *at <= now)
            .collect();
        due.sort();
        due.truncate(max);
        let lease_until = after(now, lease);
        let mut claims = Vec::with_capacity(due.len());
        for (_, conv) in due {
            st.last_token += 1;
            let token = st.last_token;
            if let Some(q) = st.queue.get_mut(&conv) {
                q.lease = Some((token, lease_until));
                q.attempts = q.attempts.saturating_add(1);
                claims.push(Claim {
                    conversation: conv,
                    token,
                    lease_until,
                    attempt: q.attempts,
                    messages: q.messages.clone(),
                });
            }
        }
        Ok(claims)
    }

    async fn ack(&self, claim: &Claim, handled: &[String]) -> Result<(), StoreError> {
        let (mut st, _) = self.lock();
        let Some(q) = st.queue.get_mut(&claim.conversation) else {
            return Err(StoreError::StaleLease);
        };
        if q.lease.map(|(t, _)| t) != Some(claim.token) {
            return Err(StoreError::StaleLease);
        }
        q.lease = None;
        q.attempts = 0;
        q.messages.retain(|m| !handled.contains(&m.message_id));
        if q.messages.is_empty() {
            st.queue.remove(&claim.conversation);
        }
        st.journals.remove(&claim.conversation);
        Ok(())
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.postpone(claim, now).await
    }

    async fn postpone(&self, claim: &Claim, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (mut st, _) = self.lock();
        let Some(q) = st.queue.get_mut(&claim.conversation) else {
            return Err(StoreError::StaleLease);
        };
        if q.lease.map(|(t, _)| t) != Some(claim.token) {
            return Err(StoreError::StaleLease);
        }
        q.lease = None;
        q.due = at;
        if q.messages.is_empty() {
            st.queue.remove(&claim.conversation);
        }
        Ok(())
    }

    async fn renew(&self, claim: &Claim, lease: Duration) -> Result<DateTime<Utc>, StoreError> {
        let (mut st, now) = self.lock();
        let until = after(now, lease);
        match st.queue.get_mut(&claim.conversation) {
            Some(q) => match &mut q.lease {
                Some((token, end)) if *token == claim.token && *end > now => {
                    *end = until;
                    Ok(until)
                }
                _ => Err(StoreError::StaleLease),
            },
            None => Err(StoreError::StaleLease),
        }
    }

    async fn remove_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
    ) -> Result<(), StoreError> {
        let (mut st, now) = self.lock();
        if let Some(q) = st.queue.get_mut(conversation) {
            q.messages.retain(|m| m.message_id != message_id);
            if q.messages.is_empty() && q.lease.is_none_or(|(_, u)| u <= now) {
                st.queue.remove(conversation);
            }
        }
        Ok(())
    }

    async fn edit_message(
        &self,
        conversation: &ConversationId,
        message_id: &str,
        text: &str,
    ) -> Result<bool, StoreError> {
        let (mut st, _) = self.lock();
        let pending = st
            .queue
            .get_mut(conversation)
            .and_then(|q| q.messages.iter_mut().find(|m| m.message_id == message_id));
        match pending.and_then(|m| edit_payload(&m.payload, text).map(|p| (m, p))) {
            Some((message, payload)) => {
                message.payload = payload;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (st, now) = self.lock();
        Ok(st.queue.values().map(|q| q.ready_at(now)).min())
    }
}

#[async_trait]
impl TurnJournal for MemoryStore {
    async fn write_journal(
        &self,
        claim: &Claim,
        body: serde_json::Value,
    ) -> Result<(), StoreError> {
        let (mut st, now) = self.lock();
        let current = st
            .queue
            .get(&claim.conversation)
            .and_then(|q| q.lease)
            .is_some_and(|(token, end)| token == claim.token && end > now);
        if !current {
            return Err(StoreError::StaleLease);
        }
        st.journals.insert(
            claim.conversation.clone(),
            JournalEntry {
                token: claim.token,
                body,
            },
        );
        Ok(())
    }

    async fn read_journal(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<JournalEntry>, StoreError> {
        let (st, _) = self.lock();
        Ok(st.journals.get(conversation).cloned())
    }
}

#[async_trait]
impl Dedupe for MemoryStore {
    async fn first_seen(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let (mut st, now) = self.lock();
        Ok(st.first_seen(id, after(now, ttl), now))
    }

    async fn forget(&self, id: &str) -> Result<(), StoreError> {
        let (mut st, _) = self.lock();
        st.dedupe.remove(id);
        Ok(())
    }
}

#[async_trait]
impl Outbox for MemoryStore {
    async fn remember(&self, message_id: &str, ttl: Duration) -> Result<(), StoreError> {
        let (mut st, now) = self.lock();
        if st.outbox.len() > 4096 {
            st.outbox.retain(|_, exp| *exp > now);
        }
        st.outbox.insert(message_id.to_owned(), after(now, ttl));
        Ok(())
    }

    async fn contains(&self, message_id: &str) -> Result<bool, StoreError> {
        let (st, now) = self.lock();
        Ok(st.outbox.get(message_id).is_some_and(|exp| *exp > now))
    }
}

#[async_trait]
impl Takeover for MemoryStore {
    async fn mute(
        &self,
        conversation: &ConversationId,
        until: DateTime<Utc>,
        reason: String,
    ) -> Result<(), StoreError> {
        let (mut st, _) = self.lock();
        st.mutes
            .insert(conversation.clone(), Mute { until, reason });
        Ok(())
    }

    async fn unmute(&self, conversation: &ConversationId) -> Result<(), StoreError> {
        self.lock().0.mutes.remove(conversation);
        Ok(())
    }

    async fn muted(&self, conversation: &ConversationId) -> Result<Option<Mute>, StoreError> {
        let (st, now) = self.lock();
        Ok(st
            .mutes
            .get(conversation)
            .filter(|m| m.until > now)
            .cloned())
    }

    async fn list_muted(&self) -> Result<Vec<(ConversationId, Mute)>, StoreError> {
        let (mut st, now) = self.lock();
        st.mutes.retain(|_, m| m.until > now);
        let mut out: Vec<_> = st
            .mutes
            .iter()
            .map(|(c, m)| (c.clone(), m.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
        self.lock().0.paused = paused;
        Ok(())
    }

    async fn is_paused(&self) -> Result<bool, StoreError> {
        Ok(self.lock().0.paused)
    }
}

#[async_trait]
impl SlotHolds for MemoryStore {
    async fn hold(
        &self,
        slot: SlotKey,
        conversation: &ConversationId,
        capacity: u32,
        ttl: Duration,
    ) -> Result<HoldOutcome, StoreError> {
        let (mut st, now) = self.lock();
        let holders = st.holds.entry(slot).or_default();
        holders.retain(|_, exp| *exp > now);
        let expiry = after(now, ttl);
        if let Some(exp) = holders.get_mut(conversation) {
            *exp = expiry;
            return Ok(HoldOutcome::Refreshed);
        }
        if holders.len() >= capacity as usize {
            return Ok(HoldOutcome::Full);
        }
        holders.insert(conversation.clone(), expiry);
        Ok(HoldOutcome::Held)
    }

    async fn release(
        &self,
        slot: &SlotKey,
        conversation: &ConversationId,
    ) -> Result<(), StoreError> {
        let (mut st, _) = self.lock();
        if let Some(holders) = st.holds.get_mut(slot) {
            holders.remove(conversation);
            if holders.is_empty() {
                st.holds.remove(slot);
            }
        }
        Ok(())
    }

    async fn release_all(&self, conversation: &ConversationId) -> Result<(), StoreError> {
        let (mut st, _) = self.lock();
        for holders in st.holds.values_mut() {
            holders.remove(conversation);
        }
        st.holds.retain(|_, h| !h.is_empty());
        Ok(())
    }

    async fn active(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Hold>, StoreError> {
        let (mut st, now) = self.lock();
        st.holds.retain(|_, h| {
            h.retain(|_, exp| *exp > now);
            !h.is_empty()
        });
        let mut out = Vec::new();
        for (slot, holders) in &st.holds {
            if slot.start < to && slot.end > from {
                let mut convs: Vec<_> = holders.keys().cloned().collect();
                convs.sort();
                out.extend(convs.into_iter().map(|conversation| Hold {
                    slot: slot.clone(),
                    conversation,
                }));
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Health for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl Intake for MemoryStore {
    async fn record_message(
        &self,
        conversation: &ConversationId,
        message: IncomingMessage,
    ) -> Result<IntakeOutcome, StoreError> {
        let (mut st, now) = self.lock();
        if !st.first_seen(&message.event_key, after(now, message.dedupe_ttl), now) {
            return Ok(IntakeOutcome::Duplicate);
        }
        st.append(conversation, message.turn, now, &self.options);
        let held = if !message.answerable {
            Some(NotQueued::NotAnswerable)
        } else if st.paused {
            Some(NotQueued::Paused)
        } else if st.is_muted(conversation, now) {
            Some(NotQueued::Muted)
        } else {
            None
        };
        if let Some(reason) = held {
            return Ok(IntakeOutcome::Recorded(reason));
        }
        st.push(conversation, message.pending, after(now, message.debounce));
        Ok(IntakeOutcome::Queued)
    }
}

#[async_trait]
impl UsageTotals for MemoryStore {
    async fn add_usage(
        &self,
        conversation: &ConversationId,
        day: chrono::NaiveDate,
        model: &str,
        usage: ModelUsage,
    ) -> Result<(), StoreError> {
        let (mut st, now) = self.lock();
        let kept = chrono::Duration::days(USAGE_DAYS_KEPT as i64);
        if let Some(oldest) = now.date_naive().checked_sub_signed(kept) {
            st.usage_days.retain(|(d, _), _| *d >= oldest);
        }
        let total = st.usage_days.entry((day, model.to_owned())).or_default();
        *total = total.plus(usage);
        let expires = after(now, self.options.retention);
        st.usage_convs.retain(|_, (_, exp)| *exp > now);
        let (models, exp) = st
            .usage_convs
            .entry(conversation.clone())
            .or_insert_with(|| (BTreeMap::new(), expires));
        *exp = expires;
        let total = models.entry(model.to_owned()).or_default();
        *total = total.plus(usage);
        Ok(())
    }

    async fn day_usage(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Vec<(String, ModelUsage)>, StoreError> {
        let (st, _) = self.lock();
        Ok(st
            .usage_days
            .iter()
            .filter(|((d, _), _)| *d == day)
            .map(|((_, model), usage)| (model.clone(), *usage))
            .collect())
    }

    async fn conversation_usage(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<(String, ModelUsage)>, StoreError> {
        let (st, now) = self.lock();
        Ok(st
            .usage_convs
            .get(conversation)
            .filter(|(_, exp)| *exp > now)
            .map(|(models, _)| models.iter().map(|(m, u)| (m.clone(), *u)).collect())
            .unwrap_or_default())
    }
}
