//! Conformance: model usage totals.

use chrono::NaiveDate;

use super::{Harness, conv, turn};
use crate::model::ModelUsage;

fn call(prompt: u64, cached: u64, completion: u64, cost_nanos: u64) -> ModelUsage {
    ModelUsage {
        calls: 1,
        prompt_tokens: prompt,
        cached_tokens: cached,
        completion_tokens: completion,
        audio_seconds: 0,
        cost_nanos,
    }
}

pub async fn usage_adds_up_per_day_and_conversation_and_goes_with_it(h: Harness) {
    let s = &h.stores;
    let (a, b) = (conv("usage-a"), conv("usage-b"));
    let today = NaiveDate::from_ymd_opt(2031, 5, 6).unwrap();
    let yesterday = today.pred_opt().unwrap();
    // Concurrent adds from many tasks (replicas) lose nothing.
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let usage = s.usage.clone();
        let who = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            usage
                .add_usage(&who, today, "gpt-4o", call(1000, 800, 50, 1_750_000))
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    s.usage
        .add_usage(&a, today, "gpt-4o-mini", call(3000, 0, 100, 510_000))
        .await
        .unwrap();
    s.usage
        .add_usage(&a, yesterday, "gpt-4o", call(1, 0, 1, 12_500))
        .await
        .unwrap();

    let day = s.usage.day_usage(today).await.unwrap();
    assert_eq!(
        day,
        vec![
            (
                "gpt-4o".to_owned(),
                ModelUsage {
                    calls: 20,
                    prompt_tokens: 20_000,
                    cached_tokens: 16_000,
                    completion_tokens: 1000,
                    audio_seconds: 0,
                    cost_nanos: 35_000_000,
                }
            ),
            ("gpt-4o-mini".to_owned(), call(3000, 0, 100, 510_000)),
        ]
    );
    assert_eq!(
        s.usage.day_usage(yesterday).await.unwrap(),
        vec![("gpt-4o".to_owned(), call(1, 0, 1, 12_500))]
    );
    let of_a = s.usage.conversation_usage(&a).await.unwrap();
    assert_eq!(of_a.len(), 2);
    assert_eq!(of_a[0].0, "gpt-4o");
    assert_eq!(of_a[0].1.calls, 11);
    assert_eq!(of_a[0].1.cost_nanos, 10 * 1_750_000 + 12_500);
    assert_eq!(
        of_a[1],
        ("gpt-4o-mini".to_owned(), call(3000, 0, 100, 510_000))
    );
    assert_eq!(s.usage.conversation_usage(&b).await.unwrap()[0].1.calls, 10);
    assert!(
        s.usage
            .conversation_usage(&conv("usage-none"))
            .await
            .unwrap()
            .is_empty()
    );

    // A privacy delete takes the conversation's totals; the day's stay (no one's data).
    s.log.append(&a, turn(&h, "hello")).await.unwrap();
    s.log.delete_conversation(&a).await.unwrap();
    assert!(s.usage.conversation_usage(&a).await.unwrap().is_empty());
    assert_eq!(s.usage.day_usage(today).await.unwrap()[0].1.calls, 20);
    assert_eq!(s.usage.conversation_usage(&b).await.unwrap()[0].1.calls, 10);
}
