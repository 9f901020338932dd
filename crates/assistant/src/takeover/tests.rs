use chrono::{TimeZone, Utc};
use inkdesk_domain::ConversationId;
use inkdesk_messaging::inbound::{Attachment, AttachmentMessage, Echo, Reaction, TextMessage};

use super::*;

const STUDIO: &str = "17840000000000001";
const CUSTOMER: &str = "1234567890";

fn event(from_studio: bool, kind: EventKind) -> InboundEvent {
    let (sender, recipient) = if from_studio {
        (STUDIO, CUSTOMER)
    } else {
        (CUSTOMER, STUDIO)
    };
    InboundEvent {
        sender_id: sender.to_owned(),
        recipient_id: recipient.to_owned(),
        conversation: ConversationId::parse(CUSTOMER).unwrap(),
        timestamp: Utc.with_ymd_and_hms(2026, 11, 18, 9, 0, 0).unwrap(),
        standby: false,
        kind,
    }
}

fn echo(mid: &str) -> InboundEvent {
    event(
        true,
        EventKind::Echo(Echo {
            mid: mid.to_owned(),
            text: Some("Γεια σας, εδώ η Μαρία".to_owned()),
            attachments: Vec::new(),
        }),
    )
}

fn reaction(from_studio: bool, emoji: &str, action: ReactionAction) -> InboundEvent {
    event(
        from_studio,
        EventKind::Reaction(Reaction {
            action,
            target_mid: "m-target".to_owned(),
            reaction: Some("love".to_owned()).filter(|_| emoji == "❤"),
            emoji: Some(emoji.to_owned()),
        }),
    )
}

#[test]
fn an_echo_we_did_not_send_mutes_and_our_own_echo_is_ignored() {
    let profile = StudioProfile::example();
    assert_eq!(
        decide(&echo("m-human"), &profile, |_| false, None),
        EventDecision::Mute {
            minutes: 120,
            cause: MuteCause::StudioEcho
        }
    );
    assert_eq!(
        decide(&echo("m-ours"), &profile, |mid| mid == "m-ours", None),
        EventDecision::Ignore
    );
}

#[test]
fn a_studio_heart_mutes_and_a_customer_heart_is_customer_input() {
    let profile = StudioProfile::example();
    assert_eq!(
        decide(
            &reaction(true, "❤", ReactionAction::React),
            &profile,
            |_| false,
            None
        ),
        EventDecision::Mute {
            minutes: 120,
            cause: MuteCause::StudioReaction
        }
    );
    assert_eq!(
        decide(
            &reaction(true, "😂", ReactionAction::React),
            &profile,
            |_| false,
            None
        ),
        EventDecision::Ignore
    );
    let EventDecision::Customer(message) = decide(
        &reaction(false, "❤", ReactionAction::React),
        &profile,
        |_| false,
        Some("Να ακυρώσουμε;".to_owned()),
    ) else {
        panic!("not customer input");
    };
    let info = message.reaction.unwrap();
    assert_eq!(info.target_mid, "m-target");
    assert_eq!(info.target_text.as_deref(), Some("Να ακυρώσουμε;"));
    assert_eq!(
        decide(
            &reaction(false, "❤", ReactionAction::Unreact),
            &profile,
            |_| false,
            None
        ),
        EventDecision::Ignore
    );
}

#[test]
fn customer_messages_keep_text_attachments_and_reply_context() {
    let profile = StudioProfile::example();
    let text = event(
        false,
        EventKind::Text(TextMessage {
            mid: "m1".to_owned(),
            text: "Πόσο αυτό;".to_owned(),
            context: MessageContext {
                reply_to: Some(ReplyTo::Story {
                    url: Some("https://cdn/story.jpg".to_owned()),
                    id: None,
                }),
                referral: None,
            },
        }),
    );
    let EventDecision::Customer(m) = decide(&text, &profile, |_| false, None) else {
        panic!()
    };
    assert_eq!(m.text.as_deref(), Some("Πόσο αυτό;"));
    assert!(matches!(m.reply_to, Some(ReplyContext::Story { .. })));

    let photo = event(
        false,
        EventKind::Attachments(AttachmentMessage {
            mid: "m2".to_owned(),
            attachments: vec![Attachment {
                kind: WireKind::Image,
                url: Some("https://cdn/a.jpg".to_owned()),
            }],
            text: None,
            context: MessageContext::default(),
        }),
    );
    let m = customer_message(&photo).unwrap();
    assert_eq!(m.attachments[0].kind, AttachmentKind::Image);
    assert_eq!(m.attachments[0].url.as_deref(), Some("https://cdn/a.jpg"));
    assert!(customer_message(&echo("x")).is_none());
}

#[test]
fn only_a_heart_on_the_pending_question_makes_a_reaction_start_a_turn() {
    use crate::confirm::{PendingChange, PendingConfirmation, TurnId};
    let profile = StudioProfile::example();
    let now = Utc.with_ymd_and_hms(2026, 11, 18, 9, 0, 0).unwrap();
    let pending = PendingConfirmation {
        change: PendingChange::Cancel {
            booking: inkdesk_domain::EventId::parse("abc123def4").unwrap(),
            starts_at: now + chrono::Duration::days(2),
        },
        requested_in: TurnId("t1".to_owned()),
        requested_at: now - chrono::Duration::minutes(5),
        expires_at: now + chrono::Duration::hours(1),
        question_mids: vec!["m-target".to_owned()],
    };
    let reaction_of = |emoji: &str| {
        let EventDecision::Customer(message) = decide(
            &reaction(false, emoji, ReactionAction::React),
            &profile,
            |_| false,
            None,
        ) else {
            panic!("not customer input");
        };
        *message
    };
    let heart = reaction_of("❤");
    assert!(reaction_starts_turn(&heart, Some(&pending), now));
    // No question pending, or an expired one: recorded, no turn.
    assert!(!reaction_starts_turn(&heart, None, now));
    assert!(!reaction_starts_turn(
        &heart,
        Some(&pending),
        now + chrono::Duration::hours(2)
    ));
    // A heart on another message, or another emoji on the question: no turn.
    let mut elsewhere = heart.clone();
    elsewhere.reaction.as_mut().unwrap().target_mid = "m-other".to_owned();
    assert!(!reaction_starts_turn(&elsewhere, Some(&pending), now));
    assert!(!reaction_starts_turn(
        &reaction_of("😂"),
        Some(&pending),
        now
    ));
    // Anything that is not a reaction always gets its turn.
    let text = CustomerMessage::text("m1", now, "ευχαριστώ");
    assert!(reaction_starts_turn(&text, None, now));
}
