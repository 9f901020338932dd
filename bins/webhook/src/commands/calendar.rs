//! `inkdesk slots | book | bookings | cancel | block | unblock | closures`: the studio's
//! calendar from the terminal — the one `serve` uses (Google when configured, else the
//! Redis calendar the replicas share when `REDIS_URL` is set, else the embedded one under
//! `--data-dir`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use inkdesk_calendar::format::format_slots;
use inkdesk_calendar::{
    Calendar, CalendarError, NewBooking, SlotRequest, available_slots, duration_for_price,
};
use inkdesk_domain::schedule::{parse_date, parse_time};
use inkdesk_domain::{
    AppointmentDuration, ArtistKey, Clock, Closure, ConversationId, CustomerName, EventId,
    FixedClock, FreeText, PhoneNumber, Price, StudioProfile, SystemClock,
};

use crate::EXIT_BAD_INPUT;
use crate::studio;

/// Where the calendar lives and what time it is.
#[derive(Debug, Args, Clone)]
pub struct CalendarArgs {
    /// Data directory holding `calendar.sqlite3`.
    #[arg(long, env = "INKDESK_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Studio profile (TOML); default config/studio.toml if present, else the example.
    #[arg(long, env = "INKDESK_STUDIO")]
    pub studio: Option<PathBuf>,
    /// Pretend it is this instant (RFC 3339), for scripts and tests.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
}

/// How long an appointment lasts: minutes, or derived from a price.
#[derive(Debug, Args, Clone)]
#[group(required = false, multiple = false)]
pub struct LengthArgs {
    /// Length in minutes.
    #[arg(long)]
    pub duration: Option<i64>,
    /// Price in euros; the length follows from the price formula.
    #[arg(long)]
    pub price: Option<String>,
}

/// Arguments of `inkdesk slots`.
#[derive(Debug, Args)]
pub struct SlotsArgs {
    #[command(flatten)]
    calendar: CalendarArgs,
    /// First day (YYYY-MM-DD).
    #[arg(long)]
    from: String,
    /// Last day (YYYY-MM-DD); default: the first day.
    #[arg(long)]
    to: Option<String>,
    #[command(flatten)]
    length: LengthArgs,
    /// Preferred start time on the first day (HH:MM).
    #[arg(long)]
    preferred: Option<String>,
    /// At most this many slots; default: the profile's `max_slots_offered`.
    #[arg(long)]
    limit: Option<usize>,
    /// Only this artist's free times (the key from the profile's `[[artists]]`).
    #[arg(long, value_name = "KEY")]
    artist: Option<String>,
    /// Print JSON: `[{"start","end"}]` in RFC 3339 with the studio's offset, and each
    /// slot's `"artist"` when the studio has artists.
    #[arg(long)]
    json: bool,
}

/// Arguments of `inkdesk book`.
#[derive(Debug, Args)]
pub struct BookArgs {
    #[command(flatten)]
    calendar: CalendarArgs,
    /// Customer's name.
    #[arg(long)]
    name: String,
    /// Customer's phone number.
    #[arg(long)]
    phone: String,
    /// Start (RFC 3339, e.g. 2026-12-01T12:00:00+02:00).
    #[arg(long)]
    start: String,
    #[command(flatten)]
    length: LengthArgs,
    /// What the customer wants tattooed.
    #[arg(long)]
    note: Option<String>,
    /// The artist (key); default: the first artist free then.
    #[arg(long, value_name = "KEY")]
    artist: Option<String>,
}

/// Arguments of `inkdesk bookings`.
#[derive(Debug, Args)]
pub struct BookingsArgs {
    #[command(flatten)]
    calendar: CalendarArgs,
    /// Only this artist's bookings.
    #[arg(long, value_name = "KEY")]
    artist: Option<String>,
    /// Print JSON (each booking with its `"artist"` when it has one).
    #[arg(long)]
    json: bool,
}

/// Arguments of `inkdesk cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    #[command(flatten)]
    calendar: CalendarArgs,
    /// The booking id printed by `inkdesk book`.
    id: String,
    /// Cancel only if the booking is this artist's (a guard against a mistyped id).
    #[arg(long, value_name = "KEY")]
    artist: Option<String>,
}

/// Arguments of `inkdesk block`.
#[derive(Debug, Args)]
pub struct BlockArgs {
    #[command(flatten)]
    calendar: CalendarArgs,
    /// First closed day (YYYY-MM-DD).
    #[arg(long)]
    from: String,
    /// Last closed day, inclusive (YYYY-MM-DD); default: the first day.
    #[arg(long)]
    to: Option<String>,
    /// Only this artist is away (key); default: the whole studio.
    #[arg(long, value_name = "KEY")]
    artist: Option<String>,
    /// Why, in words the bot may repeat to customers (e.g. "summer holidays").
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
}

/// Arguments of `inkdesk unblock`.
#[derive(Debug, Args)]
pub struct UnblockArgs {
    #[command(flatten)]
    calendar: CalendarArgs,
    /// The closure id printed by `inkdesk block`.
    id: String,
}

/// Arguments of `inkdesk closures`.
#[derive(Debug, Args)]
pub struct ClosuresArgs {
    #[command(flatten)]
    calendar: CalendarArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Input the user must correct: printed as one line, exit code 2.
struct BadInput(String);

impl<E: std::fmt::Display> From<E> for BadInput {
    fn from(err: E) -> Self {
        BadInput(err.to_string())
    }
}

struct Opened {
    profile: Arc<StudioProfile>,
    calendar: Arc<dyn Calendar>,
    now: DateTime<Utc>,
}

async fn open(args: &CalendarArgs) -> anyhow::Result<Result<Opened, BadInput>> {
    let profile = match studio::load(args.studio.as_deref()) {
        Ok((profile, _)) => Arc::new(profile),
        Err(err) => return Ok(Err(BadInput(format!("{err:#}")))),
    };
    let clock: Arc<dyn Clock> = match &args.now {
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(at) => Arc::new(FixedClock(at.with_timezone(&Utc))),
            Err(_) => {
                return Ok(Err(BadInput(format!(
                    "--now `{text}` is not an RFC 3339 time"
                ))));
            }
        },
        None => Arc::new(SystemClock),
    };
    let now = clock.now();
    let mut settings = crate::settings::Settings::from_env(&crate::settings::ProcessEnv)?;
    settings.data_dir = args.data_dir.clone();
    let calendar = crate::app::configured_calendar(&settings, &profile, &clock)
        .await
        .with_context(|| format!("cannot open the calendar in {}", args.data_dir.display()))?;
    Ok(Ok(Opened {
        profile,
        calendar,
        now,
    }))
}

fn length(args: &LengthArgs, profile: &StudioProfile) -> Result<AppointmentDuration, BadInput> {
    let max = profile.booking.max_appointment_minutes;
    match (args.duration, &args.price) {
        (Some(minutes), _) => Ok(AppointmentDuration::from_minutes(minutes, max)?),
        (None, Some(price)) => {
            let price = Price::parse(price, profile.pricing.max_price)?;
            Ok(duration_for_price(price, profile)?)
        }
        (None, None) => Err(BadInput("give --duration MINUTES or --price EUR".into())),
    }
}

/// The artist `key` names, refused unless the profile has that artist.
fn artist_arg(key: Option<&str>, profile: &StudioProfile) -> Result<Option<ArtistKey>, BadInput> {
    let Some(key) = key else {
        return Ok(None);
    };
    let key = ArtistKey::parse(key)?;
    if profile.artist(&key).is_some() {
        return Ok(Some(key));
    }
    let known: Vec<&str> = profile.artists.iter().map(|a| a.key.as_str()).collect();
    Err(BadInput(if known.is_empty() {
        format!("--artist {key}: the studio profile has no [[artists]]")
    } else {
        format!(
            "--artist {key}: the studio has no such artist (artists: {})",
            known.join(", ")
        )
    }))
}

fn finish(result: Result<ExitCode, BadInput>) -> ExitCode {
    result.unwrap_or_else(|BadInput(message)| {
        eprintln!("error: {message}");
        ExitCode::from(EXIT_BAD_INPUT)
    })
}

/// `inkdesk slots`.
pub async fn slots(args: &SlotsArgs) -> anyhow::Result<ExitCode> {
    let opened = match open(&args.calendar).await? {
        Ok(opened) => opened,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let request = match slot_request(args, &opened.profile) {
        Ok(request) => request,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let slots = available_slots(
        opened.calendar.as_ref(),
        &opened.profile,
        &[],
        &request,
        opened.now,
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string(&slots)?);
    } else if slots.is_empty() {
        println!("no free slots");
    } else {
        println!("{}", format_slots(&slots, opened.profile.language));
    }
    Ok(ExitCode::SUCCESS)
}

fn slot_request(args: &SlotsArgs, profile: &StudioProfile) -> Result<SlotRequest, BadInput> {
    let from = parse_date(&args.from)?;
    let to = args
        .to
        .as_deref()
        .map(parse_date)
        .transpose()?
        .unwrap_or(from);
    if to < from {
        return Err(BadInput("--to is before --from".into()));
    }
    let duration = length(&args.length, profile)?;
    let mut request = SlotRequest::range(from, to, duration);
    if let Some(time) = &args.preferred {
        request = request.with_preferred_time(parse_time(time)?);
    }
    if let Some(artist) = artist_arg(args.artist.as_deref(), profile)? {
        request = request.with_artists(vec![artist]);
    }
    let limit = args
        .limit
        .unwrap_or(profile.booking.max_slots_offered as usize);
    Ok(request.with_limit(limit))
}

/// `inkdesk book`.
pub async fn book(args: &BookArgs) -> anyhow::Result<ExitCode> {
    let opened = match open(&args.calendar).await? {
        Ok(opened) => opened,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let booking = match new_booking(args, &opened.profile) {
        Ok(booking) => booking,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    match opened.calendar.create(booking).await {
        Ok(booking) => {
            println!("{}", booking.id);
            Ok(ExitCode::SUCCESS)
        }
        Err(CalendarError::SlotTaken { alternatives }) => {
            let language = opened.profile.language;
            if alternatives.is_empty() {
                eprintln!("error: the slot is no longer free");
            } else {
                eprintln!(
                    "error: the slot is no longer free; free instead: {}",
                    format_slots(&alternatives, language).replace('\n', "; ")
                );
            }
            Ok(ExitCode::FAILURE)
        }
        Err(CalendarError::Invalid(reason)) => {
            eprintln!("error: {reason}");
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(other.into()),
    }
}

fn new_booking(args: &BookArgs, profile: &StudioProfile) -> Result<NewBooking, BadInput> {
    let start = DateTime::parse_from_rfc3339(&args.start)
        .map_err(|_| BadInput(format!("--start `{}` is not an RFC 3339 time", args.start)))?
        .with_timezone(&Utc);
    Ok(NewBooking {
        conversation: ConversationId::parse("cli")?,
        customer: CustomerName::parse(&args.name)?,
        phone: PhoneNumber::parse(&args.phone, profile.phone_region)?,
        design: args.note.as_deref().map(FreeText::parse).transpose()?,
        price: args
            .length
            .price
            .as_deref()
            .map(|p| Price::parse(p, profile.pricing.max_price))
            .transpose()?,
        start,
        duration: length(&args.length, profile)?,
        artist: artist_arg(args.artist.as_deref(), profile)?,
        // Each `inkdesk book` is a booking of its own.
        idempotency_key: None,
        deposit: None,
        sms_consent: false,
    })
}

/// `inkdesk bookings`.
pub async fn bookings(args: &BookingsArgs) -> anyhow::Result<ExitCode> {
    let opened = match open(&args.calendar).await? {
        Ok(opened) => opened,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let artist = match artist_arg(args.artist.as_deref(), &opened.profile) {
        Ok(artist) => artist,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let mut bookings = opened.calendar.list_upcoming(opened.now, 500).await?;
    if let Some(artist) = &artist {
        bookings.retain(|b| b.artist.as_ref() == Some(artist));
    }
    if args.json {
        println!("{}", serde_json::to_string(&bookings)?);
        return Ok(ExitCode::SUCCESS);
    }
    if bookings.is_empty() {
        println!("no upcoming bookings");
    }
    for booking in bookings {
        let start = booking.start.with_timezone(&opened.profile.time_zone);
        let artist = booking
            .artist
            .as_ref()
            .map(|a| format!("  {a}"))
            .unwrap_or_default();
        // Only a booking that is not simply confirmed says where it is (`pending_deposit`).
        let status = match booking.status {
            inkdesk_calendar::BookingStatus::Confirmed => String::new(),
            other => format!("  {other}"),
        };
        println!(
            "{}  {}  {} min{artist}  {}  {}{status}",
            booking.id,
            start.format("%Y-%m-%d %H:%M"),
            booking.duration.minutes(),
            booking.customer,
            booking.phone
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `inkdesk cancel`.
pub async fn cancel(args: &CancelArgs) -> anyhow::Result<ExitCode> {
    let opened = match open(&args.calendar).await? {
        Ok(opened) => opened,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let id = match EventId::parse(&args.id) {
        Ok(id) => id,
        Err(err) => return Ok(finish(Err(err.into()))),
    };
    let artist = match artist_arg(args.artist.as_deref(), &opened.profile) {
        Ok(artist) => artist,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    if let Some(artist) = &artist {
        match opened.calendar.get(&id).await {
            Ok(booking) if booking.artist.as_ref() == Some(artist) => {}
            Ok(_) => {
                eprintln!("error: booking {id} is not {artist}'s; nothing cancelled");
                return Ok(ExitCode::FAILURE);
            }
            Err(CalendarError::NotFound(_) | CalendarError::Gone(_)) => {
                eprintln!("error: no booking {id}");
                return Ok(ExitCode::FAILURE);
            }
            Err(other) => return Err(other.into()),
        }
    }
    // The command line is the studio's: the booking is cancelled by the studio.
    let change = inkdesk_calendar::StatusChange::Cancel(inkdesk_calendar::CancelledBy::Studio);
    match opened.calendar.set_status(&id, change).await {
        Ok(_) => {
            println!("cancelled {id}");
            Ok(ExitCode::SUCCESS)
        }
        Err(CalendarError::NotFound(_) | CalendarError::Gone(_)) => {
            eprintln!("error: no booking {id}");
            Ok(ExitCode::FAILURE)
        }
        Err(CalendarError::Transition(refused)) => {
            eprintln!("error: {refused}");
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(other.into()),
    }
}

/// `inkdesk block`: the studio (or one artist) away on some dates; prints the closure id.
pub async fn block(args: &BlockArgs) -> anyhow::Result<ExitCode> {
    let opened = match open(&args.calendar).await? {
        Ok(opened) => opened,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let closure = match closure_arg(args, &opened.profile) {
        Ok(closure) => closure,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let stored = opened.calendar.add_closure(closure).await?;
    println!("{}", stored.id);
    Ok(ExitCode::SUCCESS)
}

fn closure_arg(args: &BlockArgs, profile: &StudioProfile) -> Result<Closure, BadInput> {
    let from = parse_date(&args.from)?;
    let to = args
        .to
        .as_deref()
        .map(parse_date)
        .transpose()?
        .unwrap_or(from);
    let artist = artist_arg(args.artist.as_deref(), profile)?;
    Closure::new(from, to, artist, args.reason.clone())
        .map_err(|e| BadInput(format!("--from/--to: {e}")))
}

/// `inkdesk unblock`: removes a closure made with `inkdesk block`.
pub async fn unblock(args: &UnblockArgs) -> anyhow::Result<ExitCode> {
    let opened = match open(&args.calendar).await? {
        Ok(opened) => opened,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let id = match EventId::parse(&args.id) {
        Ok(id) => id,
        Err(err) => return Ok(finish(Err(err.into()))),
    };
    match opened.calendar.remove_closure(&id).await {
        Ok(()) => {
            println!("removed {id}");
            Ok(ExitCode::SUCCESS)
        }
        Err(CalendarError::NotFound(_)) => {
            eprintln!("error: no closure {id} (closures from the studio profile are edited there)");
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(other.into()),
    }
}

/// `inkdesk closures`: the closures from today on, the profile's and the calendar's.
pub async fn closures(args: &ClosuresArgs) -> anyhow::Result<ExitCode> {
    let opened = match open(&args.calendar).await? {
        Ok(opened) => opened,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let today = opened.profile.today(opened.now);
    let stored = opened
        .calendar
        .closures(today, today + chrono::Duration::days(100 * 366))
        .await?;
    let from_profile: Vec<&Closure> = opened
        .profile
        .closures
        .iter()
        .filter(|c| c.to >= today)
        .collect();
    if args.json {
        let mut all: Vec<serde_json::Value> = Vec::new();
        for closure in &from_profile {
            let mut value = serde_json::to_value(closure)?;
            value["source"] = serde_json::json!("profile");
            all.push(value);
        }
        for closure in &stored {
            let mut value = serde_json::to_value(closure)?;
            value["source"] = serde_json::json!("calendar");
            all.push(value);
        }
        println!("{}", serde_json::Value::Array(all));
        return Ok(ExitCode::SUCCESS);
    }
    if stored.is_empty() && from_profile.is_empty() {
        println!("no closures");
    }
    let line = |id: &str, c: &Closure| {
        format!(
            "{id}  {} – {}  {}  {}",
            c.from,
            c.to,
            c.artist.as_ref().map_or("studio", ArtistKey::as_str),
            c.reason.as_deref().unwrap_or("")
        )
    };
    for closure in from_profile {
        println!("{}", line("(profile)", closure).trim_end());
    }
    for closure in &stored {
        println!("{}", line(closure.id.as_str(), &closure.closure).trim_end());
    }
    Ok(ExitCode::SUCCESS)
}
