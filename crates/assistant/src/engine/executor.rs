//! Runs validated tool commands for the conversation's sender.
//!
//! The conversation id comes from the engine, never from the model: bookings are created
//! with it, listed by it, and a booking whose stored conversation differs is treated
//! exactly like one that does not exist.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use inkdesk_calendar::availability::place;
use inkdesk_calendar::format::{format_appointment, format_date, format_slots};
use inkdesk_calendar::port::recheck_window;
use inkdesk_calendar::{
    Booking, BusyInterval, CalendarError, Interval, NewBooking, Slot, SlotRequest,
    event_id_for_key, find_slots, free_units,
};
use inkdesk_domain::schedule::resolve_local;
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, Closure, ConversationId, EventId, Language, Price,
};
use inkdesk_pricing::Euros;
use serde_json::{Value, json};

use super::Engine;
use crate::confirm::{
    ChangeKind, ConfirmationStoreError, PendingChange, PendingConfirmation, TurnId,
    check_confirmation,
};
use crate::holds::{HeldSlot, HoldError};
use crate::message::Measurements;
use crate::quotes::{QuoteRef, QuoteStoreError};
use crate::tools::quote::{PricedQuote, price_pieces};
use crate::tools::{
    AppointmentLength, AvailabilityArgs, BookingArgs, RescheduleArgs, ToolArgError, ToolCommand,
};

/// A tool failure the model cannot fix: the turn ends with the apology and a handoff.
#[derive(Debug, thiserror::Error)]
pub enum ToolFailure {
    /// The calendar failed (unavailable, rate-limited, credentials).
    #[error("calendar failed")]
    Calendar(#[source] CalendarError),
    /// The hold store failed.
    #[error(transparent)]
    Holds(#[from] HoldError),
    /// The confirmation store failed.
    #[error(transparent)]
    Confirmations(#[from] ConfirmationStoreError),
    /// The quote store failed.
    #[error(transparent)]
    Quotes(#[from] QuoteStoreError),
    /// The turn lost the right to act (lease gone, or a person took over): nothing more
    /// may happen in it.
    #[error(transparent)]
    Fenced(#[from] super::ledger::Fenced),
}

/// The sender and the turn every tool acts for.
pub(crate) struct ToolContext<'a> {
    pub conversation: &'a ConversationId,
    pub turn: &'a TurnId,
    pub now: DateTime<Utc>,
    pub language: Language,
    pub images: &'a HashMap<String, Measurements>,
    pub ledger: &'a dyn super::ledger::EffectLedger,
}

/// A tool's answer for the model, and whether it was a success.
pub(crate) struct ToolAnswer {
    pub content: Value,
    pub ok: bool,
    pub asked_confirmation: bool,
}

impl ToolAnswer {
    fn ok(content: Value) -> Self {
        Self {
            content,
            ok: true,
            asked_confirmation: false,
        }
    }

    fn refused(content: Value) -> Self {
        Self {
            content,
            ok: false,
            asked_confirmation: false,
        }
    }
}

impl From<ToolArgError> for ToolAnswer {
    fn from(e: ToolArgError) -> Self {
        Self::refused(serde_json::from_str(&e.to_tool_result()).unwrap_or(Value::Null))
    }
}

/// The journal key of a command that changes the calendar (`None` for reads and for
/// changes that only ask a question). Built from the validated command, so the same
/// request made again in a resumed turn maps to the same key however the model worded it.
fn effect_key(command: &ToolCommand) -> Option<String> {
    match command {
        ToolCommand::BookAppointment(args) => Some(format!(
            "book:{}T{}:{}{}",
            args.date,
            args.time,
            args.quote.as_text(),
            args.artist
                .as_ref()
                .map(|a| format!(":{a}"))
                .unwrap_or_default()
        )),
        ToolCommand::ConfirmCancellation(id) => Some(format!(
            "cancel:{}",
            id.as_ref().map_or("pending", EventId::as_str)
        )),
        ToolCommand::ConfirmReschedule(id) => Some(format!(
            "reschedule:{}",
            id.as_ref().map_or("pending", EventId::as_str)
        )),
        _ => None,
    }
}

/// How long a booking's reservation of its slot lasts: longer than the slowest insert
/// (Google's retries included), so that it never lapses while the insert is under way;
/// a crashed replica's reservation keeps the slot from others no longer than this.
const RESERVATION_TTL: Duration = Duration::minutes(5);

/// The idempotency key of a booking: the conversation, the turn, the start and the length.
fn booking_key(
    conversation: &ConversationId,
    turn: &TurnId,
    start: DateTime<Utc>,
    duration: AppointmentDuration,
) -> String {
    format!(
        "{conversation}/{}/{}/{}",
        turn.0,
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        duration.minutes()
    )
}

/// Other conversations' holds as availability takes them: a hold for an artist keeps
/// that artist busy then (like a booking with them); a hold without an artist is a unit
/// of the studio's pool (see `inkdesk_calendar::availability`).
fn with_holds(
    mut busy: Vec<BusyInterval>,
    holds: Vec<HeldSlot>,
) -> (Vec<BusyInterval>, Vec<Interval>) {
    let mut pool = Vec::new();
    for hold in holds {
        match hold.artist {
            Some(artist) => busy.push(BusyInterval {
                artist: Some(artist),
                ..BusyInterval::timed(hold.interval.start, hold.interval.end)
            }),
            None => pool.push(hold.interval),
        }
    }
    (busy, pool)
}

fn not_found() -> ToolAnswer {
    ToolAnswer::refused(json!({
        "error": "not_found",
        "message": "this customer has no such upcoming booking",
    }))
}

impl Engine {
    /// Runs one validated command (not `send_reply`/`handoff_to_human`, which end the turn).
    ///
    /// Commands that change the calendar go through the turn's ledger: done before in this
    /// turn → the recorded answer; otherwise the right to act is checked, the change made
    /// and its answer recorded before anything else happens.
    pub(crate) async fn execute(
        &self,
        command: ToolCommand,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        let Some(key) = effect_key(&command) else {
            return self.run_command(command, ctx).await;
        };
        if let Some(content) = ctx.ledger.performed(&key).await {
            tracing::debug!(conversation = %ctx.conversation, "effect already performed in this turn; answering from the journal");
            let ok = content.get("error").is_none();
            return Ok(ToolAnswer {
                content,
                ok,
                asked_confirmation: false,
            });
        }
        ctx.ledger.begin(&key).await?;
        let answer = self.run_command(command, ctx).await?;
        ctx.ledger.done(&key, &answer.content).await?;
        Ok(answer)
    }

    async fn run_command(
        &self,
        command: ToolCommand,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        match command {
            ToolCommand::Quote(pieces) => match price_pieces(
                &pieces,
                ctx.images,
                &self.pricing,
                &self.profile.currency_symbol,
            ) {
                Ok(priced) => self.record_quote(priced, ctx).await,
                Err(e) => Ok(e.into()),
            },
            ToolCommand::CheckAvailability(args) => self.check_availability(args, ctx).await,
            ToolCommand::BookAppointment(args) => self.book(*args, ctx).await,
            ToolCommand::FindMyBookings => self.find_bookings(ctx).await,
            ToolCommand::RequestCancellation(id) => self.request_cancel(id, ctx).await,
            ToolCommand::ConfirmCancellation(id) => self.confirm_cancel(id, ctx).await,
            ToolCommand::RequestReschedule(args) => self.request_reschedule(args, ctx).await,
            ToolCommand::ConfirmReschedule(id) => self.confirm_reschedule(id, ctx).await,
            ToolCommand::Handoff { .. }
            | ToolCommand::SendReply { .. }
            | ToolCommand::NoReply { .. } => Ok(ToolAnswer::refused(
                json!({"error": "handled by the engine"}),
            )),
        }
    }

    fn duration_for(&self, length: AppointmentLength) -> Result<AppointmentDuration, ToolArgError> {
        let max = self.profile.booking.max_appointment_minutes;
        let minutes = match length {
            AppointmentLength::Minutes(d) => return Ok(d),
            AppointmentLength::Price(price) => self.price_minutes(price),
            AppointmentLength::Unknown => self.config.default_appointment_minutes,
        };
        AppointmentDuration::from_minutes(i64::from(minutes), max).map_err(|e| ToolArgError {
            field: "duration_minutes".to_owned(),
            message: e.to_string(),
        })
    }

    fn price_minutes(&self, price: Price) -> u32 {
        self.pricing.duration_for_price(Euros::new(price.amount()))
    }

    /// Records every amount of `priced` in the conversation's quote book and answers with
    /// their ids: `quote_id` for a total, one id per size for a single piece.
    async fn record_quote(
        &self,
        priced: PricedQuote,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        let quote = &priced.quote;
        let ttl = self.config.quote_ttl;
        let mut book = self.quotes.load(ctx.conversation).await?;
        let mut result = priced.result;
        if quote.has_two_sizes() {
            let measured = book.record(
                quote.low().amount(),
                quote.duration_minutes(),
                &format!("{} (as measured)", priced.what),
                ctx.now,
                ttl,
            );
            // The larger size takes the larger amount's time.
            let larger = book.record(
                quote.high().amount(),
                self.pricing.duration_for_price(quote.high()),
                &format!("{} (slightly larger)", priced.what),
                ctx.now,
                ttl,
            );
            result["quote_id_as_measured"] = json!(measured);
            result["quote_id_slightly_larger"] = json!(larger);
        } else {
            let id = book.record(
                quote.total().amount(),
                quote.duration_minutes(),
                &priced.what,
                ctx.now,
                ttl,
            );
            result["quote_id"] = json!(id);
        }
        if let Some(until) = book.expires_at() {
            self.quotes
                .save(ctx.conversation, &book, until - ctx.now)
                .await?;
        }
        Ok(ToolAnswer::ok(result))
    }

    /// The price and length `reference` names: a quote of this conversation's book (only
    /// this conversation's: the book is looked up by the engine's conversation id), or a
    /// line of the studio's price guide. A refusal goes back to the model.
    async fn quoted(
        &self,
        reference: &QuoteRef,
        ctx: &ToolContext<'_>,
    ) -> Result<Result<(Price, AppointmentDuration), ToolArgError>, ToolFailure> {
        let refused = |message: String| ToolArgError {
            field: "quote_id".to_owned(),
            message,
        };
        let (amount, minutes) = match reference {
            QuoteRef::Quote(id) => {
                let book = self.quotes.load(ctx.conversation).await?;
                match book.find(id, ctx.now) {
                    Ok(q) => (q.price, q.minutes),
                    Err(refusal) => return Ok(Err(refused(refusal.to_string()))),
                }
            }
            QuoteRef::Guide(line) => match line.price(&self.profile.price_guide) {
                Some(amount) => (amount, self.pricing.duration_for_price(Euros::new(amount))),
                None => {
                    return Ok(Err(refused(format!(
                        "no price-guide line `{}`: lines are g1 to g{}, and b only where the \
                         guide gives two sizes",
                        reference.as_text(),
                        self.profile.price_guide.len()
                    ))));
                }
            },
        };
        let price =
            Price::new(amount, self.profile.pricing.max_price).map_err(|e| refused(e.to_string()));
        let duration = AppointmentDuration::from_minutes(
            i64::from(minutes),
            self.profile.booking.max_appointment_minutes,
        )
        .map_err(|e| refused(e.to_string()));
        Ok(price.and_then(|p| duration.map(|d| (p, d))))
    }

    fn day_range(&self, from: NaiveDate, to: NaiveDate) -> Interval {
        let tz = self.profile.time_zone;
        let midnight = |d: NaiveDate| {
            resolve_local(tz, d, NaiveTime::MIN)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|_| d.and_time(NaiveTime::MIN).and_utc())
        };
        Interval::new(midnight(from), midnight(to + Duration::days(1)))
    }

    /// A slot as the model passes it back to `book_appointment` (`YYYY-MM-DD HH:MM`); the
    /// day's name is in the answer's `formatted` list.
    fn slot_json(&self, slot: &Slot) -> Value {
        let when = format!(
            "{} {}",
            slot.date().format("%Y-%m-%d"),
            slot.start.format("%H:%M")
        );
        match self.artist_name(slot.artist.as_ref()) {
            Some(name) => json!(format!("{when} {name}")),
            None => json!(when),
        }
    }

    /// The artist's name as the customer knows it.
    fn artist_name(&self, key: Option<&ArtistKey>) -> Option<&str> {
        key.and_then(|k| self.profile.artist(k))
            .map(|a| a.name.as_str())
    }

    /// Closures (the profile's and the calendar's) on any of the dates `from..=to` that
    /// keep the studio, or every one of `artists`, away: what the bot tells the customer.
    async fn away(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        artists: Option<&[ArtistKey]>,
    ) -> Result<Vec<Value>, ToolFailure> {
        let stored = self
            .calendar
            .closures(from, to)
            .await
            .map_err(ToolFailure::Calendar)?;
        let all = self
            .profile
            .closures
            .iter()
            .chain(stored.iter().map(|s| &s.closure))
            .filter(|c| c.from <= to && c.to >= from);
        let relevant = |c: &Closure| match (&c.artist, artists) {
            (None, _) => true,
            (Some(away), Some(wanted)) => wanted.len() == 1 && wanted.contains(away),
            (Some(_), None) => false,
        };
        Ok(all
            .filter(|c| relevant(c))
            .map(|c| {
                json!({
                    "from": c.from.to_string(),
                    "to": c.to.to_string(),
                    "who": self.artist_name(c.artist.as_ref()).unwrap_or("studio"),
                    "reason": c.reason,
                })
            })
            .collect())
    }

    fn when(&self, start: DateTime<Utc>, language: Language) -> String {
        let local = start.with_timezone(&self.profile.time_zone);
        format!(
            "{} {}",
            format_date(local.date_naive(), language),
            local.format("%H:%M")
        )
    }

    /// Free slots for `request`, excluding other conversations' holds, held for this one.
    async fn offer(
        &self,
        request: &SlotRequest,
        ctx: &ToolContext<'_>,
    ) -> Result<Vec<Slot>, ToolFailure> {
        let range = self.day_range(request.from, request.to);
        let busy = self
            .calendar
            .busy(range)
            .await
            .map_err(ToolFailure::Calendar)?;
        let others = self
            .holds
            .held_by_others(ctx.conversation, range, ctx.now)
            .await?;
        let (busy, pool) = with_holds(busy, others);
        let slots = find_slots(&self.profile, &busy, &pool, request, ctx.now);
        let held: Vec<HeldSlot> = slots
            .iter()
            .map(|s| HeldSlot::new(s.interval(), s.artist.clone()))
            .collect();
        let ttl = Duration::minutes(i64::from(self.profile.booking.hold_minutes));
        self.holds
            .hold(ctx.conversation, &held, ttl, ctx.now)
            .await?;
        Ok(slots)
    }

    fn slots_answer(&self, slots: &[Slot], ctx: &ToolContext<'_>, key: &str) -> Value {
        json!({
            key: slots.iter().map(|s| self.slot_json(s)).collect::<Vec<_>>(),
            "formatted": format_slots(slots, ctx.language),
        })
    }

    async fn check_availability(
        &self,
        args: AvailabilityArgs,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        let duration = match self.duration_for(args.length) {
            Ok(d) => d,
            Err(e) => return Ok(e.into()),
        };
        let mut request = SlotRequest::range(args.from, args.to, duration);
        if let Some(time) = args.preferred_time {
            request = request.with_preferred_time(time);
        }
        if let Some(artists) = &args.artists {
            request = request.with_artists(artists.clone());
        }
        let slots = self.offer(&request, ctx).await?;
        let away = self
            .away(args.from, args.to, args.artists.as_deref())
            .await?;
        if slots.is_empty() {
            let mut answer = json!({
                "slots": [],
                "message": "no free time in this range; offer to look at other days",
            });
            if !away.is_empty() {
                answer["away"] = json!(away);
                answer["message"] = json!(
                    "no free time in this range; say who is away and why, and offer other days"
                );
            }
            return Ok(ToolAnswer::ok(answer));
        }
        let mut answer = self.slots_answer(&slots, ctx, "slots");
        answer["appointment_length"] = json!(format_appointment(duration, ctx.language));
        if !away.is_empty() {
            answer["away"] = json!(away);
        }
        Ok(ToolAnswer::ok(answer))
    }

    /// Free times near `start` for a refused booking: of `artist` when the customer asked
    /// for one (or the booking being moved has one), of any artist otherwise.
    async fn alternatives(
        &self,
        start: DateTime<Utc>,
        duration: AppointmentDuration,
        artist: Option<&ArtistKey>,
        ctx: &ToolContext<'_>,
    ) -> Result<Vec<Slot>, ToolFailure> {
        let local = start.with_timezone(&self.profile.time_zone);
        let from = local.date_naive();
        let mut request = SlotRequest::range(from, from + Duration::days(7), duration)
            .with_preferred_time(local.time());
        if let Some(artist) = artist.filter(|a| self.profile.artist(a).is_some()) {
            request = request.with_artists(vec![artist.clone()]);
        }
        self.offer(&request, ctx).await
    }

    async fn taken_answer(
        &self,
        start: DateTime<Utc>,
        duration: AppointmentDuration,
        artist: Option<&ArtistKey>,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        let alternatives = self.alternatives(start, duration, artist, ctx).await?;
        let mut answer = self.slots_answer(&alternatives, ctx, "alternatives");
        answer["error"] = json!("slot_taken");
        answer["message"] = json!("that time was just taken; offer these alternatives");
        Ok(ToolAnswer::refused(answer))
    }

    /// Where `start` fits the calendar with nobody else holding it: `Some(artist)` (the
    /// artist asked for, or the first free one; `Some(None)` without artists), `None` when
    /// it is taken.
    async fn placement(
        &self,
        start: DateTime<Utc>,
        duration: AppointmentDuration,
        artist: Option<&ArtistKey>,
        ignore: Option<&EventId>,
        ctx: &ToolContext<'_>,
    ) -> Result<Option<Option<ArtistKey>>, ToolFailure> {
        let window = recheck_window(&self.profile, start, duration);
        let busy = self
            .calendar
            .busy(window)
            .await
            .map_err(ToolFailure::Calendar)?;
        let others = self
            .holds
            .held_by_others(ctx.conversation, window, ctx.now)
            .await?;
        let (busy, pool) = with_holds(busy, others);
        // The rules were checked before; a refusal here counts as taken.
        Ok(place(
            &self.profile,
            &busy,
            &pool,
            start,
            duration,
            artist,
            ignore,
            ctx.now,
        )
        .ok()
        .flatten())
    }

    fn resolve_start(
        &self,
        date: NaiveDate,
        time: NaiveTime,
        field: &str,
    ) -> Result<DateTime<Utc>, ToolArgError> {
        resolve_local(self.profile.time_zone, date, time)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| ToolArgError {
                field: field.to_owned(),
                message: e.to_string(),
            })
    }

    async fn book(
        &self,
        args: BookingArgs,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        // The price and length are the quote's, never a number from the model.
        let (price, duration) = match self.quoted(&args.quote, ctx).await? {
            Ok(found) => found,
            Err(e) => return Ok(e.into()),
        };
        let start = match self.resolve_start(args.date, args.time, "time") {
            Ok(s) => s,
            Err(e) => return Ok(e.into()),
        };
        if let Err(e) =
            self.profile
                .check_appointment_for(args.artist.as_ref(), start, duration, ctx.now)
        {
            return Ok(ToolArgError {
                field: "time".to_owned(),
                message: e.to_string(),
            }
            .into());
        }
        // One decision of one turn: the same turn asking again (a retry, a turn resumed on
        // another replica) finds the booking it made, under the id the key gives.
        let key = booking_key(ctx.conversation, ctx.turn, start, duration);
        let own = event_id_for_key(&key).map_err(ToolFailure::Calendar)?;
        match self.calendar.get(&own).await {
            Ok(booking) if &booking.conversation == ctx.conversation => {
                tracing::info!(booking = %booking.id, "this turn booked already");
                self.release_after_booking(ctx).await;
                let answer = self.booked_answer(&booking, price, ctx);
                return Ok(self.with_deposit(&booking, answer, ctx).await);
            }
            // Someone else's under our id cannot happen with keys naming the conversation;
            // `create` refuses it below.
            Ok(_) | Err(CalendarError::NotFound(_)) => {}
            Err(e) => return Err(ToolFailure::Calendar(e)),
        }
        let slot = Interval::new(start, start + duration.as_chrono());
        let Some(reserved) = self
            .reserve(slot, duration, args.artist.as_ref(), &own, ctx)
            .await?
        else {
            return self
                .taken_answer(start, duration, args.artist.as_ref(), ctx)
                .await;
        };
        // Fresh re-check under the reservation: the calendar and every other
        // conversation's holds (one that reserved this slot and has not inserted yet is
        // only a hold). Our own booking, should it exist by now, does not count. With
        // artists it is for the artist reserved (the one asked for, or the one picked).
        let Some(artist) = self
            .placement(start, duration, reserved.as_ref(), Some(&own), ctx)
            .await?
        else {
            self.holds.release(ctx.conversation).await?;
            return self
                .taken_answer(start, duration, args.artist.as_ref(), ctx)
                .await;
        };
        let new = NewBooking {
            conversation: ctx.conversation.clone(),
            customer: args.name,
            phone: args.phone,
            design: Some(args.design),
            price: Some(price),
            start,
            duration,
            artist,
            idempotency_key: Some(key),
            deposit: self
                .deposit_hold(ctx.conversation, price, start, ctx.now)
                .await,
            sms_consent: args.sms_consent,
        };
        let created = self.calendar.create(new).await;
        match created {
            Ok(booking) => {
                self.release_after_booking(ctx).await;
                let answer = self.booked_answer(&booking, price, ctx);
                Ok(self.with_deposit(&booking, answer, ctx).await)
            }
            Err(CalendarError::SlotTaken { .. }) => {
                self.holds.release(ctx.conversation).await?;
                self.taken_answer(start, duration, args.artist.as_ref(), ctx)
                    .await
            }
            Err(CalendarError::Invalid(e)) => {
                self.holds.release(ctx.conversation).await?;
                Ok(ToolArgError {
                    field: "time".to_owned(),
                    message: e.to_string(),
                }
                .into())
            }
            Err(e) => {
                // The outcome may be unknown (a timeout after Google stored it): the
                // reservation goes anyway, and whoever books next re-reads the calendar.
                self.release_after_booking(ctx).await;
                Err(ToolFailure::Calendar(e))
            }
        }
    }

    /// Takes the store's atomic hold on exactly `slot` for this conversation, limited to
    /// the room the calendar has there (its own booking `own` not counted): two replicas
    /// booking the last unit cannot both pass. Without artists that is the studio's free
    /// units; with artists it is one hold per artist — the one asked for, or else the
    /// first (in the profile's order) free in the calendar whose hold this conversation
    /// wins — so customers of different artists at the same time never block each other
    /// and two of one artist never both pass. `Some(artist)` is what was reserved
    /// (`Some(None)` without artists); `None` = the slot is taken.
    async fn reserve(
        &self,
        slot: Interval,
        duration: AppointmentDuration,
        asked: Option<&ArtistKey>,
        own: &EventId,
        ctx: &ToolContext<'_>,
    ) -> Result<Option<Option<ArtistKey>>, ToolFailure> {
        let busy = self
            .calendar
            .busy(recheck_window(&self.profile, slot.start, duration))
            .await
            .map_err(ToolFailure::Calendar)?;
        if self.profile.artists.is_empty() {
            let free = free_units(&self.profile, &busy, slot.start, duration, Some(own));
            let held = free > 0
                && self
                    .holds
                    .reserve(
                        ctx.conversation,
                        HeldSlot::new(slot, None),
                        free,
                        RESERVATION_TTL,
                        ctx.now,
                    )
                    .await?;
            return Ok(held.then_some(None));
        }
        let candidates: Vec<&ArtistKey> = match asked {
            Some(artist) => vec![artist],
            None => self.profile.artists.iter().map(|a| &a.key).collect(),
        };
        for artist in candidates {
            // Free in the calendar (holds aside: the reservation below counts them).
            let free = matches!(
                place(
                    &self.profile,
                    &busy,
                    &[],
                    slot.start,
                    duration,
                    Some(artist),
                    Some(own),
                    ctx.now,
                ),
                Ok(Some(_))
            );
            if free
                && self
                    .holds
                    .reserve(
                        ctx.conversation,
                        HeldSlot::new(slot, Some(artist.clone())),
                        1,
                        RESERVATION_TTL,
                        ctx.now,
                    )
                    .await?
            {
                return Ok(Some(Some(artist.clone())));
            }
        }
        Ok(None)
    }

    /// Drops the conversation's holds once its booking exists. A failure here must not
    /// turn a made booking into an apology: the holds expire on their own.
    async fn release_after_booking(&self, ctx: &ToolContext<'_>) {
        if let Err(error) = self.holds.release(ctx.conversation).await {
            tracing::warn!(%error, "holds not released; they expire on their own");
        }
    }

    fn booked_answer(&self, booking: &Booking, price: Price, ctx: &ToolContext<'_>) -> ToolAnswer {
        let mut answer = json!({
            "booked": true,
            "booking_id": booking.id.as_str(),
            "when": self.when(booking.start, ctx.language),
            "length": format_appointment(booking.duration, ctx.language),
            "price": price.amount(),
            "currency": self.profile.currency_symbol,
        });
        if let Some(name) = self.artist_name(booking.artist.as_ref()) {
            answer["artist"] = json!(name);
        }
        ToolAnswer::ok(answer)
    }

    /// `answer` with the booking's deposit step ([`Engine::after_booking`]).
    async fn with_deposit(
        &self,
        booking: &Booking,
        answer: ToolAnswer,
        ctx: &ToolContext<'_>,
    ) -> ToolAnswer {
        ToolAnswer {
            content: self
                .after_booking(booking, ctx.language, answer.content)
                .await,
            ..answer
        }
    }

    fn booking_json(&self, booking: &Booking, language: Language) -> Value {
        let mut value = json!({
            "booking_id": booking.id.as_str(),
            "when": self.when(booking.start, language),
            "length": format_appointment(booking.duration, language),
            "design": booking.design.as_ref().map(|d| d.as_str()),
        });
        if let Some(name) = self.artist_name(booking.artist.as_ref()) {
            value["artist"] = json!(name);
        }
        value
    }

    async fn find_bookings(&self, ctx: &ToolContext<'_>) -> Result<ToolAnswer, ToolFailure> {
        let bookings = self
            .calendar
            .upcoming_for(ctx.conversation, ctx.now)
            .await
            .map_err(ToolFailure::Calendar)?;
        Ok(ToolAnswer::ok(json!({
            "bookings": bookings
                .iter()
                .filter(|b| &b.conversation == ctx.conversation)
                .map(|b| self.booking_json(b, ctx.language))
                .collect::<Vec<_>>(),
        })))
    }

    /// The booking when it exists, is upcoming and belongs to this conversation.
    async fn owned_booking(
        &self,
        id: &EventId,
        ctx: &ToolContext<'_>,
    ) -> Result<Option<Booking>, ToolFailure> {
        match self.calendar.get(id).await {
            Ok(b) if &b.conversation == ctx.conversation && b.start > ctx.now => Ok(Some(b)),
            Ok(_) | Err(CalendarError::NotFound(_) | CalendarError::Gone(_)) => Ok(None),
            Err(e) => Err(ToolFailure::Calendar(e)),
        }
    }

    async fn remember(
        &self,
        change: PendingChange,
        ctx: &ToolContext<'_>,
    ) -> Result<(), ToolFailure> {
        let pending = PendingConfirmation {
            change,
            requested_in: ctx.turn.clone(),
            requested_at: ctx.now,
            expires_at: ctx.now + self.config.confirmation_ttl,
            question_mids: Vec::new(),
        };
        self.confirmations.put(ctx.conversation, pending).await?;
        Ok(())
    }

    /// The booking a change is about: the one named (when it is this customer's), or the
    /// customer's only upcoming booking when none is named.
    async fn target_booking(
        &self,
        id: Option<&EventId>,
        ctx: &ToolContext<'_>,
    ) -> Result<Result<Booking, ToolAnswer>, ToolFailure> {
        if let Some(id) = id {
            return Ok(self.owned_booking(id, ctx).await?.ok_or_else(not_found));
        }
        let mut upcoming: Vec<Booking> = self
            .calendar
            .upcoming_for(ctx.conversation, ctx.now)
            .await
            .map_err(ToolFailure::Calendar)?
            .into_iter()
            .filter(|b| &b.conversation == ctx.conversation)
            .collect();
        Ok(match upcoming.len() {
            0 => Err(not_found()),
            1 => Ok(upcoming.remove(0)),
            _ => Err(ToolAnswer::refused(json!({
                "error": "several_bookings",
                "bookings": upcoming.iter().map(|b| self.booking_json(b, ctx.language)).collect::<Vec<_>>(),
                "message": "ask which one, then pass its booking_id",
            }))),
        })
    }

    async fn request_cancel(
        &self,
        id: Option<EventId>,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        let booking = match self.target_booking(id.as_ref(), ctx).await? {
            Ok(b) => b,
            Err(answer) => return Ok(answer),
        };
        self.remember(
            PendingChange::Cancel {
                booking: booking.id.clone(),
                starts_at: booking.start,
            },
            ctx,
        )
        .await?;
        Ok(ToolAnswer {
            content: json!({
                "waiting_for_confirmation": "cancel",
                "booking": self.booking_json(&booking, ctx.language),
                "next": "ask the customer to confirm; nothing is cancelled yet",
            }),
            ok: true,
            asked_confirmation: true,
        })
    }

    async fn confirm_cancel(
        &self,
        id: Option<EventId>,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        let pending = self.confirmations.get(ctx.conversation).await?;
        let change = match check_confirmation(
            pending.as_ref(),
            ChangeKind::Cancel,
            id.as_ref(),
            ctx.turn,
            ctx.now,
        ) {
            Ok(c) => c,
            Err(refusal) => {
                return Ok(ToolAnswer::refused(
                    serde_json::from_str(&refusal.to_tool_result()).unwrap_or(Value::Null),
                ));
            }
        };
        let PendingChange::Cancel { booking, starts_at } = change else {
            return Ok(not_found());
        };
        // The confirmation was recorded for this conversation's own booking, so a booking
        // already cancelled (this confirmation ran before: a retried or resumed turn) is
        // done, not missing.
        let cancelled = ToolAnswer::ok(json!({
            "cancelled": true,
            "when": self.when(starts_at, ctx.language),
        }));
        match self.calendar.get(&booking).await {
            Err(CalendarError::Gone(_)) => {
                self.confirmations.clear(ctx.conversation).await?;
                return Ok(cancelled);
            }
            Ok(b) if &b.conversation == ctx.conversation && b.start > ctx.now => {}
            Ok(_) | Err(CalendarError::NotFound(_)) => {
                self.confirmations.clear(ctx.conversation).await?;
                return Ok(not_found());
            }
            Err(e) => return Err(ToolFailure::Calendar(e)),
        }
        match self.calendar.cancel(&booking).await {
            Ok(()) | Err(CalendarError::Gone(_)) => {}
            Err(e) => return Err(ToolFailure::Calendar(e)),
        }
        if let Some(lifecycle) = &self.lifecycle {
            // A deposit still asked for must not be paid any more.
            lifecycle.withdraw_deposit(&booking).await;
        }
        self.confirmations.clear(ctx.conversation).await?;
        Ok(cancelled)
    }

    async fn request_reschedule(
        &self,
        args: RescheduleArgs,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        let booking = match self.target_booking(args.booking.as_ref(), ctx).await? {
            Ok(b) => b,
            Err(answer) => return Ok(answer),
        };
        let start = match self.resolve_start(args.date, args.time, "new_time") {
            Ok(s) => s,
            Err(e) => return Ok(e.into()),
        };
        if let Err(e) = self.profile.check_appointment_for(
            booking.artist.as_ref(),
            start,
            booking.duration,
            ctx.now,
        ) {
            return Ok(ToolArgError {
                field: "new_time".to_owned(),
                message: e.to_string(),
            }
            .into());
        }
        if self
            .placement(
                start,
                booking.duration,
                booking.artist.as_ref(),
                Some(&booking.id),
                ctx,
            )
            .await?
            .is_none()
        {
            return self
                .taken_answer(start, booking.duration, booking.artist.as_ref(), ctx)
                .await;
        }
        let ttl = Duration::minutes(i64::from(self.profile.booking.hold_minutes));
        let interval = Interval::new(start, start + booking.duration.as_chrono());
        let held = HeldSlot::new(interval, booking.artist.clone());
        self.holds
            .hold(ctx.conversation, &[held], ttl, ctx.now)
            .await?;
        self.remember(
            PendingChange::Reschedule {
                booking: booking.id.clone(),
                from: booking.start,
                to: start,
                duration_minutes: booking.duration.minutes(),
            },
            ctx,
        )
        .await?;
        Ok(ToolAnswer {
            content: json!({
                "waiting_for_confirmation": "reschedule",
                "booking": self.booking_json(&booking, ctx.language),
                "new_when": self.when(start, ctx.language),
                "next": "ask the customer to confirm; nothing is moved yet",
            }),
            ok: true,
            asked_confirmation: true,
        })
    }

    async fn confirm_reschedule(
        &self,
        id: Option<EventId>,
        ctx: &ToolContext<'_>,
    ) -> Result<ToolAnswer, ToolFailure> {
        let pending = self.confirmations.get(ctx.conversation).await?;
        let change = match check_confirmation(
            pending.as_ref(),
            ChangeKind::Reschedule,
            id.as_ref(),
            ctx.turn,
            ctx.now,
        ) {
            Ok(c) => c,
            Err(refusal) => {
                return Ok(ToolAnswer::refused(
                    serde_json::from_str(&refusal.to_tool_result()).unwrap_or(Value::Null),
                ));
            }
        };
        let PendingChange::Reschedule {
            booking, from, to, ..
        } = change
        else {
            return Ok(not_found());
        };
        let Some(current) = self.owned_booking(&booking, ctx).await? else {
            self.confirmations.clear(ctx.conversation).await?;
            return Ok(not_found());
        };
        match self.calendar.reschedule(&current.id, to, None).await {
            Ok(moved) => {
                self.confirmations.clear(ctx.conversation).await?;
                self.holds.release(ctx.conversation).await?;
                // `from` as asked: a repeated confirmation finds the booking moved already.
                Ok(ToolAnswer::ok(json!({
                    "rescheduled": true,
                    "from": self.when(from, ctx.language),
                    "to": self.when(moved.start, ctx.language),
                })))
            }
            Err(CalendarError::SlotTaken { .. }) => {
                self.confirmations.clear(ctx.conversation).await?;
                self.taken_answer(to, current.duration, current.artist.as_ref(), ctx)
                    .await
            }
            Err(CalendarError::Invalid(e)) => Ok(ToolArgError {
                field: "new_time".to_owned(),
                message: e.to_string(),
            }
            .into()),
            Err(e) => Err(ToolFailure::Calendar(e)),
        }
    }
}
