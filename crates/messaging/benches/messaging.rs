//! Benchmarks of the CPU-bound paths: splitting replies and parsing webhook batches.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use inkdesk_messaging::{MAX_MESSAGE_BYTES, parse_webhook, split_message};
use std::hint::black_box;

fn split(c: &mut Criterion) {
    let greek = "Καλημέρα σας! Το τατουάζ 10 εκατοστών κοστίζει περίπου 150 ευρώ, ανάλογα με τις λεπτομέρειες. "
        .repeat(60)
        + "\n\n"
        + &"Ευχαριστούμε ❤️🐼 ".repeat(40);
    c.bench_function("split_message greek 11 KB", |b| {
        b.iter(|| split_message(black_box(&greek), MAX_MESSAGE_BYTES))
    });
    let word = "ά".repeat(1500);
    c.bench_function("split_message one 3000-byte word", |b| {
        b.iter(|| split_message(black_box(&word), MAX_MESSAGE_BYTES))
    });
    let short = "Γεια σας! Πότε έχετε διαθεσιμότητα;";
    c.bench_function("split_message short reply", |b| {
        b.iter(|| split_message(black_box(short), MAX_MESSAGE_BYTES))
    });
}

fn parse(c: &mut Criterion) {
    let path = format!("{}/tests/fixtures/batch.json", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read(path).unwrap();
    c.bench_function("parse_webhook batch of 6 events", |b| {
        b.iter(|| parse_webhook(black_box(&raw), "17841400000000001").unwrap())
    });
}

criterion_group!(benches, split, parse);
criterion_main!(benches);
