//! Prometheus metrics, served as text at `/metrics`.

use std::sync::Mutex;

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

/// Every metric inkdesk exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    webhook_requests: Family<Label, Counter>,
    webhook_ack_seconds: Histogram,
    turns: Family<Label, Counter>,
    model_tokens: Family<Label, Counter>,
    model_seconds: Histogram,
    model_errors: Counter,
    messages_sent: Counter,
    chunks_recovered: Counter,
    handoffs: Family<Label, Counter>,
    bookings: Family<Label, Counter>,
    http_refused: Family<Label, Counter>,
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
        let model_tokens = Family::<Label, Counter>::default();
        let model_seconds = Histogram::new(exponential_buckets(0.05, 2.0, 12));
        let model_errors = Counter::default();
        let messages_sent = Counter::default();
        let chunks_recovered = Counter::default();
        let handoffs = Family::<Label, Counter>::default();
        let bookings = Family::<Label, Counter>::default();
        let http_refused = Family::<Label, Counter>::default();
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
            "Model tokens by kind (prompt, completion, cached)",
            model_tokens.clone(),
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
            model_seconds,
            model_errors,
            messages_sent,
            chunks_recovered,
            handoffs,
            bookings,
            http_refused,
        }
    }

    /// Counts one webhook request and its acknowledgement time.
    pub fn webhook(&self, outcome: &str, seconds: f64) {
        self.webhook_requests
            .get_or_create(&Label::of(outcome))
            .inc();
        self.webhook_ack_seconds.observe(seconds);
    }

    /// Counts one turn by outcome (sent, fallback, handoff, muted, …).
    pub fn turn(&self, outcome: &str) {
        self.turns.get_or_create(&Label::of(outcome)).inc();
    }

    /// Records one model call.
    pub fn model_call(&self, prompt: u64, completion: u64, cached: u64, seconds: f64) {
        self.model_tokens
            .get_or_create(&Label::of("prompt"))
            .inc_by(prompt);
        self.model_tokens
            .get_or_create(&Label::of("completion"))
            .inc_by(completion);
        self.model_tokens
            .get_or_create(&Label::of("cached"))
            .inc_by(cached);
        self.model_seconds.observe(seconds);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_appear_in_the_exposition() {
        let metrics = Metrics::new();
        metrics.webhook("ok", 0.002);
        metrics.webhook("bad_signature", 0.001);
        metrics.model_call(1200, 80, 1024, 0.9);
        metrics.handoff("complaint");
        let text = metrics.render();
        assert!(
            text.contains("inkdesk_webhook_requests_total{label=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("inkdesk_model_tokens_total{label=\"cached\"} 1024"),
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
