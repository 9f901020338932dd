//! Prices from images and stated sizes, and bursts mixing price and booking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use inkdesk_assistant::Intent;
use inkdesk_assistant::engine::{CallKind, TurnOutcomeKind};
use inkdesk_assistant::message::{ImageAnalysis, image_ref};
use inkdesk_openai::{Message, ModelTask, UserPart};
use serde_json::json;
use support::{World, call};

fn rose() -> serde_json::Value {
    json!({"is_tattoo_design": true, "description": "τριαντάφυλλο με απαλή σκίαση",
           "height_cm": 7, "width_cm": 7, "ink_coverage": 0.3, "style": "light_shading"})
}

#[tokio::test]
async fn one_image_is_measured_once_and_quoted_as_two_exact_sizes() {
    let world = World::new();
    let mut chat = world.conversation("4001");
    let image = chat.image(&world, "https://cdn.example/rose.jpg");
    let mid = image.mid.clone();
    let reference = image_ref(&mid, 0);
    world.then_vision(rose());
    world.then_tools(vec![call(
        "quote",
        json!({"pieces": [{"image_ref": reference}]}),
    )]);
    world.then_reply(
        "Για αυτό το σχέδιο: 60 € ή 65 € σε λίγο μεγαλύτερο μέγεθος ❤️🐼",
        &["pricing_with_image"],
    );
    let text = chat.text(&world, "Πόσο κοστίζει αυτό;");
    let outcome = chat.turn(&world, vec![image, text]).await;

    assert_eq!(outcome.record.outcome, TurnOutcomeKind::Replied);
    assert_eq!(outcome.record.intents, [Intent::PricingWithImage]);
    // Vision ran once, on the image, and its result is stored on that message.
    let requests = world.model.requests();
    assert_eq!(requests[0].task, ModelTask::Vision);
    assert!(
        matches!(&requests[0].messages[1], Message::User { parts } if matches!(parts[0], UserPart::Image(_)))
    );
    assert_eq!(outcome.analyses.len(), 1);
    assert_eq!(outcome.analyses[0].mid, mid);
    assert!(matches!(
        outcome.analyses[0].analysis,
        ImageAnalysis::Measured(_)
    ));
    assert_eq!(
        outcome
            .record
            .model_calls
            .iter()
            .map(|c| c.kind)
            .collect::<Vec<_>>(),
        [CallKind::Vision, CallKind::Reply, CallKind::Reply]
    );
    let quote = &world.last_tool_results()[0];
    assert_eq!(quote["price_as_measured"], 60);
    assert_eq!(quote["price_slightly_larger"], 65);

    // A follow-up in a later turn prices the same image from the stored measurements,
    // without analysing it again.
    world.then_tools(vec![call(
        "quote",
        json!({"pieces": [{"image_ref": reference}]}),
    )]);
    world.then_reply("60 € ή 65 € ❤️🐼", &["pricing_follow_up"]);
    let again = chat.text(&world, "Και πάλι, πόσο είπαμε;");
    let outcome = chat.turn(&world, vec![again]).await;
    assert!(outcome.analyses.is_empty());
    assert_eq!(world.last_tool_results()[0]["price_as_measured"], 60);
}

#[tokio::test]
async fn two_images_are_quoted_as_one_discounted_total() {
    let world = World::new();
    let mut chat = world.conversation("4002");
    let first = chat.image(&world, "https://cdn.example/a.jpg");
    let second = chat.image(&world, "https://cdn.example/b.jpg");
    let refs = [image_ref(&first.mid, 0), image_ref(&second.mid, 0)];
    // (5,5,0.10,1.14 → 45) and (10,8,0.5,1.45 → 130): 175 − 10 % → 155.
    world.then_vision(json!({"is_tattoo_design": true, "description": "small line heart", "height_cm": 5, "width_cm": 5, "ink_coverage": 0.1, "style": "line_work"}));
    world.then_vision(json!({"is_tattoo_design": true, "description": "shaded wolf", "height_cm": 10, "width_cm": 8, "ink_coverage": 0.5, "style": "heavy_shading"}));
    world.then_tools(vec![call(
        "quote",
        json!({"pieces": [{"image_ref": refs[0]}, {"image_ref": refs[1]}]}),
    )]);
    world.then_reply("Both together: 155 € ❤️🐼", &["pricing_with_image"]);
    let text = chat.text(&world, "How much for both of these?");
    let outcome = chat.turn(&world, vec![first, second, text]).await;
    assert_eq!(outcome.language, inkdesk_domain::Language::En);
    let quote = &world.last_tool_results()[0];
    assert_eq!(quote["total"], 155);
    assert_eq!(quote["pieces"], 2);
    // The burst the model saw lists each image with its own reference, in order.
    let request = world.model.last_request().unwrap();
    let Some(Message::User { parts }) = request
        .messages
        .iter()
        .rev()
        .find(|m| matches!(m, Message::User { .. }))
    else {
        panic!("no user message");
    };
    let UserPart::Text(burst) = &parts[0] else {
        panic!()
    };
    let lines: Vec<&str> = burst.lines().collect();
    assert!(lines[0].contains(&refs[0]) && lines[0].contains("small line heart"));
    assert!(lines[1].contains(&refs[1]) && lines[1].contains("shaded wolf"));
    assert_eq!(lines[2], "How much for both of these?");
}

#[tokio::test]
async fn text_image_text_burst_keeps_its_order_and_a_failed_image_does_not_stop_the_turn() {
    let world = World::new();
    let mut chat = world.conversation("4003");
    let before = chat.text(&world, "Καλησπέρα!");
    let mut broken = chat.image(&world, "https://cdn.example/expired.jpg");
    broken.attachments[0].url = Some("https://cdn.example/missing.jpg".to_owned());
    let after = chat.text(&world, "Θα ήθελα κάτι τέτοιο στον ώμο");
    world.then_reply(
        "Καλησπέρα! Πείτε μας το μέγεθος σε εκατοστά ❤️🐼",
        &["design"],
    );
    let outcome = chat.turn(&world, vec![before, broken, after]).await;
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::Replied);
    assert!(matches!(
        outcome.analyses[0].analysis,
        ImageAnalysis::Failed { .. }
    ));
    let burst = &chat.history[0].text;
    let lines: Vec<&str> = burst.lines().collect();
    assert_eq!(lines[0], "Καλησπέρα!");
    assert!(lines[1].starts_with("[image that could not be analysed"));
    assert_eq!(lines[2], "Θα ήθελα κάτι τέτοιο στον ώμο");
}

#[tokio::test]
async fn price_and_booking_in_one_burst_are_answered_price_first() {
    let world = World::new();
    let mut chat = world.conversation("4004");
    world.then_tools(vec![
        call("quote", json!({"pieces": [{"height_cm": 7, "width_cm": 7, "ink_coverage": 0.3, "style": "light_shading"}]})),
        call("check_availability", json!({"from_date": "2026-11-20", "to_date": "2026-11-20", "price": 60})),
    ]);
    world.then_reply(
        "Η τιμή είναι 60 € ή 65 €. Για την Παρασκευή έχουμε 11:00, 12:00, 13:00 ❤️🐼",
        &["booking_new", "pricing_without_image"],
    );
    let msg = chat.text(
        &world,
        "Ένα τριαντάφυλλο 7x7 με σκίαση πόσο κάνει; Και μπορώ Παρασκευή;",
    );
    let outcome = chat.turn(&world, vec![msg]).await;
    // Recorded in answering order even though the model listed booking first.
    assert_eq!(
        outcome.record.intents,
        [Intent::PricingWithoutImage, Intent::BookingNew]
    );
    let results = world.last_tool_results();
    assert_eq!(results[0]["price_as_measured"], 60);
    assert_eq!(results[1]["slots"].as_array().unwrap().len(), 3);
}
