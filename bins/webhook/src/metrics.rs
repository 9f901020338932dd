//! Prometheus metrics, served as text at `/metrics`.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A label set with one `outcome`/`kind`/`reason` value.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Label {
    /// The label's value.
    pub label: String,
}

impl Label {
    fn of(value: &str) -> Self {
        Self {
            label: value.to_owned(),
        }
    }
}

/// Labels of the model usage metrics.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// The model as the server named it.
    pub model: String,
    /// `prompt`, `cached`, `completion` or `audio_seconds` (tokens only).
    pub kind: String,
}

/// The model label alone.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabel {
    /// The model as the server named it.
    pub model: String,
}

/// Every metric inkdesk exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    webhook_requests: Family<Label, Counter>,
    webhook_ack_seconds: Histogram,
    turns: Family<Label, Counter>,
    model_tokens: Family<ModelLabels, Counter>,
    model_cost: Family<ModelLabel, Counter<f64, AtomicU64>>,
    model_seconds: Histogram,
    model_errors: Counter,
    messages_sent: Counter,
    chunks_recovered: Counter,
    handoffs: Family<Label, Counter>,
    bookings: Family<Label, Counter>,
    http_refused: Family<Label, Counter>,
    reminders: Family<Label, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `inkdesk` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("inkdesk");
        let webhook_requests = Family::<Label, Counter>::default();
        // 0.1 ms .. ~1.6 s: acks are meant to take a few milliseconds.
        let webhook_ack_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 15));
        let turns = Family::<Label, Counter>::default();
        let model_tokens = Family::<ModelLabels, Counter>::default();
        let model_cost = Family::<ModelLabel, Counter<f64, AtomicU64>>::default();
        let model_seconds = Histogram::new(exponential_buckets(0.05, 2.0, 12));
        let model_errors = Counter::default();
        let messages_sent = Counter::default();
        let chunks_recovered = Counter::default();
        let handoffs = Family::<Label, Counter>::default();
        let bookings = Family::<Label, Counter>::default();
        let http_refused = Family::<Label, Counter>::default();
        let reminders = Family::<Label, Counter>::default();
        registry.register(
            "reminders",
            "Claims of customer reminder jobs by outcome (sent_dm, sent_sms, by_hand, maybe_sent, skipped, moved, retry, lost_lease)",
            reminders.clone(),
        );
        registry.register(
            "webhook_requests",
            "Webhook requests by outcome (ok, bad_signature, malformed, too_large, unavailable)",
            webhook_requests.clone(),
        );
        registry.register(
            "webhook_ack_seconds",
            "Time from request to acknowledgement",
            webhook_ack_seconds.clone(),
        );
        registry.register("turns", "Conversation turns by outcome", turns.clone());
        registry.register(
            "model_tokens",
            "Model tokens by model and kind (prompt, cached, completion; audio_seconds for models billed by duration), counted by this replica",
            model_tokens.clone(),
        );
        registry.register(
            "model_cost_usd",
            "Estimated model cost in US dollars at the configured prices, counted by this replica",
            model_cost.clone(),
        );
        registry.register("model_seconds", "Model call latency", model_seconds.clone());
        registry.register(
            "model_errors",
            "Model calls that failed",
            model_errors.clone(),
        );
        registry.register(
            "messages_sent",
            "Message chunks sent to customers",
            messages_sent.clone(),
        );
        registry.register(
            "chunks_recovered",
            "Chunks a resumed turn found delivered by their echo and did not send again",
            chunks_recovered.clone(),
        );
        registry.register(
            "handoffs",
            "Handoffs to a person by reason",
            handoffs.clone(),
        );
        registry.register("bookings", "Booking changes by action", bookings.clone());
        registry.register(
            "http_refused",
            "HTTP requests answered 503 by the server's limits (overloaded, timeout)",
            http_refused.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            webhook_requests,
            webhook_ack_seconds,
            turns,
            model_tokens,
            model_cost,
            model_seconds,
            model_errors,
            messages_sent,
            chunks_recovered,
            handoffs,
            bookings,
            http_refused,
            reminders,
        }
    }

    /// Counts one webhook request and its acknowledgement time.
    pub fn webhook(&self, outcome: &str, seconds: f64) {
        self.webhook_requests
            .get_or_create(&Label::of(outcome))
            .inc();
        self.webhook_ack_seconds.observe(seconds);
    }

    /// Counts one claim of a reminder job by outcome.
    pub fn reminder(&self, outcome: &str) {
        self.reminders.get_or_create(&Label::of(outcome)).inc();
    }

    /// Counts one turn by outcome (sent, fallback, handoff, muted, …).
    pub fn turn(&self, outcome: &str) {
        self.turns.get_or_create(&Label::of(outcome)).inc();
    }

    /// Records one model call's latency.
    pub fn model_call(&self, seconds: f64) {
        self.model_seconds.observe(seconds);
    }

    /// Adds a model's usage: tokens by kind and the estimated cost.
    pub fn model_usage(&self, model: &str, usage: &inkdesk_store::ModelUsage) {
        for (kind, value) in [
            ("prompt", usage.prompt_tokens),
            ("cached", usage.cached_tokens),
            ("completion", usage.completion_tokens),
            ("audio_seconds", usage.audio_seconds),
        ] {
            if value == 0 && kind == "audio_seconds" {
                continue;
            }
            self.model_tokens
                .get_or_create(&ModelLabels {
                    model: model.to_owned(),
                    kind: kind.to_owned(),
                })
                .inc_by(value);
        }
        // Nano-dollars to dollars: f64 is exact to well below a nano-dollar at these sizes.
        self.model_cost
            .get_or_create(&ModelLabel {
                model: model.to_owned(),
            })
            .inc_by(usage.cost_nanos as f64 / 1e9);
    }

    /// Counts a failed model call.
    pub fn model_error(&self) {
        self.model_errors.inc();
    }

    /// Counts sent message chunks.
    pub fn sent(&self, chunks: u64) {
        self.messages_sent.inc_by(chunks);
    }

    /// Counts a chunk found delivered by its echo on resume.
    pub fn chunk_recovered(&self) {
        self.chunks_recovered.inc();
    }

    /// Counts a handoff.
    pub fn handoff(&self, reason: &str) {
        self.handoffs.get_or_create(&Label::of(reason)).inc();
    }

    /// Counts a booking change (created, rescheduled, cancelled).
    pub fn booking(&self, action: &str) {
        self.bookings.get_or_create(&Label::of(action)).inc();
    }

    /// Counts a request the server's limits answered with 503 (overloaded, timeout).
    pub fn http_refused(&self, reason: &str) {
        self.http_refused.get_or_create(&Label::of(reason)).inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &registry);
        out
    }
}

impl inkdesk_assistant::reminders::ReminderObserver for Metrics {
    fn reminder_ended(&self, outcome: &str) {
        self.reminder(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_appear_in_the_exposition() {
        let metrics = Metrics::new();
        metrics.webhook("ok", 0.002);
        metrics.webhook("bad_signature", 0.001);
        metrics.model_call(0.9);
        metrics.model_usage(
            "gpt-4o-mini",
            &inkdesk_store::ModelUsage {
                calls: 1,
                prompt_tokens: 1200,
                cached_tokens: 1024,
                completion_tokens: 80,
                audio_seconds: 0,
                cost_nanos: 150_000,
            },
        );
        metrics.handoff("complaint");
        let text = metrics.render();
        assert!(
            text.contains("inkdesk_webhook_requests_total{label=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("inkdesk_model_tokens_total{model=\"gpt-4o-mini\",kind=\"cached\"} 1024"),
            "{text}"
        );
        assert!(
            text.contains("inkdesk_model_cost_usd_total{model=\"gpt-4o-mini\"} 0.00015"),
            "{text}"
        );
        assert!(
            text.contains("inkdesk_handoffs_total{label=\"complaint\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("inkdesk_webhook_ack_seconds_count 2"),
            "{text}"
        );
    }
}
