//! The admin console in a real browser: headless Chromium driven through chromedriver
//! (WebDriver) by fantoccini. Skipped (with a note) when chromedriver is not installed,
//! unless `INKDESK_REQUIRE_BROWSER=1`, as in CI.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{Datelike, TimeZone, Utc, Weekday};
use fantoccini::{ClientBuilder, Locator};
use inkdesk_calendar::NewBooking;
use inkdesk_domain::{AppointmentDuration, CustomerName, PhoneNumber, Region};
use serde_json::json;

use crate::admin::{conv, seed};
use crate::admin_calendar::{next, studio_with_artists};
use crate::support::{
    ADMIN_TOKEN, Options, TestApp, graph_accepts_sends, spawn_app, spawn_with, wait_for_sends,
};

/// Stops chromedriver when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("artifacts")
}

async fn start_driver(binary: &PathBuf) -> (Driver, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver(child);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (driver, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port}");
}

/// Books the first free hour in the coming two weeks for the conversation.
async fn seed_booking(app: &TestApp, id: &str) {
    let profile = &app.running.app.profile;
    let tz = profile.time_zone;
    let today = Utc::now().with_timezone(&tz).date_naive();
    for day in 1..15 {
        let date = today + chrono::Duration::days(day);
        for hour in [12, 13, 14, 15, 16, 17] {
            let Some(start) = tz
                .with_ymd_and_hms(date.year(), date.month(), date.day(), hour, 0, 0)
                .single()
            else {
                continue;
            };
            let booking = NewBooking {
                conversation: conv(id),
                customer: CustomerName::parse("Ελένη Κ").unwrap(),
                phone: PhoneNumber::parse("6912345678", Region::GREECE).unwrap(),
                design: None,
                price: None,
                start: start.with_timezone(&Utc),
                duration: AppointmentDuration::from_minutes(60, 600).unwrap(),
                artist: None,
                idempotency_key: None,
                deposit: None,
                sms_consent: false,
            };
            if app.running.app.calendar.create(booking).await.is_ok() {
                return;
            }
        }
    }
    panic!("no bookable hour in two weeks");
}

/// A headless Chromium session with its chromedriver and profile directory; `None` (the
/// test is skipped) when chromedriver is not installed and not required.
struct Browser {
    client: fantoccini::Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

async fn start_browser() -> Option<Browser> {
    let Some(chromedriver) = find_on_path("chromedriver") else {
        assert!(
            std::env::var("INKDESK_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "INKDESK_REQUIRE_BROWSER=1 but chromedriver is not installed"
        );
        println!("SKIPPED: chromedriver not installed (apt-get install chromium chromium-driver)");
        return None;
    };
    let profile_dir = tempfile::tempdir().unwrap();
    let (driver, port) = start_driver(&chromedriver).await;

    let mut chrome = json!({"args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage", "--window-size=412,915",
        format!("--user-data-dir={}", profile_dir.path().display()),
    ]});
    if let Some(binary) = find_on_path("chromium") {
        chrome["binary"] = json!(binary);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), chrome);
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    Some(Browser {
        client,
        _driver: driver,
        _profile: profile_dir,
    })
}

/// Logs in through the form, in English.
async fn log_in(
    browser: &fantoccini::Client,
    app: &TestApp,
) -> Result<(), fantoccini::error::CmdError> {
    browser.goto(&app.url("/admin/login?lang=en")).await?;
    browser
        .find(Locator::Id("token"))
        .await?
        .send_keys(ADMIN_TOKEN)
        .await?;
    browser.find(Locator::Id("login")).await?.click().await?;
    wait_text(browser, Locator::Css("main"), "Inbox").await;
    Ok(())
}

#[tokio::test]
async fn staff_log_in_mute_reply_unmute_and_see_a_booking_in_a_real_browser() {
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    seed(&app, "5552101", 30).await;
    seed_booking(&app, "5552101").await;
    let Some(session) = start_browser().await else {
        return;
    };
    let browser = &session.client;

    let result = async {
        log_in(browser, &app).await?;
        let inbox = wait_text(browser, Locator::Css("main"), "5552101").await;
        assert!(inbox.contains("Inbox"), "{inbox}");

        // Open the conversation and mute it for 5 hours.
        browser
            .find(Locator::LinkText("5552101"))
            .await?
            .click()
            .await?;
        let hours = browser.wait().for_element(Locator::Id("hours")).await?;
        hours.clear().await?;
        hours.send_keys("5").await?;
        browser.find(Locator::Id("mute")).await?.click().await?;
        wait_text(browser, Locator::Id("status"), "Muted until").await;
        let mute = app
            .running
            .app
            .stores
            .takeover
            .muted(&conv("5552101"))
            .await
            .unwrap();
        assert!(mute.is_some_and(|m| m.until > Utc::now() + chrono::Duration::minutes(290)));

        // A staff reply, 30 hours after the customer wrote: sent with the HUMAN_AGENT tag.
        browser
            .wait()
            .for_element(Locator::Id("reply"))
            .await?
            .send_keys("Καλησπέρα! Η Μαρία εδώ.")
            .await?;
        browser.find(Locator::Id("send")).await?.click().await?;
        let sent = wait_for_sends(&app.graph, 1, Duration::from_secs(5)).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0]["tag"], "HUMAN_AGENT");
        assert_eq!(sent[0]["message"]["text"], "Καλησπέρα! Η Μαρία εδώ.");
        wait_text(
            browser,
            Locator::Css(".transcript"),
            "Καλησπέρα! Η Μαρία εδώ.",
        )
        .await;

        // Unmute.
        browser
            .wait()
            .for_element(Locator::Id("unmute"))
            .await?
            .click()
            .await?;
        wait_text(browser, Locator::Id("status"), "Bot answers").await;
        assert!(
            app.running
                .app
                .stores
                .takeover
                .muted(&conv("5552101"))
                .await
                .unwrap()
                .is_none()
        );

        // The booking, linked to its conversation.
        browser.goto(&app.url("/admin/bookings")).await?;
        let bookings = wait_text(browser, Locator::Id("bookings"), "5552101").await;
        assert!(bookings.contains("Ελένη Κ"), "{bookings}");
        let png = browser.screenshot().await?;
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("admin-bookings.png"), png).unwrap();
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    let _ = browser.clone().close().await;
    result.unwrap();
}

/// Sets a form field's value as the browser's own date and time pickers would (typing into
/// them depends on the browser's locale).
async fn set_value(
    browser: &fantoccini::Client,
    id: &str,
    value: &str,
) -> Result<(), fantoccini::error::CmdError> {
    browser
        .execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![json!(id), json!(value)],
        )
        .await?;
    Ok(())
}

/// Types into a text field after clearing it.
async fn type_into(
    browser: &fantoccini::Client,
    id: &str,
    text: &str,
) -> Result<(), fantoccini::error::CmdError> {
    let field = browser.wait().for_element(Locator::Id(id)).await?;
    field.clear().await?;
    field.send_keys(text).await?;
    Ok(())
}

#[tokio::test]
async fn staff_book_move_and_cancel_and_close_days_in_a_real_browser() {
    let app = spawn_with(
        Options {
            profile: Some(studio_with_artists()),
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let Some(session) = start_browser().await else {
        return;
    };
    let browser = &session.client;
    let calendar = app.running.app.calendar.clone();
    let tz = app.running.app.profile.time_zone;
    let day = next(Weekday::Thu);
    let date = day.to_string();
    let local =
        |at: chrono::DateTime<Utc>| at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();

    let result = async {
        log_in(browser, &app).await?;

        // The week of the day, one column per artist; book in Maria's column.
        browser
            .goto(&app.url(&format!("/admin/week?week={date}")))
            .await?;
        let week = wait_text(browser, Locator::Id("week"), "Νίκος").await;
        assert!(week.contains("Μαρία"), "{week}");
        browser
            .find(Locator::Css(&format!("#maria-{date} .free a")))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::Id("booking-form"))
            .await?;
        type_into(browser, "name", "Ελένη Κ").await?;
        type_into(browser, "phone", "12345").await?;
        set_value(browser, "time", "11:00").await?;
        type_into(browser, "price", "130").await?;
        browser.find(Locator::Id("book")).await?.click().await?;
        // A bad phone: said in plain words, and nothing typed is lost.
        wait_text(
            browser,
            Locator::Id("form-error"),
            "Phone: the phone number is not valid",
        )
        .await;
        let name = browser
            .find(Locator::Id("name"))
            .await?
            .prop("value")
            .await?;
        assert_eq!(name.as_deref(), Some("Ελένη Κ"));
        let artist = browser
            .find(Locator::Id("artist"))
            .await?
            .prop("value")
            .await?;
        assert_eq!(artist.as_deref(), Some("maria"));
        assert!(
            calendar
                .list_upcoming(Utc::now(), 10)
                .await
                .unwrap()
                .is_empty()
        );
        type_into(browser, "phone", "6912345678").await?;
        browser.find(Locator::Id("book")).await?.click().await?;
        wait_text(browser, Locator::Id("notice"), "Booked.").await;
        let booked = calendar.list_upcoming(Utc::now(), 10).await.unwrap();
        assert_eq!(booked.len(), 1);
        let booking = &booked[0];
        assert_eq!(local(booking.start), format!("{date} 11:00"));
        assert_eq!(booking.duration.minutes(), 80, "130 € gives 80 minutes");
        assert_eq!(booking.artist.as_ref().map(|a| a.as_str()), Some("maria"));
        let row = wait_text(browser, Locator::Css(&format!("#maria-{date}")), "Ελένη Κ").await;
        assert!(row.contains("11:00") && row.contains("80′"), "{row}");
        let png = browser.screenshot().await?;
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("admin-week.png"), png).unwrap();

        // Move it to 15:00 for an hour.
        browser
            .find(Locator::Css(&format!("#b-{} .move-booking", booking.id)))
            .await?
            .click()
            .await?;
        browser.wait().for_element(Locator::Id("move-form")).await?;
        set_value(browser, "time", "15:00").await?;
        type_into(browser, "duration", "60").await?;
        browser.find(Locator::Id("move")).await?.click().await?;
        wait_text(browser, Locator::Id("notice"), "Moved.").await;
        let moved = calendar.get(&booking.id).await.unwrap();
        assert_eq!(local(moved.start), format!("{date} 15:00"));
        assert_eq!(moved.duration.minutes(), 60);
        wait_text(
            browser,
            Locator::Css(&format!("#b-{}", booking.id)),
            "15:00",
        )
        .await;

        // Cancel it, through the confirmation step.
        browser
            .find(Locator::Css(&format!("#b-{} .cancel-booking", booking.id)))
            .await?
            .click()
            .await?;
        wait_text(browser, Locator::Css("main"), "Cancel this booking?").await;
        browser
            .find(Locator::Id("confirm-cancel"))
            .await?
            .click()
            .await?;
        wait_text(browser, Locator::Id("notice"), "Cancelled.").await;
        assert!(
            calendar
                .list_upcoming(Utc::now(), 10)
                .await
                .unwrap()
                .is_empty()
        );

        // Nikos away that day, then back.
        browser
            .find(Locator::Id("closures-link"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::Id("closure-form"))
            .await?;
        set_value(browser, "from", &date).await?;
        browser
            .find(Locator::Css("#artist option[value='nikos']"))
            .await?
            .click()
            .await?;
        type_into(browser, "reason", "Σεμινάριο").await?;
        browser
            .find(Locator::Id("add-closure"))
            .await?
            .click()
            .await?;
        wait_text(browser, Locator::Id("notice"), "Closure added.").await;
        let listed = wait_text(browser, Locator::Id("closures"), "Σεμινάριο").await;
        assert!(
            listed.contains("Νίκος") && listed.contains(&date),
            "{listed}"
        );
        let stored = calendar.closures(day, day).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(
            stored[0].closure.artist.as_ref().map(|a| a.as_str()),
            Some("nikos")
        );
        browser
            .goto(&app.url(&format!("/admin/week?week={date}")))
            .await?;
        wait_text(
            browser,
            Locator::Css(&format!("#nikos-{date}")),
            "Σεμινάριο",
        )
        .await;
        browser
            .find(Locator::Id("closures-link"))
            .await?
            .click()
            .await?;
        browser
            .wait()
            .for_element(Locator::Css(".remove-closure"))
            .await?
            .click()
            .await?;
        wait_text(browser, Locator::Id("notice"), "Closure removed.").await;
        assert!(calendar.closures(day, day).await.unwrap().is_empty());
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    let _ = browser.clone().close().await;
    result.unwrap();
}

/// The text of `locator` once it contains `expected`. After a form submission the old page
/// may still be showing (its elements go stale) or the new one may still be loading, so
/// both are retried for a while instead of read once.
async fn wait_text(browser: &fantoccini::Client, locator: Locator<'_>, expected: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    loop {
        if let Ok(element) = browser.find(locator).await
            && let Ok(text) = element.text().await
        {
            if text.contains(expected) {
                return text;
            }
            last = text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{expected:?} never appeared; last text: {last}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn staff_see_a_reminder_to_make_by_hand_and_mark_a_no_show_in_a_real_browser() {
    let (profile, start) = crate::reminders::soon(1);
    let clock = std::sync::Arc::new(inkdesk_domain::ManualClock::new(Utc::now()));
    let app = spawn_with(
        Options {
            with_model: false,
            profile: Some(profile),
            clock: Some(clock.clone()),
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let booking = crate::reminders::book(&app.running.app, "5552301", start, false).await;
    let Some(session) = start_browser().await else {
        return;
    };
    let browser = &session.client;
    let result = async {
        // The reminder falls due outside any window and without SMS: a person's job.
        clock.set(
            start
                - chrono::Duration::hours(i64::from(
                    app.running.app.profile.booking.reminder_hours,
                ))
                + chrono::Duration::seconds(2),
        );
        crate::reminders::wait_settled(&app.running.app, &booking).await;
        log_in(browser, &app).await?;
        browser.goto(&app.url("/admin/reminders")).await?;
        let list = wait_text(browser, Locator::Id("reminders"), "6912345678").await;
        assert!(list.contains("Μαρία Παπαδοπούλου"), "{list}");
        assert!(list.contains("SMS is not configured"), "{list}");
        // A person called: "Reminded" takes it off the list.
        browser
            .find(Locator::Css("form[action$='/done'] button"))
            .await?
            .click()
            .await?;
        let body = wait_text(
            browser,
            Locator::Css("main"),
            "No reminders to make by hand",
        )
        .await;
        assert!(!body.contains("6912345678"), "{body}");

        // After the appointment (days later: the login has expired) mark it a no-show.
        clock.set(start + chrono::Duration::hours(2));
        log_in(browser, &app).await?;
        browser.goto(&app.url("/admin/past")).await?;
        wait_text(browser, Locator::Id("past"), "Μαρία Παπαδοπούλου").await;
        browser
            .find(Locator::Css("form[action$='/no_show'] button"))
            .await?
            .click()
            .await?;
        let past = wait_text(browser, Locator::Id("past"), "Missed an appointment").await;
        assert!(past.contains("No-show"), "{past}");
        let png = browser.screenshot().await?;
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("admin-past.png"), png).unwrap();
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    let _ = browser.clone().close().await;
    result.unwrap();
    let record = app
        .running
        .app
        .no_shows
        .record(&conv("5552301"))
        .await
        .unwrap();
    assert_eq!(record.map(|r| r.count), Some(1));
}
