//! Which language the customer writes in: Greek letters against Latin letters, with a few
//! Greeklish words (Greek written in Latin letters) counted as Greek; Greek (the studio's
//! default) when unclear.

use inkdesk_domain::Language;

/// The language of a customer's messages and whether the text made it clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DetectedLanguage {
    /// The language to reply in.
    pub language: Language,
    /// False when the text gave too little evidence and the default was taken.
    pub clear: bool,
}

/// Fewer letters than this (emoji, "ok", a number) decide nothing.
const MIN_LETTERS: usize = 3;

/// Common Greeklish words: a customer typing Greek in Latin letters expects Greek back.
const GREEKLISH: &[&str] = &[
    "geia",
    "gia",
    "yia",
    "kalimera",
    "kalhmera",
    "kalispera",
    "kalhspera",
    "thelw",
    "thelo",
    "tha",
    "ithela",
    "hthela",
    "poso",
    "posa",
    "kostizei",
    "kanei",
    "mporw",
    "mporo",
    "mporeite",
    "efxaristw",
    "euxaristw",
    "eyxaristw",
    "efharisto",
    "nai",
    "oxi",
    "ok",
    "rantevou",
    "rantevoy",
    "tatouaz",
    "kai",
    "einai",
    "exete",
    "ena",
    "mia",
    "avrio",
    "aurio",
    "simera",
    "shmera",
    "wra",
    "ora",
];

/// Detects the language of `text`; when it is unclear, returns `default` with `clear: false`.
pub fn detect(text: &str, default: Language) -> DetectedLanguage {
    let (mut greek, mut latin) = (0usize, 0usize);
    for c in text.chars() {
        if is_greek_letter(c) {
            greek += 1;
        } else if c.is_alphabetic() && (c.is_ascii() || ('\u{00C0}'..='\u{024F}').contains(&c)) {
            latin += 1;
        }
    }
    if greek + latin < MIN_LETTERS {
        return DetectedLanguage {
            language: default,
            clear: false,
        };
    }
    if greek >= latin {
        return DetectedLanguage {
            language: Language::El,
            clear: true,
        };
    }
    if greek == 0 && looks_greeklish(text) {
        return DetectedLanguage {
            language: Language::El,
            clear: true,
        };
    }
    DetectedLanguage {
        language: Language::En,
        clear: true,
    }
}

/// Detects the language of the new messages; when they are unclear, the customer's earlier
/// messages (newest first) decide; when those are unclear too, `default`.
pub fn detect_in_conversation<'a>(
    new_text: &str,
    earlier_customer_texts: impl IntoIterator<Item = &'a str>,
    default: Language,
) -> DetectedLanguage {
    let now = detect(new_text, default);
    if now.clear {
        return now;
    }
    earlier_customer_texts
        .into_iter()
        .map(|t| detect(t, default))
        .find(|d| d.clear)
        .map(|d| DetectedLanguage {
            language: d.language,
            clear: false,
        })
        .unwrap_or(now)
}

fn is_greek_letter(c: char) -> bool {
    (('\u{0370}'..='\u{03FF}').contains(&c) || ('\u{1F00}'..='\u{1FFF}').contains(&c))
        && c.is_alphabetic()
}

/// Two or more Greeklish words, or one in a short message, mark the text as Greek.
fn looks_greeklish(text: &str) -> bool {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let hits = words
        .iter()
        .filter(|w| GREEKLISH.contains(&w.as_str()) && w.as_str() != "ok")
        .count();
    hits >= 2 || (hits == 1 && words.len() <= 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(text: &str) -> (Language, bool) {
        let d = detect(text, Language::El);
        (d.language, d.clear)
    }

    #[test]
    fn greek_letters_mean_greek_and_latin_letters_mean_english() {
        assert_eq!(lang("Γεια σας, πόσο κοστίζει;"), (Language::El, true));
        assert_eq!(lang("Hi, how much is this?"), (Language::En, true));
        assert_eq!(lang("Θέλω ένα fine line τατουάζ"), (Language::El, true));
    }

    #[test]
    fn greeklish_is_greek() {
        assert_eq!(
            lang("geia sas thelw na kleisw rantevou"),
            (Language::El, true)
        );
        assert_eq!(lang("poso kostizei?"), (Language::El, true));
        assert_eq!(
            lang("I would like a rose on my wrist"),
            (Language::En, true)
        );
    }

    #[test]
    fn emoji_numbers_and_photos_alone_are_unclear_and_take_the_default() {
        assert_eq!(lang("❤️❤️"), (Language::El, false));
        assert_eq!(lang("6912345678"), (Language::El, false));
        assert_eq!(lang(""), (Language::El, false));
        assert_eq!(detect("ok", Language::En).language, Language::En);
    }

    #[test]
    fn an_unclear_burst_follows_the_customers_earlier_language() {
        let d = detect_in_conversation("👍", ["Hello, do you have time on Friday?"], Language::El);
        assert_eq!(d.language, Language::En);
        assert!(!d.clear);
        let d = detect_in_conversation("👍", ["🙂"], Language::El);
        assert_eq!(d.language, Language::El);
    }
}
