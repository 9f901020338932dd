//! `inkdesk check-config` as a user runs it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn inkdesk() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_inkdesk"));
    // Start from a clean slate: no inherited settings, no .env in the working dir.
    cmd.env_clear().current_dir(std::env::temp_dir());
    cmd
}

#[test]
fn prints_the_builtin_example_and_whats_missing_for_production() {
    let out = inkdesk().arg("check-config").output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("# studio profile: built-in example"));
    assert!(stdout.contains("time_zone = \"Europe/Athens\""));
    assert!(stdout.contains("IG_APP_SECRET: webhook POSTs are refused"));
}

#[test]
fn an_invalid_profile_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("studio.toml");
    std::fs::write(&path, "[booking]\ncapacity = 0\n").unwrap();
    let out = inkdesk()
        .args(["check-config", "--studio"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("booking.capacity"), "{stderr}");
}

#[test]
fn secrets_from_the_environment_are_hidden() {
    let out = inkdesk()
        .arg("check-config")
        .env("OPENAI_API_KEY", "sk-do-not-print")
        .env("IG_APP_SECRET", "app-do-not-print")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("do-not-print"));
    assert!(stdout.contains("OPENAI_API_KEY = set (hidden)"));
}
