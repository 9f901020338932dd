//! End-to-end tests of `inkdesk serve`: the real application on a random port, wiremock
//! standing in for Meta's Graph API and the model server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../crates/calendar/tests/support/fake_google.rs"]
mod fake_google;
mod support;

mod admin;
mod admin_browser;
mod admin_calendar;
mod booking;
mod conversation;
mod cost;
mod exactly_once;
mod feed;
mod hardening;
mod meta_rules;
mod pricing;
mod processes;
mod profiles;
mod replicas;
mod voice;
mod webhook;
