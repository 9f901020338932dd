//! Conformance: the debounce queue.

use std::collections::HashSet;

use crate::StoreError;

use super::{DEBOUNCE, Harness, LEASE, LONG, STEP, conv, ids, msg};

pub async fn sliding_due_times(h: Harness) {
    let inbox = &h.stores.inbox;
    let c = conv("slide");
    inbox.push(&c, msg(&h, "m1"), DEBOUNCE).await.unwrap();
    assert!(
        inbox.claim_due(10, LONG).await.unwrap().is_empty(),
        "due too early"
    );
    h.advance(STEP).await;
    inbox.push(&c, msg(&h, "m2"), DEBOUNCE).await.unwrap();
    h.advance(STEP).await;
    // Past m1's window, inside m2's: the second message pushed the due time back.
    assert!(
        inbox.claim_due(10, LONG).await.unwrap().is_empty(),
        "window did not slide"
    );
    h.advance(STEP).await;
    let claims = inbox.claim_due(10, LONG).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].conversation, c);
    assert_eq!(ids(&claims[0].messages), ["m1", "m2"]);
    assert_eq!(claims[0].messages[0].payload["text"], "text of m1");
}

pub async fn concurrent_claimers_never_share_a_conversation(h: Harness) {
    let inbox = h.stores.inbox.clone();
    for i in 0..20 {
        let c = conv(&format!("cc{i}"));
        inbox
            .push(&c, msg(&h, &format!("m{i}")), std::time::Duration::ZERO)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let inbox = inbox.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let claims = inbox.claim_due(3, LONG).await.unwrap();
                if claims.is_empty() {
                    break got;
                }
                got.extend(claims);
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut tokens = HashSet::new();
    for task in tasks {
        for claim in task.await.unwrap() {
            assert_eq!(claim.messages.len(), 1);
            assert!(
                seen.insert(claim.conversation.clone()),
                "{} claimed twice",
                claim.conversation
            );
            assert!(tokens.insert(claim.token), "token reused");
        }
    }
    assert_eq!(seen.len(), 20);
}

pub async fn expired_lease_is_reclaimed_and_stale_ack_refused(h: Harness) {
    let inbox = &h.stores.inbox;
    let c = conv("lease");
    inbox
        .push(&c, msg(&h, "m1"), std::time::Duration::ZERO)
        .await
        .unwrap();
    let first = inbox.claim_due(10, LEASE).await.unwrap().pop().unwrap();
    assert!(
        inbox.claim_due(10, LEASE).await.unwrap().is_empty(),
        "live lease was claimable"
    );
    h.advance(LEASE + STEP).await;
    let second = inbox
        .claim_due(10, LONG)
        .await
        .unwrap()
        .pop()
        .expect("expired lease reclaimed");
    assert_eq!(second.conversation, c);
    assert!(second.token > first.token, "fencing token must grow");
    assert_eq!(ids(&second.messages), ["m1"]);
    assert!(matches!(
        inbox.ack(&first, &["m1".to_owned()]).await,
        Err(StoreError::StaleLease)
    ));
    assert!(matches!(
        inbox.release(&first).await,
        Err(StoreError::StaleLease)
    ));
    inbox.ack(&second, &["m1".to_owned()]).await.unwrap();
    assert!(inbox.claim_due(10, LONG).await.unwrap().is_empty());
    assert_eq!(inbox.next_due().await.unwrap(), None);
}

pub async fn messages_pushed_during_turn_survive_ack(h: Harness) {
    let inbox = &h.stores.inbox;
    let c = conv("during");
    inbox
        .push(&c, msg(&h, "m1"), std::time::Duration::ZERO)
        .await
        .unwrap();
    let claim = inbox.claim_due(10, LONG).await.unwrap().pop().unwrap();
    inbox.push(&c, msg(&h, "m2"), DEBOUNCE).await.unwrap();
    assert!(
        inbox.claim_due(10, LONG).await.unwrap().is_empty(),
        "leased conversation claimed"
    );
    inbox.ack(&claim, &["m1".to_owned()]).await.unwrap();
    assert!(
        inbox.next_due().await.unwrap().is_some(),
        "m2 left the queue"
    );
    assert!(
        inbox.claim_due(10, LONG).await.unwrap().is_empty(),
        "m2 due before its window"
    );
    h.advance(DEBOUNCE + STEP).await;
    let again = inbox
        .claim_due(10, LONG)
        .await
        .unwrap()
        .pop()
        .expect("m2 due again");
    assert_eq!(ids(&again.messages), ["m2"]);
    inbox.ack(&again, &["m2".to_owned()]).await.unwrap();
    assert_eq!(inbox.next_due().await.unwrap(), None);
}

pub async fn duplicate_push_is_stored_once(h: Harness) {
    let inbox = &h.stores.inbox;
    let c = conv("dup");
    for id in ["m1", "m1", "m2", "m1"] {
        inbox
            .push(&c, msg(&h, id), std::time::Duration::ZERO)
            .await
            .unwrap();
    }
    let claim = inbox.claim_due(10, LONG).await.unwrap().pop().unwrap();
    assert_eq!(ids(&claim.messages), ["m1", "m2"]);
    // A redelivery during the turn does not come back after the ack.
    inbox
        .push(&c, msg(&h, "m2"), std::time::Duration::ZERO)
        .await
        .unwrap();
    inbox
        .ack(&claim, &["m1".to_owned(), "m2".to_owned()])
        .await
        .unwrap();
    assert!(inbox.claim_due(10, LONG).await.unwrap().is_empty());
}

pub async fn deleted_message_leaves_queue(h: Harness) {
    let inbox = &h.stores.inbox;
    let (c, d) = (conv("del-c"), conv("del-d"));
    inbox
        .push(&c, msg(&h, "m1"), std::time::Duration::ZERO)
        .await
        .unwrap();
    inbox
        .push(&c, msg(&h, "m2"), std::time::Duration::ZERO)
        .await
        .unwrap();
    inbox
        .push(&d, msg(&h, "m3"), std::time::Duration::ZERO)
        .await
        .unwrap();
    inbox.remove_message(&c, "m1").await.unwrap();
    inbox.remove_message(&d, "m3").await.unwrap();
    inbox.remove_message(&d, "never-pushed").await.unwrap();
    let claims = inbox.claim_due(10, LONG).await.unwrap();
    assert_eq!(
        claims.len(),
        1,
        "a conversation with no message left was claimed"
    );
    assert_eq!(claims[0].conversation, c);
    assert_eq!(ids(&claims[0].messages), ["m2"]);
    inbox.ack(&claims[0], &["m2".to_owned()]).await.unwrap();
    assert_eq!(inbox.next_due().await.unwrap(), None);
}

pub async fn release_makes_conversation_due_again_now(h: Harness) {
    let inbox = &h.stores.inbox;
    let c = conv("release");
    inbox
        .push(&c, msg(&h, "m1"), std::time::Duration::ZERO)
        .await
        .unwrap();
    let first = inbox.claim_due(10, LONG).await.unwrap().pop().unwrap();
    inbox.release(&first).await.unwrap();
    let second = inbox
        .claim_due(10, LONG)
        .await
        .unwrap()
        .pop()
        .expect("due after release");
    assert!(second.token > first.token);
    assert_eq!(ids(&second.messages), ["m1"]);
    assert!(matches!(
        inbox.ack(&first, &[]).await,
        Err(StoreError::StaleLease)
    ));
    inbox.ack(&second, &["m1".to_owned()]).await.unwrap();
}

pub async fn next_due_reports_earliest_claimable_time(h: Harness) {
    let inbox = &h.stores.inbox;
    assert_eq!(inbox.next_due().await.unwrap(), None);
    let before = h.now();
    inbox
        .push(&conv("nd-late"), msg(&h, "a"), DEBOUNCE * 3)
        .await
        .unwrap();
    inbox
        .push(&conv("nd-soon"), msg(&h, "b"), DEBOUNCE)
        .await
        .unwrap();
    let after = h.now();
    let next = inbox.next_due().await.unwrap().unwrap();
    let window = chrono::Duration::from_std(DEBOUNCE).unwrap();
    let slack = chrono::Duration::milliseconds(1);
    assert!(
        next >= before + window - slack && next <= after + window + slack,
        "{next}"
    );
    // A leased conversation counts at its lease end.
    inbox
        .push(&conv("nd-now"), msg(&h, "c"), std::time::Duration::ZERO)
        .await
        .unwrap();
    let claim = inbox.claim_due(10, LEASE).await.unwrap().pop().unwrap();
    let next = inbox.next_due().await.unwrap().unwrap();
    assert!(
        (next - claim.lease_until).num_milliseconds().abs() <= 1,
        "{next}"
    );
}
