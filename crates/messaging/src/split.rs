//! Splitting replies into pieces Instagram accepts: at most 1000 bytes of UTF-8 each.
//!
//! Greedy packing over a hierarchy of boundaries: paragraphs, then lines, then sentences
//! (UAX #29), then words, then grapheme clusters. A segment that fits is added to the current
//! chunk; one that does not starts a new chunk; one that cannot fit in any chunk is split at
//! the next finer boundary. Chunks are trimmed and never empty, so the only thing lost is the
//! whitespace at chunk edges.

use unicode_segmentation::{GraphemeCursor, UnicodeSegmentation};

/// Instagram's limit for one text message, in bytes of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 1000;

/// The smallest limit honoured: one `char` is up to 4 bytes.
const MIN_MAX_BYTES: usize = 4;

/// Splits `text` into trimmed (of whitespace clusters), non-empty chunks of at most `max_bytes` bytes (at least 4).
///
/// Chunks never break a grapheme cluster (an emoji with its skin tone or a ZWJ family, a
/// Greek letter with its accent) — except a single cluster longer than `max_bytes`, which
/// can only be sent at all by breaking it between `char`s.
pub fn split_message(text: &str, max_bytes: usize) -> Vec<String> {
    let mut packer = Packer {
        max: max_bytes.max(MIN_MAX_BYTES),
        current: String::new(),
        chunks: Vec::new(),
    };
    packer.pack(text, Level::Paragraph);
    packer.flush();
    packer.chunks
}

#[derive(Clone, Copy)]
enum Level {
    Paragraph,
    Line,
    Sentence,
    Word,
    Grapheme,
    Char,
}

impl Level {
    fn finer(self) -> Level {
        match self {
            Level::Paragraph => Level::Line,
            Level::Line => Level::Sentence,
            Level::Sentence => Level::Word,
            Level::Word => Level::Grapheme,
            Level::Grapheme | Level::Char => Level::Char,
        }
    }

    /// Segments of `text` at this level; concatenated they give back `text`.
    fn segments(self, text: &str) -> Vec<&str> {
        match self {
            Level::Paragraph => text.split_inclusive("\n\n").collect(),
            Level::Line => text.split_inclusive('\n').collect(),
            Level::Sentence => on_cluster_bounds(text, text.split_sentence_bounds()),
            Level::Word => on_cluster_bounds(text, text.split_word_bounds()),
            Level::Grapheme => text.graphemes(true).collect(),
            Level::Char => text
                .char_indices()
                .map(|(i, c)| &text[i..i + c.len_utf8()])
                .collect(),
        }
    }
}

/// Joins segments whose boundary is not a grapheme-cluster boundary. Sentence and word
/// rules (UAX #29) mostly agree with cluster rules, but not always (a Thai SARA AM after
/// `?` is a sentence break inside a cluster).
fn on_cluster_bounds<'a>(text: &'a str, segments: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for seg in segments {
        offset += seg.len();
        let at_boundary = offset == text.len()
            || GraphemeCursor::new(offset, text.len(), true)
                .is_boundary(text, 0)
                .unwrap_or(true);
        if at_boundary {
            out.push(&text[start..offset]);
            start = offset;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

struct Packer {
    max: usize,
    /// The chunk being filled; never starts with whitespace.
    current: String,
    chunks: Vec<String>,
}

impl Packer {
    fn pack(&mut self, text: &str, level: Level) {
        for seg in level.segments(text) {
            // Trailing whitespace costs nothing if this turns out to be the chunk's end, and
            // is counted by the next segment's check if it does not.
            if self.current.len() + trim_end(seg).len() <= self.max {
                self.push(seg);
            } else if trim_start(trim_end(seg)).len() <= self.max {
                self.flush();
                self.push(seg);
            } else {
                self.flush();
                self.pack(seg, level.finer());
            }
        }
    }

    fn push(&mut self, seg: &str) {
        if self.current.is_empty() {
            self.current.push_str(trim_start(seg));
        } else {
            self.current.push_str(seg);
        }
    }

    fn flush(&mut self) {
        let chunk = trim_end(&self.current);
        if !chunk.is_empty() {
            self.chunks.push(chunk.to_owned());
        }
        self.current.clear();
    }
}

/// True for a grapheme cluster made only of whitespace.
fn is_blank(g: &str) -> bool {
    g.chars().all(char::is_whitespace)
}

/// Drops leading whitespace clusters. Unlike `str::trim_start` this never separates a
/// combining mark from the space it is attached to.
fn trim_start(s: &str) -> &str {
    match s.grapheme_indices(true).find(|(_, g)| !is_blank(g)) {
        Some((i, _)) => &s[i..],
        None => "",
    }
}

/// Drops trailing whitespace clusters (see [`trim_start`]).
fn trim_end(s: &str) -> &str {
    match s.grapheme_indices(true).rev().find(|(_, g)| !is_blank(g)) {
        Some((i, g)) => &s[..i + g.len()],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn non_ws(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    fn check_invariants(text: &str, max: usize, chunks: &[String]) {
        for c in chunks {
            assert!(c.len() <= max, "chunk of {} bytes > {max}", c.len());
            assert!(!c.is_empty());
            assert_eq!(trim_start(trim_end(c)), c, "chunk not trimmed: {c:?}");
        }
        assert_eq!(non_ws(&chunks.concat()), non_ws(text));
    }

    #[test]
    fn short_text_is_one_trimmed_chunk_and_blank_text_is_none() {
        assert_eq!(split_message("  Γεια σας!\n", 1000), vec!["Γεια σας!"]);
        assert!(split_message(" \n\n \t", 1000).is_empty());
        assert!(split_message("", 1000).is_empty());
    }

    #[test]
    fn paragraphs_are_preferred_over_lines_and_sentences() {
        let p1 = format!("{}.", "α".repeat(200)); // 401 bytes
        let p2 = format!("{}.\n{}.", "β".repeat(150), "γ".repeat(150));
        let text = format!("{p1}\n\n{p2}");
        let chunks = split_message(&text, 700);
        assert_eq!(chunks, vec![p1, p2]);
    }

    #[test]
    fn lines_then_sentences_then_words_when_paragraphs_are_too_long() {
        let line1 = "One sentence here. Another one follows.";
        let line2 = "A second line.";
        let text = format!("{line1}\n{line2}");
        assert_eq!(split_message(&text, 45), vec![line1, line2]);
        assert_eq!(
            split_message(line1, 25),
            vec!["One sentence here.", "Another one follows."]
        );
        assert_eq!(
            split_message("alpha beta gamma delta", 11),
            vec!["alpha beta", "gamma delta"]
        );
    }

    #[test]
    fn greek_text_is_split_by_bytes_not_characters() {
        // 800 Greek letters with accents are ~1600 bytes: over Meta's limit although under
        // 1000 characters (the predecessor's bug).
        let sentence = "Καλημέρα σας, ευχαριστούμε για το μήνυμά σας! ";
        let text = sentence.repeat(40);
        assert!(text.chars().count() < 2000 && text.len() > 3000);
        let chunks = split_message(&text, MAX_MESSAGE_BYTES);
        check_invariants(&text, MAX_MESSAGE_BYTES, &chunks);
        assert!(chunks.len() >= 4);
        assert!(
            chunks.iter().all(|c| c.ends_with('!')),
            "split at sentence ends"
        );
    }

    #[test]
    fn emoji_with_modifiers_and_zwj_families_stay_whole() {
        let family = "👨‍👩‍👧‍👦"; // 25 bytes, one grapheme
        let thumbs = "👍🏽"; // 8 bytes, one grapheme
        let text = format!("{family}{thumbs}").repeat(50); // one 1650-byte "word"
        let chunks = split_message(&text, 100);
        check_invariants(&text, 100, &chunks);
        assert_eq!(chunks.concat(), text);
        for c in &chunks {
            for g in c.graphemes(true) {
                assert!(g == family || g == thumbs, "broken cluster {g:?}");
            }
        }
    }

    #[test]
    fn one_3000_byte_word_is_cut_at_grapheme_boundaries() {
        let word = "ά".repeat(1500); // each 'ά' 2 bytes (precomposed)
        let decomposed = "α\u{301}".repeat(750); // 4 bytes per cluster
        for text in [word, decomposed] {
            assert_eq!(text.len(), 3000);
            let chunks = split_message(&text, MAX_MESSAGE_BYTES);
            check_invariants(&text, MAX_MESSAGE_BYTES, &chunks);
            assert_eq!(chunks.concat(), text);
            assert_eq!(chunks.len(), 3);
            for c in &chunks {
                assert!(
                    !c.starts_with('\u{301}'),
                    "accent separated from its letter"
                );
            }
        }
    }

    #[test]
    fn a_single_cluster_longer_than_the_limit_is_broken_between_chars() {
        let zalgo = format!("a{}", "\u{301}".repeat(20)); // 41 bytes, one grapheme
        let chunks = split_message(&zalgo, 10);
        check_invariants(&zalgo, 10, &chunks);
        assert_eq!(chunks.concat(), zalgo);
    }

    #[test]
    fn a_combining_mark_on_a_space_is_not_trimmed_off_its_space() {
        let text = "ab \u{aa29}";
        assert_eq!(split_message(text, 100), vec![text]);
        assert_eq!(split_message(" \u{301}x", 100), vec![" \u{301}x"]);
    }

    #[test]
    fn sentence_breaks_inside_a_cluster_are_not_used() {
        // '?' + U+0E33 is one grapheme cluster although UAX #29 puts a sentence break in it.
        let text = format!("{}?\u{e33}{}", "a".repeat(8), "b".repeat(8));
        let chunks = split_message(&text, 12);
        check_invariants(&text, 12, &chunks);
        for c in &chunks {
            assert!(!c.starts_with('\u{e33}'), "{chunks:?}");
        }
    }

    #[test]
    fn tiny_limits_are_raised_to_one_char() {
        let chunks = split_message("😀😀", 1);
        assert_eq!(chunks, vec!["😀", "😀"]);
    }
}
