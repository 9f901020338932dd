//! Whole scripted booking conversations, Greek and English.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::{TimeZone, Utc};
use inkdesk_assistant::Intent;
use inkdesk_assistant::engine::TurnOutcomeKind;
use inkdesk_calendar::{Calendar, Interval};
use inkdesk_domain::ConversationId;
use rust_decimal::dec;
use serde_json::json;
use support::{World, call};

use inkdesk_assistant::holds::OfferHolds;

#[tokio::test]
async fn greek_booking_from_slots_to_a_stored_event() {
    let world = World::new();
    let mut chat = world.conversation("1001");

    // Turn 1: asks for Friday; the model checks availability, then replies.
    world.then_tools(vec![
        call(
            "quote",
            json!({"pieces": [{"height_cm": 7, "width_cm": 7, "ink_coverage": 0.3, "style": "light_shading"}]}),
        ),
        call(
            "check_availability",
            json!({"from_date": "2026-11-20", "to_date": "2026-11-20", "price": 60}),
        ),
    ]);
    world.then_reply(
        "Την Παρασκευή 20 Νοεμβρίου έχουμε 11:00, 12:00 ή 13:00. Ποια ώρα σας βολεύει; ❤️🐼",
        &["booking_available_slots"],
    );
    let first = chat.text(&world, "Γεια σας! Θα ήθελα ραντεβού την Παρασκευή για ένα μικρό τριαντάφυλλο με σκίαση, 60 ευρώ μου είπατε");
    let outcome = chat.turn(&world, vec![first]).await;
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::Replied);
    assert_eq!(outcome.record.intents, [Intent::BookingAvailableSlots]);
    assert_eq!(outcome.language, inkdesk_domain::Language::El);
    let results = world.last_tool_results();
    assert_eq!(results[0]["quote_id_as_measured"], "q1", "{}", results[0]);
    let slots = &results[1];
    let times: Vec<&str> = slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        ["2026-11-20 11:00", "2026-11-20 12:00", "2026-11-20 13:00"]
    );
    assert!(
        slots["formatted"]
            .as_str()
            .unwrap()
            .contains("Παρασκευή, 20 Νοεμβρίου")
    );
    assert_eq!(slots["appointment_length"], "40 λεπτά");
    // The offered slots are held for this conversation: others see them.
    let friday = Interval::new(
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 11, 21, 0, 0, 0).unwrap(),
    );
    let other = ConversationId::parse("2002").unwrap();
    assert_eq!(
        world
            .holds
            .held_by_others(&other, friday, world.now())
            .await
            .unwrap()
            .len(),
        3
    );

    // Turn 2: chooses 12:00 and gives name and phone; the model books.
    world.advance_minutes(5);
    world.then_tools(vec![call(
        "book_appointment",
        json!({"date": "2026-11-20", "time": "12:00", "name": "Γιάννης Παπαδόπουλος",
               "phone": "691 234 5678", "design": "μικρό τριαντάφυλλο με σκίαση, καρπός", "quote_id": "q1"}),
    )]);
    world.then_reply(
        "Κλείσαμε! Παρασκευή 20 Νοεμβρίου στις 12:00. Σας περιμένουμε ❤️🐼",
        &["booking_confirmation", "booking_details"],
    );
    let second = chat.text(
        &world,
        "Στις 12:00 παρακαλώ. Γιάννης Παπαδόπουλος, 691 234 5678",
    );
    let outcome = chat.turn(&world, vec![second]).await;
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::Replied);
    let booked = &world.last_tool_results()[0];
    assert_eq!(booked["booked"], true, "{booked}");
    assert_eq!(booked["price"], "60");
    assert_eq!(booked["when"], "Παρασκευή, 20 Νοεμβρίου 12:00");

    let bookings = world.bookings_of("1001").await;
    assert_eq!(bookings.len(), 1);
    let b = &bookings[0];
    assert_eq!(
        b.start,
        Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap()
    );
    assert_eq!(b.duration.minutes(), 40);
    assert_eq!(b.customer.as_str(), "Γιάννης Παπαδόπουλος");
    assert_eq!(b.phone.e164(), "+306912345678");
    assert_eq!(b.price.unwrap().amount(), dec!(60));
    assert_eq!(
        b.design.as_ref().unwrap().as_str(),
        "μικρό τριαντάφυλλο με σκίαση, καρπός"
    );
    assert_eq!(b.conversation.as_str(), "1001");
    // Booking released this conversation's holds.
    assert!(
        world
            .holds
            .held_by_others(&other, friday, world.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(chat.history.len(), 4);
    assert_eq!(world.model.remaining(), 0);
}

#[tokio::test]
async fn english_booking_keeps_two_model_calls_per_ordinary_turn() {
    let world = World::new();
    let mut chat = world.conversation("1003");
    world.then_tools(vec![
        support::quote_95(),
        call(
            "check_availability",
            json!({"from_date": "2026-11-23", "preferred_time": "15:00", "price": 95}),
        ),
    ]);
    world.then_reply(
        "Monday 23 November: 15:00, 16:00 or 17:00. ❤️🐼",
        &["booking_new"],
    );
    let msg = chat.text(&world, "Hi, can I come next Monday afternoon around 3?");
    let outcome = chat.turn(&world, vec![msg]).await;
    assert_eq!(outcome.language, inkdesk_domain::Language::En);
    assert_eq!(outcome.record.reply_calls(), 2);
    let slots = &world.last_tool_results()[1];
    assert_eq!(slots["slots"][0], "2026-11-23 15:00");
    assert!(slots["formatted"].as_str().unwrap().contains("Monday"));

    world.then_tools(vec![call(
        "book_appointment",
        json!({"date": "2026-11-23", "time": "16:00", "name": "John Smith",
               "phone": "+44 7911 123456", "design": "small compass, forearm", "quote_id": "q1"}),
    )]);
    world.then_reply(
        "Booked: Monday 23 November at 16:00. ❤️🐼",
        &["booking_confirmation"],
    );
    let msg = chat.text(&world, "16:00 please, John Smith, +44 7911 123456");
    let outcome = chat.turn(&world, vec![msg]).await;
    assert_eq!(
        outcome.reply.as_deref(),
        Some("Booked: Monday 23 November at 16:00. ❤️🐼")
    );
    let bookings = world.bookings_of("1003").await;
    assert_eq!(bookings.len(), 1);
    assert_eq!(bookings[0].phone.e164(), "+447911123456");
    assert_eq!(bookings[0].duration.minutes(), 60);
}

#[tokio::test]
async fn a_slot_taken_between_offer_and_booking_comes_back_with_fresh_alternatives() {
    let world = World::new();
    let mut anna = world.conversation("3001");
    world.then_tools(vec![
        support::quote_95(),
        call(
            "check_availability",
            json!({"from_date": "2026-11-20", "to_date": "2026-11-20", "duration_minutes": 60}),
        ),
    ]);
    world.then_reply("11:00, 12:00, 13:00 ❤️🐼", &["booking_available_slots"]);
    let msg = anna.text(&world, "Παρασκευή;");
    anna.turn(&world, vec![msg]).await;

    // Meanwhile the studio fills 11:00 twice (capacity 2) from elsewhere.
    for who in ["9001", "9002"] {
        world
            .calendar
            .create(inkdesk_calendar::NewBooking {
                conversation: ConversationId::parse(who).unwrap(),
                customer: inkdesk_domain::CustomerName::parse("Walk In").unwrap(),
                phone: inkdesk_domain::PhoneNumber::parse("6912345678", Default::default())
                    .unwrap(),
                design: None,
                price: None,
                start: Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap(),
                duration: inkdesk_domain::AppointmentDuration::from_minutes(60, 600).unwrap(),
                artist: None,
                idempotency_key: None,
                deposit: None,
                sms_consent: false,
            })
            .await
            .unwrap();
    }

    world.then_tools(vec![call(
        "book_appointment",
        json!({"date": "2026-11-20", "time": "11:00", "name": "Άννα Παπά",
               "phone": "6912345678", "design": "γραμμές", "quote_id": "q1"}),
    )]);
    world.then_reply(
        "Η 11:00 μόλις έκλεισε· έχουμε 12:00 ή 13:00 ❤️🐼",
        &["booking_new"],
    );
    let msg = anna.text(&world, "Στις 11, Άννα Παπά 6912345678");
    let outcome = anna.turn(&world, vec![msg]).await;
    assert_eq!(outcome.record.outcome, TurnOutcomeKind::Replied);
    let result = &world.last_tool_results()[0];
    assert_eq!(result["error"], "slot_taken");
    let alternatives: Vec<(String, String)> = result["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let (date, time) = s.as_str().unwrap().split_once(' ').unwrap();
            (date.to_owned(), time.to_owned())
        })
        .collect();
    assert!(!alternatives.is_empty());
    assert!(
        !alternatives.contains(&("2026-11-20".to_owned(), "11:00".to_owned())),
        "{alternatives:?}"
    );
    assert_eq!(
        alternatives[0],
        ("2026-11-20".to_owned(), "12:00".to_owned())
    );
    assert!(world.bookings_of("3001").await.is_empty());
}

/// A booking turn run twice under one turn id (retried, or resumed on another replica):
/// the second run finds the booking the first made — even though the slot has filled
/// since — and nothing is booked twice. A new turn asking the same is refused.
#[tokio::test]
async fn a_repeated_booking_turn_finds_its_own_booking_and_books_nothing_twice() {
    let world = World::new();
    let mut nikos = world.conversation("4001");
    let book = || {
        call(
            "book_appointment",
            json!({"date": "2026-11-20", "time": "11:00", "name": "Νίκος Ρ",
                   "phone": "6912345678", "design": "άγκυρα", "quote_id": "g7b"}),
        )
    };
    let turn = inkdesk_assistant::confirm::TurnId("4001-resumed".to_owned());
    world.then_tools(vec![book()]);
    world.then_reply("Κλείσαμε Παρασκευή 11:00 ❤️🐼", &["booking_new"]);
    let msg = nikos.text(&world, "Παρασκευή 11:00, Νίκος Ρ 6912345678");
    let first = nikos
        .turn_with_id(&world, turn.clone(), vec![msg.clone()])
        .await;
    assert_eq!(first.record.outcome, TurnOutcomeKind::Replied);
    let made = world.last_tool_results()[0].clone();
    assert_eq!(made["booked"], true, "{made}");

    // Meanwhile another customer takes the other unit of 11:00 (capacity 2).
    world
        .calendar
        .create(inkdesk_calendar::NewBooking {
            conversation: ConversationId::parse("9003").unwrap(),
            customer: inkdesk_domain::CustomerName::parse("Walk In").unwrap(),
            phone: inkdesk_domain::PhoneNumber::parse("6912345679", Default::default()).unwrap(),
            design: None,
            price: None,
            start: Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap(),
            duration: inkdesk_domain::AppointmentDuration::from_minutes(60, 600).unwrap(),
            artist: None,
            idempotency_key: None,
            deposit: None,
            sms_consent: false,
        })
        .await
        .unwrap();

    world.then_tools(vec![book()]);
    world.then_reply("Κλείσαμε Παρασκευή 11:00 ❤️🐼", &["booking_new"]);
    let again = nikos.turn_with_id(&world, turn, vec![msg.clone()]).await;
    assert_eq!(again.record.outcome, TurnOutcomeKind::Replied);
    let found = world.last_tool_results()[0].clone();
    assert_eq!(found["booked"], true, "{found}");
    assert_eq!(found["booking_id"], made["booking_id"]);
    assert_eq!(found["when"], made["when"]);
    let mine = world.bookings_of("4001").await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].id.as_str(), made["booking_id"].as_str().unwrap());
    assert_eq!(
        world
            .calendar
            .list_upcoming(world.now(), 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // A later turn is a new request: its own slot is full now.
    world.then_tools(vec![book()]);
    world.then_reply("Η 11:00 έκλεισε ❤️🐼", &["booking_new"]);
    let other_turn = nikos.turn(&world, vec![msg]).await;
    assert_eq!(other_turn.record.outcome, TurnOutcomeKind::Replied);
    assert_eq!(world.last_tool_results()[0]["error"], "slot_taken");
    assert_eq!(world.bookings_of("4001").await.len(), 1);
}

#[tokio::test]
async fn the_customers_yes_to_an_sms_reminder_is_stored_with_the_booking() {
    let world = World::new();
    for (conversation, time, consent, expected) in [
        ("1101", "12:00", json!(true), true),
        ("1102", "13:00", json!(false), false),
        ("1103", "14:00", serde_json::Value::Null, false),
    ] {
        let mut chat = world.conversation(conversation);
        let mut args = json!({"date": "2026-11-20", "time": time, "name": "Γιάννης Παπαδόπουλος",
               "phone": "691 234 5678", "design": "τριαντάφυλλο", "quote_id": "g3a"});
        if !consent.is_null() {
            args["sms_reminder"] = consent;
        }
        world.then_tools(vec![call("book_appointment", args)]);
        world.then_reply("Κλείσαμε! ❤️🐼", &["booking_confirmation"]);
        let message = chat.text(
            &world,
            "Ναι, στείλτε μου SMS. Γιάννης Παπαδόπουλος, 691 234 5678",
        );
        chat.turn(&world, vec![message]).await;
        let bookings = world.bookings_of(conversation).await;
        assert_eq!(bookings.len(), 1, "{conversation}");
        assert_eq!(bookings[0].sms_consent, expected, "{conversation}");
    }
}

fn two_artist_profile() -> inkdesk_domain::StudioProfile {
    let mut profile = inkdesk_domain::StudioProfile::example();
    for (key, name) in [("maria", "Μαρία"), ("nikos", "Νίκος")] {
        profile.artists.push(inkdesk_domain::profile::Artist {
            key: inkdesk_domain::ArtistKey::parse(key).unwrap(),
            name: name.to_owned(),
            styles: Vec::new(),
            hours: inkdesk_domain::profile::HoursOverride::default(),
            google_calendar_id: None,
        });
    }
    profile
}

/// Offers are held for their artist: while Μαρία's Friday times are held for one
/// customer, another asking for anyone is offered the same times with Νίκος, and one
/// asking for Μαρία is offered none of the held ones.
#[tokio::test]
async fn a_held_offer_keeps_only_its_artist_from_other_customers() {
    let world = World::with_profile(two_artist_profile());
    let friday = |args: serde_json::Value| {
        let mut base =
            json!({"from_date": "2026-11-20", "to_date": "2026-11-20", "duration_minutes": 60});
        base.as_object_mut()
            .unwrap()
            .extend(args.as_object().unwrap().clone());
        call("check_availability", base)
    };
    let slots_of = |result: &serde_json::Value| -> Vec<String> {
        result["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let mut anna = world.conversation("9201");
    world.then_tools(vec![friday(json!({"artist": "Μαρία"}))]);
    world.then_reply("11:00, 12:00, 13:00 ❤️🐼", &["booking_available_slots"]);
    let msg = anna.text(&world, "Παρασκευή με τη Μαρία;");
    anna.turn(&world, vec![msg]).await;
    let held = slots_of(&world.last_tool_results()[0]);
    assert_eq!(
        held,
        [
            "2026-11-20 11:00 Μαρία",
            "2026-11-20 12:00 Μαρία",
            "2026-11-20 13:00 Μαρία"
        ]
    );

    let mut bill = world.conversation("9202");
    world.then_tools(vec![friday(json!({}))]);
    world.then_reply("11:00, 12:00, 13:00 ❤️🐼", &["booking_available_slots"]);
    let msg = bill.text(&world, "Friday, anyone?");
    bill.turn(&world, vec![msg]).await;
    assert_eq!(
        slots_of(&world.last_tool_results()[0]),
        [
            "2026-11-20 11:00 Νίκος",
            "2026-11-20 12:00 Νίκος",
            "2026-11-20 13:00 Νίκος"
        ]
    );

    let mut chris = world.conversation("9203");
    world.then_tools(vec![friday(json!({"artist": "maria"}))]);
    world.then_reply("Η Μαρία είναι κλεισμένη ❤️🐼", &["booking_available_slots"]);
    let msg = chris.text(&world, "Παρασκευή με τη Μαρία;");
    chris.turn(&world, vec![msg]).await;
    let offered = slots_of(&world.last_tool_results()[0]);
    assert!(offered.iter().all(|s| !held.contains(s)), "{offered:?}");
}

/// A studio with two artists: the customer asked for Μαρία, whose 12:00 is taken while
/// Νίκος is free then. The refusal offers Μαρία's free times, never Νίκος's.
#[tokio::test]
async fn a_refusal_for_an_asked_artist_offers_that_artists_times_only() {
    let world = World::with_profile(two_artist_profile());
    let friday_noon = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
    world
        .calendar
        .create(inkdesk_calendar::NewBooking {
            conversation: ConversationId::parse("9101").unwrap(),
            customer: inkdesk_domain::CustomerName::parse("Walk In").unwrap(),
            phone: inkdesk_domain::PhoneNumber::parse("6912345679", Default::default()).unwrap(),
            design: None,
            price: None,
            start: friday_noon,
            duration: inkdesk_domain::AppointmentDuration::from_minutes(60, 600).unwrap(),
            artist: Some(inkdesk_domain::ArtistKey::parse("maria").unwrap()),
            idempotency_key: None,
            deposit: None,
            sms_consent: false,
        })
        .await
        .unwrap();
    let mut eleni = world.conversation("9102");
    world.then_tools(vec![call(
        "book_appointment",
        json!({"date": "2026-11-20", "time": "12:00", "name": "Ελένη Μάρκου",
               "phone": "6972222222", "design": "άγκυρα", "quote_id": "g7b", "artist": "Μαρία"}),
    )]);
    world.then_reply(
        "Η Μαρία δεν είναι διαθέσιμη στις 12:00 ❤️🐼",
        &["booking_new"],
    );
    let msg = eleni.text(&world, "Παρασκευή 12:00 με τη Μαρία");
    eleni.turn(&world, vec![msg]).await;
    let refused = world.last_tool_results()[0].clone();
    assert_eq!(refused["error"], "slot_taken", "{refused}");
    let alternatives = refused["alternatives"].as_array().unwrap();
    assert!(!alternatives.is_empty(), "{refused}");
    for slot in alternatives {
        let slot = slot.as_str().unwrap();
        assert!(slot.ends_with("Μαρία"), "{slot} is not Μαρία's");
        assert!(!slot.starts_with("2026-11-20 12:00"), "{slot}");
    }
    assert!(world.bookings_of("9102").await.is_empty());
}
