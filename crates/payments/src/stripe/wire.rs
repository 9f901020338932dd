//! Stripe's JSON, as its API reference documents it; private to the adapter.

use std::collections::HashMap;

use serde::Deserialize;

/// The Checkout Session object (the fields inkdesk reads).
#[derive(Debug, Deserialize)]
pub(super) struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    #[serde(default)]
    pub amount_total: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
}

/// An Event object: `id`, `type` and `data.object`.
#[derive(Debug, Deserialize)]
pub(super) struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub(super) struct EventData {
    pub object: serde_json::Value,
}

/// An error answer: `{"error": {"type", "code", "message", "param", …}}`.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(Debug, Deserialize)]
pub(super) struct ErrorObject {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
}
