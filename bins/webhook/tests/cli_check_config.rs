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

#[test]
fn deposits_say_whether_they_are_on_and_stripe_needs_its_secrets() {
    // The example asks 30 % but names no way to be paid: deposits are off, and it says so.
    let out = inkdesk().arg("check-config").output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("INKDESK_PAYMENTS = manual"), "{stdout}");
    assert!(stdout.contains("deposits: OFF"), "{stdout}");

    let out = inkdesk()
        .arg("check-config")
        .env("INKDESK_PAYMENTS", "stripe")
        .env("STRIPE_SECRET_KEY", "sk_test_do-not-print")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains("do-not-print"), "{stdout}");
    assert!(
        stdout.contains("STRIPE_SECRET_KEY = set (hidden)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("deposits: 30% by Stripe Checkout, held 24 h"),
        "{stdout}"
    );
    assert!(
        stdout.contains("STRIPE_WEBHOOK_SECRET: INKDESK_PAYMENTS=stripe cannot verify"),
        "{stdout}"
    );

    // Manual methods from the profile, with a wrong IBAN named.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("studio.toml");
    std::fs::write(
        &path,
        "[[payments.methods]]\nkind = \"bank_transfer\"\nbeneficiary = \"Ink IKE\"\niban = \"GR17 0110 1250 0000 0001 2300 695\"\n",
    )
    .unwrap();
    let out = inkdesk()
        .args(["check-config", "--studio"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("deposits: 30% by the studio's instructions"),
        "{stdout}"
    );
    assert!(stdout.contains("is not a valid IBAN"), "{stdout}");

    let out = inkdesk()
        .arg("check-config")
        .env("INKDESK_PAYMENTS", "paypal")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("manual or stripe")
    );
}
