//! Cancel and reschedule in two steps, only for the sender's own bookings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::{TimeZone, Utc};
use inkdesk_assistant::confirm::ConfirmationStore;
use inkdesk_calendar::{Booking, Calendar, NewBooking};
use inkdesk_domain::{AppointmentDuration, ConversationId, CustomerName, PhoneNumber};
use serde_json::json;
use support::{World, call};

async fn booked(world: &World, conversation: &str, hour_utc: u32) -> Booking {
    world
        .calendar
        .create(NewBooking {
            conversation: ConversationId::parse(conversation).unwrap(),
            customer: CustomerName::parse("Μαρία Κ.").unwrap(),
            phone: PhoneNumber::parse("6912345678", Default::default()).unwrap(),
            design: None,
            price: None,
            start: Utc.with_ymd_and_hms(2026, 11, 20, hour_utc, 0, 0).unwrap(),
            duration: AppointmentDuration::from_minutes(60, 600).unwrap(),
            artist: None,
            idempotency_key: None,
            deposit: None,
            sms_consent: false,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn cancellation_happens_only_after_the_customer_confirms_in_a_later_turn() {
    let world = World::new();
    let booking = booked(&world, "5001", 12).await;
    let id = booking.id.as_str().to_owned();
    let mut chat = world.conversation("5001");

    // Turn 1: asks to cancel; the model finds the booking, requests, and even tries to
    // confirm straight away — refused in code.
    world.then_tools(vec![call("find_my_bookings", json!({}))]);
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "ask", "booking_id": id}),
    )]);
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "confirm", "booking_id": id}),
    )]);
    world.then_reply(
        "Να ακυρώσουμε το ραντεβού της Παρασκευής 20 Νοεμβρίου στις 14:00; ❤️🐼",
        &["booking_cancel"],
    );
    let msg = chat.text(&world, "Θέλω να ακυρώσω το ραντεβού μου");
    let outcome = chat.turn(&world, vec![msg]).await;
    assert!(outcome.asked_confirmation);
    let results = world.last_tool_results();
    assert_eq!(results[0]["bookings"][0]["booking_id"], id.as_str());
    assert_eq!(results[1]["waiting_for_confirmation"], "cancel");
    assert_eq!(results[2]["error"], "not_confirmed");
    assert_eq!(
        world.bookings_of("5001").await.len(),
        1,
        "nothing cancelled yet"
    );

    // Turn 2: the customer agrees; the tail tells the model what is pending; it confirms.
    world.advance_minutes(3);
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "confirm"}),
    )]);
    world.then_reply("Το ραντεβού ακυρώθηκε ❤️🐼", &["booking_confirmation"]);
    let yes = chat.text(&world, "Ναι, ακυρώστε το");
    chat.turn(&world, vec![yes]).await;
    let request = world.model.last_request().unwrap();
    let tail = request
        .messages
        .iter()
        .filter_map(|m| match m {
            inkdesk_openai::Message::System { text } => Some(text.clone()),
            _ => None,
        })
        .nth(1)
        .unwrap();
    assert!(tail.contains(&format!("cancel booking {id}")), "{tail}");
    assert_eq!(world.last_tool_results()[0]["cancelled"], true);
    assert!(world.bookings_of("5001").await.is_empty());
}

#[tokio::test]
async fn a_refusal_leaves_the_booking_and_confirming_without_a_request_is_refused() {
    let world = World::new();
    let booking = booked(&world, "5002", 12).await;
    let mut chat = world.conversation("5002");
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "confirm", "booking_id": booking.id.as_str()}),
    )]);
    world.then_reply(
        "Ποιο ραντεβού θέλετε να ακυρώσετε; ❤️🐼",
        &["booking_cancel"],
    );
    let msg = chat.text(&world, "ακύρωση");
    chat.turn(&world, vec![msg]).await;
    assert_eq!(world.last_tool_results()[0]["error"], "not_confirmed");
    assert_eq!(world.bookings_of("5002").await.len(), 1);

    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "ask", "booking_id": booking.id.as_str()}),
    )]);
    world.then_reply("Να το ακυρώσουμε; ❤️🐼", &["booking_cancel"]);
    let msg = chat.text(&world, "αυτό της Παρασκευής");
    chat.turn(&world, vec![msg]).await;
    // The customer says no: the model does not confirm, the booking stays.
    world.then_reply("Εντάξει, το ραντεβού μένει ως έχει ❤️🐼", &["follow_up"]);
    let msg = chat.text(&world, "Όχι τελικά, το κρατάω");
    chat.turn(&world, vec![msg]).await;
    assert_eq!(world.bookings_of("5002").await.len(), 1);
}

#[tokio::test]
async fn another_sender_can_neither_see_nor_cancel_a_booking() {
    let world = World::new();
    let booking = booked(&world, "5003", 12).await;
    let id = booking.id.as_str().to_owned();
    let mut intruder = world.conversation("6666");
    world.then_tools(vec![call("find_my_bookings", json!({}))]);
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "ask", "booking_id": id}),
    )]);
    world.then_reply("Δεν βρίσκουμε τέτοιο ραντεβού ❤️🐼", &["booking_cancel"]);
    let msg = intruder.text(
        &world,
        &format!("Cancel booking {id} for my friend, phone 6912345678"),
    );
    intruder.turn(&world, vec![msg]).await;
    let results = world.last_tool_results();
    assert_eq!(results[0]["bookings"], json!([]));
    assert_eq!(results[1]["error"], "not_found");
    // A later "confirmation" has nothing to act on.
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "confirm", "booking_id": id}),
    )]);
    world.then_reply("…", &["other"]);
    let msg = intruder.text(&world, "yes cancel it");
    intruder.turn(&world, vec![msg]).await;
    assert_eq!(world.last_tool_results()[0]["error"], "not_confirmed");
    assert_eq!(world.bookings_of("5003").await.len(), 1);
}

#[tokio::test]
async fn reschedule_moves_the_booking_after_confirmation_keeping_its_length() {
    let world = World::new();
    let booking = booked(&world, "5004", 12).await;
    let id = booking.id.as_str().to_owned();
    let mut chat = world.conversation("5004");
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "move", "step": "ask", "booking_id": id, "new_date": "2026-11-21", "new_time": "15:00"}),
    )]);
    world.then_reply(
        "Να το μεταφέρουμε στο Σάββατο 21 Νοεμβρίου στις 15:00; ❤️🐼",
        &["booking_reschedule"],
    );
    let msg = chat.text(&world, "Μπορούμε να το πάμε Σάββατο στις 3;");
    let outcome = chat.turn(&world, vec![msg]).await;
    assert!(outcome.asked_confirmation);
    let result = &world.last_tool_results()[0];
    assert_eq!(result["waiting_for_confirmation"], "reschedule");
    assert_eq!(result["new_when"], "Σάββατο, 21 Νοεμβρίου 15:00");
    assert_eq!(world.bookings_of("5004").await[0].start, booking.start);

    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "move", "step": "confirm", "booking_id": id}),
    )]);
    world.then_reply(
        "Έγινε! Σάββατο 21 Νοεμβρίου στις 15:00 ❤️🐼",
        &["booking_confirmation"],
    );
    let msg = chat.text(&world, "Ναι");
    chat.turn(&world, vec![msg]).await;
    assert_eq!(world.last_tool_results()[0]["rescheduled"], true);
    let moved = &world.bookings_of("5004").await[0];
    assert_eq!(
        moved.start,
        Utc.with_ymd_and_hms(2026, 11, 21, 13, 0, 0).unwrap()
    );
    assert_eq!(moved.duration.minutes(), 60);
}

#[tokio::test]
async fn a_heart_on_the_confirmation_question_is_the_customers_yes() {
    let world = World::new();
    let booking = booked(&world, "5005", 12).await;
    let id = booking.id.as_str().to_owned();
    let mut chat = world.conversation("5005");
    use inkdesk_messaging::Messenger as _;
    let messenger = inkdesk_messaging::RecordingMessenger::new();

    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "ask", "booking_id": id}),
    )]);
    world.then_reply(
        "Να ακυρώσουμε το ραντεβού της Παρασκευής στις 14:00; ❤️🐼",
        &["booking_cancel"],
    );
    let msg = chat.text(&world, "Ακύρωση του ραντεβού μου παρακαλώ");
    let outcome = chat.turn(&world, vec![msg]).await;
    // What the runner does once the question went out: its ids go on the confirmation.
    assert!(outcome.asked_confirmation);
    let sent = messenger
        .send_text(
            &chat.conversation,
            outcome.reply.as_deref().unwrap(),
            inkdesk_messaging::SendOptions::default(),
        )
        .await
        .unwrap();
    let ids: Vec<String> = sent.iter().map(|id| id.as_str().to_owned()).collect();
    world
        .engine
        .note_question(&chat.conversation, &ids)
        .await
        .unwrap();
    assert_eq!(messenger.texts(), [outcome.reply.clone().unwrap()]);

    // The customer hearts the question: the webhook queues it as customer input.
    let heart = inkdesk_assistant::message::CustomerMessage {
        mid: "reaction-1".to_owned(),
        sent_at: world.now(),
        text: None,
        reply_to: None,
        attachments: Vec::new(),
        reaction: Some(inkdesk_assistant::message::ReactionInfo {
            target_mid: sent[0].as_str().to_owned(),
            emoji: "❤".to_owned(),
            target_text: outcome.reply.clone(),
        }),
    };
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "confirm"}),
    )]);
    world.then_reply("Το ραντεβού ακυρώθηκε ❤️🐼", &["booking_confirmation"]);
    chat.turn(&world, vec![heart]).await;
    let request = world.model.last_request().unwrap();
    let tail = request
        .messages
        .iter()
        .filter_map(|m| match m {
            inkdesk_openai::Message::System { text } => Some(text.clone()),
            _ => None,
        })
        .nth(1)
        .unwrap();
    assert!(tail.contains("reacted ❤ to this question"), "{tail}");
    assert_eq!(world.last_tool_results()[0]["cancelled"], true);
    assert!(world.bookings_of("5005").await.is_empty());
}

/// A confirmation run again after its cancel went through (the turn was retried before
/// it recorded the outcome): the booking is already cancelled, which is done — not "no
/// such booking" — and nothing else is touched.
#[tokio::test]
async fn confirming_a_cancellation_that_already_happened_is_done() {
    let world = World::new();
    let booking = booked(&world, "5009", 12).await;
    let id = booking.id.as_str().to_owned();
    let mut chat = world.conversation("5009");
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "ask", "booking_id": id}),
    )]);
    world.then_reply("Να το ακυρώσουμε; ❤️🐼", &["booking_cancel"]);
    let msg = chat.text(&world, "Ακύρωση παρακαλώ");
    assert!(chat.turn(&world, vec![msg]).await.asked_confirmation);

    // The earlier run of the confirming turn cancelled it in the calendar, then stopped.
    world.calendar.cancel(&booking.id).await.unwrap();
    world.advance_minutes(2);
    world.then_tools(vec![call(
        "change_booking",
        json!({"action": "cancel", "step": "confirm"}),
    )]);
    world.then_reply("Το ραντεβού ακυρώθηκε ❤️🐼", &["booking_confirmation"]);
    let yes = chat.text(&world, "Ναι");
    chat.turn(&world, vec![yes]).await;
    let result = &world.last_tool_results()[0];
    assert_eq!(result["cancelled"], true, "{result}");
    assert!(
        result["when"].as_str().unwrap().contains("14:00"),
        "{result}"
    );
    let conversation = ConversationId::parse("5009").unwrap();
    assert!(
        world
            .confirmations
            .get(&conversation)
            .await
            .unwrap()
            .is_none(),
        "the confirmation is used up"
    );
}
