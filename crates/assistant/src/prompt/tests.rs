use chrono::TimeZone;
use inkdesk_domain::{Language, StudioProfile};

use super::*;

fn prompts_for(language: Language) -> StudioPrompts {
    let profile = StudioProfile {
        language,
        ..StudioProfile::example()
    };
    StudioPrompts::new(&profile).unwrap()
}

fn turn(language: Language, clear: bool, pending: Option<&str>) -> TurnContext {
    TurnContext {
        // 2026-11-18 09:30 UTC = Wednesday 11:30 in Athens.
        now: Utc.with_ymd_and_hms(2026, 11, 18, 9, 30, 0).unwrap(),
        language: DetectedLanguage { language, clear },
        pending_confirmation: pending.map(str::to_owned),
        no_show: None,
    }
}

#[test]
fn greek_studios_get_the_same_english_instructions() {
    // Instructions are English for every studio (fewer tokens); replies follow the
    // customer's language, named in the turn note.
    assert_eq!(
        prompts_for(Language::El).system(),
        prompts_for(Language::En).system()
    );
}

#[test]
fn english_system_prompt_of_the_example_studio() {
    insta::assert_snapshot!("system_en", prompts_for(Language::En).system());
}

#[test]
fn system_prompt_shows_the_studio_facts_from_the_profile() {
    let prompts = prompts_for(Language::El);
    let system = prompts.system();
    for expected in [
        "Panda Ink Tattoo",
        "Αιόλου 42, Αθήνα 105 51",
        "Monday–Saturday: 11:00–20:00",
        "Sunday: closed",
        "Age 18+",
        "Price guide in €",
        "g7 Medium with shading 90/95;",
        "g9 Large freehand 180;",
        "❤️🐼",
        "Notice 3 hours",
        "up to 60 days",
        "promise no reminder",
    ] {
        assert!(system.contains(expected), "missing {expected:?}");
    }
    assert!(!system.contains("{{") && !system.contains("{%"));
}

#[test]
fn the_prompt_promises_only_the_reminders_the_configuration_can_send() {
    let profile = StudioProfile::example();
    // No Twilio: a DM only inside Meta's window, so nothing is promised.
    let dm_only = StudioPrompts::with_options(&profile, None, false).unwrap();
    assert!(dm_only.system().contains("promise no reminder"));
    assert!(!dm_only.system().contains("SMS"));
    let with_sms = StudioPrompts::with_options(&profile, None, true).unwrap();
    assert!(with_sms.system().contains("24 h before"));
    assert!(
        with_sms
            .system()
            .contains("ask once whether they want an SMS reminder")
    );
    let mut off = profile.clone();
    off.booking.reminder_hours = 0;
    let none = StudioPrompts::with_options(&off, None, true).unwrap();
    assert!(none.system().contains("We send no reminders."));
    assert!(!none.system().contains("SMS"));
}

#[test]
fn system_prompt_changes_with_the_profile() {
    let mut profile = StudioProfile::example();
    profile.name = "North Star Ink".to_owned();
    profile.sign_off = "✨".to_owned();
    profile.pricing.deposit_percent = 20;
    let prompts = StudioPrompts::new(&profile).unwrap();
    assert!(prompts.system().contains("North Star Ink"));
    // No way to be paid configured: no deposit is mentioned at all.
    assert!(!prompts.system().contains("20%"));
    assert!(!prompts.system().to_lowercase().contains("deposit"));
    assert!(!prompts.system().contains("Panda Ink"));
    assert!(
        prompts
            .fixed(Language::En, FixedText::Handoff)
            .ends_with('✨')
    );
}

#[test]
fn stable_prompt_holds_nothing_of_the_turn() {
    let prompts = prompts_for(Language::El);
    let tail = prompts
        .turn_context(&turn(Language::En, true, None))
        .unwrap();
    assert!(tail.contains("2026-11-18"));
    assert!(!prompts.system().contains("2026"));
}

#[test]
fn turn_context_gives_today_in_the_studio_zone() {
    let prompts = prompts_for(Language::El);
    // 23:30 UTC on the 18th is already the 19th in Athens.
    let late = TurnContext {
        now: Utc.with_ymd_and_hms(2026, 11, 18, 23, 30, 0).unwrap(),
        ..turn(Language::El, true, None)
    };
    let tail = prompts.turn_context(&late).unwrap();
    assert!(tail.contains("Thursday 2026-11-19"), "{tail}");
    assert!(tail.contains("Reply in Greek"), "{tail}");
    assert!(tail.contains("01:30"), "{tail}");
}

#[test]
fn greek_turn_context_with_a_pending_cancellation() {
    let tail = prompts_for(Language::El)
        .turn_context(&turn(
            Language::El,
            true,
            Some("ακύρωση του ραντεβού της Παρασκευής 20 Νοεμβρίου στις 14:00"),
        ))
        .unwrap();
    insta::assert_snapshot!("context_el_pending", tail);
}

#[test]
fn english_turn_context_with_an_unclear_language() {
    let tail = prompts_for(Language::En)
        .turn_context(&turn(Language::El, false, None))
        .unwrap();
    insta::assert_snapshot!("context_en_unclear", tail);
}

#[test]
fn vision_prompt_names_every_style_class() {
    let prompts = prompts_for(Language::El);
    insta::assert_snapshot!("vision_el", prompts.vision(Language::El));
    assert!(prompts.vision(Language::En).contains("in English"));
    for style in crate::tools::schema::STYLES {
        assert!(prompts.vision(Language::El).contains(style), "{style}");
    }
}

#[test]
fn fixed_texts_exist_in_both_languages_and_carry_the_sign_off() {
    let prompts = prompts_for(Language::El);
    let mut all = Vec::new();
    for language in [Language::El, Language::En] {
        for kind in [
            FixedText::Apology,
            FixedText::ComplaintAck,
            FixedText::Handoff,
        ] {
            let text = prompts.fixed(language, kind);
            assert!(text.ends_with("❤️🐼"), "{text}");
            all.push(format!("{language:?} {kind:?}: {text}"));
        }
    }
    assert!(
        prompts
            .fixed(Language::El, FixedText::Apology)
            .contains("Συγγνώμη")
    );
    assert!(
        prompts
            .fixed(Language::En, FixedText::Apology)
            .contains("Sorry")
    );
    insta::assert_snapshot!("fixed_texts", all.join("\n"));
}

#[test]
fn the_deposit_is_stated_only_when_taken_and_how_it_is_paid() {
    let mut profile = StudioProfile::example();
    profile.pricing.deposit_percent = 20;
    let manual =
        StudioPrompts::with_deposit(&profile, Some(crate::prompt::DepositWay::Instructions))
            .unwrap();
    let system = manual.system();
    assert!(system.contains("deposit of 20% of the price"), "{system}");
    assert!(
        system.contains("as the studio's instructions say within 24 h"),
        "{system}"
    );
    assert!(system.contains("take no online payment"), "{system}");
    let online =
        StudioPrompts::with_deposit(&profile, Some(crate::prompt::DepositWay::Link)).unwrap();
    assert!(online.system().contains("online by the link"));
    assert!(!online.system().contains("take no online payment"));
}
