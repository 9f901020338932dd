//! The prices the engine gave in a conversation, so a booking can refer to one.
//!
//! When the `quote` tool answers, the engine records each amount it stated (one for a
//! total, two for a single piece's two sizes) under a short id (`q1`, `q2`, …) in the
//! conversation's [`QuoteBook`]; `book_appointment` then names that id, and the booking's
//! price and length are the recorded ones — the model never supplies the number. A line of
//! the studio's price guide (shown in the system prompt to every customer) is referred to
//! by its line id instead ([`GuideRef`]: `g3a` = line 3, smaller size; `g3b` = larger).
//!
//! The book lives behind the [`QuoteStore`] port: the binary keeps it in the shared store
//! (the `Keyed` port, scoped to the conversation), so a turn resumed on another replica
//! finds the quotes an earlier turn or a crashed attempt recorded. The rules (ids, expiry,
//! reuse of an identical quote) are here, in plain functions the adapters do not repeat.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use inkdesk_domain::ConversationId;
use inkdesk_domain::profile::PriceGuideItem;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// At most this many quotes are kept per conversation (the oldest go first).
pub const MAX_QUOTES: usize = 20;

/// One amount the engine stated, as a booking can use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedQuote {
    /// The id the model passes back (`q1`).
    pub id: String,
    /// The amount stated to the customer.
    pub price: Decimal,
    /// The appointment's length for that amount, in minutes.
    pub minutes: u32,
    /// What was priced, in a few words (for the studio and the traces).
    pub what: String,
    /// When it was quoted.
    pub quoted_at: DateTime<Utc>,
    /// After this instant the quote no longer books (the customer asks again).
    pub expires_at: DateTime<Utc>,
}

/// A conversation's quotes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteBook {
    /// The number of the next id (ids are never reused within a book).
    pub next: u32,
    /// Live quotes, oldest first.
    pub quotes: Vec<RecordedQuote>,
}

/// Why a quote id does not book.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteRefusal {
    /// No such quote in this conversation (never made, made in another conversation, or
    /// dropped long ago).
    #[error(
        "no quote `{0}` in this conversation; call quote for the piece (or use a price-guide line id) and pass the quote_id it gives"
    )]
    Unknown(String),
    /// The quote is too old.
    #[error("quote `{0}` has expired; call quote again and pass the new quote_id")]
    Expired(String),
}

impl QuoteBook {
    /// Records an amount and returns its id. An identical live quote (same amount, length
    /// and description) keeps its id and gets a fresh expiry, so a quote asked again — a
    /// retried or resumed turn — refers to the same booking price.
    pub fn record(
        &mut self,
        price: Decimal,
        minutes: u32,
        what: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> String {
        self.quotes.retain(|q| q.expires_at > now);
        if let Some(same) = self
            .quotes
            .iter_mut()
            .find(|q| q.price == price && q.minutes == minutes && q.what == what)
        {
            same.expires_at = now + ttl;
            return same.id.clone();
        }
        self.next = self.next.max(1);
        let id = format!("q{}", self.next);
        self.next += 1;
        self.quotes.push(RecordedQuote {
            id: id.clone(),
            price,
            minutes,
            what: what.to_owned(),
            quoted_at: now,
            expires_at: now + ttl,
        });
        if self.quotes.len() > MAX_QUOTES {
            let extra = self.quotes.len() - MAX_QUOTES;
            self.quotes.drain(..extra);
        }
        id
    }

    /// The quote `id`, when it is in this book and still live.
    pub fn find(&self, id: &str, now: DateTime<Utc>) -> Result<&RecordedQuote, QuoteRefusal> {
        let quote = self
            .quotes
            .iter()
            .find(|q| q.id == id)
            .ok_or_else(|| QuoteRefusal::Unknown(id.to_owned()))?;
        if quote.expires_at <= now {
            return Err(QuoteRefusal::Expired(id.to_owned()));
        }
        Ok(quote)
    }

    /// The latest expiry of its quotes (how long the store must keep the book).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.quotes.iter().map(|q| q.expires_at).max()
    }
}

/// What `book_appointment`'s `quote_id` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuoteRef {
    /// A quote the engine recorded in this conversation (`q1`).
    Quote(String),
    /// A line of the studio's price guide.
    Guide(GuideRef),
}

/// A price-guide line and the size: `g3a` (smaller, or the only price) or `g3b` (larger).
/// Lines are numbered from 1 in the profile's order, as the system prompt lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuideRef {
    /// The line's number (1-based).
    pub line: usize,
    /// The larger size (`b`).
    pub larger: bool,
}

impl QuoteRef {
    /// Parses `q12`, `g3`, `g3a` or `g3b` (case and spaces ignored); `None` otherwise.
    pub fn parse(raw: &str) -> Option<Self> {
        let id = raw.trim().to_lowercase();
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(n) = id.strip_prefix('q')
            && digits(n)
        {
            return Some(Self::Quote(id));
        }
        let rest = id.strip_prefix('g')?;
        let (number, larger) = match rest.strip_suffix('b') {
            Some(n) => (n, true),
            None => (rest.strip_suffix('a').unwrap_or(rest), false),
        };
        if !digits(number) {
            return None;
        }
        let line = number.parse().ok().filter(|n| *n > 0)?;
        Some(Self::Guide(GuideRef { line, larger }))
    }

    /// The text form, as the journal key and the traces show it.
    pub fn as_text(&self) -> String {
        match self {
            Self::Quote(id) => id.clone(),
            Self::Guide(g) => format!("g{}{}", g.line, if g.larger { "b" } else { "a" }),
        }
    }
}

impl GuideRef {
    /// The line's id as the prompt lists it (`g3`).
    pub fn line_id(index: usize) -> String {
        format!("g{}", index + 1)
    }

    /// The amount this reference names in `guide`: `None` when there is no such line, or
    /// the line has one price and `b` was asked.
    pub fn price(&self, guide: &[PriceGuideItem]) -> Option<Decimal> {
        let item = guide.get(self.line.checked_sub(1)?)?;
        if self.larger {
            item.high
        } else {
            Some(item.low)
        }
    }
}

/// The quote store failed.
#[derive(Debug, thiserror::Error)]
#[error("quote store unavailable")]
pub struct QuoteStoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Where each conversation's [`QuoteBook`] is kept. A conversation's turns never run at
/// once (the runner's lease), so read-then-write needs no lock.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait QuoteStore: Send + Sync {
    /// The conversation's book (empty when it has none).
    async fn load(&self, conversation: &ConversationId) -> Result<QuoteBook, QuoteStoreError>;
    /// Stores the conversation's book for `keep_for` (until its latest quote expires).
    async fn save(
        &self,
        conversation: &ConversationId,
        book: &QuoteBook,
        keep_for: Duration,
    ) -> Result<(), QuoteStoreError>;
}

/// Quote books in process memory (tests, the CLI's `chat`).
#[derive(Debug, Default)]
pub struct MemoryQuoteStore {
    books: Mutex<HashMap<ConversationId, QuoteBook>>,
}

impl MemoryQuoteStore {
    /// No quotes.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl QuoteStore for MemoryQuoteStore {
    async fn load(&self, conversation: &ConversationId) -> Result<QuoteBook, QuoteStoreError> {
        Ok(self
            .books
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(conversation)
            .cloned()
            .unwrap_or_default())
    }

    async fn save(
        &self,
        conversation: &ConversationId,
        book: &QuoteBook,
        _keep_for: Duration,
    ) -> Result<(), QuoteStoreError> {
        self.books
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(conversation.clone(), book.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;
    use rust_decimal::dec;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 18, 9, 0, 0).unwrap()
    }

    #[test]
    fn ids_count_up_identical_quotes_keep_theirs_and_expired_ones_do_not_book() {
        let mut book = QuoteBook::default();
        let ttl = Duration::days(14);
        let a = book.record(dec!(60), 40, "rose 7x7", t0(), ttl);
        let b = book.record(dec!(65), 40, "rose 7x7", t0(), ttl);
        assert_eq!((a.as_str(), b.as_str()), ("q1", "q2"));
        let again = book.record(dec!(60), 40, "rose 7x7", t0() + Duration::hours(1), ttl);
        assert_eq!(again, "q1");
        assert_eq!(book.find("q1", t0()).unwrap().price, dec!(60));
        assert_eq!(
            book.find("q7", t0()),
            Err(QuoteRefusal::Unknown("q7".to_owned()))
        );
        let late = t0() + ttl + Duration::minutes(30);
        assert_eq!(
            book.find("q2", late),
            Err(QuoteRefusal::Expired("q2".to_owned()))
        );
        // q1 was refreshed an hour later; a new quote drops the expired q2, never reuses it.
        assert!(book.find("q1", late).is_ok());
        let c = book.record(dec!(90), 55, "other", late, ttl);
        assert_eq!(c, "q3");
        assert_eq!(
            book.find("q2", late),
            Err(QuoteRefusal::Unknown("q2".to_owned()))
        );
    }

    #[test]
    fn a_book_keeps_its_latest_quotes_only() {
        let mut book = QuoteBook::default();
        for n in 0..(MAX_QUOTES + 5) {
            book.record(Decimal::from(50 + n), 30, "x", t0(), Duration::days(1));
        }
        assert_eq!(book.quotes.len(), MAX_QUOTES);
        assert!(book.find("q1", t0()).is_err());
        assert!(book.find(&format!("q{}", MAX_QUOTES + 5), t0()).is_ok());
    }

    #[test]
    fn references_parse_quotes_and_guide_lines_and_nothing_else() {
        assert_eq!(
            QuoteRef::parse(" Q3 "),
            Some(QuoteRef::Quote("q3".to_owned()))
        );
        assert_eq!(
            QuoteRef::parse("g3b"),
            Some(QuoteRef::Guide(GuideRef {
                line: 3,
                larger: true
            }))
        );
        assert_eq!(QuoteRef::parse("g3").unwrap().as_text(), "g3a");
        for bad in ["", "60", "q", "qx1", "g0", "g3c", "g", "gb", "price 60"] {
            assert_eq!(QuoteRef::parse(bad), None, "{bad}");
        }
        let guide = PriceGuideItem::defaults();
        let Some(QuoteRef::Guide(small_shaded)) = QuoteRef::parse("g3b") else {
            panic!()
        };
        assert_eq!(small_shaded.price(&guide).unwrap(), dec!(65));
        // Line 9 (large freehand) has one price: `b` names nothing.
        let Some(QuoteRef::Guide(single)) = QuoteRef::parse("g9b") else {
            panic!()
        };
        assert_eq!(single.price(&guide), None);
        let Some(QuoteRef::Guide(beyond)) = QuoteRef::parse("g99") else {
            panic!()
        };
        assert_eq!(beyond.price(&guide), None);
    }
}
