//! One module per subcommand.

pub mod calendar;
pub mod chat;
pub mod check_config;
pub mod eval;
pub mod quote;
pub mod serve;
pub mod tone;
