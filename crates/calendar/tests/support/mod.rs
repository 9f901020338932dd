//! Test doubles shared by the integration tests.
pub mod fake_google;
pub mod google_client;
