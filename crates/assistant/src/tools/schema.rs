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
/// Name of the two-step tool that cancels or moves one of the sender's bookings.
pub const CHANGE_BOOKING: &str = "change_booking";
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

/// An arguments object. No `additionalProperties: false`: the tools are not strict, so it
/// would be a hint costing tokens on every call; the server ignores unknown keys anyway.
fn object(properties: Value, required: &[&str]) -> Value {
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

fn string() -> Value {
    json!({"type": "string"})
}

fn number() -> Value {
    json!({"type": "number"})
}

/// Every tool, in a fixed order. Descriptions say only what the name and the system prompt
/// do not (every token here is sent on every call); formats and limits are checked by the
/// server, whose refusals tell the model what to fix.
pub fn tool_specs() -> Vec<ToolSpec> {
    tool_specs_for(false)
}

/// [`tool_specs`] for a studio with artists when `with_artists`: `check_availability` then
/// takes an `artist` (name or key) or a `style`, and `book_appointment` an `artist`. A
/// studio without artists is not sent those keys (every token of the tools is in every
/// call); either way the list is the same for every customer of the studio.
pub fn tool_specs_for(with_artists: bool) -> Vec<ToolSpec> {
    let intents: Vec<&str> = Intent::ALL.iter().map(|i| i.name()).collect();
    let mut specs = vec![
        ToolSpec {
            name: QUOTE,
            description: "The studio's price of one or more pieces.",
            parameters: object(
                json!({
                    "pieces": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "image_ref": string(),
                                "height_cm": number(),
                                "width_cm": number(),
                                "ink_coverage": number(),
                                "style": {"type": "string", "enum": STYLES},
                            },
                        },
                    },
                }),
                &["pieces"],
            ),
        },
        ToolSpec {
            name: CHECK_AVAILABILITY,
            description: "Free start times, earliest first; to_date defaults to a week on.",
            parameters: object(
                json!({
                    "from_date": string(),
                    "to_date": string(),
                    "preferred_time": string(),
                    "price": number(),
                    "duration_minutes": number(),
                }),
                &["from_date"],
            ),
        },
        ToolSpec {
            name: BOOK_APPOINTMENT,
            description: "Books the chosen time for this customer.",
            parameters: object(
                json!({
                    "date": string(),
                    "time": string(),
                    "name": string(),
                    "phone": string(),
                    "design": string(),
                    "quote_id": string(),
                    "sms_reminder": {"type": "boolean"},
                }),
                &["date", "time", "name", "phone", "design", "quote_id"],
            ),
        },
        ToolSpec {
            name: FIND_MY_BOOKINGS,
            description: "This customer's upcoming bookings.",
            parameters: object(json!({}), &[]),
        },
        ToolSpec {
            name: CHANGE_BOOKING,
            description: "Step ask, then confirm in a later turn. booking_id may be omitted when \
                there is one booking.",
            parameters: object(
                json!({
                    "action": {"type": "string", "enum": ["cancel", "move"]},
                    "step": {"type": "string", "enum": ["ask", "confirm"]},
                    "booking_id": string(),
                    "new_date": string(),
                    "new_time": string(),
                }),
                &["action", "step"],
            ),
        },
        ToolSpec {
            name: HANDOFF_TO_HUMAN,
            description: "Hands the chat to the staff; the customer gets a fixed message.",
            parameters: object(
                json!({
                    "reason": {"type": "string", "enum": ["complaint", "asked_for_person", "cannot_answer", "other"]},
                    "note": string(),
                }),
                &["reason"],
            ),
        },
        ToolSpec {
            name: SEND_REPLY,
            description: "Sends the reply; intents in the order answered. no_reply with empty \
                text sends nothing (a bare thanks).",
            parameters: object(
                json!({
                    "text": string(),
                    "intents": {"type": "array", "items": {"type": "string", "enum": intents}},
                    "outcome": {"type": "string", "enum": [OUTCOME_REPLY, OUTCOME_NO_REPLY]},
                }),
                &["text", "intents"],
            ),
        },
    ];
    if with_artists {
        for spec in &mut specs {
            let keys: &[&str] = match spec.name {
                CHECK_AVAILABILITY => &["artist", "style"],
                BOOK_APPOINTMENT => &["artist"],
                _ => &[],
            };
            for key in keys {
                spec.parameters["properties"][*key] = string();
            }
        }
    }
    specs
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_and_no_user_id() {
        let specs = tool_specs();
        assert_eq!(specs.len(), 7);
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
    fn only_a_studio_with_artists_gets_the_artist_keys() {
        let plain = tool_specs()
            .iter()
            .map(|s| s.parameters.to_string())
            .collect::<String>();
        assert!(!plain.contains("artist"));
        let with = tool_specs_for(true);
        let availability = with.iter().find(|s| s.name == CHECK_AVAILABILITY).unwrap();
        assert!(availability.parameters["properties"]["artist"].is_object());
        assert!(availability.parameters["properties"]["style"].is_object());
        let book = with.iter().find(|s| s.name == BOOK_APPOINTMENT).unwrap();
        assert!(book.parameters["properties"]["artist"].is_object());
    }

    #[test]
    fn a_booking_names_a_quote_never_an_amount() {
        let specs = tool_specs();
        let book = specs.iter().find(|s| s.name == BOOK_APPOINTMENT).unwrap();
        let properties = &book.parameters["properties"];
        assert!(properties["quote_id"].is_object());
        assert!(properties.get("price").is_none());
        assert!(properties.get("duration_minutes").is_none());
        assert!(
            book.parameters["required"]
                .as_array()
                .unwrap()
                .contains(&json!("quote_id"))
        );
    }

    #[test]
    fn tool_schemas_are_stable_between_calls() {
        assert_eq!(tool_specs(), tool_specs());
    }
}
