//! `inkdesk slots | book | bookings | cancel`: the studio's calendar from the terminal —
//! the one `serve` uses (Google when configured, else the Redis calendar the replicas
//! share when `REDIS_URL` is set, else the embedded one under `--data-dir`).

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
    AppointmentDuration, Clock, ConversationId, CustomerName, EventId, FixedClock, FreeText,
    PhoneNumber, Price, StudioProfile, SystemClock,
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
    /// Print JSON: `[{"start","end"}]` in RFC 3339 with the studio's offset.
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
}

/// Arguments of `inkdesk bookings`.
#[derive(Debug, Args)]
pub struct BookingsArgs {
    #[command(flatten)]
    calendar: CalendarArgs,
    /// Print JSON.
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
        artist: None,
        // Each `inkdesk book` is a booking of its own.
        idempotency_key: None,
    })
}

/// `inkdesk bookings`.
pub async fn bookings(args: &BookingsArgs) -> anyhow::Result<ExitCode> {
    let opened = match open(&args.calendar).await? {
        Ok(opened) => opened,
        Err(bad) => return Ok(finish(Err(bad))),
    };
    let bookings = opened.calendar.list_upcoming(opened.now, 500).await?;
    if args.json {
        println!("{}", serde_json::to_string(&bookings)?);
        return Ok(ExitCode::SUCCESS);
    }
    if bookings.is_empty() {
        println!("no upcoming bookings");
    }
    for booking in bookings {
        let start = booking.start.with_timezone(&opened.profile.time_zone);
        println!(
            "{}  {}  {} min  {}  {}",
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
    match opened.calendar.cancel(&id).await {
        Ok(()) => {
            println!("cancelled {id}");
            Ok(ExitCode::SUCCESS)
        }
        Err(CalendarError::NotFound(_) | CalendarError::Gone(_)) => {
            eprintln!("error: no booking {id}");
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(other.into()),
    }
}
