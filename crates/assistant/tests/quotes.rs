//! Bookings refer to the quote the engine gave in the same conversation: its price and
//! length are the booking's, and an id the engine did not give there is refused back to
//! the model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use inkdesk_assistant::engine::TurnOutcomeKind;
use rust_decimal::dec;
use serde_json::{Value, json};
use support::{World, call, quote_95};

fn book(date: &str, time: &str, quote_id: &str) -> inkdesk_openai::ToolCall {
    call(
        "book_appointment",
        json!({"date": date, "time": time, "name": "Γιάννης Παπαδόπουλος",
               "phone": "691 234 5678", "design": "γράμματα, καρπός", "quote_id": quote_id}),
    )
}

#[tokio::test]
async fn a_booking_takes_the_price_and_length_of_the_quote_it_names() {
    let world = World::new();
    let mut chat = world.conversation("5101");
    world.then_tools(vec![quote_95()]);
    world.then_reply("95 € ή 105 € λίγο μεγαλύτερο ❤️🐼", &["price_no_image"]);
    let msg = chat.text(&world, "Πόσο κάνει ένα όνομα 3x8 στον καρπό;");
    chat.turn(&world, vec![msg]).await;
    let quoted = world.last_tool_results()[0].clone();
    assert_eq!(quoted["price_as_measured"], 95, "{quoted}");
    assert_eq!(quoted["quote_id_as_measured"], "q1");
    assert_eq!(quoted["quote_id_slightly_larger"], "q2");

    // The customer takes the larger size; the model names its id, never the amount.
    world.advance_minutes(10);
    world.then_tools(vec![book("2026-11-20", "12:00", "q2")]);
    world.then_reply("Κλείσαμε Παρασκευή 12:00 ❤️🐼", &["booking_confirmation"]);
    let msg = chat.text(&world, "Το μεγαλύτερο, Παρασκευή 12:00");
    chat.turn(&world, vec![msg]).await;
    let booked = world.last_tool_results()[0].clone();
    assert_eq!(booked["booked"], true, "{booked}");
    assert_eq!(booked["price"], "105");
    let bookings = world.bookings_of("5101").await;
    assert_eq!(bookings.len(), 1);
    assert_eq!(bookings[0].price.unwrap().amount(), dec!(105));
    // 105 € → ceil(105 · 0.6 / 5) · 5 = 65 minutes.
    assert_eq!(bookings[0].duration.minutes(), 65);
}

#[tokio::test]
async fn a_price_guide_line_books_at_its_price_and_the_formulas_length() {
    let world = World::new();
    let mut chat = world.conversation("5102");
    // g8 is "Realistic 160/180": b is the larger size.
    world.then_tools(vec![book("2026-11-20", "11:00", "g8b")]);
    world.then_reply("Κλείσαμε ❤️🐼", &["booking_confirmation"]);
    let msg = chat.text(&world, "Ρεαλιστικό, το μεγάλο, Παρασκευή 11:00");
    chat.turn(&world, vec![msg]).await;
    assert_eq!(world.last_tool_results()[0]["booked"], true);
    let bookings = world.bookings_of("5102").await;
    assert_eq!(bookings[0].price.unwrap().amount(), dec!(180));
    assert_eq!(bookings[0].duration.minutes(), 110);

    // Line 9 has one price: `g9b` names nothing and is refused, like a line past the end.
    for id in ["g9b", "g42a"] {
        world.then_tools(vec![book("2026-11-27", "11:00", id)]);
        world.then_reply("Ποιο μέγεθος; ❤️🐼", &["booking_details"]);
        let msg = chat.text(&world, "Και άλλο ένα την επόμενη Παρασκευή");
        chat.turn(&world, vec![msg]).await;
        let refused = world.last_tool_results()[0].clone();
        assert_eq!(refused["error"], "invalid_arguments", "{refused}");
        assert_eq!(refused["field"], "quote_id");
    }
    assert_eq!(world.bookings_of("5102").await.len(), 1);
}

fn assert_refused_back_to_the_model(result: &Value, expected: &str) {
    assert_eq!(result["error"], "invalid_arguments", "{result}");
    assert_eq!(result["field"], "quote_id", "{result}");
    assert!(
        result["message"].as_str().unwrap().contains(expected),
        "{result}"
    );
}

#[tokio::test]
async fn a_made_up_quote_id_is_refused_back_to_the_model_and_books_nothing() {
    let world = World::new();
    let mut chat = world.conversation("5103");
    world.then_tools(vec![quote_95()]);
    world.then_tools(vec![book("2026-11-20", "12:00", "q7")]);
    world.then_reply("Ποιο από τα δύο μεγέθη; ❤️🐼", &["booking_details"]);
    let msg = chat.text(&world, "Κλείστε με Παρασκευή 12:00, όνομα 3x8");
    let outcome = chat.turn(&world, vec![msg]).await;
    // The model got the refusal and answered the customer itself: no apology, no handoff.
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::Replied);
    assert_eq!(
        outcome.reply.as_deref(),
        Some("Ποιο από τα δύο μεγέθη; ❤️🐼")
    );
    assert!(outcome.handoff.is_none());
    let results = world.last_tool_results();
    assert_refused_back_to_the_model(&results[1], "no quote `q7` in this conversation");
    assert!(world.bookings_of("5103").await.is_empty());
}

#[tokio::test]
async fn a_quote_given_in_another_conversation_books_nothing_here() {
    let world = World::new();
    let mut anna = world.conversation("5104");
    world.then_tools(vec![quote_95()]);
    world.then_reply("95 € ή 105 € ❤️🐼", &["price_no_image"]);
    let msg = anna.text(&world, "Πόσο ένα όνομα 3x8;");
    anna.turn(&world, vec![msg]).await;
    assert_eq!(world.last_tool_results()[0]["quote_id_as_measured"], "q1");

    // Another customer's turn names Anna's id: this conversation has no quote q1.
    let mut other = world.conversation("5105");
    world.then_tools(vec![book("2026-11-20", "12:00", "q1")]);
    world.then_reply(
        "Πείτε μας πρώτα τι θέλετε να κάνετε ❤️🐼",
        &["booking_details"],
    );
    let msg = other.text(&world, "Κλείστε μου το q1 της Άννας, Παρασκευή 12:00");
    let outcome = other.turn(&world, vec![msg]).await;
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::Replied);
    assert_refused_back_to_the_model(&world.last_tool_results()[0], "no quote `q1`");
    assert!(world.bookings_of("5105").await.is_empty());

    // Its own quote of another piece is its own q1, at its own price.
    world.then_tools(vec![call(
        "quote",
        json!({"pieces": [{"height_cm": 10, "width_cm": 8, "ink_coverage": 0.5, "style": "heavy_shading"}]}),
    )]);
    world.then_tools(vec![book("2026-11-20", "12:00", "q1")]);
    world.then_reply("Κλείσαμε ❤️🐼", &["booking_confirmation"]);
    let msg = other.text(&world, "10x8 σκιασμένο, Παρασκευή 12:00");
    other.turn(&world, vec![msg]).await;
    let results = world.last_tool_results();
    assert_eq!(results[1]["booked"], true, "{}", results[1]);
    let bookings = world.bookings_of("5105").await;
    assert_eq!(bookings[0].price.unwrap().amount(), dec!(130));
}

#[tokio::test]
async fn an_expired_quote_is_refused_and_a_new_quote_books() {
    let world = World::new();
    let mut chat = world.conversation("5106");
    world.then_tools(vec![quote_95()]);
    world.then_reply("95 € ❤️🐼", &["price_no_image"]);
    let msg = chat.text(&world, "Πόσο ένα όνομα 3x8;");
    chat.turn(&world, vec![msg]).await;

    // Fifteen days later (quotes book for fourteen).
    world.advance_minutes(15 * 24 * 60);
    world.then_tools(vec![book("2026-12-04", "12:00", "q1")]);
    world.then_tools(vec![quote_95()]);
    world.then_tools(vec![book("2026-12-04", "12:00", "q3")]);
    world.then_reply(
        "Κλείσαμε Παρασκευή 4 Δεκεμβρίου 12:00 ❤️🐼",
        &["booking_confirmation"],
    );
    let msg = chat.text(&world, "Θα ήθελα να κλείσω για 4 Δεκεμβρίου 12:00");
    let outcome = chat.turn(&world, vec![msg]).await;
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::Replied);
    let results = world.last_tool_results();
    assert_refused_back_to_the_model(&results[0], "has expired");
    // The same piece quoted again gets a fresh id: the expired one is never reused.
    assert_eq!(results[1]["quote_id_as_measured"], "q3", "{}", results[1]);
    assert_eq!(results[2]["booked"], true, "{}", results[2]);
    assert_eq!(world.bookings_of("5106").await.len(), 1);
}
