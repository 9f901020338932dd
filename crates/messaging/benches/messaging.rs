//! Benchmarks of the CPU-bound paths: splitting replies and parsing webhook batches.
#![allow(missing_docs, clippy::unwrap_used)]

fn main() {}
