//! What model calls cost: a [`PriceTable`] of list prices per model (overridable), and the
//! estimate of one call's cost from its usage, in billionths of a dollar (integers: no
//! rounding drift when thousands of calls are summed).

use std::fmt;

/// Date of the list prices in [`PriceTable::list_prices`].
pub const LIST_PRICES_DATE: &str = "2026-06-20";

/// One model's prices, in nano-dollars (1e-9 USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelPrice {
    /// Per million uncached input tokens.
    pub input_per_million: u64,
    /// Per million input tokens served from the prompt cache.
    pub cached_per_million: u64,
    /// Per million output tokens.
    pub output_per_million: u64,
    /// Per minute of audio, for models billed by duration (`whisper-1`).
    pub audio_per_minute: u64,
}

impl ModelPrice {
    /// Prices given in US dollars (per million tokens; per audio minute).
    pub fn usd(input: &str, cached: &str, output: &str, minute: &str) -> Result<Self, PriceError> {
        Ok(Self {
            input_per_million: nanos(input)?,
            cached_per_million: nanos(cached)?,
            output_per_million: nanos(output)?,
            audio_per_minute: nanos(minute)?,
        })
    }

    /// The cost of one call, in nano-dollars. Cached tokens are part of `prompt` (as
    /// OpenAI counts them) and priced at the cached rate.
    pub fn cost_nanos(&self, prompt: u64, cached: u64, completion: u64, audio_seconds: u64) -> u64 {
        let cached = cached.min(prompt);
        let tokens = u128::from(prompt - cached) * u128::from(self.input_per_million)
            + u128::from(cached) * u128::from(self.cached_per_million)
            + u128::from(completion) * u128::from(self.output_per_million);
        let audio = u128::from(audio_seconds) * u128::from(self.audio_per_minute);
        let total = tokens.div_ceil(1_000_000) + audio.div_ceil(60);
        u64::try_from(total).unwrap_or(u64::MAX)
    }
}

/// A price entry that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid model price `{entry}`: {reason}")]
pub struct PriceError {
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A decimal amount of dollars (`2.50`, `0.075`) as nano-dollars, exactly.
fn nanos(usd: &str) -> Result<u64, PriceError> {
    let bad = |reason: &str| PriceError {
        entry: usd.to_owned(),
        reason: reason.to_owned(),
    };
    let usd = usd.trim();
    let (whole, fraction) = usd.split_once('.').unwrap_or((usd, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(bad("not a dollar amount such as 2.50"));
    }
    if fraction.len() > 9 {
        return Err(bad("more than nine decimals"));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad("too large"))?
    };
    let fraction: u64 = format!("{fraction:0<9}")
        .parse()
        .map_err(|_| bad("not a number"))?;
    whole
        .checked_mul(1_000_000_000)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(|| bad("too large"))
}

/// Prices per model. A model the server names with a snapshot date
/// (`gpt-4o-mini-2024-07-18`) takes the price of its longest listed prefix (`gpt-4o-mini`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PriceTable {
    entries: Vec<(String, ModelPrice)>,
}

impl PriceTable {
    /// OpenAI's list prices of the default models (standard tier), as of
    /// [`LIST_PRICES_DATE`]; docs/CONFIGURATION.md lists them.
    pub fn list_prices() -> Self {
        let p = |i, c, o, m| ModelPrice::usd(i, c, o, m).unwrap_or_default();
        Self {
            entries: vec![
                ("gpt-4o".to_owned(), p("2.50", "1.25", "10.00", "0")),
                ("gpt-4o-mini".to_owned(), p("0.15", "0.075", "0.60", "0")),
                // Transcription: audio input tokens and text output tokens (the model
                // pages on developers.openai.com).
                ("gpt-4o-transcribe".to_owned(), p("2.50", "0", "10.00", "0")),
                (
                    "gpt-4o-mini-transcribe".to_owned(),
                    p("1.25", "0", "5.00", "0"),
                ),
                ("whisper-1".to_owned(), p("0", "0", "0", "0.006")),
            ],
        }
    }

    /// Sets or replaces `model`'s price.
    pub fn set(&mut self, model: &str, price: ModelPrice) {
        match self.entries.iter_mut().find(|(m, _)| m == model) {
            Some((_, p)) => *p = price,
            None => self.entries.push((model.to_owned(), price)),
        }
    }

    /// Applies overrides written `model=input,cached,output[,per_minute]` (US dollars per
    /// million tokens; per audio minute), entries separated by `;`.
    pub fn apply_overrides(&mut self, text: &str) -> Result<(), PriceError> {
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |reason: &str| PriceError {
                entry: entry.to_owned(),
                reason: reason.to_owned(),
            };
            let (model, prices) = entry
                .split_once('=')
                .ok_or_else(|| bad("expected model=input,cached,output[,per_minute]"))?;
            let model = model.trim();
            if model.is_empty() {
                return Err(bad("the model name is empty"));
            }
            let parts: Vec<&str> = prices.split(',').map(str::trim).collect();
            let price = match parts[..] {
                [i, c, o] => ModelPrice::usd(i, c, o, "0"),
                [i, c, o, m] => ModelPrice::usd(i, c, o, m),
                _ => return Err(bad("expected three or four amounts")),
            }
            .map_err(|e| bad(&e.to_string()))?;
            self.set(model, price);
        }
        Ok(())
    }

    /// The price of `model`: its own entry, or the longest entry it extends with `-…`.
    pub fn price_of(&self, model: &str) -> Option<&ModelPrice> {
        self.entries
            .iter()
            .filter(|(m, _)| {
                model == m
                    || model
                        .strip_prefix(m.as_str())
                        .is_some_and(|rest| rest.starts_with('-'))
            })
            .max_by_key(|(m, _)| m.len())
            .map(|(_, p)| p)
    }

    /// The models listed, in order.
    pub fn models(&self) -> impl Iterator<Item = (&str, &ModelPrice)> {
        self.entries.iter().map(|(m, p)| (m.as_str(), p))
    }
}

/// Nano-dollars shown as dollars with six decimals (`0.012345`), rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usd(pub u64);

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.div_ceil(1000);
        write!(f, "{}.{:06}", micros / 1_000_000, micros % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly() {
        assert_eq!(nanos("2.50").unwrap(), 2_500_000_000);
        assert_eq!(nanos("0.075").unwrap(), 75_000_000);
        assert_eq!(nanos("10").unwrap(), 10_000_000_000);
        assert_eq!(nanos(".5").unwrap(), 500_000_000);
        for bad in ["", ".", "-1", "1,5", "abc", "0.0000000001"] {
            assert!(nanos(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_call_costs_uncached_cached_and_output_tokens_at_their_rates() {
        let table = PriceTable::list_prices();
        let gpt4o = table.price_of("gpt-4o").unwrap();
        // 3,644 prompt tokens of which 3,456 cached, 40 out:
        // 188 × 2.50 + 3,456 × 1.25 + 40 × 10.00 per million = 0.00519 $.
        assert_eq!(gpt4o.cost_nanos(3644, 3456, 40, 0), 5_190_000);
        // A snapshot name takes its family's price, the longest prefix winning.
        assert_eq!(
            table.price_of("gpt-4o-mini-2024-07-18"),
            table.price_of("gpt-4o-mini")
        );
        assert_eq!(table.price_of("gpt-4o-2024-08-06"), Some(gpt4o));
        assert!(table.price_of("gpt-4omega").is_none());
        assert!(table.price_of("llama3").is_none());
        // Whisper is billed by the minute: 30 s = 0.003 $.
        let whisper = table.price_of("whisper-1").unwrap();
        assert_eq!(whisper.cost_nanos(0, 0, 0, 30), 3_000_000);
        assert_eq!(Usd(5_190_000).to_string(), "0.005190");
    }

    #[test]
    fn overrides_replace_or_add_and_bad_entries_are_named() {
        let mut table = PriceTable::list_prices();
        table
            .apply_overrides("gpt-4o = 2.00,1.00,8.00; llama3=0,0,0 ;whisper-1=0,0,0,0.01")
            .unwrap();
        assert_eq!(
            table.price_of("gpt-4o").unwrap().input_per_million,
            2_000_000_000
        );
        assert_eq!(table.price_of("llama3"), Some(&ModelPrice::default()));
        assert_eq!(
            table.price_of("whisper-1").unwrap().audio_per_minute,
            10_000_000
        );
        let error = table.apply_overrides("gpt-4o=2.00,1.00").unwrap_err();
        assert!(error.to_string().contains("gpt-4o=2.00,1.00"), "{error}");
        assert!(table.apply_overrides("=1,1,1").is_err());
        assert!(table.apply_overrides("x=1,a,1").is_err());
    }
}
