//! `inkdesk`: the studio's Instagram front desk. See the library crate for the parts.

use std::process::ExitCode;

fn main() -> ExitCode {
    inkdesk_webhook::main()
}
