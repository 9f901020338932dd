use chrono::TimeZone;
use rust_decimal::dec;
use serde_json::json;

use super::*;

fn ctx_at(profile: &StudioProfile) -> ArgContext<'_> {
    ArgContext {
        profile,
        // Wednesday 18 November 2026, 11:30 in Athens.
        now: Utc.with_ymd_and_hms(2026, 11, 18, 9, 30, 0).unwrap(),
    }
}

fn parse(name: &str, args: Value) -> Result<ToolCommand, ToolArgError> {
    let profile = StudioProfile::example();
    parse_tool_call(name, &args, &ctx_at(&profile))
}

fn booking_args() -> Value {
    json!({
        "date": "2026-11-20", "time": "14:00", "name": "Γιάννης Παπαδόπουλος",
        "phone": "+30 691 234 5678", "design": "rose on the wrist", "quote_id": "q1"
    })
}

#[test]
fn a_valid_booking_becomes_domain_values() {
    let ToolCommand::BookAppointment(b) = parse("book_appointment", booking_args()).unwrap() else {
        panic!("not a booking");
    };
    assert_eq!(b.phone.national(), "6912345678");
    assert_eq!(b.name.as_str(), "Γιάννης Παπαδόπουλος");
    assert_eq!(b.quote, QuoteRef::Quote("q1".to_owned()));
    assert_eq!(b.time.format("%H:%M").to_string(), "14:00");
}

#[test]
fn each_invalid_booking_field_is_named_with_what_is_accepted() {
    for (field, value, expected) in [
        ("phone", json!("691234567"), "phone number is not valid"),
        ("name", json!("John@Doe"), "only letters"),
        ("date", json!("20/11/2026"), "YYYY-MM-DD"),
        (
            "date",
            json!("2026-11-17"),
            "in the past; today is 2026-11-18",
        ),
        ("time", json!("2:30 PM"), "HH:MM"),
        ("quote_id", json!("60"), "the quote_id a quote answer gave"),
        ("quote_id", json!(60), "must be a string"),
        ("quote_id", json!("g3c"), "price-guide line id"),
        ("design", json!(42), "must be a string"),
    ] {
        let mut args = booking_args();
        args[field] = value;
        let err = parse("book_appointment", args).unwrap_err();
        assert_eq!(err.field, field);
        assert!(err.message.contains(expected), "{field}: {}", err.message);
        let result: Value = serde_json::from_str(&err.to_tool_result()).unwrap();
        assert_eq!(result["error"], "invalid_arguments");
        assert_eq!(result["field"], field);
    }
}

#[test]
fn missing_booking_fields_are_reported() {
    let mut args = booking_args();
    args.as_object_mut().unwrap().remove("phone");
    let err = parse("book_appointment", args).unwrap_err();
    assert_eq!(
        (err.field.as_str(), err.message.as_str()),
        ("phone", "is required")
    );
    // A price instead of a quote id is not a booking.
    let mut args = booking_args();
    args.as_object_mut().unwrap().remove("quote_id");
    args["price"] = json!(60);
    let err = parse("book_appointment", args).unwrap_err();
    assert_eq!(err.field, "quote_id");
}

#[test]
fn availability_defaults_to_a_week_and_takes_the_length_from_price_or_minutes() {
    let ToolCommand::CheckAvailability(a) = parse(
        "check_availability",
        json!({"from_date": "2026-11-20", "price": "95"}),
    )
    .unwrap() else {
        panic!()
    };
    assert_eq!(a.to, NaiveDate::from_ymd_opt(2026, 11, 26).unwrap());
    assert!(matches!(a.length, AppointmentLength::Price(p) if p.amount() == dec!(95)));
    let ToolCommand::CheckAvailability(a) = parse(
        "check_availability",
        json!({"from_date": "2026-11-20", "to_date": "2026-11-20", "duration_minutes": 90, "preferred_time": "15:00"}),
    )
    .unwrap() else {
        panic!()
    };
    assert!(matches!(a.length, AppointmentLength::Minutes(m) if m.minutes() == 90));
    assert_eq!(a.preferred_time, NaiveTime::from_hms_opt(15, 0, 0));
    let err = parse(
        "check_availability",
        json!({"from_date": "2026-11-21", "to_date": "2026-11-20"}),
    )
    .unwrap_err();
    assert_eq!(err.field, "to_date");
    assert_eq!(
        parse(
            "check_availability",
            json!({"duration_minutes": 601, "from_date": "2026-11-20"})
        )
        .unwrap_err()
        .field,
        "duration_minutes"
    );
}

#[test]
fn quote_pieces_are_image_refs_or_stated_measurements() {
    let cmd = parse(
        "quote",
        json!({"pieces": [
            {"image_ref": "img-1a2b3c"},
            {"height_cm": 7, "width_cm": "7", "ink_coverage": 0.3, "style": "Light Shading"}
        ]}),
    )
    .unwrap();
    assert_eq!(
        cmd,
        ToolCommand::Quote(vec![
            PieceArg::Image("img-1a2b3c".to_owned()),
            PieceArg::Stated {
                height_cm: dec!(7),
                width_cm: dec!(7),
                ink: dec!(0.3),
                style: "light_shading"
            }
        ])
    );
    let err = parse("quote", json!({"pieces": [{"height_cm": 7, "width_cm": 7, "ink_coverage": 0.3, "style": "watercolour"}]})).unwrap_err();
    assert_eq!(err.field, "pieces[0].style");
    let err = parse("quote", json!({"pieces": [{"width_cm": 7}]})).unwrap_err();
    assert_eq!(err.field, "pieces[0].height_cm");
    assert_eq!(
        parse("quote", json!({"pieces": []})).unwrap_err().field,
        "pieces"
    );
}

#[test]
fn change_booking_maps_action_and_step_and_needs_a_well_formed_id() {
    let change = |args: serde_json::Value| parse("change_booking", args);
    assert_eq!(
        change(json!({"action": "cancel", "step": "ask", "booking_id": "abc123def4"})).unwrap(),
        ToolCommand::RequestCancellation(Some(EventId::parse("abc123def4").unwrap()))
    );
    assert_eq!(
        change(json!({"action": "cancel", "step": "ask"})).unwrap(),
        ToolCommand::RequestCancellation(None)
    );
    assert_eq!(
        change(json!({"action": "cancel", "step": "ask", "booking_id": "../../etc"}))
            .unwrap_err()
            .field,
        "booking_id"
    );
    assert_eq!(
        change(json!({"action": "cancel", "step": "confirm"})).unwrap(),
        ToolCommand::ConfirmCancellation(None)
    );
    assert!(matches!(
        change(
            json!({"action": "move", "step": "ask", "booking_id": "abc123def4", "new_date": "2026-11-23", "new_time": "12:00"})
        ),
        Ok(ToolCommand::RequestReschedule(_))
    ));
    assert_eq!(
        change(json!({"action": "move", "step": "ask"}))
            .unwrap_err()
            .field,
        "new_date"
    );
    assert_eq!(
        change(json!({"action": "move", "step": "confirm"})).unwrap(),
        ToolCommand::ConfirmReschedule(None)
    );
    assert_eq!(
        change(json!({"action": "move", "step": "now"}))
            .unwrap_err()
            .field,
        "step"
    );
    assert_eq!(
        change(json!({"action": "delete", "step": "ask"}))
            .unwrap_err()
            .field,
        "action"
    );
}

#[test]
fn handoff_reply_and_unknown_tools() {
    assert_eq!(
        parse("handoff_to_human", json!({"reason": "complaint"})).unwrap(),
        ToolCommand::Handoff {
            reason: HandoffReason::Complaint,
            note: None
        }
    );
    assert_eq!(
        parse("handoff_to_human", json!({"reason": "bored"}))
            .unwrap_err()
            .field,
        "reason"
    );
    assert_eq!(
        parse(
            "send_reply",
            json!({"text": " Hi! ", "intents": ["studio_info", "made_up"]})
        )
        .unwrap(),
        ToolCommand::SendReply {
            text: "Hi!".to_owned(),
            intents: vec![Intent::StudioInfo]
        }
    );
    assert_eq!(
        parse("send_reply", json!({"intents": []}))
            .unwrap_err()
            .field,
        "text"
    );
    // No reply needs no text; an unknown outcome is refused.
    assert_eq!(
        parse(
            "send_reply",
            json!({"text": "", "intents": ["follow_up"], "outcome": "no_reply"})
        )
        .unwrap(),
        ToolCommand::NoReply {
            intents: Intent::parse("follow_up").into_iter().collect()
        }
    );
    assert_eq!(
        parse(
            "send_reply",
            json!({"text": "Hi", "intents": [], "outcome": "reply"})
        )
        .unwrap(),
        ToolCommand::SendReply {
            text: "Hi".to_owned(),
            intents: vec![]
        }
    );
    assert_eq!(
        parse(
            "send_reply",
            json!({"text": "Hi", "intents": [], "outcome": "maybe"})
        )
        .unwrap_err()
        .field,
        "outcome"
    );
    assert_eq!(
        parse("delete_everything", json!({})).unwrap_err().field,
        "tool"
    );
    assert_eq!(
        parse("find_my_bookings", Value::Null).unwrap(),
        ToolCommand::FindMyBookings
    );
    assert_eq!(
        parse("find_my_bookings", json!([1])).unwrap_err().field,
        "arguments"
    );
}

fn artist_profile() -> StudioProfile {
    StudioProfile::from_toml_str(
        r#"
[[artists]]
key = "maria"
name = "Μαρία Κ."
styles = ["realistic", "fine line"]
[[artists]]
key = "nikos"
name = "Nikos"
styles = ["line_work"]
"#,
    )
    .unwrap()
}

#[test]
fn an_artist_is_asked_for_by_name_first_name_key_or_style() {
    let profile = artist_profile();
    let availability =
        |args: Value| match parse_tool_call("check_availability", &args, &ctx_at(&profile)) {
            Ok(ToolCommand::CheckAvailability(a)) => Ok(a.artists),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
    let maria = || Some(vec![ArtistKey::parse("maria").unwrap()]);
    let day = "2026-11-20";
    assert_eq!(
        availability(json!({"from_date": day, "artist": "Μαρία Κ."})),
        Ok(maria())
    );
    assert_eq!(
        availability(json!({"from_date": day, "artist": "μαρία"})),
        Ok(maria())
    );
    assert_eq!(
        availability(json!({"from_date": day, "artist": "maria"})),
        Ok(maria())
    );
    assert_eq!(
        availability(json!({"from_date": day, "style": "Fine-line"})),
        Ok(maria())
    );
    assert_eq!(
        availability(json!({"from_date": day, "style": "line"})),
        Ok(Some(vec![
            ArtistKey::parse("maria").unwrap(),
            ArtistKey::parse("nikos").unwrap()
        ]))
    );
    assert_eq!(availability(json!({"from_date": day})), Ok(None));
    let err = availability(json!({"from_date": day, "artist": "Petros"})).unwrap_err();
    assert_eq!(err.field, "artist");
    assert!(err.message.contains("Nikos (line_work)"), "{}", err.message);
    let err = availability(json!({"from_date": day, "style": "japanese"})).unwrap_err();
    assert_eq!(err.field, "style");
    let mut args = booking_args();
    args["artist"] = json!("Nikos");
    let Ok(ToolCommand::BookAppointment(b)) =
        parse_tool_call("book_appointment", &args, &ctx_at(&profile))
    else {
        panic!("not a booking");
    };
    assert_eq!(b.artist, Some(ArtistKey::parse("nikos").unwrap()));
    // A studio without artists ignores the argument.
    let Ok(ToolCommand::BookAppointment(b)) = parse("book_appointment", args) else {
        panic!("not a booking");
    };
    assert_eq!(b.artist, None);
}
