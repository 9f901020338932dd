//! Reading a server's "wait this long" hints: `retry-after` (seconds or an HTTP date) and
//! OpenAI's `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (durations such as
//! `1s`, `6m0s`, `250ms`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

/// How long the server asks us to wait, from its headers.
///
/// `retry-after` wins. Otherwise the reset time of the exhausted limit
/// (`x-ratelimit-remaining-* = 0`); when none is marked exhausted, the shortest reset given.
pub fn wait_hint(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(wait) = text("retry-after-ms")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok())
    {
        return Some(wait);
    }
    if let Some(wait) = text("retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(wait);
    }
    let resets = ["requests", "tokens"].map(|kind| {
        let reset = text(&format!("x-ratelimit-reset-{kind}")).and_then(parse_go_duration);
        let exhausted = text(&format!("x-ratelimit-remaining-{kind}")).map(str::trim) == Some("0");
        (reset, exhausted)
    });
    let exhausted = resets
        .iter()
        .filter(|(_, exhausted)| *exhausted)
        .filter_map(|(reset, _)| *reset)
        .max();
    exhausted.or_else(|| resets.iter().filter_map(|(reset, _)| *reset).min())
}

/// `retry-after`: delay in whole (or decimal) seconds, or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    // A date in the past means "now".
    Some((at.with_timezone(&Utc) - now).to_std().unwrap_or_default())
}

/// A Go-style duration: a sequence of decimal numbers with units `h`, `m`, `s`, `ms`,
/// `us`/`µs` or `ns`, e.g. `6m0s`, `1.5s`, `250ms`. A bare number is seconds.
pub fn parse_go_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let mut total = 0.0f64;
    let mut rest = value;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * seconds_per_unit;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn go_durations_as_openai_sends_them() {
        let cases = [
            ("1s", 1000),
            ("6m0s", 360_000),
            ("250ms", 250),
            ("1h2m3.5s", 3_723_500),
            ("0.5s", 500),
            ("20ms", 20),
            ("2", 2000),
            ("1500us", 1),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_go_duration(text).map(|d| d.as_millis()),
                Some(ms),
                "{text}"
            );
        }
        for bad in ["", "s", "5x", "1m-2s", "abc"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_in_seconds_or_http_date() {
        assert_eq!(parse_retry_after("1", now()), Some(Duration::from_secs(1)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now()),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
    }

    #[test]
    fn retry_after_wins_over_reset_headers() {
        let h = headers(&[("retry-after", "3"), ("x-ratelimit-reset-requests", "20s")]);
        assert_eq!(wait_hint(&h, now()), Some(Duration::from_secs(3)));
        let h = headers(&[("retry-after-ms", "150"), ("retry-after", "3")]);
        assert_eq!(wait_hint(&h, now()), Some(Duration::from_millis(150)));
    }

    #[test]
    fn reset_of_the_exhausted_limit_is_used() {
        let h = headers(&[
            ("x-ratelimit-remaining-requests", "12"),
            ("x-ratelimit-reset-requests", "1s"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(wait_hint(&h, now()), Some(Duration::from_secs(360)));
        let h = headers(&[
            ("x-ratelimit-reset-requests", "250ms"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(wait_hint(&h, now()), Some(Duration::from_millis(250)));
        assert_eq!(wait_hint(&HeaderMap::new(), now()), None);
    }
}
