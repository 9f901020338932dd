//! End-to-end tests of `inkdesk serve`: the real application on a random port, wiremock
//! standing in for Meta's Graph API and the model server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod admin;
mod admin_browser;
mod conversation;
mod webhook;
