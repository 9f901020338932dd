//! The studio profile as the templates see it: already localised text, no logic left
//! for the template language.

use inkdesk_domain::{Language, StudioProfile};
use serde::Serialize;

use crate::locale;
use crate::quotes::GuideRef;

/// Everything the system prompt shows, in one language.
#[derive(Debug, Clone, Serialize)]
pub struct StudioFacts {
    /// Name, address, hours, policies, price guide, sign-off.
    pub studio: StudioView,
    /// The booking rules the prompt mentions.
    pub booking: BookingView,
}

/// The studio's facts as text.
#[derive(Debug, Clone, Serialize)]
pub struct StudioView {
    /// The studio's name.
    pub name: String,
    /// Street address; empty when unknown.
    pub address: String,
    /// Opening hours, one line per run of days with the same hours.
    pub hours: Vec<String>,
    /// IANA time zone name.
    pub time_zone: String,
    /// The signature closing every reply.
    pub sign_off: String,
    /// The deposit a booking waits for; `None` when the studio takes none (the prompt
    /// then mentions no deposit at all).
    pub deposit: Option<DepositView>,
    /// Minimum age.
    pub minimum_age: u32,
    /// Further policy lines in this language.
    pub notes: Vec<String>,
    /// Price guide lines.
    pub price_guide: Vec<GuideLine>,
    /// The currency symbol the guide's amounts are in.
    pub currency: String,
    /// The artists as `Name (style, style)`; empty when the studio has none.
    pub artists: Vec<String>,
}

/// How the studio takes deposits, as the prompt states it.
#[derive(Debug, Clone, Serialize)]
pub struct DepositView {
    /// Percent of the quoted price (0 when only some customers pay one).
    pub percent: u32,
    /// How long an unpaid booking is held, in hours.
    pub hold_hours: u32,
    /// Paid online through a link (Stripe); otherwise by the studio's own instructions.
    pub online: bool,
}

/// How deposits are paid, for [`StudioFacts::with_deposit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepositWay {
    /// A payment link (Stripe Checkout).
    Link,
    /// The studio's instructions (bank transfer, IRIS, at the studio).
    Instructions,
}

/// One line of the price guide.
#[derive(Debug, Clone, Serialize)]
pub struct GuideLine {
    /// The line's id for `book_appointment` (`g3`; `g3a`/`g3b` name its sizes).
    pub id: String,
    /// The kind of request.
    pub label: String,
    /// `40/45` or `180` (the currency is in the guide's heading).
    pub price: String,
}

/// The booking rules as text.
#[derive(Debug, Clone, Serialize)]
pub struct BookingView {
    /// Minimum notice in words (`3 ώρες`).
    pub notice: String,
    /// Booking horizon in days.
    pub horizon_days: u32,
    /// How long offered slots are held, in minutes.
    pub hold_minutes: u32,
    /// Hours before a confirmed appointment the customer is reminded (0: never).
    pub reminder_hours: u32,
    /// Reminders may go by SMS (Twilio is configured) to customers who agree.
    pub sms_reminders: bool,
}

impl StudioFacts {
    /// The same facts with deposits taken `way` (percent and hold from the profile).
    #[must_use]
    pub fn with_deposit(mut self, profile: &StudioProfile, way: Option<DepositWay>) -> Self {
        self.studio.deposit = way.map(|way| DepositView {
            percent: profile.pricing.deposit_percent,
            hold_hours: profile.pricing.deposit_hold_hours,
            online: way == DepositWay::Link,
        });
        self
    }

    /// The same facts with SMS reminders on or off (a reminder outside Meta's 24-hour
    /// window can go only by SMS, so the prompt promises one only then).
    #[must_use]
    pub fn with_sms_reminders(mut self, on: bool) -> Self {
        self.booking.sms_reminders = on;
        self
    }

    /// Localises the profile's facts into `language`.
    pub fn from_profile(profile: &StudioProfile, language: Language) -> Self {
        let symbol = &profile.currency_symbol;
        let price_guide = profile
            .price_guide
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let label = match language {
                    Language::El => &item.label_el,
                    Language::En => &item.label_en,
                };
                // `40/45`: the currency is named once in the guide's heading, so the guide
                // stays short in every request.
                let amount = |a| locale::amount_text(language, a, "").trim_end().to_owned();
                let price = match item.high {
                    Some(high) => format!("{}/{}", amount(item.low), amount(high)),
                    None => amount(item.low),
                };
                GuideLine {
                    id: GuideRef::line_id(index),
                    label: label.clone(),
                    price,
                }
            })
            .collect();
        let notes = match language {
            Language::El => profile.policies.notes_el.clone(),
            Language::En => profile.policies.notes_en.clone(),
        };
        Self {
            studio: StudioView {
                name: profile.name.clone(),
                address: profile.address.clone(),
                hours: locale::hours_lines(language, &profile.hours),
                time_zone: profile.time_zone.name().to_owned(),
                sign_off: profile.sign_off.clone(),
                deposit: None,
                minimum_age: profile.policies.minimum_age,
                notes,
                price_guide,
                currency: symbol.clone(),
                artists: profile
                    .artists
                    .iter()
                    .map(|a| match a.styles.is_empty() {
                        true => a.name.clone(),
                        false => format!("{} ({})", a.name, a.styles.join(", ")),
                    })
                    .collect(),
            },
            booking: BookingView {
                notice: locale::duration_text(language, profile.booking.min_notice_minutes),
                horizon_days: profile.booking.horizon_days,
                hold_minutes: profile.booking.hold_minutes,
                reminder_hours: profile.booking.reminder_hours,
                sms_reminders: false,
            },
        }
    }
}
