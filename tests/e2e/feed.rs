//! The iCalendar feed served by `inkdesk serve`: `GET /feed/{token}.ics`, read back with an
//! independent parser (the `icalendar` crate), and its addresses on the console's status.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{Duration, Utc};
use icalendar::Component;
use inkdesk_calendar::{Calendar, EmbeddedCalendar, NewBooking, SlotRequest, available_slots};
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, Clock, ConversationId, CustomerName, FreeText, PhoneNumber,
    Region, StudioProfile, SystemClock,
};

use crate::support::{ADMIN_TOKEN, Options, spawn_with};

const FEED_TOKEN: &str = "feed-token-0123456789abcdef";

/// A calendar holding one booking at the first free slot from tomorrow on.
async fn calendar_with_a_booking() -> (Arc<dyn Calendar>, inkdesk_calendar::Booking) {
    let (calendar, mut made) = calendar_with_bookings(StudioProfile::example(), &[None]).await;
    (calendar, made.remove(0))
}

/// A calendar of `profile` holding one booking per entry of `artists` (each for that
/// artist), at the first free slots from tomorrow on.
async fn calendar_with_bookings(
    profile: StudioProfile,
    artists: &[Option<&str>],
) -> (Arc<dyn Calendar>, Vec<inkdesk_calendar::Booking>) {
    let profile = Arc::new(profile);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let calendar = EmbeddedCalendar::open_in_memory(profile.clone(), clock).unwrap();
    let duration = AppointmentDuration::from_minutes(90, 600).unwrap();
    let today = Utc::now().with_timezone(&profile.time_zone).date_naive();
    let request = SlotRequest::range(
        today + Duration::days(1),
        today + Duration::days(14),
        duration,
    );
    let mut made = Vec::new();
    for artist in artists {
        let slot = available_slots(&calendar, &profile, &[], &request, Utc::now())
            .await
            .unwrap()[0]
            .clone();
        made.push(
            calendar
                .create(NewBooking {
                    conversation: ConversationId::parse("17841400000000777").unwrap(),
                    customer: CustomerName::parse("Μαρία Κ.").unwrap(),
                    phone: PhoneNumber::parse("6912345678", Region::GREECE).unwrap(),
                    design: Some(FreeText::parse("κύμα, fine line; στον καρπό").unwrap()),
                    price: None,
                    start: slot.start.with_timezone(&Utc),
                    duration,
                    artist: artist.map(|a| ArtistKey::parse(a).unwrap()),
                    idempotency_key: None,
                    deposit: None,
                    sms_consent: false,
                })
                .await
                .unwrap(),
        );
    }
    (Arc::new(calendar), made)
}

/// The example profile with two artists.
fn with_artists() -> StudioProfile {
    let mut profile = StudioProfile::example();
    for (key, name) in [("maria", "Μαρία"), ("nikos", "Νίκος")] {
        profile.artists.push(inkdesk_domain::profile::Artist {
            key: ArtistKey::parse(key).unwrap(),
            name: name.into(),
            styles: Vec::new(),
            hours: Default::default(),
            google_calendar_id: None,
        });
    }
    profile
}

#[tokio::test]
async fn an_artists_feed_holds_only_their_bookings() {
    let (calendar, made) = calendar_with_bookings(
        with_artists(),
        &[Some("maria"), Some("nikos"), Some("maria")],
    )
    .await;
    let app = spawn_with(
        Options {
            calendar: Some(calendar),
            profile: Some(with_artists()),
            env: vec![
                ("INKDESK_FEED_TOKEN", FEED_TOKEN.to_owned()),
                ("INKDESK_PUBLIC_URL", "https://studio.example/".to_owned()),
            ],
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let uids = |body: &str| -> Vec<String> {
        let parsed = icalendar::Calendar::from_str(body).unwrap();
        let mut uids: Vec<String> = parsed
            .components
            .iter()
            .filter_map(|c| c.as_event())
            .filter_map(|e| e.get_uid().map(str::to_owned))
            .collect();
        uids.sort();
        uids
    };
    let fetch = |path: String| {
        let (client, url) = (app.client.clone(), app.url(&path));
        async move {
            let response = client.get(url).send().await.unwrap();
            (response.status(), response.text().await.unwrap())
        }
    };
    let (status, maria) = fetch(format!("/feed/{FEED_TOKEN}/maria.ics")).await;
    assert_eq!(status, 200);
    let mut expected = vec![
        format!("{}@inkdesk", made[0].id),
        format!("{}@inkdesk", made[2].id),
    ];
    expected.sort();
    assert_eq!(uids(&maria), expected);
    assert!(maria.contains("X-WR-CALNAME:"), "{maria}");
    let (_, all) = fetch(format!("/feed/{FEED_TOKEN}.ics")).await;
    assert_eq!(uids(&all).len(), 3);
    let (status, _) = fetch(format!("/feed/{FEED_TOKEN}/nobody.ics")).await;
    assert_eq!(status, 404);
    let (status, _) = fetch("/feed/wrong-token-0123456789abcdef/maria.ics".to_owned()).await;
    assert_eq!(status, 404);

    let status: serde_json::Value = app
        .client
        .get(app.url("/admin/api/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let urls: Vec<&str> = status["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["url"].as_str())
        .collect();
    assert_eq!(
        urls,
        [
            format!("https://studio.example/feed/{FEED_TOKEN}.ics"),
            format!("https://studio.example/feed/{FEED_TOKEN}/maria.ics"),
            format!("https://studio.example/feed/{FEED_TOKEN}/nikos.ics"),
        ]
    );
}

#[tokio::test]
async fn the_feed_parses_in_an_independent_parser_and_a_wrong_token_is_not_found() {
    let (calendar, booking) = calendar_with_a_booking().await;
    let app = spawn_with(
        Options {
            calendar: Some(calendar),
            env: vec![
                ("INKDESK_FEED_TOKEN", FEED_TOKEN.to_owned()),
                ("INKDESK_PUBLIC_URL", "https://studio.example".to_owned()),
            ],
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    let response = app
        .client
        .get(app.url(&format!("/feed/{FEED_TOKEN}.ics")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let body = response.text().await.unwrap();
    let parsed = icalendar::Calendar::from_str(&body).unwrap();
    let events: Vec<_> = parsed
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .collect();
    assert_eq!(events.len(), 1, "{body}");
    let event = events[0];
    assert_eq!(
        event.get_uid(),
        Some(format!("{}@inkdesk", booking.id).as_str())
    );
    assert_eq!(
        event.get_start(),
        Some(icalendar::DatePerhapsTime::DateTime(
            icalendar::CalendarDateTime::Utc(booking.start)
        ))
    );
    assert_eq!(
        event.get_end(),
        Some(icalendar::DatePerhapsTime::DateTime(
            icalendar::CalendarDateTime::Utc(booking.end)
        ))
    );
    assert!(event.get_summary().unwrap().contains("Μαρία Κ."));
    // The escaped comma and semicolon come back as written.
    assert!(
        event
            .get_description()
            .unwrap()
            .contains("κύμα, fine line; στον καρπό"),
        "{:?}",
        event.get_description()
    );

    for wrong in [
        "/feed/feed-token-0123456789abcdeX.ics".to_owned(),
        format!("/feed/{FEED_TOKEN}"),
        format!("/feed/{FEED_TOKEN}.ics.txt"),
        format!("/feed/{FEED_TOKEN}/nobody.ics"),
        "/feed/.ics".to_owned(),
    ] {
        let status = app
            .client
            .get(app.url(&wrong))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{wrong}");
    }

    // The console's status lists the address to subscribe to.
    let status: serde_json::Value = app
        .client
        .get(app.url("/admin/api/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["feeds"][0]["url"],
        format!("https://studio.example/feed/{FEED_TOKEN}.ics")
    );
    assert_eq!(
        status["feeds"][0]["webcal"],
        format!("webcal://studio.example/feed/{FEED_TOKEN}.ics")
    );
    assert_eq!(status["feed_needs_public_url"], false);
}

#[tokio::test]
async fn without_a_token_the_feed_is_off() {
    let (calendar, _) = calendar_with_a_booking().await;
    let app = spawn_with(
        Options {
            calendar: Some(calendar),
            ..Options::default()
        },
        None,
        None,
    )
    .await;
    for path in ["/feed/.ics", "/feed/anything-at-all-0123456789.ics"] {
        let status = app.client.get(app.url(path)).send().await.unwrap().status();
        assert_eq!(status, 404, "{path}");
    }
    let status: serde_json::Value = app
        .client
        .get(app.url("/admin/api/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["feeds"], serde_json::json!([]));
}
