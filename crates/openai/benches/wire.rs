//! Hot paths of the adapter that run on our CPU: image data URLs, structured-output
//! fallback parsing and tool-argument parsing.
//!
//! `cargo bench -p inkdesk-openai --bench wire -- --warm-up-time 1 --measurement-time 3`
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use inkdesk_openai::structured::parse_json_reply;
use inkdesk_openai::{ImageDetail, ImagePart, ToolCall};
use serde::Deserialize;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Measurements {
    description: String,
    height_cm: f64,
    width_cm: f64,
    ink_coverage: f64,
    difficulty: String,
}

fn image_data_url(c: &mut Criterion) {
    // A 1 MiB "JPEG": a typical Instagram reference photo.
    let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
    bytes.extend((0..(1 << 20) - 4).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let part = ImagePart::new(bytes, ImageDetail::High).unwrap();
    c.bench_function("image_data_url_1mib", |b| {
        b.iter(|| black_box(part.data_url()))
    });
}

fn structured_fallback(c: &mut Criterion) {
    let reply = format!(
        "Sure {{roughly}}! {}\n```json\n{}\n```\nAnything else?",
        "Here is my reading of the photo. ".repeat(20),
        r#"{"description": "rose {stem} with \"dew\"", "height_cm": 12.5, "width_cm": 6, "ink_coverage": 0.35, "difficulty": "medium"}"#
    );
    c.bench_function("parse_json_reply_prose_and_fence", |b| {
        b.iter(|| black_box(parse_json_reply::<Measurements>(black_box(&reply)).unwrap()))
    });
}

fn tool_arguments(c: &mut Criterion) {
    let good = r#"{"date":"2026-03-02","start":"12:00","duration_minutes":120,"name":"Μαρία Παπαδοπούλου","phone":"+306912345678"}"#;
    let bad = r#"{"date":"2026-03-02","start":"12:00","duration_minutes":"#;
    c.bench_function("tool_call_from_raw_valid", |b| {
        b.iter(|| black_box(ToolCall::from_raw("call_1", "book", black_box(good))))
    });
    c.bench_function("tool_call_from_raw_malformed", |b| {
        b.iter(|| black_box(ToolCall::from_raw("call_1", "book", black_box(bad))))
    });
}

criterion_group!(benches, image_data_url, structured_fallback, tool_arguments);
criterion_main!(benches);
