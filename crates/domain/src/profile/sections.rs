//! The sections of the studio profile, each with the first studio's defaults.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ProfileError;

/// A reply language inkdesk writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Greek (polite plural).
    #[default]
    El,
    /// English.
    En,
}

/// How appointments are offered and booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BookingRules {
    /// Appointments that can run at the same time (artists working in parallel).
    pub capacity: u32,
    /// Minutes between candidate start times, counted from opening time.
    pub slot_step_minutes: u32,
    /// Minutes between now and the earliest bookable start.
    pub min_notice_minutes: u32,
    /// How many days ahead appointments can be booked.
    pub horizon_days: u32,
    /// How long offered slots stay held for the asking conversation.
    pub hold_minutes: u32,
    /// Free minutes kept before each appointment.
    pub buffer_before_minutes: u32,
    /// Free minutes kept after each appointment.
    pub buffer_after_minutes: u32,
    /// The longest appointment.
    pub max_appointment_minutes: u32,
    /// How many slots one availability answer offers.
    pub max_slots_offered: u32,
    /// The studio's own popup reminder before each appointment (Google Calendar), in
    /// minutes. Not the customer's: that is [`BookingRules::reminder_hours`].
    pub reminder_minutes: u32,
    /// Hours before a confirmed appointment the customer is reminded (a DM inside Meta's
    /// 24-hour window, else an SMS when they agreed, else the console lists it for a
    /// person); `0` sends no customer reminders.
    pub reminder_hours: u32,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            capacity: 2,
            slot_step_minutes: 60,
            min_notice_minutes: 180,
            horizon_days: 60,
            hold_minutes: 30,
            buffer_before_minutes: 0,
            buffer_after_minutes: 0,
            max_appointment_minutes: 600,
            max_slots_offered: 3,
            reminder_minutes: 60,
            reminder_hours: 24,
        }
    }
}

impl BookingRules {
    pub(super) fn validate(&self) -> Result<(), ProfileError> {
        let checks: [(&'static str, bool, &str); 7] = [
            ("booking.capacity", self.capacity >= 1, "must be at least 1"),
            (
                "booking.reminder_hours",
                self.reminder_hours <= 168,
                "must be between 0 (no reminders) and 168",
            ),
            (
                "booking.slot_step_minutes",
                (5..=720).contains(&self.slot_step_minutes),
                "must be between 5 and 720",
            ),
            (
                "booking.horizon_days",
                (1..=730).contains(&self.horizon_days),
                "must be between 1 and 730",
            ),
            (
                "booking.hold_minutes",
                self.hold_minutes >= 1,
                "must be at least 1",
            ),
            (
                "booking.max_appointment_minutes",
                (15..=1440).contains(&self.max_appointment_minutes),
                "must be between 15 and 1440",
            ),
            (
                "booking.max_slots_offered",
                (1..=20).contains(&self.max_slots_offered),
                "must be between 1 and 20",
            ),
        ];
        for (field, ok, message) in checks {
            if !ok {
                return Err(ProfileError::Invalid {
                    field,
                    message: message.to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// How conversations are remembered and paced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConversationRules {
    /// Turns of history given to the model.
    pub history_turns: u32,
    /// Days a conversation's history is kept.
    pub history_retention_days: u32,
    /// Seconds of quiet after the customer's last message before answering (sliding).
    pub debounce_seconds: u32,
    /// Minutes the assistant stays silent after a person from the studio steps in.
    pub takeover_mute_minutes: u32,
}

impl Default for ConversationRules {
    fn default() -> Self {
        Self {
            history_turns: 20,
            history_retention_days: 20,
            debounce_seconds: 20,
            takeover_mute_minutes: 120,
        }
    }
}

impl ConversationRules {
    pub(super) fn validate(&self) -> Result<(), ProfileError> {
        let checks: [(&'static str, bool, &str); 3] = [
            (
                "conversation.history_turns",
                (1..=200).contains(&self.history_turns),
                "must be between 1 and 200",
            ),
            (
                "conversation.history_retention_days",
                self.history_retention_days >= 1,
                "must be at least 1",
            ),
            (
                "conversation.takeover_mute_minutes",
                self.takeover_mute_minutes >= 1,
                "must be at least 1",
            ),
        ];
        for (field, ok, message) in checks {
            if !ok {
                return Err(ProfileError::Invalid {
                    field,
                    message: message.to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Limits on prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingLimits {
    /// The largest price accepted on a booking.
    pub max_price: Decimal,
    /// Non-refundable deposit, percent of the quoted price; 0 turns deposits off. Deposits
    /// are asked only when the studio can be paid (`[payments]` methods, or Stripe).
    pub deposit_percent: u32,
    /// How the deposit is rounded (up).
    pub deposit_rounding: super::DepositRounding,
    /// How long a booking waiting for its deposit holds its slot; unpaid by then, it is
    /// cancelled and the slot freed.
    pub deposit_hold_hours: u32,
}

impl Default for PricingLimits {
    fn default() -> Self {
        Self {
            max_price: Decimal::from(5000),
            deposit_percent: 30,
            deposit_rounding: super::DepositRounding::Whole,
            deposit_hold_hours: 24,
        }
    }
}

impl PricingLimits {
    pub(super) fn validate(&self) -> Result<(), ProfileError> {
        if self.max_price <= Decimal::ZERO {
            return Err(ProfileError::Invalid {
                field: "pricing.max_price",
                message: "must be positive".to_owned(),
            });
        }
        if self.deposit_percent > 100 {
            return Err(ProfileError::Invalid {
                field: "pricing.deposit_percent",
                message: "must be between 0 and 100".to_owned(),
            });
        }
        if !(1..=24 * 14).contains(&self.deposit_hold_hours) {
            return Err(ProfileError::Invalid {
                field: "pricing.deposit_hold_hours",
                message: "must be between 1 and 336 (two weeks)".to_owned(),
            });
        }
        Ok(())
    }
}

/// Policies the assistant states when asked (information only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policies {
    /// Minimum age; customers show an ID.
    pub minimum_age: u32,
    /// Further policy lines in the studio's own words, per language.
    pub notes_el: Vec<String>,
    /// The same notes in English.
    pub notes_en: Vec<String>,
    /// How to prepare for the appointment, in the studio's words (Greek): sent with the
    /// customer's reminder.
    pub preparation_el: Vec<String>,
    /// The same preparation notes in English.
    pub preparation_en: Vec<String>,
}

impl Default for Policies {
    fn default() -> Self {
        Self {
            minimum_age: 18,
            notes_el: vec![
                "Οι τιμές είναι τελικές και πληρώνονται σε μετρητά την ημέρα του ραντεβού."
                    .to_owned(),
            ],
            notes_en: vec!["Prices are final and paid in cash on the day.".to_owned()],
            preparation_el: vec![
                "Φάτε κάτι πριν έρθετε και αποφύγετε το αλκοόλ το προηγούμενο βράδυ.".to_owned(),
                "Φέρτε την ταυτότητά σας.".to_owned(),
            ],
            preparation_en: vec![
                "Have something to eat before you come and skip alcohol the night before."
                    .to_owned(),
                "Bring your ID.".to_owned(),
            ],
        }
    }
}

/// One line of the price guide: a kind of request and its price (or two sizes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceGuideItem {
    /// Stable key, e.g. `small_shaded`.
    pub key: String,
    /// Greek label.
    pub label_el: String,
    /// English label.
    pub label_en: String,
    /// Price of the smaller size (or the only price).
    pub low: Decimal,
    /// Price of the larger size, when the guide gives two.
    pub high: Option<Decimal>,
}

impl PriceGuideItem {
    fn new(key: &str, el: &str, en: &str, low: i64, high: Option<i64>) -> Self {
        Self {
            key: key.to_owned(),
            label_el: el.to_owned(),
            label_en: en.to_owned(),
            low: Decimal::from(low),
            high: high.map(Decimal::from),
        }
    }

    /// The first studio's price guide (behaviour reference §2).
    pub fn defaults() -> Vec<Self> {
        vec![
            Self::new(
                "very_small_simple",
                "Πολύ μικρό, απλό",
                "Very small, simple",
                40,
                Some(45),
            ),
            Self::new("small_simple", "Μικρό, απλό", "Small, simple", 50, Some(55)),
            Self::new(
                "small_shaded",
                "Μικρό με σκίαση",
                "Small with shading",
                60,
                Some(65),
            ),
            Self::new(
                "small_flat_colour",
                "Μικρό με ένα χρώμα",
                "Small, flat colour",
                65,
                Some(70),
            ),
            Self::new(
                "fine_line_photo",
                "Fine line από φωτογραφία",
                "Fine line from a photo",
                70,
                Some(75),
            ),
            Self::new(
                "small_lettering",
                "Μικρά γράμματα",
                "Small lettering",
                40,
                Some(45),
            ),
            Self::new(
                "medium_shaded",
                "Μεσαίο με σκίαση",
                "Medium with shading",
                90,
                Some(95),
            ),
            Self::new("realistic", "Ρεαλιστικό", "Realistic", 160, Some(180)),
            Self::new(
                "large_freehand",
                "Μεγάλο freehand",
                "Large freehand",
                180,
                None,
            ),
            Self::new(
                "large_realistic_layered",
                "Μεγάλο ρεαλιστικό, σε στρώσεις",
                "Large realistic, layered",
                280,
                Some(320),
            ),
            Self::new("retouch", "Ρετούς", "Retouch", 25, Some(30)),
        ]
    }
}
