//! `inkdesk slots | book | bookings | cancel` on the embedded calendar, as a user runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Monday 30 November 2026, 09:00 in Athens.
const NOW: &str = "--now=2026-11-30T07:00:00Z";

fn run(data: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_inkdesk"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .arg(NOW)
        .env_clear()
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn slots_json(data: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["slots", "--json"];
    all.extend(args);
    let (code, stdout, stderr) = run(data, &all);
    assert_eq!(code, Some(0), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn slots_spread_over_days_with_the_studios_offset() {
    let dir = tempfile::tempdir().unwrap();
    let slots = slots_json(
        dir.path(),
        &[
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-07",
            "--duration",
            "120",
        ],
    );
    let starts: Vec<&str> = slots.iter().map(|s| s["start"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "2026-12-01T11:00:00+02:00",
            "2026-12-02T11:00:00+02:00",
            "2026-12-03T11:00:00+02:00"
        ]
    );
    assert_eq!(slots[0]["end"], "2026-12-01T13:00:00+02:00");
}

#[test]
fn price_gives_the_duration_and_preferred_time_applies_on_the_first_day() {
    let dir = tempfile::tempdir().unwrap();
    // 130 € → 80 minutes.
    let slots = slots_json(
        dir.path(),
        &[
            "--from",
            "2026-12-01",
            "--price",
            "130",
            "--preferred",
            "15:00",
            "--limit",
            "1",
        ],
    );
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0]["start"], "2026-12-01T15:00:00+02:00");
    assert_eq!(slots[0]["end"], "2026-12-01T16:20:00+02:00");
}

#[test]
fn booking_fills_capacity_then_clashes_and_cancel_frees_it() {
    let dir = tempfile::tempdir().unwrap();
    let book = |name: &str, phone: &str| {
        run(
            dir.path(),
            &[
                "book",
                "--name",
                name,
                "--phone",
                phone,
                "--start",
                "2026-12-01T12:00:00+02:00",
                "--duration",
                "60",
                "--note",
                "rose",
            ],
        )
    };
    let (code, first, _) = book("Γιάννης Παπαδόπουλος", "691 234 5678");
    assert_eq!(code, Some(0));
    let first = first.trim().to_owned();
    assert_eq!(book("Άννα Παπά", "+30 6912345679").0, Some(0));
    // Capacity 2: the third booking at the same time clashes, with alternatives.
    let (code, _, stderr) = book("Έλενα", "6912345670");
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no longer free"), "{stderr}");

    let (code, stdout, _) = run(dir.path(), &["bookings", "--json"]);
    assert_eq!(code, Some(0));
    let bookings: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(bookings.len(), 2);
    assert!(bookings.iter().any(|b| b["phone"] == "+306912345678"));

    assert_eq!(run(dir.path(), &["cancel", &first]).0, Some(0));
    assert_eq!(book("Έλενα", "6912345670").0, Some(0));
    // Cancelling twice says there is no such booking.
    assert_eq!(run(dir.path(), &["cancel", &first]).0, Some(1));
}

#[test]
fn invalid_input_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["slots", "--from", "2026-13-01", "--duration", "60"][..],
        &["slots", "--from", "2026-12-01"],
        &["slots", "--from", "2026-12-01", "--duration", "0"],
        &[
            "book",
            "--name",
            "J",
            "--phone",
            "6912345678",
            "--start",
            "2026-12-01T12:00:00+02:00",
            "--duration",
            "60",
        ],
        &[
            "book",
            "--name",
            "John",
            "--phone",
            "12",
            "--start",
            "2026-12-01T12:00:00+02:00",
            "--duration",
            "60",
        ],
        &[
            "book",
            "--name",
            "John",
            "--phone",
            "6912345678",
            "--start",
            "tomorrow",
            "--duration",
            "60",
        ],
        &["cancel", "NOT-AN-ID"],
    ] {
        let (code, _, stderr) = run(dir.path(), args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
}
