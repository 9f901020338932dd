//! Tone retrieval benchmark: exact cosine top-3 over 10,000 indexed pairs, for common
//! embedding sizes (384: MiniLM-class sentence transformers; 512: text-embedding-3-small
//! shortened with `dimensions`; 1536: its full size).
//! Criterion measures the mean; a plain loop afterwards prints p50/p99 per query.
//!
//! `cargo bench -p inkdesk-tone --bench retrieval -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::Instant;

use chrono::DateTime;
use criterion::{BenchmarkId, Criterion, criterion_group};
use inkdesk_tone::{ToneExample, VectorIndex};

const PAIRS: usize = 10_000;
const DIMENSIONS: [usize; 4] = [384, 512, 768, 1536];

/// xorshift64*: deterministic vectors without a rand dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    fn vector(&mut self, dimension: usize) -> Vec<f32> {
        (0..dimension).map(|_| self.next()).collect()
    }
}

fn build(dimension: usize) -> VectorIndex {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut index = VectorIndex::new("bench", dimension);
    let at = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap_or_default();
    for n in 0..PAIRS {
        let example = ToneExample {
            customer: format!("customer message {n}"),
            studio: format!("studio reply {n}"),
            thread: format!("thread{}", n / 10),
            at,
            approved: None,
        };
        if index.push(example, &rng.vector(dimension)).is_err() {
            unreachable!("random vectors are never zero");
        }
    }
    index
}

fn search(c: &mut Criterion) {
    let mut group = c.benchmark_group("tone_search_10k");
    for dimension in DIMENSIONS {
        let index = build(dimension);
        let query = Rng(42).vector(dimension);
        group.bench_with_input(BenchmarkId::from_parameter(dimension), &query, |b, q| {
            b.iter(|| black_box(index.search(black_box(q), 3)))
        });
    }
    group.finish();
}

criterion_group!(benches, search);

fn percentiles() {
    for dimension in DIMENSIONS {
        let index = build(dimension);
        let mut rng = Rng(7);
        let mut samples: Vec<f64> = (0..1000)
            .map(|_| {
                let q = rng.vector(dimension);
                let started = Instant::now();
                black_box(index.search(&q, 3).map(|h| h.len()).unwrap_or(0));
                started.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        println!(
            "tone_search_10k/{dimension}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (1000 queries)",
            samples[499], samples[989], samples[999]
        );
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    percentiles();
}
