//! Properties of `split_message` over arbitrary text (Greek, emoji, ZWJ, whitespace).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use inkdesk_messaging::split_message;
use proptest::prelude::*;
use unicode_segmentation::UnicodeSegmentation;

fn blank(g: &str) -> bool {
    g.chars().all(char::is_whitespace)
}

fn non_ws(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Text built from pieces that stress every boundary level.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Καλημέρα".to_owned()),
        Just("ά".to_owned()),
        Just("α\u{301}".to_owned()),
        Just("👍🏽".to_owned()),
        Just("👨‍👩‍👧‍👦".to_owned()),
        Just("🇬🇷".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just(". ".to_owned()),
        Just("; ".to_owned()),
        Just("\t".to_owned()),
        "[a-z]{1,12}",
        "\\PC{1,6}",
    ];
    prop::collection::vec(piece, 0..120).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn chunks_fit_are_trimmed_and_keep_all_content_in_order(t in text(), max in 4usize..300) {
        let chunks = split_message(&t, max);
        for c in &chunks {
            prop_assert!(c.len() <= max, "{} > {max}: {c:?}", c.len());
            prop_assert!(!c.is_empty());
            // Trimmed of whitespace clusters (a space carrying a combining mark stays).
            let first = c.graphemes(true).next().unwrap();
            let last = c.graphemes(true).next_back().unwrap();
            prop_assert!(!blank(first) && !blank(last), "untrimmed chunk {c:?}");
        }
        prop_assert_eq!(non_ws(&chunks.concat()), non_ws(&t));
    }

    #[test]
    fn cuts_fall_on_grapheme_boundaries_when_every_cluster_fits(t in text(), max in 30usize..300) {
        // Every generated cluster is ≤ 25 bytes (the ZWJ family), so none needs breaking.
        prop_assume!(t.graphemes(true).all(|g| g.len() <= max));
        let chunks = split_message(&t, max);
        let boundaries: Vec<usize> = t.grapheme_indices(true).map(|(i, _)| i).collect();
        let mut cursor = 0;
        for c in &chunks {
            // Chunks appear in order; locate each after the previous one.
            let start = cursor + t[cursor..].find(c.as_str()).unwrap();
            let end = start + c.len();
            prop_assert!(boundaries.contains(&start), "{c:?} starts mid-cluster");
            prop_assert!(end == t.len() || boundaries.contains(&end), "{c:?} ends mid-cluster");
            cursor = end;
        }
    }
}
