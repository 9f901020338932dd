//! Webhook parsing against fixtures written from Meta's documented shapes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::DateTime;
use inkdesk_messaging::inbound::{
    Attachment, AttachmentKind, Edited, EventKind, ParseError, ReactionAction, ReplyTo,
};
use inkdesk_messaging::{InboundEvent, parse_webhook};
use proptest::prelude::*;

const ACCOUNT: &str = "17841400000000001";
const CUSTOMER: &str = "5723000000000001";
const CUSTOMER_2: &str = "5723000000000002";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn one(name: &str) -> InboundEvent {
    let mut events = parse_webhook(&fixture(name), ACCOUNT).unwrap();
    assert_eq!(events.len(), 1, "{name}: {events:?}");
    events.remove(0)
}

#[test]
fn customer_text_keeps_text_mid_envelope_and_conversation() {
    let e = one("text.json");
    assert_eq!(e.sender_id, CUSTOMER);
    assert_eq!(e.recipient_id, ACCOUNT);
    assert_eq!(e.conversation_id().as_str(), CUSTOMER);
    assert!(!e.is_from_studio());
    assert!(!e.standby);
    assert_eq!(
        e.timestamp,
        DateTime::from_timestamp_millis(1_700_000_000_000).unwrap()
    );
    let EventKind::Text(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(m.text, "Γεια σας! Πόσο κοστίζει ένα τατουάζ 10 εκ.;");
    assert_eq!(m.context.reply_to, None);
    assert_eq!(
        e.message_id(),
        Some("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx")
    );
    assert_eq!(
        e.dedupe_key(),
        "mid:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx"
    );
}

#[test]
fn every_attachment_kind_is_recognised_with_its_url() {
    let e = one("attachments.json");
    let EventKind::Attachments(m) = &e.kind else {
        panic!("{e:?}")
    };
    let kinds: Vec<&AttachmentKind> = m.attachments.iter().map(|a| &a.kind).collect();
    assert_eq!(
        kinds,
        vec![
            &AttachmentKind::Image,
            &AttachmentKind::Video,
            &AttachmentKind::Audio,
            &AttachmentKind::File,
            &AttachmentKind::Share,
            &AttachmentKind::StoryMention,
            &AttachmentKind::Reel,
            &AttachmentKind::Reel,
            &AttachmentKind::Unsupported("template".to_owned()),
        ]
    );
    assert_eq!(
        m.attachments[0].url.as_deref(),
        Some("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=abc")
    );
    assert_eq!(m.attachments[8].url, None);
    assert_eq!(m.text, None);
}

#[test]
fn unsupported_content_becomes_an_unsupported_attachment() {
    let e = one("unsupported.json");
    let EventKind::Attachments(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(
        m.attachments,
        vec![Attachment {
            kind: AttachmentKind::Unsupported("is_unsupported".to_owned()),
            url: None
        }]
    );
}

#[test]
fn replies_to_messages_and_to_stories_carry_their_context() {
    let e = one("reply_to_message.json");
    let EventKind::Text(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(
        m.context.reply_to,
        Some(ReplyTo::Message {
            mid: "m_earlier_1".to_owned()
        })
    );

    let e = one("story_reply.json");
    let EventKind::Text(m) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(m.text, "Τέλειο σχέδιο 😍");
    assert_eq!(
        m.context.reply_to,
        Some(ReplyTo::Story {
            url: Some("https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=9".to_owned()),
            id: Some("17900000000000001".to_owned()),
        })
    );
}

#[test]
fn quick_replies_and_postbacks_keep_their_payloads() {
    let e = one("quick_reply.json");
    let EventKind::QuickReply(q) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(
        (q.text.as_str(), q.payload.as_str()),
        ("Κλείσε ραντεβού", "BOOK_APPOINTMENT")
    );

    let e = one("postback.json");
    let EventKind::Postback(p) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(p.payload, "PRICES");
    assert_eq!(p.title.as_deref(), Some("Τιμές"));
    assert_eq!(e.message_id(), Some("m_pb_1"));
}

#[test]
fn reactions_say_who_what_and_on_which_message() {
    let e = one("reaction_react.json");
    let EventKind::Reaction(r) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(r.action, ReactionAction::React);
    assert_eq!(r.target_mid, "m_target_1");
    assert_eq!(r.reaction.as_deref(), Some("love"));
    assert_eq!(r.emoji.as_deref(), Some("❤"));
    assert!(!e.is_from_studio());
    assert_eq!(e.message_id(), None);

    let e = one("reaction_unreact.json");
    let EventKind::Reaction(r) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(r.action, ReactionAction::Unreact);
    assert_eq!((r.reaction.as_deref(), r.emoji.as_deref()), (None, None));
}

#[test]
fn studio_reactions_and_echoes_belong_to_the_customers_conversation() {
    let e = one("studio_reaction.json");
    assert!(matches!(e.kind, EventKind::Reaction(_)));
    assert!(e.is_from_studio());
    assert_eq!(e.conversation_id().as_str(), CUSTOMER);

    let e = one("echo.json");
    let EventKind::Echo(echo) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(echo.mid, "m_echo_1");
    assert_eq!(echo.text.as_deref(), Some("Σας ευχαριστούμε! ❤️🐼"));
    assert_eq!(e.sender_id, ACCOUNT);
    assert_eq!(e.conversation_id().as_str(), CUSTOMER);
    assert!(e.is_from_studio());
}

#[test]
fn echoes_are_recognised_even_when_the_account_id_differs_from_the_sender() {
    // Some setups put another id of the business in sender; `is_echo` alone decides.
    let body = String::from_utf8(fixture("echo.json")).unwrap().replacen(
        r#""sender": {
            "id": "17841400000000001""#,
        r#""sender": { "id": "999""#,
        1,
    );
    let body = body.replace(
        r#""id": "17841400000000001"
          },
          "recipient""#,
        r#""id": "999" }, "recipient""#,
    );
    let events = parse_webhook(body.as_bytes(), ACCOUNT).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].sender_id, "999");
    assert_eq!(events[0].conversation_id().as_str(), CUSTOMER);
}

#[test]
fn an_echo_addressed_to_the_studio_belongs_to_its_sender_never_to_the_studio() {
    // Chatwoot's echo fixture: customer as sender, the studio's account as recipient.
    let e = one("echo_to_studio.json");
    assert!(matches!(e.kind, EventKind::Echo(_)), "{e:?}");
    assert_eq!(e.conversation_id().as_str(), CUSTOMER);
    assert!(e.is_from_studio());

    // Meta's own shape still belongs to the recipient.
    assert_eq!(one("echo.json").conversation_id().as_str(), CUSTOMER);

    // Sender and recipient both the studio: no conversation at all.
    let body = String::from_utf8(fixture("echo_to_studio.json"))
        .unwrap()
        .replace(CUSTOMER, ACCOUNT);
    assert_eq!(parse_webhook(body.as_bytes(), ACCOUNT).unwrap(), Vec::new());

    // Nor for a customer-shaped event the studio sent to itself.
    let body = String::from_utf8(fixture("text.json"))
        .unwrap()
        .replace(CUSTOMER, ACCOUNT);
    assert_eq!(parse_webhook(body.as_bytes(), ACCOUNT).unwrap(), Vec::new());
}

#[test]
fn an_edit_carries_the_new_text_of_the_edited_message() {
    let e = one("message_edit.json");
    assert_eq!(e.conversation_id().as_str(), CUSTOMER);
    assert!(!e.is_from_studio());
    let EventKind::Edited(edit) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(
        edit,
        &Edited {
            mid: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx".to_owned(),
            text: "Γεια σας! Πόσο κοστίζει ένα τατουάζ 12 εκ.;".to_owned(),
            num_edit: Some(1),
        }
    );
    // The edit is not the message itself: its own dedupe key, numbered per edit.
    assert_eq!(e.message_id(), None);
    let again = String::from_utf8(fixture("message_edit.json"))
        .unwrap()
        .replace("\"num_edit\": 1", "\"num_edit\": \"2\"");
    let second = parse_webhook(again.as_bytes(), ACCOUNT).unwrap().remove(0);
    let EventKind::Edited(edit) = &second.kind else {
        panic!("{second:?}")
    };
    assert_eq!(edit.num_edit, Some(2));
    assert_ne!(second.dedupe_key(), e.dedupe_key());

    // Without text it cannot replace anything: kept as unknown, not an error.
    let broken = String::from_utf8(fixture("message_edit.json"))
        .unwrap()
        .replace("\"text\":", "\"other\":");
    let events = parse_webhook(broken.as_bytes(), ACCOUNT).unwrap();
    assert!(matches!(events[0].kind, EventKind::Unknown(_)));
}

#[test]
fn seen_deleted_and_referral_events_are_typed() {
    let e = one("read.json");
    let EventKind::Seen(s) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(s.mid.as_deref(), Some("m_echo_1"));

    let e = one("deleted.json");
    let EventKind::Deleted(d) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(d.mid, "m_del_1");

    let e = one("referral.json");
    let EventKind::Referral(r) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(r.reference.as_deref(), Some("summer-flash"));
    assert_eq!(r.source.as_deref(), Some("SHORTLINK"));
    assert_eq!(r.kind.as_deref(), Some("OPEN_THREAD"));

    let e = one("message_with_ad_referral.json");
    let EventKind::Text(m) = &e.kind else {
        panic!("{e:?}")
    };
    let r = m.context.referral.as_ref().unwrap();
    assert_eq!(r.ad_id.as_deref(), Some("120200000000001"));
    assert_eq!(r.source.as_deref(), Some("ADS"));
}

#[test]
fn standby_events_are_parsed_and_flagged() {
    let e = one("standby.json");
    assert!(e.standby);
    assert!(matches!(e.kind, EventKind::Text(_)));
}

#[test]
fn unknown_kinds_are_kept_as_unknown_not_errors() {
    let e = one("unknown_kind.json");
    let EventKind::Unknown(u) = &e.kind else {
        panic!("{e:?}")
    };
    assert_eq!(u.kind, "pass_thread_control");
    assert_eq!(e.conversation_id().as_str(), CUSTOMER);
}

#[test]
fn string_and_second_timestamps_parse() {
    let events = parse_webhook(&fixture("string_timestamps.json"), ACCOUNT).unwrap();
    let ms: Vec<i64> = events
        .iter()
        .map(|e| e.timestamp.timestamp_millis())
        .collect();
    assert_eq!(
        ms,
        vec![1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_000]
    );
}

#[test]
fn a_batch_of_two_entries_with_three_events_each_comes_out_in_order() {
    let events = parse_webhook(&fixture("batch.json"), ACCOUNT).unwrap();
    let summary: Vec<(String, &str)> = events
        .iter()
        .map(|e| {
            let what = match &e.kind {
                EventKind::Text(m) => format!("text {}", m.mid),
                EventKind::Attachments(m) => format!("attachments {}", m.mid),
                EventKind::Reaction(r) => format!("reaction {}", r.target_mid),
                EventKind::Echo(m) => format!("echo {}", m.mid),
                EventKind::Seen(s) => format!("seen {}", s.mid.as_deref().unwrap_or("")),
                other => format!("{other:?}"),
            };
            (what, e.conversation_id().as_str())
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("text m_b_1".to_owned(), CUSTOMER),
            ("attachments m_b_2".to_owned(), CUSTOMER),
            ("reaction m_b_1".to_owned(), CUSTOMER_2),
            ("text m_b_3".to_owned(), CUSTOMER_2),
            ("echo m_b_4".to_owned(), CUSTOMER_2),
            ("seen m_b_4".to_owned(), CUSTOMER_2),
        ]
    );
}

#[test]
fn entries_for_other_accounts_are_skipped() {
    let events = parse_webhook(&fixture("text.json"), "17841499999999999").unwrap();
    assert!(events.is_empty());
}

#[test]
fn without_a_configured_account_each_entry_names_its_own() {
    let configured = parse_webhook(&fixture("text.json"), ACCOUNT).unwrap();
    let unconfigured = parse_webhook(&fixture("text.json"), "").unwrap();
    assert!(!configured.is_empty());
    assert_eq!(unconfigured, configured);
}

#[test]
fn malformed_json_is_a_typed_error_and_odd_shapes_are_not() {
    for bad in [&b"{not json"[..], b"", b"[1,2]", b"\"instagram\"", b"null"] {
        assert!(
            matches!(
                parse_webhook(bad, ACCOUNT),
                Err(ParseError::MalformedJson(_))
            ),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    for odd in [
        r#"{}"#,
        r#"{"object":"page","entry":{}}"#,
        r#"{"entry":[1, null, {"id":"17841400000000001","messaging":{}}]}"#,
        r#"{"entry":[{"id":"17841400000000001","messaging":[{"message":{"mid":"x","text":"no sender"}}]}]}"#,
        r#"{"entry":[{"id":17841400000000001,"messaging":[{"sender":{"id":"a b"},"recipient":{"id":"1"},"message":{"mid":"x","text":"bad id"}}]}]}"#,
    ] {
        assert_eq!(
            parse_webhook(odd.as_bytes(), ACCOUNT).unwrap(),
            vec![],
            "{odd}"
        );
    }
}

#[test]
fn a_known_kind_with_wrong_field_types_becomes_unknown() {
    let body = r#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1700000000500,
      "messaging":[{"sender":{"id":"5723000000000001"},"recipient":{"id":"17841400000000001"},
      "timestamp":1700000000000,"message":{"mid":"m1","text":42}}]}]}"#;
    let events = parse_webhook(body.as_bytes(), ACCOUNT).unwrap();
    let EventKind::Unknown(u) = &events[0].kind else {
        panic!("{events:?}")
    };
    assert_eq!(u.kind, "message (unreadable)");
}

#[test]
fn numeric_ids_and_missing_event_timestamps_fall_back_sensibly() {
    let body = r#"{"object":"instagram","entry":[{"id":17841400000000001,"time":1700000000500,
      "messaging":[{"sender":{"id":5723000000000001},"recipient":{"id":17841400000000001},
      "message":{"mid":"m1","text":"hi"}}]}]}"#;
    let events = parse_webhook(body.as_bytes(), ACCOUNT).unwrap();
    assert_eq!(events[0].conversation_id().as_str(), CUSTOMER);
    assert_eq!(events[0].timestamp.timestamp_millis(), 1_700_000_000_500);
}

#[test]
fn bodies_over_the_limit_are_refused() {
    let big = vec![b' '; inkdesk_messaging::inbound::MAX_WEBHOOK_BODY_BYTES + 1];
    assert!(matches!(
        parse_webhook(&big, ACCOUNT),
        Err(ParseError::TooLarge { .. })
    ));
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("message"),
            Just("reaction"),
            Just("read"),
            Just("postback"),
            Just("referral"),
            Just("mid"),
            Just("text"),
            Just("attachments"),
            Just("is_echo"),
            Just("reply_to"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("sender".to_owned()),
            Just("recipient".to_owned()),
            Just("id".to_owned()),
            Just("timestamp".to_owned()),
            Just("message".to_owned()),
            Just("message_edit".to_owned()),
            Just("num_edit".to_owned()),
            Just("reaction".to_owned()),
            Just("read".to_owned()),
            Just("postback".to_owned()),
            Just("referral".to_owned()),
            Just("mid".to_owned()),
            Just("text".to_owned()),
            Just("attachments".to_owned()),
            Just("payload".to_owned()),
            Just("type".to_owned()),
            Just("url".to_owned()),
            Just("is_echo".to_owned()),
            Just("reply_to".to_owned()),
            Just("story".to_owned()),
            Just("quick_reply".to_owned()),
            Just("action".to_owned()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_webhook(&bytes, ACCOUNT);
    }

    #[test]
    fn arbitrary_events_inside_a_valid_envelope_never_panic(
        events in prop::collection::vec(arb_json(), 0..4),
        standby in prop::collection::vec(arb_json(), 0..2),
    ) {
        let body = serde_json::json!({
            "object": "instagram",
            "entry": [{"id": ACCOUNT, "time": 1_700_000_000_000_i64, "messaging": events, "standby": standby}]
        });
        let bytes = serde_json::to_vec(&body).unwrap();
        let parsed = parse_webhook(&bytes, ACCOUNT);
        prop_assert!(parsed.is_ok());
    }

    #[test]
    fn truncated_fixtures_never_panic(cut in 0usize..2000, name in prop::sample::select(vec![
        "batch.json", "attachments.json", "story_reply.json", "reaction_react.json", "echo.json",
        "echo_to_studio.json", "message_edit.json",
    ])) {
        let bytes = fixture(name);
        let cut = cut.min(bytes.len());
        let _ = parse_webhook(&bytes[..cut], ACCOUNT);
    }
}
