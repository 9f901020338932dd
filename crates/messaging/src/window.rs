//! Meta's messaging windows, decided in one place.
//!
//! Instagram lets a business send a standard message only within 24 hours of the
//! customer's newest message, and a person (with the `HUMAN_AGENT` tag) within 7 days of
//! it. A conversation without any customer message has neither window. Every send to a
//! customer — the bot's reply, a reminder, a console reply — asks [`ReplyWindows`] first.
//!
//! The rule is about elapsed time, not local dates, so it is computed on UTC instants: a
//! daylight-saving change in the studio's zone neither shortens nor lengthens a window.

use chrono::{DateTime, Duration, Utc};

/// How long after the customer's newest message a standard (bot) reply may go out.
pub const STANDARD_WINDOW: Duration = Duration::hours(24);

/// How long after the customer's newest message a `HUMAN_AGENT`-tagged reply may go out.
pub const HUMAN_AGENT_WINDOW: Duration = Duration::days(7);

/// The state of both windows of one conversation at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyWindows {
    /// When the customer last wrote, if ever.
    pub last_customer_message: Option<DateTime<Utc>>,
    /// The instant the windows are judged at.
    pub now: DateTime<Utc>,
}

/// Which kind of send is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind {
    /// A standard message (the bot, a reminder).
    Standard,
    /// A person's reply with the `HUMAN_AGENT` tag.
    HumanAgent,
}

/// Why a send is not allowed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WindowClosed {
    /// The customer has never written in this conversation.
    #[error("the customer has not written in this conversation, so Instagram allows no reply")]
    NoCustomerMessage,
    /// The window ended at `closed_at`.
    #[error("Instagram's reply window closed at {closed_at}")]
    Expired {
        /// When the window ended.
        closed_at: DateTime<Utc>,
    },
}

impl ReplyWindows {
    /// The windows of a conversation whose customer last wrote at `last_customer_message`.
    pub fn new(last_customer_message: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        Self {
            last_customer_message,
            now,
        }
    }

    /// When the window for `kind` ends (`None` without a customer message).
    pub fn closes_at(&self, kind: SendKind) -> Option<DateTime<Utc>> {
        let length = match kind {
            SendKind::Standard => STANDARD_WINDOW,
            SendKind::HumanAgent => HUMAN_AGENT_WINDOW,
        };
        self.last_customer_message
            .and_then(|at| at.checked_add_signed(length))
    }

    /// Ok when a send of `kind` is allowed now; otherwise why not. The window is open up to
    /// and excluding its end instant.
    pub fn check(&self, kind: SendKind) -> Result<(), WindowClosed> {
        let Some(closed_at) = self.closes_at(kind) else {
            return Err(WindowClosed::NoCustomerMessage);
        };
        if self.now < closed_at {
            Ok(())
        } else {
            Err(WindowClosed::Expired { closed_at })
        }
    }

    /// Whether a send of `kind` is allowed now.
    pub fn is_open(&self, kind: SendKind) -> bool {
        self.check(kind).is_ok()
    }

    /// Time left in the window for `kind` (zero once closed, `None` without a customer
    /// message).
    pub fn remaining(&self, kind: SendKind) -> Option<Duration> {
        self.closes_at(kind)
            .map(|end| (end - self.now).max(Duration::zero()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("valid")
    }

    fn windows(last: DateTime<Utc>, elapsed: Duration) -> ReplyWindows {
        ReplyWindows::new(Some(last), last + elapsed)
    }

    #[test]
    fn standard_window_is_open_at_23_59_and_closed_at_24_01() {
        let last = at(2026, 12, 1, 10, 0);
        let open = windows(last, Duration::hours(23) + Duration::minutes(59));
        assert!(open.is_open(SendKind::Standard));
        assert_eq!(
            open.remaining(SendKind::Standard),
            Some(Duration::minutes(1))
        );
        let closed = windows(last, Duration::hours(24) + Duration::minutes(1));
        assert_eq!(
            closed.check(SendKind::Standard),
            Err(WindowClosed::Expired {
                closed_at: last + Duration::hours(24)
            })
        );
        assert_eq!(closed.remaining(SendKind::Standard), Some(Duration::zero()));
        // The end instant itself is outside.
        assert!(!windows(last, Duration::hours(24)).is_open(SendKind::Standard));
    }

    #[test]
    fn human_agent_window_is_open_at_6_days_23_h_and_closed_at_7_days_1_h() {
        let last = at(2026, 12, 1, 10, 0);
        let open = windows(last, Duration::days(6) + Duration::hours(23));
        assert!(open.is_open(SendKind::HumanAgent));
        assert!(!open.is_open(SendKind::Standard));
        let closed = windows(last, Duration::days(7) + Duration::hours(1));
        assert!(!closed.is_open(SendKind::HumanAgent));
        assert_eq!(
            closed.closes_at(SendKind::HumanAgent),
            Some(last + Duration::days(7))
        );
    }

    #[test]
    fn no_customer_message_opens_no_window() {
        let w = ReplyWindows::new(None, at(2026, 12, 1, 10, 0));
        assert_eq!(
            w.check(SendKind::Standard),
            Err(WindowClosed::NoCustomerMessage)
        );
        assert_eq!(
            w.check(SendKind::HumanAgent),
            Err(WindowClosed::NoCustomerMessage)
        );
        assert_eq!(w.remaining(SendKind::Standard), None);
    }

    #[test]
    fn a_dst_change_does_not_move_the_window() {
        // Europe/Athens leaves summer time at 2026-10-25 04:00 local (01:00 UTC): the
        // local clock shows 25 hours between the two instants, but the window is 24 real
        // hours long.
        let last = at(2026, 10, 24, 12, 0); // 15:00 local (UTC+3)
        let local_same_time_next_day = at(2026, 10, 25, 13, 0); // 15:00 local (UTC+2)
        let w = ReplyWindows::new(Some(last), local_same_time_next_day);
        assert!(!w.is_open(SendKind::Standard));
        let w = ReplyWindows::new(Some(last), at(2026, 10, 25, 11, 59));
        assert!(w.is_open(SendKind::Standard));
        // Spring forward (2026-03-29): the same holds the other way.
        let last = at(2026, 3, 28, 12, 0);
        let w = ReplyWindows::new(Some(last), at(2026, 3, 29, 11, 59));
        assert!(w.is_open(SendKind::Standard));
        assert!(!ReplyWindows::new(Some(last), at(2026, 3, 29, 12, 0)).is_open(SendKind::Standard));
    }
}
