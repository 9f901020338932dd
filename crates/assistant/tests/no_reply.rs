//! Turns that end without a message: the model's `no_reply` outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use inkdesk_assistant::Intent;
use inkdesk_assistant::engine::TurnOutcomeKind;
use serde_json::json;
use support::{World, call};

fn no_reply() -> inkdesk_openai::ToolCall {
    call(
        "send_reply",
        json!({"text": "", "intents": ["follow_up"], "outcome": "no_reply"}),
    )
}

#[tokio::test]
async fn a_bare_thanks_after_the_studios_last_word_gets_no_message() {
    let world = World::new();
    let mut chat = world.conversation("7101");
    world.then_reply(
        "Σας περιμένουμε την Παρασκευή! ❤️🐼",
        &["booking_confirmation"],
    );
    let first = chat.text(&world, "Τέλεια, κλείστε μου την Παρασκευή");
    chat.turn(&world, vec![first]).await;

    world.then_tools(vec![no_reply()]);
    let thanks = chat.text(&world, "ευχαριστώ!");
    let outcome = chat.turn(&world, vec![thanks]).await;
    assert_eq!(outcome.reply, None, "nothing is sent");
    assert_eq!(outcome.handoff, None);
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::NoReply);
    assert_eq!(outcome.record.intents, [Intent::FollowUp]);
    assert_eq!(world.model.remaining(), 0, "one model call, no retry");
    assert!(outcome.assistant_entry(world.now()).is_none());
}

#[tokio::test]
async fn a_first_message_always_gets_an_answer_even_if_the_model_says_no_reply() {
    let world = World::new();
    let mut chat = world.conversation("7102");
    world.then_tools(vec![no_reply()]);
    world.then_reply("Γεια σας! Πώς μπορούμε να βοηθήσουμε; ❤️🐼", &["other"]);
    let hello = chat.text(&world, "👋");
    let outcome = chat.turn(&world, vec![hello]).await;
    let refused = world.last_tool_results();
    assert_eq!(
        refused[0]["error"],
        "the studio has not answered this customer yet: send a reply"
    );
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::Replied);
    assert!(outcome.reply.unwrap().starts_with("Γεια σας"));
    assert!(!outcome.record.tools[0].ok);
}

#[tokio::test]
async fn no_reply_must_come_alone_like_any_ending() {
    let world = World::new();
    let mut chat = world.conversation("7103");
    world.then_reply("Καλημέρα! ❤️🐼", &["other"]);
    let first = chat.text(&world, "Καλημέρα");
    chat.turn(&world, vec![first]).await;
    world.then_tools(vec![call("find_my_bookings", json!({})), no_reply()]);
    world.then_tools(vec![no_reply()]);
    let ok = chat.text(&world, "οκ");
    let outcome = chat.turn(&world, vec![ok]).await;
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::NoReply);
    assert_eq!(outcome.record.tools.len(), 3);
    assert!(!outcome.record.tools[1].ok, "{:?}", outcome.record.tools);
}
