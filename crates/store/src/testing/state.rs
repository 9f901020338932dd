//! Conformance: history, dedupe, takeover, slot holds, outbox, health.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::model::{HoldOutcome, SlotKey};

use super::{Harness, LONG, MAX_TURNS, STEP, TTL, conv, msg, turn};

fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 5, 6, hour, minute, 0).unwrap()
}

fn slot(from: u32, to: u32) -> SlotKey {
    SlotKey::studio(at(from, 0), at(to, 0))
}

fn artist_slot(from: u32, to: u32, artist: &str) -> SlotKey {
    SlotKey {
        artist: Some(inkdesk_domain::ArtistKey::parse(artist).unwrap()),
        ..slot(from, to)
    }
}

/// Holds carry the artist: one artist's holds count against that artist only, the
/// studio's (artist-less) holds against the studio's capacity, and `active` names the
/// artist of each hold.
pub async fn holds_of_different_artists_never_block_each_other(h: Harness) {
    let holds = &h.stores.holds;
    let (maria, nikos, studio) = (
        artist_slot(10, 11, "maria"),
        artist_slot(10, 11, "nikos"),
        slot(10, 11),
    );
    let (a, b, c) = (conv("ha1"), conv("ha2"), conv("ha3"));
    assert_eq!(
        holds.hold(maria.clone(), &a, 1, TTL).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(
        holds.hold(maria.clone(), &b, 1, TTL).await.unwrap(),
        HoldOutcome::Full
    );
    assert_eq!(
        holds.hold(nikos.clone(), &b, 1, TTL).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(
        holds.hold(studio.clone(), &c, 1, TTL).await.unwrap(),
        HoldOutcome::Held
    );
    let mut listed: Vec<(Option<String>, String)> = holds
        .active(at(9, 0), at(12, 0))
        .await
        .unwrap()
        .into_iter()
        .map(|h| {
            (
                h.slot.artist.map(|a| a.as_str().to_owned()),
                h.conversation.as_str().to_owned(),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            (None, c.as_str().to_owned()),
            (Some("maria".to_owned()), a.as_str().to_owned()),
            (Some("nikos".to_owned()), b.as_str().to_owned()),
        ]
    );
    // Releasing one artist's hold leaves the other's.
    holds.release(&maria, &a).await.unwrap();
    assert_eq!(
        holds.hold(maria.clone(), &c, 1, TTL).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(
        holds.hold(nikos, &a, 1, TTL).await.unwrap(),
        HoldOutcome::Full
    );
    holds.release_all(&c).await.unwrap();
    let left = holds.active(at(9, 0), at(12, 0)).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].slot.artist.as_ref().map(|a| a.as_str()),
        Some("nikos")
    );
}

pub async fn holds_never_exceed_capacity_under_50_tasks(h: Harness) {
    let holds = h.stores.holds.clone();
    let s = slot(10, 12);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let holds = holds.clone();
            let s = s.clone();
            tokio::spawn(async move {
                holds
                    .hold(s.clone(), &conv(&format!("h{i}")), 3, LONG)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut held = 0;
    for task in tasks {
        match task.await.unwrap() {
            HoldOutcome::Held => held += 1,
            HoldOutcome::Full => {}
            HoldOutcome::Refreshed => panic!("nobody held twice"),
        }
    }
    assert_eq!(held, 3);
    assert_eq!(holds.active(at(9, 0), at(13, 0)).await.unwrap().len(), 3);
}

pub async fn hold_refresh_release_and_active_range(h: Harness) {
    let holds = &h.stores.holds;
    let (a, b) = (slot(10, 11), slot(12, 13));
    let (c1, c2) = (conv("hr1"), conv("hr2"));
    let ttl = TTL + STEP;
    assert_eq!(
        holds.hold(a.clone(), &c1, 1, ttl).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(
        holds.hold(a.clone(), &c2, 1, ttl).await.unwrap(),
        HoldOutcome::Full
    );
    h.advance(STEP).await;
    assert_eq!(
        holds.hold(a.clone(), &c1, 1, ttl).await.unwrap(),
        HoldOutcome::Refreshed
    );
    h.advance(STEP).await;
    // Past the first expiry, inside the refreshed one.
    assert_eq!(
        holds.hold(a.clone(), &c2, 1, ttl).await.unwrap(),
        HoldOutcome::Full,
        "refresh lost"
    );
    holds.release(&a, &c1).await.unwrap();
    assert_eq!(
        holds.hold(a.clone(), &c2, 1, ttl).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(
        holds.hold(b.clone(), &c2, 2, ttl).await.unwrap(),
        HoldOutcome::Held
    );
    assert_eq!(
        holds.hold(b.clone(), &c1, 2, ttl).await.unwrap(),
        HoldOutcome::Held
    );

    let in_a = holds.active(at(10, 30), at(11, 30)).await.unwrap();
    assert_eq!(in_a.len(), 1);
    assert_eq!((&in_a[0].slot, &in_a[0].conversation), (&a, &c2));
    assert!(
        holds.active(at(11, 0), at(12, 0)).await.unwrap().is_empty(),
        "ranges are half-open"
    );
    assert_eq!(holds.active(at(0, 0), at(23, 0)).await.unwrap().len(), 3);
    holds.release_all(&c2).await.unwrap();
    let left = holds.active(at(0, 0), at(23, 0)).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!((&left[0].slot, &left[0].conversation), (&b, &c1));
}

pub async fn ttls_expire(h: Harness) {
    let s = &h.stores;
    let c = conv("ttl");
    assert!(s.dedupe.first_seen("wamid.1", TTL).await.unwrap());
    assert!(
        !s.dedupe.first_seen("wamid.1", TTL).await.unwrap(),
        "redelivery seen as new"
    );
    s.outbox.remember("out.1", TTL).await.unwrap();
    assert!(s.outbox.contains("out.1").await.unwrap());
    assert!(!s.outbox.contains("out.2").await.unwrap());
    let until = h.now() + chrono::Duration::from_std(TTL).unwrap();
    s.takeover
        .mute(&c, until, "staff replied".to_owned())
        .await
        .unwrap();
    assert!(s.takeover.muted(&c).await.unwrap().is_some());
    assert_eq!(
        s.holds.hold(slot(10, 11), &c, 1, TTL).await.unwrap(),
        HoldOutcome::Held
    );

    h.advance(TTL + STEP).await;
    assert!(
        s.dedupe.first_seen("wamid.1", TTL).await.unwrap(),
        "dedupe entry did not expire"
    );
    assert!(
        !s.outbox.contains("out.1").await.unwrap(),
        "outbox entry did not expire"
    );
    assert_eq!(
        s.takeover.muted(&c).await.unwrap(),
        None,
        "mute did not expire"
    );
    assert!(s.takeover.list_muted().await.unwrap().is_empty());
    assert!(
        s.holds
            .active(at(0, 0), at(23, 0))
            .await
            .unwrap()
            .is_empty(),
        "hold did not expire"
    );
    assert_eq!(
        s.holds
            .hold(slot(10, 11), &conv("other"), 1, TTL)
            .await
            .unwrap(),
        HoldOutcome::Held
    );
}

pub async fn history_is_ordered_listed_and_capped(h: Harness) {
    let log = &h.stores.log;
    let (c1, c2) = (conv("hist1"), conv("hist2"));
    for text in ["one", "two", "three"] {
        log.append(&c1, turn(&h, text)).await.unwrap();
        h.advance(std::time::Duration::from_millis(5)).await;
    }
    let long = "ü".repeat(200);
    log.append(&c2, turn(&h, &long)).await.unwrap();
    let recent = log.recent(&c1, 2).await.unwrap();
    let texts: Vec<_> = recent.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, ["two", "three"]);
    assert_eq!(recent[1], turn_like(&recent[1]));
    assert_eq!(log.recent(&c1, 10).await.unwrap().len(), 3);
    assert!(log.recent(&conv("nobody"), 10).await.unwrap().is_empty());

    let list = log.conversations(10).await.unwrap();
    let order: Vec<_> = list.iter().map(|s| s.conversation.as_str()).collect();
    assert_eq!(order, ["hist2", "hist1"], "most recent first");
    assert_eq!(list[0].last_preview.chars().count(), 80);
    assert_eq!(list[1].last_preview, "three");
    assert_eq!(list[1].turns, 3);
    assert_eq!(list[1].last_at, recent[1].at);
    assert_eq!(log.conversations(1).await.unwrap().len(), 1);

    for i in 0..MAX_TURNS + 5 {
        log.append(&c2, turn(&h, &format!("t{i}"))).await.unwrap();
    }
    let kept = log.recent(&c2, 1000).await.unwrap();
    assert_eq!(kept.len(), MAX_TURNS);
    assert_eq!(kept.first().unwrap().text, "t5");
    assert_eq!(kept.last().unwrap().text, format!("t{}", MAX_TURNS + 4));
    let summary = log.conversations(10).await.unwrap();
    let c2_summary = summary.iter().find(|s| s.conversation == c2).unwrap();
    assert_eq!(c2_summary.turns, u64::try_from(MAX_TURNS).unwrap());
}

/// Round-trip check: a stored turn keeps its role, message id and opaque data.
fn turn_like(t: &crate::model::Turn) -> crate::model::Turn {
    crate::model::Turn {
        role: crate::model::Role::Customer,
        text: t.text.clone(),
        message_id: Some(format!("mid-{}", t.text)),
        at: t.at,
        data: Some(serde_json::json!({ "attachments": [] })),
    }
}

pub async fn retention_drops_idle_conversations(h: Harness) {
    let log = &h.stores.log;
    let (old, fresh) = (conv("ret-old"), conv("ret-fresh"));
    log.append(&old, turn(&h, "old")).await.unwrap();
    log.append(&fresh, turn(&h, "first")).await.unwrap();
    h.advance(super::RETENTION / 2 + STEP / 4).await;
    log.append(&fresh, turn(&h, "refresh")).await.unwrap();
    h.advance(super::RETENTION / 2 + STEP / 4).await;
    assert!(
        log.recent(&old, 10).await.unwrap().is_empty(),
        "retention not applied"
    );
    assert_eq!(
        log.recent(&fresh, 10).await.unwrap().len(),
        2,
        "append did not refresh retention"
    );
    let list = log.conversations(10).await.unwrap();
    let names: Vec<_> = list.iter().map(|s| s.conversation.as_str()).collect();
    assert_eq!(names, ["ret-fresh"]);
}

pub async fn delete_conversation_removes_everything(h: Harness) {
    let s = &h.stores;
    let (gone, kept) = (conv("forget-me"), conv("keep-me"));
    for c in [&gone, &kept] {
        s.log.append(c, turn(&h, "hello")).await.unwrap();
        s.inbox
            .push(c, msg(&h, &format!("{c}-m")), std::time::Duration::ZERO)
            .await
            .unwrap();
        s.takeover
            .mute(c, h.now() + chrono::Duration::hours(1), "x".to_owned())
            .await
            .unwrap();
        s.holds.hold(slot(10, 11), c, 5, LONG).await.unwrap();
    }
    s.log.delete_conversation(&gone).await.unwrap();

    assert!(s.log.recent(&gone, 10).await.unwrap().is_empty());
    let listed: Vec<_> = s
        .log
        .conversations(10)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.conversation)
        .collect();
    assert_eq!(listed, std::slice::from_ref(&kept));
    assert_eq!(s.takeover.muted(&gone).await.unwrap(), None);
    let muted: Vec<_> = s
        .takeover
        .list_muted()
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(muted, std::slice::from_ref(&kept));
    let holders: Vec<_> = s
        .holds
        .active(at(0, 0), at(23, 0))
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.conversation)
        .collect();
    assert_eq!(holders, std::slice::from_ref(&kept));
    let claims = s.inbox.claim_due(10, LONG).await.unwrap();
    let claimed: Vec<_> = claims.iter().map(|c| c.conversation.clone()).collect();
    assert_eq!(claimed, std::slice::from_ref(&kept));
    // A lease on a deleted conversation is stale.
    s.log.delete_conversation(&kept).await.unwrap();
    assert!(matches!(
        s.inbox.ack(&claims[0], &[]).await,
        Err(crate::StoreError::StaleLease)
    ));
    assert_eq!(s.inbox.next_due().await.unwrap(), None);
}

pub async fn mutes_and_global_switch(h: Harness) {
    let t = &h.stores.takeover;
    assert!(!t.is_paused().await.unwrap());
    t.set_paused(true).await.unwrap();
    assert!(t.is_paused().await.unwrap());
    t.set_paused(false).await.unwrap();
    assert!(!t.is_paused().await.unwrap());

    let (c1, c2) = (conv("mute1"), conv("mute2"));
    let until =
        DateTime::from_timestamp_millis((h.now() + chrono::Duration::hours(2)).timestamp_millis())
            .unwrap();
    t.mute(&c1, until, "customer asked for a human".to_owned())
        .await
        .unwrap();
    t.mute(&c2, until, "staff replied".to_owned())
        .await
        .unwrap();
    let m = t.muted(&c1).await.unwrap().unwrap();
    assert_eq!(
        (m.until, m.reason.as_str()),
        (until, "customer asked for a human")
    );
    let mut all = t.list_muted().await.unwrap();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].1.reason, "staff replied");
    t.unmute(&c1).await.unwrap();
    assert_eq!(t.muted(&c1).await.unwrap(), None);
    assert_eq!(t.list_muted().await.unwrap().len(), 1);
}

pub async fn health_ping_answers(h: Harness) {
    h.stores.health.ping().await.unwrap();
    let _keep: Arc<dyn crate::ports::Health> = h.stores.health.clone();
}

/// A forgotten id counts as new again: the webhook undoes its mark when recording failed.
pub async fn dedupe_forget_lets_a_redelivery_through(h: Harness) {
    let s = &h.stores;
    assert!(s.dedupe.first_seen("mid.forget", LONG).await.unwrap());
    assert!(!s.dedupe.first_seen("mid.forget", LONG).await.unwrap());
    s.dedupe.forget("mid.forget").await.unwrap();
    assert!(
        s.dedupe.first_seen("mid.forget", LONG).await.unwrap(),
        "forgotten id still seen"
    );
    // Forgetting an unknown id is not an error.
    s.dedupe.forget("mid.never").await.unwrap();
}

/// Keyed values are per conversation, replaceable, deletable, expire, and go with the
/// conversation.
pub async fn keyed_values_expire_and_go_with_the_conversation(h: Harness) {
    let s = &h.stores;
    let (a, b) = (conv("kv-a"), conv("kv-b"));
    let value = serde_json::json!({"booking": "abc123def", "kind": "cancel"});
    s.keyed
        .put(&a, "confirm", value.clone(), LONG)
        .await
        .unwrap();
    s.keyed
        .put(&b, "confirm", serde_json::json!(2), LONG)
        .await
        .unwrap();
    assert_eq!(s.keyed.get(&a, "confirm").await.unwrap(), Some(value));
    assert_eq!(s.keyed.get(&a, "other").await.unwrap(), None);
    s.keyed
        .put(&a, "confirm", serde_json::json!(1), LONG)
        .await
        .unwrap();
    assert_eq!(
        s.keyed.get(&a, "confirm").await.unwrap(),
        Some(serde_json::json!(1))
    );
    s.keyed.delete(&a, "confirm").await.unwrap();
    assert_eq!(s.keyed.get(&a, "confirm").await.unwrap(), None);

    s.keyed
        .put(&a, "short", serde_json::json!("x"), TTL)
        .await
        .unwrap();
    h.advance(TTL + STEP).await;
    assert_eq!(
        s.keyed.get(&a, "short").await.unwrap(),
        None,
        "value did not expire"
    );

    s.log.delete_conversation(&b).await.unwrap();
    assert_eq!(
        s.keyed.get(&b, "confirm").await.unwrap(),
        None,
        "value outlived its conversation"
    );
}

/// A keyed counter counts up atomically within its window, starts again after it, and
/// loses no increment when many callers race (the login limit relies on it).
pub async fn keyed_counters_count_atomically_in_a_fixed_window(h: Harness) {
    let s = &h.stores;
    let a = conv("kv-count");
    assert_eq!(s.keyed.increment(&a, "tries", TTL).await.unwrap(), 1);
    assert_eq!(s.keyed.increment(&a, "tries", TTL).await.unwrap(), 2);
    assert_eq!(
        s.keyed.get(&a, "tries").await.unwrap(),
        Some(serde_json::json!(2)),
        "the count reads back as a number"
    );
    // Other keys and conversations count on their own.
    assert_eq!(s.keyed.increment(&a, "other", TTL).await.unwrap(), 1);
    assert_eq!(
        s.keyed
            .increment(&conv("kv-count-b"), "tries", TTL)
            .await
            .unwrap(),
        1
    );
    // A value that is not a count starts again.
    s.keyed
        .put(&a, "text", serde_json::json!("x"), LONG)
        .await
        .unwrap();
    assert_eq!(s.keyed.increment(&a, "text", TTL).await.unwrap(), 1);
    // The window is fixed by the first increment and ends with it.
    h.advance(TTL + STEP).await;
    assert_eq!(s.keyed.increment(&a, "tries", TTL).await.unwrap(), 1);

    let racing = (0..40).map(|_| {
        let keyed = s.keyed.clone();
        let a = a.clone();
        tokio::spawn(async move { keyed.increment(&a, "race", LONG).await.unwrap() })
    });
    let mut counts = Vec::new();
    for task in racing.collect::<Vec<_>>() {
        counts.push(task.await.unwrap());
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=40).collect::<Vec<u64>>(),
        "increments were lost"
    );
}
