//! `inkdesk quote` prints the §2 vectors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::{Value, json};

fn quote(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_inkdesk"))
        .arg("quote")
        .args(args)
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

fn quote_json(pieces: &[&str]) -> Value {
    let mut args = vec!["--json"];
    for piece in pieces {
        args.extend(["--piece", piece]);
    }
    let (code, stdout, stderr) = quote(&args);
    assert_eq!(code, Some(0), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn single_pieces_print_both_sizes_for_every_reference_vector() {
    for (piece, low, high) in [
        ("5,5,0.10,1.14", 45, 50),
        ("7,7,0.3,1.21", 60, 65),
        ("3,8,0.2,3.75", 95, 105),
        ("10,8,0.5,1.45", 130, 140),
        ("10,10,0.6,1.85", 215, 225),
        ("15,10,0.8,2.5", 465, 475),
        ("20,15,0.9,3.3", 1255, 1265),
    ] {
        let q = quote_json(&[piece]);
        assert_eq!(q["low"], json!(low), "{piece}");
        assert_eq!(q["high"], json!(high), "{piece}");
        assert_eq!(q["total"], json!(low), "{piece}");
        assert_eq!(q["pieces"], json!([low]), "{piece}");
    }
}

#[test]
fn several_pieces_print_the_discounted_total() {
    let q = quote_json(&["5,5,0.10,1.14", "10,8,0.5,heavy_shading"]);
    assert_eq!(q["pieces"], json!([45, 130]));
    assert_eq!(q["total"], json!(155));
    assert_eq!(q["low"], json!(155));
    let q = quote_json(&["7,7,0.3,1.21", "10,10,0.6,1.85"]);
    assert_eq!(q["total"], json!(245));
}

#[test]
fn duration_comes_with_the_quote() {
    assert_eq!(
        quote_json(&["10,8,0.5,1.45"])["duration_minutes"],
        json!(80)
    );
    let (code, stdout, _) = quote(&["--piece", "10,8,0.5,1.45"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("130 €") && stdout.contains("140 €"),
        "{stdout}"
    );
    assert!(stdout.contains("1 h 20 min"), "{stdout}");
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    for bad in [
        "-5,5,0.1,1.14",
        "5,5,0.1,fancy",
        "5,5,1.5,1.14",
        "5,5",
        "a,b,c,d",
    ] {
        let (code, stdout, stderr) = quote(&["--piece", bad]);
        assert_eq!(code, Some(2), "{bad}");
        assert!(stdout.is_empty(), "{bad}");
        assert_eq!(stderr.trim().lines().count(), 1, "{bad}: {stderr}");
    }
}
