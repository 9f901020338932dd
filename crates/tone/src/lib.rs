//! The studio's tone from its own past replies.
//!
//! - [`export`]: read an Instagram messages export, repair its mojibake, build pairs.
//! - [`scrub`]: remove old prices and dates from studio replies.
//! - [`error`]: the crate's error enums.

pub mod error;
pub mod export;
pub mod scrub;

pub use error::{EmbedError, IndexError, ToneError};
pub use scrub::scrub;
