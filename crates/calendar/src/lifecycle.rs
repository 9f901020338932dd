//! A booking's life: `pending_deposit → confirmed → completed | no_show`, and `cancelled`
//! (by the customer, by the studio, or unpaid when the deposit hold ran out).
//!
//! The rules of which change is allowed from which state live here, pure, so every adapter
//! enforces the same ones ([`BookingStatus::apply`]); the adapters only store the result.
//! Old records without a status read back as [`BookingStatus::Confirmed`] (the only state a
//! booking had before the lifecycle existed).

use chrono::{DateTime, Utc};
use inkdesk_domain::Price;
use serde::{Deserialize, Serialize};

/// Who cancelled a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    /// The customer (through the assistant's two-step cancel).
    Customer,
    /// The studio (console, API, command line).
    Studio,
    /// Nobody: the deposit was not paid before the hold expired (or the payment link
    /// expired).
    Unpaid,
}

impl CancelledBy {
    /// The stored code: `customer`, `studio`, `unpaid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Studio => "studio",
            Self::Unpaid => "unpaid",
        }
    }
}

/// Where a booking is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BookingStatus {
    /// Waiting for the deposit; the slot is held (blocked) until `hold_until`, then the
    /// booking is cancelled unpaid.
    PendingDeposit {
        /// When the hold runs out.
        hold_until: DateTime<Utc>,
    },
    /// Booked for sure (deposit paid, or no deposit asked).
    #[default]
    Confirmed,
    /// The appointment took place.
    Completed,
    /// The customer did not come.
    NoShow,
    /// Cancelled; the slot is free again.
    Cancelled {
        /// Who cancelled.
        by: CancelledBy,
    },
}

/// A change of status asked of [`crate::Calendar::set_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusChange {
    /// The deposit was received: `pending_deposit → confirmed`.
    Confirm,
    /// The appointment took place: `confirmed | no_show → completed` (after its start).
    Complete,
    /// The customer did not come: `confirmed | completed → no_show` (after its start).
    NoShow,
    /// Cancel: from `pending_deposit` by anyone, from `confirmed` by the customer or the
    /// studio (a paid booking is never cancelled as unpaid).
    Cancel(CancelledBy),
}

impl StatusChange {
    /// A short name for messages and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirm => "confirm",
            Self::Complete => "complete",
            Self::NoShow => "no_show",
            Self::Cancel(CancelledBy::Customer) => "cancel (customer)",
            Self::Cancel(CancelledBy::Studio) => "cancel (studio)",
            Self::Cancel(CancelledBy::Unpaid) => "cancel (unpaid)",
        }
    }
}

/// Why a status change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The change is not allowed from the booking's current state.
    #[error("a booking that is {from} cannot take the change {change}")]
    NotAllowed {
        /// The booking's state.
        from: &'static str,
        /// The change asked.
        change: &'static str,
    },
    /// Completed and no-show describe the past: the appointment has not started yet.
    #[error("the appointment has not started yet; it cannot be marked {change}")]
    NotYet {
        /// The change asked.
        change: &'static str,
    },
}

impl BookingStatus {
    /// The stored code: `pending_deposit`, `confirmed`, `completed`, `no_show`,
    /// `cancelled_customer`, `cancelled_studio`, `cancelled_unpaid`.
    pub fn code(self) -> &'static str {
        match self {
            Self::PendingDeposit { .. } => "pending_deposit",
            Self::Confirmed => "confirmed",
            Self::Completed => "completed",
            Self::NoShow => "no_show",
            Self::Cancelled {
                by: CancelledBy::Customer,
            } => "cancelled_customer",
            Self::Cancelled {
                by: CancelledBy::Studio,
            } => "cancelled_studio",
            Self::Cancelled {
                by: CancelledBy::Unpaid,
            } => "cancelled_unpaid",
        }
    }

    /// The status a stored code stands for; `hold_until` is read for `pending_deposit`
    /// (a missing one makes the record unreadable: `None`). An absent code is
    /// [`BookingStatus::Confirmed`] (records older than the lifecycle).
    pub fn from_code(code: Option<&str>, hold_until: Option<DateTime<Utc>>) -> Option<Self> {
        Some(match code {
            None | Some("" | "confirmed") => Self::Confirmed,
            Some("pending_deposit") => Self::PendingDeposit {
                hold_until: hold_until?,
            },
            Some("completed") => Self::Completed,
            Some("no_show") => Self::NoShow,
            Some("cancelled_customer" | "cancelled") => Self::Cancelled {
                by: CancelledBy::Customer,
            },
            Some("cancelled_studio") => Self::Cancelled {
                by: CancelledBy::Studio,
            },
            Some("cancelled_unpaid") => Self::Cancelled {
                by: CancelledBy::Unpaid,
            },
            Some(_) => return None,
        })
    }

    /// The hold's expiry of a pending booking.
    pub fn hold_until(self) -> Option<DateTime<Utc>> {
        match self {
            Self::PendingDeposit { hold_until } => Some(hold_until),
            _ => None,
        }
    }

    /// Pending or confirmed: the appointment is still to happen.
    pub fn is_live(self) -> bool {
        matches!(self, Self::PendingDeposit { .. } | Self::Confirmed)
    }

    /// Whether the booking keeps its time busy (everything but cancelled).
    pub fn blocks_time(self) -> bool {
        !self.is_cancelled()
    }

    /// Whether the booking was cancelled.
    pub fn is_cancelled(self) -> bool {
        matches!(self, Self::Cancelled { .. })
    }

    /// The status after `change`, for a booking starting at `start`, at `now`; refused
    /// changes say why. A cancelled booking takes no change (the adapters answer `Gone`
    /// before asking).
    pub fn apply(
        self,
        change: StatusChange,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Self, TransitionError> {
        let refused = || TransitionError::NotAllowed {
            from: self.code(),
            change: change.as_str(),
        };
        let past = |next: Self| {
            if start <= now {
                Ok(next)
            } else {
                Err(TransitionError::NotYet {
                    change: change.as_str(),
                })
            }
        };
        match (self, change) {
            (Self::PendingDeposit { .. }, StatusChange::Confirm) => Ok(Self::Confirmed),
            (Self::PendingDeposit { .. }, StatusChange::Cancel(by)) => Ok(Self::Cancelled { by }),
            (
                Self::Confirmed,
                StatusChange::Cancel(by @ (CancelledBy::Customer | CancelledBy::Studio)),
            ) => Ok(Self::Cancelled { by }),
            // A mistaken mark can be corrected: completed and no-show swap.
            (Self::Confirmed | Self::NoShow, StatusChange::Complete) => past(Self::Completed),
            (Self::Confirmed | Self::Completed, StatusChange::NoShow) => past(Self::NoShow),
            _ => Err(refused()),
        }
    }
}

impl std::fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The deposit a new booking waits for: its amount and how long the slot is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositHold {
    /// The deposit asked.
    pub amount: Price,
    /// When the hold runs out and the unpaid booking is cancelled.
    pub hold_until: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::TimeZone;

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    #[test]
    fn the_allowed_changes_and_no_others() {
        let pending = BookingStatus::PendingDeposit { hold_until: t(9) };
        let (start, after, before) = (t(10), t(12), t(8));
        assert_eq!(
            pending.apply(StatusChange::Confirm, start, before),
            Ok(BookingStatus::Confirmed)
        );
        for by in [
            CancelledBy::Customer,
            CancelledBy::Studio,
            CancelledBy::Unpaid,
        ] {
            assert_eq!(
                pending.apply(StatusChange::Cancel(by), start, before),
                Ok(BookingStatus::Cancelled { by })
            );
        }
        assert!(pending.apply(StatusChange::Complete, start, after).is_err());
        assert!(pending.apply(StatusChange::NoShow, start, after).is_err());

        let confirmed = BookingStatus::Confirmed;
        assert!(
            confirmed
                .apply(StatusChange::Confirm, start, before)
                .is_err()
        );
        assert!(
            confirmed
                .apply(StatusChange::Cancel(CancelledBy::Unpaid), start, before)
                .is_err(),
            "a paid booking is never cancelled as unpaid"
        );
        assert_eq!(
            confirmed.apply(StatusChange::Cancel(CancelledBy::Studio), start, before),
            Ok(BookingStatus::Cancelled {
                by: CancelledBy::Studio
            })
        );
        assert_eq!(
            confirmed.apply(StatusChange::NoShow, start, before),
            Err(TransitionError::NotYet { change: "no_show" })
        );
        assert_eq!(
            confirmed.apply(StatusChange::NoShow, start, after),
            Ok(BookingStatus::NoShow)
        );
        assert_eq!(
            BookingStatus::NoShow.apply(StatusChange::Complete, start, after),
            Ok(BookingStatus::Completed)
        );
        assert!(
            BookingStatus::Completed
                .apply(StatusChange::Cancel(CancelledBy::Studio), start, after)
                .is_err()
        );
        let cancelled = BookingStatus::Cancelled {
            by: CancelledBy::Customer,
        };
        assert!(
            cancelled
                .apply(StatusChange::Confirm, start, before)
                .is_err()
        );
    }

    #[test]
    fn codes_round_trip_and_old_records_are_confirmed() {
        let all = [
            BookingStatus::PendingDeposit { hold_until: t(9) },
            BookingStatus::Confirmed,
            BookingStatus::Completed,
            BookingStatus::NoShow,
            BookingStatus::Cancelled {
                by: CancelledBy::Customer,
            },
            BookingStatus::Cancelled {
                by: CancelledBy::Studio,
            },
            BookingStatus::Cancelled {
                by: CancelledBy::Unpaid,
            },
        ];
        for status in all {
            assert_eq!(
                BookingStatus::from_code(Some(status.code()), status.hold_until().or(Some(t(9)))),
                Some(status)
            );
        }
        assert_eq!(
            BookingStatus::from_code(None, None),
            Some(BookingStatus::Confirmed)
        );
        assert_eq!(
            BookingStatus::from_code(Some("pending_deposit"), None),
            None
        );
        assert_eq!(BookingStatus::from_code(Some("paid?"), None), None);
        let json = serde_json::to_value(all[0]).unwrap();
        assert_eq!(json["state"], "pending_deposit");
    }
}
