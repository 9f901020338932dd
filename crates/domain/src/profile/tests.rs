use super::*;

#[test]
fn example_profile_parses_and_carries_the_first_studios_defaults() {
    let profile = StudioProfile::from_toml_str(EXAMPLE_TOML).unwrap();
    assert_eq!(profile.time_zone, chrono_tz::Europe::Athens);
    assert_eq!(profile.booking.capacity, 2);
    assert_eq!(profile.booking.slot_step_minutes, 60);
    assert_eq!(profile.booking.min_notice_minutes, 180);
    assert_eq!(profile.booking.horizon_days, 60);
    assert_eq!(profile.booking.hold_minutes, 30);
    assert_eq!(profile.booking.max_appointment_minutes, 600);
    assert_eq!(profile.conversation.debounce_seconds, 20);
    assert_eq!(profile.conversation.takeover_mute_minutes, 120);
    assert_eq!(profile.pricing.max_price, rust_decimal::Decimal::from(5000));
    assert_eq!(profile.pricing.deposit_percent, 30);
    assert_eq!(profile.policies.minimum_age, 18);
    assert_eq!(profile.sign_off, "❤️🐼");
    assert_eq!(profile.language, Language::El);
    assert!(profile.hours.on(chrono::Weekday::Sun).is_empty());
    assert_eq!(profile.price_guide.len(), 11);
    assert_eq!(StudioProfile::example(), profile);
}

#[test]
fn an_empty_file_gives_every_default() {
    let profile = StudioProfile::from_toml_str("").unwrap();
    assert_eq!(profile, StudioProfile::default());
}

#[test]
fn profile_round_trips_through_toml() {
    let profile = StudioProfile::example();
    let text = profile.to_toml_string().unwrap();
    assert_eq!(StudioProfile::from_toml_str(&text).unwrap(), profile);
}

fn error_of(toml: &str) -> String {
    StudioProfile::from_toml_str(toml).unwrap_err().to_string()
}

#[test]
fn closing_before_opening_is_refused_naming_the_day() {
    let msg = error_of("[hours]\nmonday = \"20:00-11:00\"\n");
    assert!(msg.contains("monday") && msg.contains("not after"), "{msg}");
}

#[test]
fn unknown_time_zone_is_refused_naming_the_field() {
    let msg = error_of("time_zone = \"Europe/Atlantis\"\n");
    assert!(
        msg.contains("time_zone") && msg.contains("Europe/Atlantis"),
        "{msg}"
    );
}

#[test]
fn zero_capacity_is_refused_naming_the_field() {
    let msg = error_of("[booking]\ncapacity = 0\n");
    assert!(msg.contains("booking.capacity"), "{msg}");
}

#[test]
fn unknown_keys_and_bad_values_are_refused() {
    assert!(error_of("[booking]\ncapacty = 2\n").contains("capacty"));
    assert!(error_of("phone_region = \"XX\"\n").contains("phone_region"));
    assert!(error_of("currency = \"euro\"\n").contains("currency"));
    assert!(error_of("[hours]\nmonday = \"closed\"\ntuesday = \"closed\"\nwednesday = \"closed\"\nthursday = \"closed\"\nfriday = \"closed\"\nsaturday = \"closed\"\nsunday = \"closed\"\n").contains("hours"));
}

#[test]
fn a_half_hour_offset_zone_is_accepted() {
    let profile = StudioProfile::from_toml_str("time_zone = \"Asia/Kolkata\"\n").unwrap();
    assert_eq!(profile.time_zone, chrono_tz::Asia::Kolkata);
}

#[test]
fn default_price_guide_lists_the_reference_prices() {
    let prices: Vec<(String, String)> = PriceGuideItem::defaults()
        .into_iter()
        .map(|e| {
            let high = e.high.map(|h| format!("/{h}")).unwrap_or_default();
            (e.key, format!("{}{high}", e.low))
        })
        .collect();
    let expected = [
        ("very_small_simple", "40/45"),
        ("small_simple", "50/55"),
        ("small_shaded", "60/65"),
        ("small_flat_colour", "65/70"),
        ("fine_line_photo", "70/75"),
        ("small_lettering", "40/45"),
        ("medium_shaded", "90/95"),
        ("realistic", "160/180"),
        ("large_freehand", "180"),
        ("large_realistic_layered", "280/320"),
        ("retouch", "25/30"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, p)| ((*k).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(prices, expected);
    assert_eq!(
        StudioProfile::example().price_guide,
        PriceGuideItem::defaults()
    );
}

#[test]
fn voice_note_caps_default_and_out_of_range_values_name_their_field() {
    let profile = StudioProfile::example();
    assert_eq!(profile.voice_notes.max_seconds, 180);
    assert!(profile.voice_notes.transcribe);
    let too_large = "name = \"X\"\n[voice_notes]\nmax_bytes = 30000000\n";
    let error = StudioProfile::from_toml_str(too_large)
        .unwrap_err()
        .to_string();
    assert!(error.contains("voice_notes.max_bytes"), "{error}");
    let zero = "name = \"X\"\n[voice_notes]\nmax_seconds = 0\n";
    let error = StudioProfile::from_toml_str(zero).unwrap_err().to_string();
    assert!(error.contains("voice_notes.max_seconds"), "{error}");
    let off =
        StudioProfile::from_toml_str("name = \"X\"\n[voice_notes]\ntranscribe = false\n").unwrap();
    assert!(!off.voice_notes.transcribe);
}
