//! Handoff notifications to the studio: a Telegram bot message and/or a signed outgoing
//! webhook. Best-effort: sent in the background, failures logged, the turn never waits.
//!
//! Privacy: a notification carries the conversation id, a short reason and a link to the
//! console, never the customer's words or phone number.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use inkdesk_domain::ConversationId;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::Sha256;

use crate::settings::Env;

/// Header carrying `sha256=<hex HMAC-SHA256 of the body>` on outgoing webhooks.
pub const SIGNATURE_HEADER: &str = "x-inkdesk-signature-256";

/// Telegram's Bot API when `TELEGRAM_API_BASE_URL` is unset.
pub const TELEGRAM_API: &str = "https://api.telegram.org";

/// Where handoff notifications go (every field optional).
#[derive(Debug, Clone, Default)]
pub struct NotifySettings {
    /// `TELEGRAM_BOT_TOKEN`.
    pub telegram_token: Option<SecretString>,
    /// `TELEGRAM_CHAT_ID`.
    pub telegram_chat_id: Option<String>,
    /// `TELEGRAM_API_BASE_URL` (tests point it at a fake).
    pub telegram_base_url: Option<String>,
    /// `INKDESK_NOTIFY_URL`: outgoing webhook receiving a JSON body per handoff.
    pub webhook_url: Option<String>,
    /// `INKDESK_NOTIFY_SECRET`: HMAC-SHA256 key of [`SIGNATURE_HEADER`].
    pub webhook_secret: Option<SecretString>,
    /// `INKDESK_PUBLIC_URL`: the service's public address, for links to the console.
    pub public_url: Option<String>,
}

impl NotifySettings {
    /// Reads the notification variables.
    pub fn from_env(env: &dyn Env) -> Self {
        Self {
            telegram_token: env.get("TELEGRAM_BOT_TOKEN").map(SecretString::from),
            telegram_chat_id: env.get("TELEGRAM_CHAT_ID"),
            telegram_base_url: env.get("TELEGRAM_API_BASE_URL"),
            webhook_url: env.get("INKDESK_NOTIFY_URL"),
            webhook_secret: env.get("INKDESK_NOTIFY_SECRET").map(SecretString::from),
            public_url: env.get("INKDESK_PUBLIC_URL"),
        }
    }

    /// `KEY = value` rows for `check-config`, secrets shown only as set/unset.
    pub fn report(&self) -> Vec<(String, String)> {
        let set = |s: &Option<SecretString>| {
            if s.is_some() { "set (hidden)" } else { "unset" }.to_owned()
        };
        let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "unset".into());
        vec![
            ("TELEGRAM_BOT_TOKEN".into(), set(&self.telegram_token)),
            ("TELEGRAM_CHAT_ID".into(), opt(&self.telegram_chat_id)),
            ("TELEGRAM_API_BASE_URL".into(), opt(&self.telegram_base_url)),
            ("INKDESK_NOTIFY_URL".into(), opt(&self.webhook_url)),
            ("INKDESK_NOTIFY_SECRET".into(), set(&self.webhook_secret)),
            ("INKDESK_PUBLIC_URL".into(), opt(&self.public_url)),
        ]
    }
}

/// The lifecycle's studio alerts (a customer who could not be told by DM, a deposit paid
/// for a cancelled booking) through the console's notifier.
#[derive(Debug, Clone)]
pub struct ConsoleAlerts(pub Arc<super::Console>);

#[async_trait::async_trait]
impl inkdesk_assistant::deposits::StudioAlerts for ConsoleAlerts {
    async fn alert(&self, conversation: &ConversationId, reason: &str) {
        self.0.notify_handoff(conversation, reason);
    }
}

/// Sends handoff notifications; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    settings: Arc<NotifySettings>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("telegram", &self.telegram_configured())
            .field("webhook", &self.settings.webhook_url.is_some())
            .finish()
    }
}

impl Notifier {
    /// A notifier with a 10-second timeout per request.
    pub fn new(settings: NotifySettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            settings: Arc::new(settings),
            http,
        })
    }

    fn telegram_configured(&self) -> bool {
        self.settings.telegram_token.is_some() && self.settings.telegram_chat_id.is_some()
    }

    /// Whether any channel is configured.
    pub fn is_configured(&self) -> bool {
        self.telegram_configured() || self.settings.webhook_url.is_some()
    }

    /// Sends the notification in the background and returns at once.
    pub fn handoff(&self, conversation: &ConversationId, reason: &str) {
        if !self.is_configured() {
            return;
        }
        let this = self.clone();
        let conversation = conversation.clone();
        let reason = short(reason);
        tokio::spawn(async move { this.send_handoff(&conversation, &reason).await });
    }

    /// Sends to every configured channel and waits; failures are logged, not returned.
    pub async fn send_handoff(&self, conversation: &ConversationId, reason: &str) {
        let link = self
            .settings
            .public_url
            .as_ref()
            .map(|base| format!("{}/admin/c/{}", base.trim_end_matches('/'), conversation));
        if let (Some(token), Some(chat)) = (
            &self.settings.telegram_token,
            &self.settings.telegram_chat_id,
        ) {
            let text = match &link {
                Some(link) => format!(
                    "inkdesk: conversation {conversation} needs a person ({reason}). {link}"
                ),
                None => format!("inkdesk: conversation {conversation} needs a person ({reason})."),
            };
            let base = self
                .settings
                .telegram_base_url
                .as_deref()
                .unwrap_or(TELEGRAM_API)
                .trim_end_matches('/');
            let url = format!("{base}/bot{}/sendMessage", token.expose_secret());
            let result = self
                .http
                .post(url)
                .json(&json!({"chat_id": chat, "text": text}))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status);
            if let Err(error) = result {
                // The URL holds the bot token: log only the status, never the error's URL.
                tracing::warn!(%conversation, status = ?error.status(), "Telegram notification failed");
            }
        }
        if let Some(url) = &self.settings.webhook_url {
            let body = json!({
                "event": "handoff",
                "conversation": conversation.as_str(),
                "reason": reason,
                "link": link,
            })
            .to_string();
            let mut request = self
                .http
                .post(url)
                .header("content-type", "application/json");
            if let Some(secret) = &self.settings.webhook_secret {
                request = request.header(SIGNATURE_HEADER, sign(secret, body.as_bytes()));
            }
            let result = request
                .body(body)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status);
            if let Err(error) = result {
                tracing::warn!(%conversation, status = ?error.status(), "handoff webhook failed");
            }
        }
    }
}

/// `sha256=<hex>` of HMAC-SHA256(`secret`, `body`).
pub fn sign(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this branch cannot run.
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// At most 80 characters of the reason, so a note can never carry a whole message.
fn short(reason: &str) -> String {
    reason.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_of_the_body() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231 style vector.
        let sig = sign(
            &SecretString::from("key"),
            b"The quick brown fox jumps over the lazy dog",
        );
        assert_eq!(
            sig,
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_and_report() {
        let settings = NotifySettings {
            telegram_token: Some(SecretString::from("123:very-secret")),
            webhook_secret: Some(SecretString::from("hook-very-secret")),
            ..NotifySettings::default()
        };
        let text = format!("{settings:?} {:?}", settings.report());
        assert!(!text.contains("very-secret"), "{text}");
    }
}
