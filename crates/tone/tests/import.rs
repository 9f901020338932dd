#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Import of an Instagram export fixture: split files, mojibake, greeting, duplicates,
//! scrubbing, and the review file's approval rule.

use std::path::PathBuf;
use std::sync::Mutex;

use inkdesk_tone::review::{read_approved, read_jsonl};
use inkdesk_tone::{NoProgress, Progress, Stage, ToneError, import_inbox};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/export")
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Progress for Recorder {
    fn begin(&self, stage: Stage, total: u64) {
        self.0
            .lock()
            .unwrap()
            .push(format!("begin {stage:?} {total}"));
    }
    fn advance(&self, delta: u64) {
        self.0.lock().unwrap().push(format!("advance {delta}"));
    }
    fn finish(&self) {
        self.0.lock().unwrap().push("finish".into());
    }
}

#[test]
fn export_with_split_files_and_mojibake_becomes_scrubbed_review_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("review.jsonl");
    let progress = Recorder::default();
    let report = import_inbox(&fixture(), "Panda Ink Studio", &out, &progress).unwrap();

    assert_eq!(report.threads, 3);
    assert_eq!(report.greetings_removed, 3);
    assert_eq!(report.too_short, 1);
    assert_eq!(report.duplicates, 1);
    assert_eq!(report.written, 5);

    let examples = read_jsonl(&out).unwrap();
    let pairs: Vec<(&str, &str)> = examples
        .iter()
        .map(|e| (e.customer.as_str(), e.studio.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (
                "Hi, do you do fine line tattoos?",
                "Yes we do! Send us a photo of the design and the size in cm"
            ),
            (
                "Καλησπέρα! Θα ήθελα ένα τατουάζ με λουλούδι",
                "Πολύ ωραίο σχέδιο! Σε ποιο σημείο το θέλετε;"
            ),
            (
                "Και πόσο θα κοστίσει περίπου;\nΓύρω στα 10 εκατοστά",
                "Για αυτό το μέγεθος η τιμή είναι [price] και κρατάει 2 ώρες"
            ),
            (
                "Τέλεια! Μπορώ Παρασκευή;",
                "Ναι, σας κλείνουμε Παρασκευή [time] στις [time] 😊"
            ),
            (
                "Πόσο κάνει ένα μικρό σχέδιο στον καρπό;",
                "Ένα μικρό στον καρπό κάνει [price], ανάλογα τις λεπτομέρειες"
            ),
        ]
    );
    assert!(examples.iter().all(|e| e.approved == Some(false)));
    assert_eq!(examples[2].thread, "mariapapadopoulou_1234567890");
    assert_eq!(examples[2].at.timestamp_millis(), 1_700_000_006_000);

    let events = progress.0.lock().unwrap().clone();
    assert_eq!(events.first().unwrap(), "begin ReadingThreads 3");
    assert_eq!(events.iter().filter(|e| *e == "advance 1").count(), 3);
    assert_eq!(events.last().unwrap(), "finish");
}

#[test]
fn unreviewed_import_cannot_be_indexed_until_lines_are_approved() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("review.jsonl");
    import_inbox(&fixture(), "Panda Ink Studio", &out, &NoProgress).unwrap();
    assert!(matches!(
        read_approved(&out),
        Err(ToneError::NothingApproved { .. })
    ));

    let text = std::fs::read_to_string(&out).unwrap();
    let first = text
        .lines()
        .next()
        .unwrap()
        .replace("\"approved\":false", "\"approved\":true");
    let rest: Vec<&str> = text.lines().skip(1).collect();
    std::fs::write(&out, format!("{first}\n{}\n", rest.join("\n"))).unwrap();
    let approved = read_approved(&out).unwrap();
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0].customer, "Hi, do you do fine line tattoos?");
}

#[test]
fn a_folder_without_an_inbox_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = import_inbox(dir.path(), "x", &dir.path().join("o.jsonl"), &NoProgress).unwrap_err();
    assert!(matches!(err, ToneError::ExportNotFound { .. }));
}

#[test]
fn studio_name_decides_the_sides() {
    // With another display name every message is the customer's: no pairs at all.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("review.jsonl");
    let report = import_inbox(&fixture(), "Someone Else", &out, &NoProgress).unwrap();
    assert_eq!(report.written, 0);
}
