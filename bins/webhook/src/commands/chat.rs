//! `inkdesk chat`: talk to the assistant from a terminal as a customer would.
//!
//! It runs the real engine with the configured model (OpenAI or any compatible local
//! server via `OPENAI_BASE_URL`) and the embedded calendar, without the webhook or the
//! debounce: each line you type is one customer message.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use inkdesk_assistant::confirm::{MemoryConfirmationStore, TurnId};
use inkdesk_assistant::engine::TurnInput;
use inkdesk_assistant::holds::MemoryOfferHolds;
use inkdesk_assistant::message::{CustomerMessage, ImageAnalysis, image_ref};
use inkdesk_assistant::quotes::{MemoryQuoteStore, QuoteBook, QuoteStore};
use inkdesk_assistant::tone::ToneSource;
use inkdesk_assistant::{Engine, EngineConfig, EngineDeps};
use inkdesk_calendar::{Calendar, EmbeddedCalendar};
use inkdesk_domain::{Clock, ConversationId, SystemClock};
use inkdesk_messaging::StaticFetcher;

use crate::settings::{ProcessEnv, Settings};
use crate::studio;

/// Arguments of `inkdesk chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Studio profile (TOML); default config/studio.toml if present, else the example.
    #[arg(long, env = "INKDESK_STUDIO")]
    pub studio: Option<PathBuf>,
    /// Keep bookings in memory instead of the data dir's calendar.
    #[arg(long)]
    pub ephemeral: bool,
}

const HELP: &str =
    "Type as a customer. Commands: /image PATH (send a picture), /bookings, /reset, /quit";

/// Runs the simulator until end of input or `/quit`.
pub async fn run(args: &ChatArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env(&ProcessEnv)?;
    let Some(model) = crate::app::model(&settings, false)? else {
        eprintln!(
            "no model configured: set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL (a compatible local server, e.g. http://localhost:11434/v1)"
        );
        return Ok(ExitCode::from(crate::EXIT_BAD_INPUT));
    };
    let (profile, _) = studio::load(args.studio.as_deref())?;
    let profile = Arc::new(profile);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let calendar: Arc<dyn Calendar> = if args.ephemeral {
        Arc::new(EmbeddedCalendar::open_in_memory(
            profile.clone(),
            clock.clone(),
        )?)
    } else {
        Arc::new(EmbeddedCalendar::open(&settings.data_dir, profile.clone(), clock.clone()).await?)
    };
    let fetcher = Arc::new(StaticFetcher::new());
    let quotes = Arc::new(MemoryQuoteStore::new());
    let deps = EngineDeps {
        model,
        calendar: calendar.clone(),
        holds: Arc::new(MemoryOfferHolds::new()),
        confirmations: Arc::new(MemoryConfirmationStore::new()),
        quotes: quotes.clone(),
        fetcher: fetcher.clone(),
        tone: crate::commands::tone::retriever(&settings, crate::commands::tone::memory_cache())
            .await
            .map(|r| r as Arc<dyn ToneSource>),
    };
    let engine = Engine::new((*profile).clone(), deps, EngineConfig::default())?;
    let conversation = ConversationId::parse("chat-local")?;
    let mut history = Vec::new();
    let mut known_images = HashMap::new();
    let mut counter = 0u64;
    println!("inkdesk chat — {} ({HELP})", profile.name);
    let stdin = std::io::stdin();
    loop {
        print!("> ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim();
        counter += 1;
        let now = clock.now();
        let mid = format!("chat-{counter}");
        let message = match line
            .split_once(' ')
            .map_or((line, ""), |(a, b)| (a, b.trim()))
        {
            ("", _) => continue,
            ("/quit", _) => break,
            ("/help", _) => {
                println!("{HELP}");
                continue;
            }
            ("/reset", _) => {
                history.clear();
                known_images.clear();
                // The quotes given so far go with the conversation.
                quotes
                    .save(
                        &conversation,
                        &QuoteBook::default(),
                        chrono::Duration::zero(),
                    )
                    .await?;
                println!("(conversation forgotten)");
                continue;
            }
            ("/bookings", _) => {
                let bookings = calendar.upcoming_for(&conversation, now).await?;
                if bookings.is_empty() {
                    println!("(no bookings)");
                }
                for b in bookings {
                    let start = b.start.with_timezone(&profile.time_zone);
                    let price = b
                        .price
                        .map(|p| format!("{} {}  ", p.amount(), profile.currency_symbol))
                        .unwrap_or_default();
                    println!(
                        "({}  {}  {} min  {price}{})",
                        b.id,
                        start.format("%Y-%m-%d %H:%M"),
                        b.duration.minutes(),
                        b.customer
                    );
                }
                continue;
            }
            ("/image", path) => match std::fs::read(path) {
                Ok(bytes) => {
                    let url = format!("https://local.invalid/{mid}");
                    fetcher.insert(url.clone(), bytes);
                    CustomerMessage::image(mid.clone(), now, url)
                }
                Err(error) => {
                    println!("(cannot read {path}: {error})");
                    continue;
                }
            },
            _ => CustomerMessage::text(mid.clone(), now, line),
        };
        let input = TurnInput {
            conversation: conversation.clone(),
            turn: TurnId(mid),
            pending: vec![message],
            history: history.clone(),
            known_images: known_images.clone(),
        };
        let outcome = engine.respond(input, now).await;
        for analysis in &outcome.analyses {
            if let ImageAnalysis::Measured(m) = &analysis.analysis {
                known_images.insert(image_ref(&analysis.mid, analysis.index), m.clone());
            }
        }
        if let Some(entry) = outcome.customer_entry.clone() {
            history.push(entry);
        }
        if let Some(entry) = outcome.assistant_entry(clock.now()) {
            history.push(entry);
        }
        match &outcome.reply {
            Some(reply) => println!("{reply}"),
            None => println!("(no reply)"),
        }
        if let Some(handoff) = &outcome.handoff {
            println!("(handed to a person: {:?})", handoff.reason);
        }
    }
    Ok(ExitCode::SUCCESS)
}
