//! Tone retrieval benchmark: exact cosine search over 10,000 indexed pairs.
fn main() {}
