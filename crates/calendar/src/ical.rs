//! An RFC 5545 (iCalendar) feed of bookings, so a studio can subscribe from a phone.
//!
//! Lines end in CRLF and are folded at 75 octets (never inside a UTF-8 character);
//! text values escape `\`, `;`, `,` and newlines; times are UTC (`...Z`).

use chrono::{DateTime, Utc};
use inkdesk_domain::Language;

use crate::event_text::{event_description, event_title};
use crate::port::Booking;

/// The longest line in octets, CRLF excluded (RFC 5545 §3.1).
const MAX_OCTETS: usize = 75;

/// Renders `bookings` as a `VCALENDAR` named `calendar_name`, stamped at `now`.
pub fn render_feed(
    calendar_name: &str,
    bookings: &[Booking],
    language: Language,
    currency_symbol: &str,
    now: DateTime<Utc>,
) -> String {
    let mut out = String::new();
    let mut line = |text: String| fold_into(&mut out, &text);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//inkdesk//calendar//EN".into());
    line("CALSCALE:GREGORIAN".into());
    line("METHOD:PUBLISH".into());
    line(format!("X-WR-CALNAME:{}", escape_text(calendar_name)));
    for booking in bookings {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}@inkdesk", booking.id));
        line(format!("DTSTAMP:{}", utc_stamp(now)));
        line(format!("DTSTART:{}", utc_stamp(booking.start)));
        line(format!("DTEND:{}", utc_stamp(booking.end)));
        line(format!(
            "SUMMARY:{}",
            escape_text(&event_title(booking, language))
        ));
        line(format!(
            "DESCRIPTION:{}",
            escape_text(&event_description(booking, language, currency_symbol))
        ));
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

/// `20261120T090000Z`.
pub fn utc_stamp(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value: backslash, semicolon, comma and newlines (CR dropped).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at 75 octets: each continuation starts with one space, which
/// counts towards its 75 octets.
fn fold_into(out: &mut String, line: &str) {
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > MAX_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use inkdesk_domain::{
        AppointmentDuration, ConversationId, CustomerName, EventId, FreeText, PhoneNumber, Price,
        Region,
    };
    use rust_decimal::Decimal;

    use super::*;

    fn booking(design: &str) -> Booking {
        let start = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        let duration = AppointmentDuration::from_minutes(90, 600).unwrap();
        Booking {
            id: EventId::parse("abcdef0123456789").unwrap(),
            conversation: ConversationId::parse("17841400000000001").unwrap(),
            customer: CustomerName::parse("Γιάννης Παπαδόπουλος").unwrap(),
            phone: PhoneNumber::parse("6912345678", Region::GREECE).unwrap(),
            design: Some(FreeText::parse(design).unwrap()),
            price: Some(Price::new(Decimal::from(150), Decimal::from(5000)).unwrap()),
            start,
            end: start + duration.as_chrono(),
            duration,
            artist: None,
            status: crate::BookingStatus::Confirmed,
            deposit: None,
            sms_consent: false,
        }
    }

    /// Undoes folding: CRLF followed by one space joins lines.
    fn unfold(feed: &str) -> Vec<String> {
        feed.replace("\r\n ", "")
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn feed_has_crlf_lines_utc_times_uid_and_stamp() {
        let now = Utc.with_ymd_and_hms(2026, 11, 1, 8, 30, 0).unwrap();
        let feed = render_feed("Panda Ink", &[booking("rose")], Language::El, "€", now);
        assert!(feed.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(feed.ends_with("END:VCALENDAR\r\n"));
        assert!(
            !feed.replace("\r\n", "").contains('\n'),
            "bare LF in {feed:?}"
        );
        let lines = unfold(&feed);
        for expected in [
            "UID:abcdef0123456789@inkdesk",
            "DTSTAMP:20261101T083000Z",
            "DTSTART:20261120T090000Z",
            "DTEND:20261120T103000Z",
            "SUMMARY:Τατουάζ - Γιάννης Παπαδόπουλος",
        ] {
            assert!(
                lines.iter().any(|l| l == expected),
                "{expected} missing in {lines:?}"
            );
        }
        let description = lines
            .iter()
            .find(|l| l.starts_with("DESCRIPTION:"))
            .unwrap();
        assert_eq!(
            description,
            "DESCRIPTION:Όνομα: Γιάννης Παπαδόπουλος\\nΤηλέφωνο: 6912345678\\nΣχέδιο: rose\\nΤιμή: 150€\\nΔιάρκεια: 1 ώρα και 30 λεπτά"
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let design = "λ".repeat(200);
        let now = Utc.with_ymd_and_hms(2026, 11, 1, 8, 30, 0).unwrap();
        let feed = render_feed("x", &[booking(&design)], Language::En, "€", now);
        for raw in feed.split("\r\n") {
            assert!(raw.len() <= MAX_OCTETS, "{} octets: {raw:?}", raw.len());
        }
        assert!(
            feed.contains("\r\n λ"),
            "continuation lines start with a space"
        );
        let lines = unfold(&feed);
        assert!(lines.iter().any(|l| l.contains(&design)));
    }

    #[test]
    fn text_values_escape_separators_and_newlines() {
        assert_eq!(escape_text("a,b;c\\d\r\ne"), "a\\,b\\;c\\\\d\\ne");
        let now = Utc.with_ymd_and_hms(2026, 11, 1, 8, 30, 0).unwrap();
        let feed = render_feed("Ink, Panda; Studio", &[], Language::En, "€", now);
        assert!(feed.contains("X-WR-CALNAME:Ink\\, Panda\\; Studio\r\n"));
    }
}
