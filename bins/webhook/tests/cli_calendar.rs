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

/// A studio with two artists: Maria keeps the studio's hours, Nikos works Tuesdays
/// 11:00–14:00 and 17:00–20:00.
const ARTISTS: &str = r#"
name = "Two Artists"
[booking]
capacity = 5
[[artists]]
key = "maria"
name = "Maria"
styles = ["realistic"]
[[artists]]
key = "nikos"
name = "Nikos"
styles = ["line_work"]
[artists.hours]
tuesday = "11:00-14:00, 17:00-20:00"
"#;

fn artist_studio(dir: &Path) -> String {
    let path = dir.join("studio.toml");
    std::fs::write(&path, ARTISTS).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn artists_from_slots_to_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let studio = artist_studio(dir.path());
    let data = dir.path().join("data");
    let with = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--studio", studio.as_str()]);
        run(&data, &all)
    };
    // Nikos on Tuesday: the morning span, then the evening one, nothing in the break.
    let (code, stdout, stderr) = with(&[
        "slots",
        "--json",
        "--from",
        "2026-12-01",
        "--duration",
        "60",
        "--artist",
        "nikos",
        "--limit",
        "10",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let slots: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let starts: Vec<&str> = slots.iter().map(|s| s["start"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "2026-12-01T11:00:00+02:00",
            "2026-12-01T12:00:00+02:00",
            "2026-12-01T13:00:00+02:00",
            "2026-12-01T17:00:00+02:00",
            "2026-12-01T18:00:00+02:00",
            "2026-12-01T19:00:00+02:00"
        ]
    );
    assert!(slots.iter().all(|s| s["artist"] == "nikos"));

    // Booked with Maria at 15:00; any artist at 15:00 is then nobody (Nikos is on his break).
    let (code, id, stderr) = with(&[
        "book",
        "--name",
        "Γιάννης Παπαδόπουλος",
        "--phone",
        "6912345678",
        "--start",
        "2026-12-01T15:00:00+02:00",
        "--duration",
        "60",
        "--artist",
        "maria",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let id = id.trim().to_owned();
    let (code, _, stderr) = with(&[
        "book",
        "--name",
        "Μαρία Κ",
        "--phone",
        "6912345679",
        "--start",
        "2026-12-01T15:00:00+02:00",
        "--duration",
        "60",
    ]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no longer free"), "{stderr}");
    // Unnamed at 12:00: the first artist free, Maria.
    let (code, _, stderr) = with(&[
        "book",
        "--name",
        "Μαρία Κ",
        "--phone",
        "6912345679",
        "--start",
        "2026-12-01T12:00:00+02:00",
        "--duration",
        "60",
    ]);
    assert_eq!(code, Some(0), "{stderr}");

    let (code, stdout, _) = with(&["bookings", "--json"]);
    assert_eq!(code, Some(0));
    let bookings: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(bookings.len(), 2);
    assert!(
        bookings.iter().all(|b| b["artist"] == "maria"),
        "{bookings:?}"
    );
    let (_, stdout, _) = with(&["bookings", "--json", "--artist", "nikos"]);
    assert_eq!(stdout.trim(), "[]");

    // slots --json names the artist of each slot when any artist will do.
    let (_, stdout, _) = with(&[
        "slots",
        "--json",
        "--from",
        "2026-12-01",
        "--duration",
        "60",
        "--preferred",
        "12:00",
        "--limit",
        "1",
    ]);
    let slots: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(slots[0]["start"], "2026-12-01T12:00:00+02:00");
    assert_eq!(slots[0]["artist"], "nikos");

    // An unknown artist is bad input; cancelling with the wrong artist changes nothing.
    let (code, _, stderr) = with(&[
        "slots",
        "--from",
        "2026-12-01",
        "--duration",
        "60",
        "--artist",
        "petros",
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("maria, nikos"), "{stderr}");
    let (code, _, stderr) = with(&["cancel", &id, "--artist", "nikos"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("not nikos's"), "{stderr}");
    let (code, stdout, _) = with(&["cancel", &id, "--artist", "maria"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("cancelled"));
}

#[test]
fn block_closes_days_for_the_studio_or_one_artist_until_unblocked() {
    let dir = tempfile::tempdir().unwrap();
    let studio = artist_studio(dir.path());
    let data = dir.path().join("data");
    let with = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--studio", studio.as_str()]);
        run(&data, &all)
    };
    let day_slots = |artist: Option<&str>| {
        let mut args = vec![
            "slots",
            "--json",
            "--from",
            "2026-12-02",
            "--duration",
            "60",
        ];
        if let Some(a) = artist {
            args.extend(["--artist", a]);
        }
        let (code, stdout, stderr) = with(&args);
        assert_eq!(code, Some(0), "{stderr}");
        serde_json::from_str::<Vec<Value>>(&stdout).unwrap()
    };
    let (code, maria_away, stderr) = with(&[
        "block",
        "--from",
        "2026-12-02",
        "--artist",
        "maria",
        "--reason",
        "seminar",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(day_slots(Some("maria")).is_empty());
    let open = day_slots(None);
    assert!(!open.is_empty() && open.iter().all(|s| s["artist"] == "nikos"));

    let (code, studio_away, _) = with(&[
        "block",
        "--from",
        "2026-12-02",
        "--to",
        "2026-12-03",
        "--reason",
        "holidays",
    ]);
    assert_eq!(code, Some(0));
    assert!(day_slots(None).is_empty());
    let (_, listed, _) = with(&["closures"]);
    assert!(
        listed.contains("seminar") && listed.contains("holidays"),
        "{listed}"
    );
    assert!(listed.contains(studio_away.trim()));

    let (code, _, _) = with(&["unblock", studio_away.trim()]);
    assert_eq!(code, Some(0));
    let (code, _, _) = with(&["unblock", maria_away.trim()]);
    assert_eq!(code, Some(0));
    assert!(
        day_slots(Some("maria"))
            .iter()
            .all(|s| s["artist"] == "maria")
    );
    assert!(!day_slots(Some("maria")).is_empty());
    let (code, _, stderr) = with(&["unblock", maria_away.trim()]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no closure"), "{stderr}");
    let (code, _, stderr) = with(&["block", "--from", "2026-12-05", "--to", "2026-12-04"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("before it starts"), "{stderr}");
}
