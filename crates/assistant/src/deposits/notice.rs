//! Telling a customer something outside a turn (a deposit received, a booking cancelled
//! unpaid): a DM while Meta's 24-hour window is open and nobody from the studio has taken
//! the conversation over; otherwise the studio is alerted to tell them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use inkdesk_domain::{Clock, ConversationId};
use inkdesk_messaging::{Messenger, ReplyWindows, SendKind, SendOptions};
use inkdesk_store::{ConversationLog, Outbox, Role, Takeover, Turn};

/// How long the ids of messages we sent are remembered (tells their echoes from a person's).
const OUTBOX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// How many recent turns are read to find the customer's newest message.
const RECENT_TURNS: usize = 50;

/// Tells the studio something needs a person (the binary wires the console's notifier).
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait StudioAlerts: Send + Sync {
    /// `reason` is a short code (`deposit_unpaid_cancelled`, …); never the customer's words.
    async fn alert(&self, conversation: &ConversationId, reason: &str);
}

/// Alerts nobody (no notifier configured): the console still shows the booking's status.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAlerts;

#[async_trait]
impl StudioAlerts for NoAlerts {
    async fn alert(&self, conversation: &ConversationId, reason: &str) {
        tracing::info!(%conversation, reason, "studio alert (no notifier configured)");
    }
}

/// Who was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Told {
    /// The customer, by DM.
    Customer,
    /// The studio, to tell the customer itself (window closed, taken over, no messenger,
    /// or the send failed).
    Studio,
}

/// The ports a notice needs.
#[derive(Clone)]
pub struct CustomerNotices {
    /// Sends the DM; `None` without a token.
    pub messenger: Option<Arc<dyn Messenger>>,
    /// The conversation's history (the window's start; the notice is recorded there).
    pub log: Arc<dyn ConversationLog>,
    /// Ids of messages we sent.
    pub outbox: Arc<dyn Outbox>,
    /// Mutes: a conversation a person took over gets no message from the bot.
    pub takeover: Arc<dyn Takeover>,
    /// The studio's notifier.
    pub alerts: Arc<dyn StudioAlerts>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl CustomerNotices {
    /// Sends `text` to the customer when allowed, otherwise alerts the studio with
    /// `reason`. Never fails: a failure to send becomes an alert.
    pub async fn tell(&self, conversation: &ConversationId, text: &str, reason: &str) -> Told {
        match self.try_send(conversation, text).await {
            Ok(true) => Told::Customer,
            Ok(false) => {
                self.alerts.alert(conversation, reason).await;
                Told::Studio
            }
            Err(error) => {
                tracing::warn!(%conversation, %error, reason, "notice not sent; the studio is told");
                self.alerts.alert(conversation, reason).await;
                Told::Studio
            }
        }
    }

    /// `Ok(false)`: not allowed now (window, takeover, paused, no messenger).
    async fn try_send(
        &self,
        conversation: &ConversationId,
        text: &str,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        let Some(messenger) = &self.messenger else {
            return Ok(false);
        };
        if self.takeover.is_paused().await? || self.takeover.muted(conversation).await?.is_some() {
            return Ok(false);
        }
        let turns = self.log.recent(conversation, RECENT_TURNS).await?;
        let last_customer = turns
            .iter()
            .filter(|t| t.role == Role::Customer)
            // A reaction does not open the window; a written message does.
            .filter(|t| {
                t.data
                    .as_ref()
                    .and_then(|d| d.get("reaction"))
                    .is_none_or(serde_json::Value::is_null)
            })
            .map(|t| t.at)
            .max();
        let now = self.clock.now();
        if !ReplyWindows::new(last_customer, now).is_open(SendKind::Standard) {
            tracing::info!(%conversation, "outside Meta's 24-hour window; the studio tells the customer");
            return Ok(false);
        }
        let ids = match messenger
            .send_text(conversation, text, SendOptions::default())
            .await
        {
            Ok(ids) => ids,
            Err(failure) => {
                for id in &failure.delivered {
                    self.outbox.remember(id.as_str(), OUTBOX_TTL).await?;
                }
                return Err(Box::new(failure.error));
            }
        };
        for id in &ids {
            self.outbox.remember(id.as_str(), OUTBOX_TTL).await?;
        }
        self.log
            .append(
                conversation,
                Turn {
                    role: Role::Assistant,
                    text: text.to_owned(),
                    message_id: ids.first().map(|id| id.as_str().to_owned()),
                    at: now,
                    data: Some(serde_json::json!({"sent_from": "deposits"})),
                },
            )
            .await?;
        Ok(true)
    }
}
