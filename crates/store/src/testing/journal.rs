//! Conformance: turn journals, lease renewal, postponed retries and attempt counts.

use serde_json::json;

use crate::StoreError;

use super::{DEBOUNCE, Harness, LEASE, LONG, STEP, conv, msg};

pub async fn journal_is_fenced_by_the_lease_and_closed_by_ack(h: Harness) {
    let inbox = &h.stores.inbox;
    let journal = &h.stores.journal;
    let c = conv("journal");
    inbox
        .push(&c, msg(&h, "j1"), std::time::Duration::ZERO)
        .await
        .unwrap();
    let first = inbox.claim_due(10, LEASE).await.unwrap().remove(0);
    assert!(journal.read_journal(&c).await.unwrap().is_none());
    journal
        .write_journal(&first, json!({"chunks": ["a", "b"]}))
        .await
        .unwrap();
    let read = journal.read_journal(&c).await.unwrap().expect("written");
    assert_eq!(read.token, first.token);
    assert_eq!(read.body["chunks"][1], "b");

    // The lease runs out: the old holder can no longer write, even before a reclaim.
    h.advance(LEASE + STEP).await;
    assert!(matches!(
        journal.write_journal(&first, json!({"late": true})).await,
        Err(StoreError::StaleLease)
    ));
    let second = inbox.claim_due(10, LONG).await.unwrap().remove(0);
    assert!(second.token > first.token);
    assert!(matches!(
        journal.write_journal(&first, json!({"late": true})).await,
        Err(StoreError::StaleLease)
    ));
    // The journal survives the reclaim for the new holder to resume, which may rewrite it.
    let kept = journal.read_journal(&c).await.unwrap().expect("kept");
    assert_eq!(kept.body["chunks"][0], "a");
    journal
        .write_journal(&second, json!({"chunks": ["a", "b"], "sent": 1}))
        .await
        .unwrap();
    assert_eq!(
        journal.read_journal(&c).await.unwrap().unwrap().token,
        second.token
    );
    inbox.ack(&second, &["j1".to_owned()]).await.unwrap();
    assert!(
        journal.read_journal(&c).await.unwrap().is_none(),
        "ack closes the journal"
    );
}

pub async fn journal_stays_through_release_and_goes_with_the_conversation(h: Harness) {
    let inbox = &h.stores.inbox;
    let journal = &h.stores.journal;
    let c = conv("journal-release");
    inbox
        .push(&c, msg(&h, "r1"), std::time::Duration::ZERO)
        .await
        .unwrap();
    let claim = inbox.claim_due(10, LONG).await.unwrap().remove(0);
    journal
        .write_journal(&claim, json!({"step": 1}))
        .await
        .unwrap();
    inbox.release(&claim).await.unwrap();
    assert!(journal.read_journal(&c).await.unwrap().is_some());
    h.stores.log.delete_conversation(&c).await.unwrap();
    assert!(journal.read_journal(&c).await.unwrap().is_none());
}

pub async fn renew_extends_a_live_lease_only(h: Harness) {
    let inbox = &h.stores.inbox;
    let c = conv("renew");
    inbox
        .push(&c, msg(&h, "n1"), std::time::Duration::ZERO)
        .await
        .unwrap();
    let claim = inbox.claim_due(10, LEASE).await.unwrap().remove(0);
    // Renewed twice, each time before the lease ran out: the conversation stays ours well
    // past the first lease's end.
    for _ in 0..2 {
        h.advance(STEP).await;
        let until = inbox.renew(&claim, LEASE).await.unwrap();
        assert!(until > h.now());
        assert!(inbox.claim_due(10, LONG).await.unwrap().is_empty());
    }
    // Not renewed: it runs out and another worker takes over; the old claim cannot renew.
    h.advance(LEASE + STEP).await;
    assert!(matches!(
        inbox.renew(&claim, LEASE).await,
        Err(StoreError::StaleLease)
    ));
    let next = inbox.claim_due(10, LONG).await.unwrap();
    assert_eq!(next.len(), 1);
    assert!(matches!(
        inbox.renew(&claim, LEASE).await,
        Err(StoreError::StaleLease)
    ));
    inbox.renew(&next[0], LEASE).await.unwrap();
}

pub async fn postpone_delays_the_retry_and_attempts_count_until_ack(h: Harness) {
    let inbox = &h.stores.inbox;
    let c = conv("postpone");
    inbox
        .push(&c, msg(&h, "p1"), std::time::Duration::ZERO)
        .await
        .unwrap();
    let first = inbox.claim_due(10, LONG).await.unwrap().remove(0);
    assert_eq!(first.attempt, 1);
    let at = h.now() + chrono::Duration::from_std(DEBOUNCE).unwrap();
    inbox.postpone(&first, at).await.unwrap();
    assert!(
        inbox.claim_due(10, LONG).await.unwrap().is_empty(),
        "claimable before the retry time"
    );
    h.advance(DEBOUNCE + STEP).await;
    let second = inbox.claim_due(10, LONG).await.unwrap().remove(0);
    assert_eq!(second.attempt, 2);
    inbox.release(&second).await.unwrap();
    let third = inbox.claim_due(10, LONG).await.unwrap().remove(0);
    assert_eq!(third.attempt, 3);
    assert!(matches!(
        inbox.postpone(&second, at).await,
        Err(StoreError::StaleLease)
    ));
    // A message arriving meanwhile stays for the next turn, which starts counting afresh.
    inbox
        .push(&c, msg(&h, "p2"), std::time::Duration::ZERO)
        .await
        .unwrap();
    inbox.ack(&third, &["p1".to_owned()]).await.unwrap();
    let fresh = inbox.claim_due(10, LONG).await.unwrap().remove(0);
    assert_eq!(fresh.attempt, 1);
    assert_eq!(fresh.messages.len(), 1);
}
