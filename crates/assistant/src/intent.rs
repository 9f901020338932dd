//! The intents of a customer's burst (behaviour reference §5), recorded per turn.
//!
//! The model names them in its `send_reply` call (no extra model call); when it does not,
//! they are inferred from the tools it used. Several intents in one burst are answered in a
//! fixed order: price first, then booking, then the rest.

use serde::{Deserialize, Serialize};

/// What a customer wants in a burst of messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// A new price question with a reference image.
    PricingWithImage,
    /// A new price question without an image.
    PricingWithoutImage,
    /// A follow-up on a price already given.
    PricingFollowUp,
    /// Wants to book a new appointment.
    BookingNew,
    /// Asks which times are free.
    BookingAvailableSlots,
    /// Wants to move an existing appointment.
    BookingReschedule,
    /// Wants to cancel an existing appointment.
    BookingCancel,
    /// Confirms a time, a change or a cancellation.
    BookingConfirmation,
    /// Gives name, phone or other booking details.
    BookingDetails,
    /// Asks about the studio: address, hours, policies, age, deposit.
    StudioInfo,
    /// Talks about the design itself (ideas, changes, placement).
    Design,
    /// Asks about caring for a tattoo.
    Aftercare,
    /// Complains or is unhappy.
    Complaint,
    /// Follows up on an earlier exchange (thanks, a reminder, "any news?").
    FollowUp,
    /// Anything else.
    Other,
}

/// The broad group that decides the answering order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IntentGroup {
    /// Answered first.
    Pricing,
    /// Answered after the price.
    Booking,
    /// Answered last.
    Rest,
}

impl Intent {
    /// Every intent, in answering order.
    pub const ALL: [Intent; 15] = [
        Self::PricingWithImage,
        Self::PricingWithoutImage,
        Self::PricingFollowUp,
        Self::BookingNew,
        Self::BookingAvailableSlots,
        Self::BookingReschedule,
        Self::BookingCancel,
        Self::BookingConfirmation,
        Self::BookingDetails,
        Self::StudioInfo,
        Self::Design,
        Self::Aftercare,
        Self::Complaint,
        Self::FollowUp,
        Self::Other,
    ];

    /// The snake_case name used in the tool schema and in traces.
    pub fn name(self) -> &'static str {
        match self {
            Self::PricingWithImage => "pricing_with_image",
            Self::PricingWithoutImage => "pricing_without_image",
            Self::PricingFollowUp => "pricing_follow_up",
            Self::BookingNew => "booking_new",
            Self::BookingAvailableSlots => "booking_available_slots",
            Self::BookingReschedule => "booking_reschedule",
            Self::BookingCancel => "booking_cancel",
            Self::BookingConfirmation => "booking_confirmation",
            Self::BookingDetails => "booking_details",
            Self::StudioInfo => "studio_info",
            Self::Design => "design",
            Self::Aftercare => "aftercare",
            Self::Complaint => "complaint",
            Self::FollowUp => "follow_up",
            Self::Other => "other",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(name: &str) -> Option<Intent> {
        let key = name.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|i| i.name() == key)
    }

    /// The group deciding the order of answers.
    pub fn group(self) -> IntentGroup {
        match self {
            Self::PricingWithImage | Self::PricingWithoutImage | Self::PricingFollowUp => {
                IntentGroup::Pricing
            }
            Self::BookingNew
            | Self::BookingAvailableSlots
            | Self::BookingReschedule
            | Self::BookingCancel
            | Self::BookingConfirmation
            | Self::BookingDetails => IntentGroup::Booking,
            _ => IntentGroup::Rest,
        }
    }

    /// The intent a tool call implies, used when the model did not name intents.
    pub fn from_tool(tool: &str) -> Option<Intent> {
        Some(match tool {
            "quote" => Self::PricingWithImage,
            "check_availability" => Self::BookingAvailableSlots,
            "book_appointment" => Self::BookingConfirmation,
            "find_my_bookings" => Self::BookingDetails,
            "change_booking" => Self::BookingReschedule,
            _ => return None,
        })
    }

    /// The intent a tool call shows, reading `change_booking`'s action from its arguments.
    pub fn from_tool_call(tool: &str, arguments: &str) -> Option<Intent> {
        let cancel = serde_json::from_str::<serde_json::Value>(arguments)
            .is_ok_and(|v| v["action"] == "cancel");
        match tool {
            "change_booking" if cancel => Some(Self::BookingCancel),
            _ => Self::from_tool(tool),
        }
    }
}

/// Puts intents in answering order (price, booking, rest), keeping the model's order inside
/// a group and dropping repeats.
pub fn answering_order(intents: &[Intent]) -> Vec<Intent> {
    let mut out: Vec<Intent> = Vec::new();
    for group in [
        IntentGroup::Pricing,
        IntentGroup::Booking,
        IntentGroup::Rest,
    ] {
        for intent in intents {
            if intent.group() == group && !out.contains(intent) {
                out.push(*intent);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for intent in Intent::ALL {
            assert_eq!(Intent::parse(intent.name()), Some(intent));
            assert_eq!(
                serde_json::to_value(intent).unwrap(),
                serde_json::Value::String(intent.name().to_owned())
            );
        }
        assert_eq!(Intent::parse("nonsense"), None);
    }

    #[test]
    fn price_is_answered_before_booking_and_booking_before_the_rest() {
        let burst = [
            Intent::StudioInfo,
            Intent::BookingNew,
            Intent::PricingWithImage,
            Intent::BookingNew,
        ];
        assert_eq!(
            answering_order(&burst),
            [
                Intent::PricingWithImage,
                Intent::BookingNew,
                Intent::StudioInfo
            ]
        );
    }
}
