//! The admin console in a real browser: headless Chromium driven through chromedriver
//! (WebDriver) by fantoccini. Skipped (with a note) when chromedriver is not installed,
//! unless `INKDESK_REQUIRE_BROWSER=1`, as in CI.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{Datelike, TimeZone, Utc};
use fantoccini::{ClientBuilder, Locator};
use inkdesk_calendar::NewBooking;
use inkdesk_domain::{AppointmentDuration, CustomerName, PhoneNumber, Region};
use serde_json::json;

use crate::admin::{conv, seed};
use crate::support::{ADMIN_TOKEN, TestApp, graph_accepts_sends, spawn_app, wait_for_sends};

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

#[tokio::test]
async fn staff_log_in_mute_reply_unmute_and_see_a_booking_in_a_real_browser() {
    let Some(chromedriver) = find_on_path("chromedriver") else {
        assert!(
            std::env::var("INKDESK_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "INKDESK_REQUIRE_BROWSER=1 but chromedriver is not installed"
        );
        println!("SKIPPED: chromedriver not installed (apt-get install chromium chromium-driver)");
        return;
    };
    let app = spawn_app().await;
    graph_accepts_sends(&app.graph).await;
    seed(&app, "5552101", 30).await;
    seed_booking(&app, "5552101").await;
    let profile_dir = tempfile::tempdir().unwrap();
    let (_driver, port) = start_driver(&chromedriver).await;

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
    let browser = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");

    let result = async {
        // Log in.
        browser.goto(&app.url("/admin/login?lang=en")).await?;
        browser
            .find(Locator::Id("token"))
            .await?
            .send_keys(ADMIN_TOKEN)
            .await?;
        browser.find(Locator::Id("login")).await?.click().await?;
        let inbox = wait_text(&browser, Locator::Css("main"), "5552101").await;
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
        wait_text(&browser, Locator::Id("status"), "Muted until").await;
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
            &browser,
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
        wait_text(&browser, Locator::Id("status"), "Bot answers").await;
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
        let bookings = wait_text(&browser, Locator::Id("bookings"), "5552101").await;
        assert!(bookings.contains("Ελένη Κ"), "{bookings}");
        let png = browser.screenshot().await?;
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("admin-bookings.png"), png).unwrap();
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    let _ = browser.close().await;
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
