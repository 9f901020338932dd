//! `inkdesk quote`: the price of one or more pieces from the fixed formula.

use std::process::ExitCode;

use clap::Args;
use inkdesk_pricing::{Piece, Quote, quote};

/// Arguments of `inkdesk quote`.
#[derive(Debug, Args)]
pub struct QuoteArgs {
    /// A piece as `H,W,INK,D`: height and width in cm, ink coverage 0..1, difficulty as a
    /// factor (`1.45`) or a name (`heavy_shading`). Repeat for several pieces.
    #[arg(
        long = "piece",
        value_name = "H,W,INK,D",
        required = true,
        allow_hyphen_values = true
    )]
    pub pieces: Vec<String>,
    /// Print JSON: `pieces`, `low`, `high`, `total`, `duration_minutes`.
    #[arg(long)]
    pub json: bool,
}

/// Prints the quote, or a one-line error with exit code 2.
pub fn run(args: &QuoteArgs) -> anyhow::Result<ExitCode> {
    let pieces: Result<Vec<Piece>, _> = args.pieces.iter().map(|p| p.parse::<Piece>()).collect();
    let result = pieces.and_then(|pieces| quote(&pieces));
    let quote = match result {
        Ok(quote) => quote,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(crate::EXIT_BAD_INPUT));
        }
    };
    if args.json {
        println!("{}", serde_json::to_string(&quote)?);
    } else {
        print!("{}", describe(&quote));
    }
    Ok(ExitCode::SUCCESS)
}

/// The human-readable form.
fn describe(quote: &Quote) -> String {
    let minutes = quote.duration_minutes();
    let duration = format!("{} h {:02} min", minutes / 60, minutes % 60);
    if quote.has_two_sizes() {
        format!(
            "price: {} € (larger size: {} €)\nduration: {duration}\n",
            quote.low(),
            quote.high()
        )
    } else {
        let each: Vec<String> = quote.pieces().iter().map(ToString::to_string).collect();
        format!(
            "pieces: {} €\ntotal with 10% off: {} €\nduration: {duration}\n",
            each.join(" + "),
            quote.total()
        )
    }
}
