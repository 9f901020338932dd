//! The booking tool's deposit step, and the payment text added to the reply.

use chrono::{DateTime, Utc};
use inkdesk_calendar::{Booking, BookingStatus, DepositHold};
use inkdesk_domain::{ConversationId, Language, Price};
use serde_json::Value;

use super::Engine;
use super::record::ToolRecord;

/// The key of the payment text in a booking tool's answer.
const PAYMENT_TEXT: &str = "payment_text";

impl Engine {
    /// The deposit a new booking waits for (`None` without deposits).
    pub(crate) async fn deposit_hold(
        &self,
        conversation: &ConversationId,
        price: Price,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DepositHold> {
        let deposits = self.lifecycle.as_ref()?.deposits()?;
        deposits.hold_for(conversation, price, start, now).await
    }

    /// After a booking is made (or found again by a resumed turn): a pending one asks for
    /// its deposit and its answer gets the deposit's facts and the payment text; a
    /// confirmed one is announced to the lifecycle's observers.
    pub(crate) async fn after_booking(
        &self,
        booking: &Booking,
        language: Language,
        mut answer: Value,
    ) -> Value {
        let Some(lifecycle) = &self.lifecycle else {
            return answer;
        };
        match booking.status {
            BookingStatus::Confirmed => lifecycle.confirmed(booking).await,
            BookingStatus::PendingDeposit { .. } => {
                if let Some(deposit) = match lifecycle.deposits() {
                    Some(deposits) => deposits.offer(booking, language).await,
                    None => None,
                } {
                    answer["deposit"] = deposit.facts;
                    answer[PAYMENT_TEXT] = Value::String(deposit.payment_text);
                }
            }
            _ => {}
        }
        answer
    }
}

/// The reply with the payment text of the turn's booking added (once, before the studio's
/// sign-off), unless the model already wrote it out.
pub(crate) fn with_payment_text(reply: String, tools: &[ToolRecord], sign_off: &str) -> String {
    let texts: Vec<String> = tools
        .iter()
        .filter(|t| t.ok && t.name == "book_appointment")
        .filter_map(|t| serde_json::from_str::<Value>(&t.result).ok())
        .filter_map(|v| v.get(PAYMENT_TEXT)?.as_str().map(str::to_owned))
        .collect();
    let Some(text) = texts.last() else {
        return reply;
    };
    if reply.contains(text.as_str()) {
        return reply;
    }
    let trimmed = reply.trim_end();
    match trimmed
        .strip_suffix(sign_off)
        .filter(|_| !sign_off.is_empty())
    {
        Some(body) => format!("{}\n\n{text} {sign_off}", body.trim_end()),
        None => format!("{trimmed}\n\n{text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn booked(result: &str) -> ToolRecord {
        ToolRecord {
            name: "book_appointment".to_owned(),
            arguments: "{}".to_owned(),
            result: result.to_owned(),
            ok: true,
            latency: Duration::ZERO,
        }
    }

    #[test]
    fn the_payment_text_goes_before_the_sign_off_once() {
        let tools = [booked(
            r#"{"booked":true,"payment_text":"Pay here: https://pay.example/cs_1"}"#,
        )];
        let reply = with_payment_text("Booked for Tuesday 11:00! ❤️🐼".to_owned(), &tools, "❤️🐼");
        assert_eq!(
            reply,
            "Booked for Tuesday 11:00!\n\nPay here: https://pay.example/cs_1 ❤️🐼"
        );
        assert_eq!(with_payment_text(reply.clone(), &tools, "❤️🐼"), reply);
        let plain = with_payment_text("Booked.".to_owned(), &tools, "❤️🐼");
        assert_eq!(plain, "Booked.\n\nPay here: https://pay.example/cs_1");
        let none = with_payment_text("Booked.".to_owned(), &[booked(r#"{"booked":true}"#)], "x");
        assert_eq!(none, "Booked.");
    }
}
