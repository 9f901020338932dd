//! One module per subcommand.

pub mod calendar;
pub mod check_config;
pub mod quote;
