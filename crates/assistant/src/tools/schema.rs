//! The tools offered to the model: names, descriptions and JSON Schemas of their arguments.
//!
//! The list is identical on every turn and for every customer (no per-conversation text),
//! so it stays inside the provider's cached prompt prefix. No tool takes a user id: the
//! engine binds every call to the conversation's sender.

use serde_json::{Value, json};

use crate::intent::Intent;

/// Name of the availability tool.
pub const CHECK_AVAILABILITY: &str = "check_availability";
/// Name of the booking tool.
pub const BOOK_APPOINTMENT: &str = "book_appointment";
/// Name of the tool listing the sender's upcoming bookings.
pub const FIND_MY_BOOKINGS: &str = "find_my_bookings";
/// Name of the first step of a cancellation.
pub const REQUEST_CANCELLATION: &str = "request_cancellation";
/// Name of the second step of a cancellation.
pub const CONFIRM_CANCELLATION: &str = "confirm_cancellation";
/// Name of the first step of a reschedule.
pub const REQUEST_RESCHEDULE: &str = "request_reschedule";
/// Name of the second step of a reschedule.
pub const CONFIRM_RESCHEDULE: &str = "confirm_reschedule";
/// Name of the price tool.
pub const QUOTE: &str = "quote";
/// Name of the handoff tool.
pub const HANDOFF_TO_HUMAN: &str = "handoff_to_human";
/// Name of the tool that ends a turn with the reply.
pub const SEND_REPLY: &str = "send_reply";
/// `send_reply`'s default outcome: the text is sent.
pub const OUTCOME_REPLY: &str = "reply";
/// `send_reply`'s outcome for messages that need no answer: nothing is sent.
pub const OUTCOME_NO_REPLY: &str = "no_reply";

/// The style classes of the price formula, as the tools and the vision prompt name them.
pub const STYLES: [&str; 10] = [
    "line_work",
    "light_shading",
    "heavy_shading",
    "filled_black",
    "filled_one_colour",
    "colour_shading",
    "multicolour_strong_shading",
    "realistic",
    "portrait",
    "tiny_script",
];

/// One tool as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The function name.
    pub name: &'static str,
    /// What it does and when to call it.
    pub description: &'static str,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

fn date(description: &str) -> Value {
    json!({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$", "description": description})
}

fn time(description: &str) -> Value {
    json!({"type": "string", "pattern": "^\\d{1,2}:\\d{2}$", "description": description})
}

fn booking_id() -> Value {
    json!({"type": "string", "description": "The booking's id as find_my_bookings returned it."})
}

/// Every tool, in a fixed order.
pub fn tool_specs() -> Vec<ToolSpec> {
    let intents: Vec<&str> = Intent::ALL.iter().map(|i| i.name()).collect();
    vec![
        ToolSpec {
            name: QUOTE,
            description: "Price of one or more tattoo pieces, computed by the studio's formula. \
                For one piece it returns two sizes (low and high); for several it returns only \
                the discounted total. State the amounts exactly as returned.",
            parameters: object(
                json!({
                    "pieces": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "description": "Either image_ref, or height_cm + width_cm + ink_coverage + style.",
                            "properties": {
                                "image_ref": {"type": "string", "description": "Reference of an analysed image, e.g. img-1a2b3c."},
                                "height_cm": {"type": "number", "exclusiveMinimum": 0, "maximum": 200},
                                "width_cm": {"type": "number", "exclusiveMinimum": 0, "maximum": 200},
                                "ink_coverage": {"type": "number", "minimum": 0, "maximum": 1},
                                "style": {"type": "string", "enum": STYLES},
                            },
                            "additionalProperties": false,
                        },
                    },
                }),
                &["pieces"],
            ),
        },
        ToolSpec {
            name: CHECK_AVAILABILITY,
            description: "Free appointment times between two dates, earliest first, spread \
                over days. The times returned are held for this customer for a while. Give the \
                quoted price (or a duration) so the appointment length is right.",
            parameters: object(
                json!({
                    "from_date": date("First day to search, YYYY-MM-DD."),
                    "to_date": date("Last day to search, YYYY-MM-DD; defaults to a week after from_date."),
                    "preferred_time": time("Earliest time the customer prefers on the first day, HH:MM."),
                    "price": {"type": "number", "description": "The quoted price; sets the appointment length."},
                    "duration_minutes": {"type": "integer", "minimum": 1, "description": "Appointment length when known directly."},
                }),
                &["from_date"],
            ),
        },
        ToolSpec {
            name: BOOK_APPOINTMENT,
            description: "Books the time the customer chose, for this customer. Needs full name, \
                phone, a short description of the design and the quoted price. If the time was \
                just taken, the answer lists fresh alternatives.",
            parameters: object(
                json!({
                    "date": date("Day of the appointment, YYYY-MM-DD."),
                    "time": time("Start time, HH:MM, 24-hour."),
                    "name": {"type": "string", "description": "Customer's full name."},
                    "phone": {"type": "string", "description": "Customer's phone number as they wrote it."},
                    "design": {"type": "string", "description": "Short description of the design and placement."},
                    "price": {"type": "number", "description": "The quoted price."},
                    "duration_minutes": {"type": "integer", "minimum": 1, "description": "Only when the length differs from the one the price gives."},
                }),
                &["date", "time", "name", "phone", "design", "price"],
            ),
        },
        ToolSpec {
            name: FIND_MY_BOOKINGS,
            description: "This customer's upcoming appointments with their ids.",
            parameters: object(json!({}), &[]),
        },
        ToolSpec {
            name: REQUEST_CANCELLATION,
            description: "Step 1 of 2: prepares cancelling one of this customer's appointments \
                and answers what would be cancelled. Nothing changes until the customer agrees \
                and confirm_cancellation is called in a later turn.",
            parameters: object(json!({"booking_id": booking_id()}), &["booking_id"]),
        },
        ToolSpec {
            name: CONFIRM_CANCELLATION,
            description: "Step 2 of 2: cancels the appointment prepared by request_cancellation, \
                only after the customer has clearly agreed in a later message.",
            parameters: object(json!({"booking_id": booking_id()}), &[]),
        },
        ToolSpec {
            name: REQUEST_RESCHEDULE,
            description: "Step 1 of 2: prepares moving one of this customer's appointments to a \
                new free time and answers what would change. Nothing changes until the customer \
                agrees and confirm_reschedule is called in a later turn.",
            parameters: object(
                json!({
                    "booking_id": booking_id(),
                    "new_date": date("New day, YYYY-MM-DD."),
                    "new_time": time("New start time, HH:MM."),
                }),
                &["booking_id", "new_date", "new_time"],
            ),
        },
        ToolSpec {
            name: CONFIRM_RESCHEDULE,
            description: "Step 2 of 2: moves the appointment as prepared by request_reschedule, \
                only after the customer has clearly agreed in a later message.",
            parameters: object(json!({"booking_id": booking_id()}), &[]),
        },
        ToolSpec {
            name: HANDOFF_TO_HUMAN,
            description: "Hands the conversation to a person at the studio and stops automatic \
                replies for a while. The customer gets the studio's standard message; do not \
                write more after calling it.",
            parameters: object(
                json!({
                    "reason": {"type": "string", "enum": ["complaint", "asked_for_person", "cannot_answer", "other"]},
                    "note": {"type": "string", "description": "One line for the studio: what the customer needs."},
                }),
                &["reason"],
            ),
        },
        ToolSpec {
            name: SEND_REPLY,
            description: "Ends the turn: sends the message to the customer and records the \
                intents recognised in the customer's new messages, in the order answered. \
                When the new messages need no answer at all (a bare thanks or emoji after \
                your last word), set outcome to no_reply and leave text empty: nothing is sent.",
            parameters: object(
                json!({
                    "text": {"type": "string", "description": "The message for the customer, ending with the studio's signature."},
                    "intents": {"type": "array", "items": {"type": "string", "enum": intents}},
                    "outcome": {"type": "string", "enum": [OUTCOME_REPLY, OUTCOME_NO_REPLY], "description": "reply (default) or no_reply."},
                }),
                &["text", "intents"],
            ),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_and_no_user_id() {
        let specs = tool_specs();
        assert_eq!(specs.len(), 10);
        for spec in &specs {
            assert_eq!(spec.parameters["type"], "object", "{}", spec.name);
            let text = spec.parameters.to_string();
            for forbidden in ["user_id", "sender", "conversation", "igsid"] {
                assert!(
                    !text.contains(forbidden),
                    "{} exposes {forbidden}",
                    spec.name
                );
            }
        }
        let names: Vec<_> = specs.iter().map(|s| s.name).collect();
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names, unique);
    }

    #[test]
    fn tool_schemas_are_stable_between_calls() {
        assert_eq!(tool_specs(), tool_specs());
    }
}
