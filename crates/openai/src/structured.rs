//! Turning a reply into the caller's type: strict JSON first, then the first balanced
//! JSON object found in the text (for servers that ignore `response_format` and wrap the
//! object in prose or a code fence).

use serde::de::DeserializeOwned;

use crate::error::MalformedOutput;

/// Parses `text` as a `T`.
///
/// Tries the whole text as JSON; failing that, every balanced `{…}` object in order
/// (string contents and escapes are respected, so braces inside strings do not count),
/// and returns the first that deserialises into `T`.
pub fn parse_json_reply<T: DeserializeOwned>(text: &str) -> Result<T, MalformedOutput> {
    let first_error = match serde_json::from_str::<T>(text.trim()) {
        Ok(value) => return Ok(value),
        Err(e) => e.to_string(),
    };
    let mut last_error = None;
    let mut from = 0;
    while let Some((start, end)) = find_json_object(text, from) {
        match serde_json::from_str::<T>(&text[start..end]) {
            Ok(value) => return Ok(value),
            Err(e) => last_error = Some(e.to_string()),
        }
        from = start + 1;
    }
    Err(MalformedOutput {
        raw: text.to_owned(),
        reason: match last_error {
            Some(e) => format!("no JSON object in the reply has the expected shape: {e}"),
            None => format!("no JSON object in the reply: {first_error}"),
        },
    })
}

/// The byte range of the first balanced JSON object starting at or after `from`.
///
/// Only checks that braces balance outside strings; whether the slice is valid JSON is
/// left to the parser.
pub fn find_json_object(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut start = from;
    loop {
        start += bytes.get(start..)?.iter().position(|&b| b == b'{')?;
        if let Some(end) = balanced_end(bytes, start) {
            return Some((start, end));
        }
        start += 1;
    }
}

/// Index just past the `}` that closes the `{` at `start`, if it is closed.
fn balanced_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Measure {
        height_cm: f64,
        note: String,
    }

    #[test]
    fn plain_json_parses_directly() {
        let m: Measure = parse_json_reply(r#" {"height_cm": 12.5, "note": "rose"} "#).unwrap();
        assert_eq!(m.height_cm, 12.5);
    }

    #[test]
    fn object_inside_prose_and_code_fence_is_found() {
        let text = "Sure! Here it is:\n```json\n{\"height_cm\": 8, \"note\": \"a } brace {\"}\n```\nAnything else?";
        let m: Measure = parse_json_reply(text).unwrap();
        assert_eq!(m.note, "a } brace {");
    }

    #[test]
    fn escaped_quotes_inside_strings_do_not_end_the_string() {
        let text = r#"x {"height_cm": 1, "note": "say \"}\" twice \\"} y"#;
        let m: Measure = parse_json_reply(text).unwrap();
        assert_eq!(m.note, r#"say "}" twice \"#);
    }

    #[test]
    fn skips_objects_of_the_wrong_shape_and_takes_the_first_that_fits() {
        let text = r#"{"thinking": "..."} then {"height_cm": 3, "note": "ok"}"#;
        let m: Measure = parse_json_reply(text).unwrap();
        assert_eq!(m.note, "ok");
    }

    #[test]
    fn nested_object_is_found_when_outer_does_not_fit() {
        let text = r#"{"result": {"height_cm": 3, "note": "inner"}"#; // outer never closes
        let m: Measure = parse_json_reply(text).unwrap();
        assert_eq!(m.note, "inner");
    }

    #[test]
    fn text_without_a_fitting_object_is_malformed_output_with_raw_text() {
        let err = parse_json_reply::<Measure>("I cannot see a tattoo {here").unwrap_err();
        assert_eq!(err.raw, "I cannot see a tattoo {here");
        assert!(err.reason.starts_with("no JSON object"), "{}", err.reason);
        let err = parse_json_reply::<Measure>(r#"{"height_cm": "tall"}"#).unwrap_err();
        assert!(err.reason.contains("expected shape"), "{}", err.reason);
    }

    #[test]
    fn finds_byte_ranges_with_multibyte_text_around() {
        let text = "Ύψος: {\"a\": \"ένα\"} τέλος";
        let (s, e) = find_json_object(text, 0).unwrap();
        assert_eq!(&text[s..e], "{\"a\": \"ένα\"}");
        assert_eq!(find_json_object(text, e), None);
    }
}
