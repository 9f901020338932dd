//! Conformance: the webhook's one-call intake of a customer message.

use std::time::Duration;

use crate::model::{IncomingMessage, IntakeOutcome, NotQueued};

use super::{DEBOUNCE, Harness, LONG, STEP, TTL, conv, ids, msg, turn};

/// A message `id` with event key `key`, answerable, on the suite's debounce.
fn incoming(h: &Harness, key: &str, id: &str) -> IncomingMessage {
    IncomingMessage {
        event_key: key.to_owned(),
        dedupe_ttl: LONG,
        turn: turn(h, id),
        pending: msg(h, id),
        debounce: DEBOUNCE,
        answerable: true,
    }
}

pub async fn intake_records_queues_and_dedupes(h: Harness) {
    let s = &h.stores;
    let c = conv("intake");
    let m1 = incoming(&h, "ev1", "m1");
    let recorded = m1.turn.clone();
    let first = s.intake.record_message(&c, m1.clone()).await;
    assert_eq!(first.unwrap(), IntakeOutcome::Queued);
    // A redelivery of the same event changes nothing, and the mark is Dedupe's own.
    let again = s.intake.record_message(&c, m1).await;
    assert_eq!(again.unwrap(), IntakeOutcome::Duplicate);
    assert!(!s.dedupe.first_seen("ev1", LONG).await.unwrap());
    assert_eq!(s.log.recent(&c, 10).await.unwrap(), [recorded]);
    // Each message restarts the debounce window.
    h.advance(STEP).await;
    let second = s.intake.record_message(&c, incoming(&h, "ev2", "m2")).await;
    assert_eq!(second.unwrap(), IntakeOutcome::Queued);
    h.advance(STEP).await;
    assert!(
        s.inbox.claim_due(10, LONG).await.unwrap().is_empty(),
        "window did not slide"
    );
    h.advance(STEP).await;
    let claims = s.inbox.claim_due(10, LONG).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(ids(&claims[0].messages), ["m1", "m2"]);
    assert_eq!(claims[0].messages[1].payload["text"], "text of m2");
    let texts: Vec<_> = s
        .log
        .recent(&c, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.text)
        .collect();
    assert_eq!(texts, ["m1", "m2"]);
    let listed = s.log.conversations(10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].turns, 2);
}

pub async fn intake_holds_back_for_pause_mute_and_standby(h: Harness) {
    let s = &h.stores;
    let c = conv("held");
    s.takeover.set_paused(true).await.unwrap();
    let paused = s.intake.record_message(&c, incoming(&h, "p1", "m1")).await;
    assert_eq!(paused.unwrap(), IntakeOutcome::Recorded(NotQueued::Paused));
    s.takeover.set_paused(false).await.unwrap();

    let until = h.now() + chrono::Duration::from_std(TTL).unwrap();
    s.takeover.mute(&c, until, "staff".into()).await.unwrap();
    let muted = s.intake.record_message(&c, incoming(&h, "p2", "m2")).await;
    assert_eq!(muted.unwrap(), IntakeOutcome::Recorded(NotQueued::Muted));

    let mut standby = incoming(&h, "p3", "m3");
    standby.answerable = false;
    let standby = s.intake.record_message(&c, standby).await;
    assert_eq!(
        standby.unwrap(),
        IntakeOutcome::Recorded(NotQueued::NotAnswerable)
    );

    // Recorded for the people, never queued.
    assert_eq!(s.log.recent(&c, 10).await.unwrap().len(), 3);
    assert_eq!(s.inbox.next_due().await.unwrap(), None);

    // Once the mute has run out the assistant answers again.
    h.advance(TTL + Duration::from_millis(50)).await;
    let later = s.intake.record_message(&c, incoming(&h, "p4", "m4")).await;
    assert_eq!(later.unwrap(), IntakeOutcome::Queued);
    h.advance(DEBOUNCE + STEP).await;
    let claims = s.inbox.claim_due(10, LONG).await.unwrap();
    assert_eq!(ids(&claims[0].messages), ["m4"]);
}

pub async fn intake_during_a_turn_waits_for_the_lease(h: Harness) {
    let s = &h.stores;
    let c = conv("intake-lease");
    let mut now = incoming(&h, "l1", "m1");
    now.debounce = Duration::ZERO;
    s.intake.record_message(&c, now).await.unwrap();
    let claim = s.inbox.claim_due(10, LONG).await.unwrap().pop().unwrap();
    let during = s.intake.record_message(&c, incoming(&h, "l2", "m2")).await;
    assert_eq!(during.unwrap(), IntakeOutcome::Queued);
    h.advance(DEBOUNCE + STEP).await;
    assert!(
        s.inbox.claim_due(10, LONG).await.unwrap().is_empty(),
        "leased conversation claimed"
    );
    s.inbox.ack(&claim, &["m1".to_owned()]).await.unwrap();
    let again = s
        .inbox
        .claim_due(10, LONG)
        .await
        .unwrap()
        .pop()
        .expect("m2 due");
    assert_eq!(ids(&again.messages), ["m2"]);
}
