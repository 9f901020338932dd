//! The wired application: every port as `Arc<dyn …>`, chosen from the configuration.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use inkdesk_assistant::deposits::{CustomerNotices, Lifecycle, LifecyclePorts};
use inkdesk_assistant::reminders::{
    ReminderConfig, ReminderPlanner, ReminderPorts, ReminderSender, ReminderStep, ReminderTexts,
    RemindingCalendar,
};
use inkdesk_assistant::runner::{Runner, RunnerConfig, RunnerPorts};
use inkdesk_assistant::tone::ToneSource;
use inkdesk_assistant::{Engine, EngineConfig, EngineDeps};
use inkdesk_calendar::{Calendar, Credentials, EmbeddedCalendar, GoogleCalendar, GoogleConfig};
use inkdesk_domain::{Clock, StudioProfile, SystemClock};
use inkdesk_messaging::{AttachmentFetcher, GraphConfig, GraphMessenger, HttpFetcher, Messenger};
use inkdesk_openai::{ChatModel, OpenAiClient, OpenAiConfig, Transcriber};
use inkdesk_store::{RedisConfig, StoreOptions, Stores};
use secrecy::{ExposeSecret, SecretString};

use crate::adapters::{StoreConfirmations, StoreOfferHolds, StoreQuotes};
use crate::metrics::Metrics;
use crate::settings::{RedisSettings, Settings};

/// Webhook credentials.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    /// Key of `X-Hub-Signature-256`; POSTs answer 503 while unset.
    pub app_secret: Option<SecretString>,
    /// Answer expected in the subscription handshake.
    pub verify_token: Option<SecretString>,
    /// The studio's Instagram account id; unset accepts every entry.
    pub account_id: Option<String>,
}

/// The HTTP server's own settings.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Concurrency limit and request timeout.
    pub limits: crate::http::limits::HttpLimits,
    /// `INKDESK_METRICS_TOKEN`: bearer token `/metrics` requires, when set.
    pub metrics_token: Option<SecretString>,
    /// `INKDESK_FEED_TOKEN`: the secret in the iCalendar feed's address; feed off when unset.
    pub feed_token: Option<SecretString>,
}

/// How workers claim and run turns.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Lease on a claimed conversation (renewed by the turn's heartbeat).
    pub lease: Duration,
    /// Turns running at once in this replica.
    pub concurrency: usize,
    /// Longest sleep of an idle worker before it looks for work claimed elsewhere.
    pub idle_poll: Duration,
    /// How long shutdown waits for turns in flight.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            concurrency: 16,
            idle_poll: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

/// Everything the HTTP handlers and workers use.
pub struct App {
    /// The studio.
    pub profile: Arc<StudioProfile>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Persistent state.
    pub stores: Stores,
    /// The studio's calendar.
    pub calendar: Arc<dyn Calendar>,
    /// The conversation engine; `None` without a model (conversations are recorded for a
    /// person instead of answered).
    pub engine: Option<Arc<Engine>>,
    /// The model, for the status page.
    pub model: Option<Arc<dyn ChatModel>>,
    /// Sends replies; `None` without a token (recorded for a person).
    pub messenger: Option<Arc<dyn Messenger>>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Webhook credentials.
    pub webhook: WebhookSecrets,
    /// Server limits and the metrics token.
    pub http: HttpConfig,
    /// Quiet time after a customer's last message before the turn.
    pub debounce: Duration,
    /// Worker tuning.
    pub worker: WorkerConfig,
    /// Brings this replica's claim loop forward when something was queued here.
    pub wake: Arc<crate::worker::Wake>,
    /// The admin console's state (sessions, notifier); off without `INKDESK_ADMIN_TOKEN`.
    pub admin: Arc<crate::admin::Console>,
    /// Runs claimed turns.
    pub runner: Arc<Runner>,
    /// Customers' Instagram names and usernames for the console (fetched once, kept in
    /// the store).
    pub profiles: Arc<crate::profiles::CustomerProfiles>,
    /// Sends claimed customer reminders.
    pub reminders: Arc<ReminderSender>,
    /// Attendance of past bookings and customers' no-show records.
    pub no_shows: Arc<inkdesk_assistant::noshow::NoShows>,
    /// The booking lifecycle: deposits received, unpaid holds expired, payment events.
    pub lifecycle: Arc<inkdesk_assistant::deposits::Lifecycle>,
    /// Scheduled jobs by kind (the job worker runs them).
    pub jobs: Arc<inkdesk_assistant::jobs::Jobs>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("studio", &self.profile.name)
            .field("engine", &self.engine.is_some())
            .field("messenger", &self.messenger.is_some())
            .field("debounce", &self.debounce)
            .finish_non_exhaustive()
    }
}

/// Which store backs the application.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    /// In process memory (`--ephemeral`, tests).
    Memory,
    /// SQLite file (the default: `INKDESK_DATA_DIR/store.sqlite3`).
    Sqlite(PathBuf),
    /// Redis shared by replicas (connection settings from the environment).
    Redis(RedisSettings),
    /// Redis at a URL (tests).
    RedisUrl(String),
}

/// Builds the application from settings; tests override pieces through [`Overrides`].
#[derive(Default)]
pub struct Overrides {
    /// Use this store instead of the configured one.
    pub store: Option<StoreChoice>,
    /// Key prefix for the store (tests isolate replicas' data by prefix).
    pub key_prefix: Option<String>,
    /// Use this clock.
    pub clock: Option<Arc<dyn Clock>>,
    /// Use this calendar.
    pub calendar: Option<Arc<dyn Calendar>>,
    /// Use this worker tuning.
    pub worker: Option<WorkerConfig>,
    /// Keep the calendar in memory (`--ephemeral`).
    pub ephemeral: bool,
    /// Retry upstream calls after milliseconds instead of seconds (tests).
    pub fast_retries: bool,
    /// Stop turns where this plan says (crash-injection tests).
    pub faults: Option<Arc<dyn inkdesk_assistant::runner::faults::FaultPlan>>,
    /// Use these runner settings (tests: short leases and deadlines).
    pub runner: Option<RunnerConfig>,
    /// Stop reminders where this says (crash-injection tests).
    pub reminder_faults: Option<Arc<dyn Fn(ReminderStep) -> bool + Send + Sync>>,
    /// Use these reminder settings (tests: short leases).
    pub reminders: Option<ReminderConfig>,
}

impl App {
    /// Wires the adapters that the configuration names, falling back to the embedded
    /// ones. Missing credentials never fail start-up: they are logged and the feature
    /// degrades (see `Settings::missing_for_production`).
    pub async fn build(
        settings: &Settings,
        profile: StudioProfile,
        overrides: Overrides,
    ) -> anyhow::Result<Self> {
        let profile = Arc::new(profile);
        let clock: Arc<dyn Clock> = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let store_choice = overrides.store.unwrap_or_else(|| match &settings.redis {
            Some(redis) => StoreChoice::Redis(redis.clone()),
            None if overrides.ephemeral => StoreChoice::Memory,
            None => StoreChoice::Sqlite(settings.data_dir.join("store.sqlite3")),
        });
        let mut options = StoreOptions {
            retention: history_retention(&profile),
            intake_ack_within: settings.intake_ack_within,
            ..StoreOptions::default()
        };
        if let Some(prefix) = overrides.key_prefix {
            options.key_prefix = prefix;
        }
        // With Redis, the calendar (unless Google's) lives on the same connection, so
        // every replica sees the same bookings.
        let mut redis_store = None;
        let stores = match store_choice {
            StoreChoice::Memory => Stores::memory(clock.clone(), options),
            StoreChoice::Sqlite(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
                Stores::sqlite(&path, clock.clone(), options)
                    .await
                    .with_context(|| format!("cannot open the store {}", path.display()))?
            }
            StoreChoice::RedisUrl(url) => {
                let store = Stores::redis_store(RedisConfig::from_url(url), options)
                    .await
                    .context("cannot connect to Redis")?;
                redis_store = Some(store.clone());
                Stores::from_shared(store)
            }
            StoreChoice::Redis(redis) => {
                let store = Stores::redis_store(redis_config(&redis)?, options)
                    .await
                    .context("cannot connect to Redis")?;
                redis_store = Some(store.clone());
                Stores::from_shared(store)
            }
        };
        let calendar = match overrides.calendar {
            Some(calendar) => calendar,
            None => calendar(settings, &profile, &clock, redis_store, overrides.ephemeral).await?,
        };
        // Every booking change — the assistant's, the console's — keeps its reminder job.
        let planner = ReminderPlanner::new(
            stores.schedule.clone(),
            clock.clone(),
            profile.booking.reminder_hours,
        );
        let calendar: Arc<dyn Calendar> =
            Arc::new(RemindingCalendar::new(calendar, planner.clone()));
        let client = model_client(settings, overrides.fast_retries)?;
        let model = client.clone().map(|c| c as Arc<dyn ChatModel>);
        // The same server transcribes voice notes, unless OPENAI_MODEL_TRANSCRIBE=none.
        let transcriber = client
            .filter(|_| settings.model.model_transcribe.is_some())
            .map(|c| c as Arc<dyn Transcriber>);
        let messenger = messenger(settings, overrides.fast_retries)?;
        let fetcher: Arc<dyn AttachmentFetcher> = Arc::new(
            HttpFetcher::new(
                Duration::from_secs(20),
                settings.server.download_allow_hosts.clone(),
            )
            .context("cannot build the downloader")?,
        );
        // Built before the engine, which asks it for deposits; the console's notifier
        // alerts the studio when a customer cannot be told by DM.
        let admin = Arc::new(
            crate::admin::Console::new(settings, profile.time_zone, stores.keyed.clone())
                .context("cannot build the admin console")?,
        );
        // A customer with a no-show always pays a deposit; the turn's prompt says so.
        let no_shows = Arc::new(inkdesk_assistant::noshow::NoShows::new(
            calendar.clone(),
            stores.keyed.clone(),
        ));
        let deposits = crate::payments::deposits(
            &settings.payments,
            &profile,
            stores.schedule.clone(),
            clock.clone(),
            no_shows.clone(),
        )?;
        let lifecycle = Arc::new(
            Lifecycle::new(LifecyclePorts {
                profile: profile.clone(),
                calendar: calendar.clone(),
                schedule: stores.schedule.clone(),
                keyed: stores.keyed.clone(),
                notices: CustomerNotices {
                    messenger: messenger.clone(),
                    log: stores.log.clone(),
                    outbox: stores.outbox.clone(),
                    takeover: stores.takeover.clone(),
                    alerts: Arc::new(crate::admin::notify::ConsoleAlerts(admin.clone())),
                    clock: clock.clone(),
                },
                deposits,
                clock: clock.clone(),
            })
            .context("cannot load the deposit texts")?,
        );
        // The reminder handler joins below, once its ports exist.
        let jobs = inkdesk_assistant::jobs::Jobs::new(stores.schedule.clone(), clock.clone())
            .with(lifecycle.clone());
        let engine = match &model {
            Some(model) => {
                let deps = EngineDeps {
                    model: model.clone(),
                    calendar: calendar.clone(),
                    holds: Arc::new(StoreOfferHolds::new(
                        stores.holds.clone(),
                        profile.booking.capacity,
                    )),
                    confirmations: Arc::new(StoreConfirmations::new(stores.keyed.clone())),
                    quotes: Arc::new(StoreQuotes::new(stores.keyed.clone())),
                    fetcher,
                    tone: tone_retriever(settings, &stores).await,
                };
                let mut engine = Engine::new((*profile).clone(), deps, EngineConfig::default())
                    .context("cannot render the studio's prompts")?;
                if let Some(transcriber) = transcriber {
                    engine = engine.with_transcriber(transcriber);
                }
                let engine = engine
                    .with_sms_reminders(settings.twilio.is_some())
                    .context("cannot render the studio's prompts")?
                    .with_no_shows(no_shows.clone())
                    .with_lifecycle(lifecycle.clone())
                    .context("cannot render the studio's prompts")?;
                Some(Arc::new(engine))
            }
            None => None,
        };
        let debounce = settings.debounce.unwrap_or_else(|| {
            Duration::from_secs(u64::from(profile.conversation.debounce_seconds))
        });
        for line in settings.missing_for_production() {
            tracing::warn!(missing = line, "configuration incomplete");
        }
        let worker = overrides.worker.unwrap_or_else(|| WorkerConfig {
            lease: Duration::from_secs(settings.turns.lease_seconds),
            ..WorkerConfig::default()
        });
        let metrics = Arc::new(Metrics::new());
        let profiles = Arc::new(crate::profiles::CustomerProfiles::new(
            profile_lookup(settings)?,
            stores.keyed.clone(),
            stores.log.clone(),
            clock.clone(),
            history_retention(&profile),
        ));
        let runner_config = overrides.runner.unwrap_or_else(|| RunnerConfig {
            // Tests retry in fractions of a second, as they do upstream calls.
            retry_base: if overrides.fast_retries {
                Duration::from_millis(200)
            } else {
                RunnerConfig::default().retry_base
            },
            retry_max: if overrides.fast_retries {
                Duration::from_secs(2)
            } else {
                RunnerConfig::default().retry_max
            },
            lease: worker.lease,
            turn_deadline: Duration::from_secs(settings.turns.deadline_seconds),
            max_attempts: settings.turns.max_attempts,
            max_messages: settings.turns.max_messages,
            max_images: settings.turns.max_images,
            history_turns: profile.conversation.history_turns as usize,
            handoff_mute: Duration::from_secs(
                u64::from(profile.conversation.takeover_mute_minutes) * 60,
            ),
        });
        let ports = RunnerPorts {
            inbox: stores.inbox.clone(),
            journal: stores.journal.clone(),
            log: stores.log.clone(),
            takeover: stores.takeover.clone(),
            outbox: stores.outbox.clone(),
            keyed: stores.keyed.clone(),
            engine: engine.clone(),
            messenger: messenger.clone(),
            observer: Arc::new(crate::worker::ServiceObserver {
                metrics: metrics.clone(),
                admin: admin.clone(),
                usage: crate::worker::UsageRecorder {
                    totals: stores.usage.clone(),
                    prices: Arc::new(settings.model.prices.clone()),
                    clock: clock.clone(),
                    time_zone: profile.time_zone,
                },
            }),
            clock: clock.clone(),
        };
        let mut runner = Runner::new(ports, runner_config);
        if let Some(faults) = overrides.faults {
            runner = runner.with_faults(faults);
        }
        let sms = match &settings.twilio {
            Some(twilio) => Some(
                Arc::new(twilio.client().context("invalid Twilio configuration")?)
                    as Arc<dyn inkdesk_messaging::sms::Sms>,
            ),
            None => None,
        };
        let reminder_ports = ReminderPorts {
            schedule: stores.schedule.clone(),
            planner,
            calendar: calendar.clone(),
            log: stores.log.clone(),
            outbox: stores.outbox.clone(),
            keyed: stores.keyed.clone(),
            takeover: stores.takeover.clone(),
            messenger: messenger.clone(),
            sms,
            profile: profile.clone(),
            texts: ReminderTexts::new().context("cannot read the reminder texts")?,
            observer: metrics.clone(),
            clock: clock.clone(),
        };
        let reminder_config = overrides.reminders.unwrap_or_else(|| ReminderConfig {
            lease: worker.lease,
            ..ReminderConfig::default()
        });
        let mut reminders = ReminderSender::new(reminder_ports, reminder_config);
        if let Some(faults) = overrides.reminder_faults {
            reminders = reminders.with_faults(move |step| faults(step));
        }
        let reminders = Arc::new(reminders);
        let jobs = Arc::new(jobs.with(reminders.clone()));
        Ok(Self {
            lifecycle,
            jobs,
            profiles,
            reminders,
            no_shows,
            runner: Arc::new(runner),
            profile,
            clock,
            stores,
            calendar,
            engine,
            model,
            messenger,
            metrics,
            webhook: WebhookSecrets {
                app_secret: settings.instagram.app_secret.clone(),
                verify_token: settings.instagram.verify_token.clone(),
                account_id: settings.instagram.account_id.clone(),
            },
            http: HttpConfig {
                limits: settings.server.limits,
                metrics_token: settings.server.metrics_token.clone(),
                feed_token: settings.feed_token.clone(),
            },
            debounce,
            worker,
            wake: Arc::new(crate::worker::Wake::default()),
            admin,
        })
    }
}

/// Tone retrieval with query embeddings cached in the shared store.
async fn tone_retriever(settings: &Settings, stores: &Stores) -> Option<Arc<dyn ToneSource>> {
    let cache: Arc<dyn inkdesk_tone::retrieve::EmbeddingCache> =
        match crate::adapters::StoreEmbeddingCache::new(stores.keyed.clone()) {
            Some(cache) => Arc::new(cache),
            None => crate::commands::tone::memory_cache(),
        };
    crate::commands::tone::retriever(settings, cache)
        .await
        .map(|r| r as Arc<dyn ToneSource>)
}

fn redis_config(redis: &RedisSettings) -> anyhow::Result<RedisConfig> {
    match &redis.url {
        Some(url) => Ok(RedisConfig::from_url(url.expose_secret())),
        None => RedisConfig::from_parts(
            redis.host.as_deref().unwrap_or("127.0.0.1"),
            redis.port,
            redis.ssl,
            redis.username.as_deref(),
            redis.password.as_ref(),
        )
        .context("REDIS_HOST/REDIS_PORT do not form a valid address"),
    }
}

/// The calendar `serve` would use, for the command line (`slots`, `book`, `bookings`,
/// `cancel`): with Redis configured, the calendar every replica shares, so what the
/// terminal shows and changes is what the bot sees.
pub async fn configured_calendar(
    settings: &Settings,
    profile: &Arc<StudioProfile>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn Calendar>> {
    let redis = match &settings.redis {
        Some(redis) if !settings.google.is_configured() => Some(
            Stores::redis_store(redis_config(redis)?, StoreOptions::default())
                .await
                .context("cannot connect to Redis")?,
        ),
        _ => None,
    };
    calendar(settings, profile, clock, redis, false).await
}

/// The calendar: Google when credentials are configured; otherwise on the store's Redis
/// when the store is Redis (shared by every replica); otherwise embedded (SQLite under the
/// data dir, or in memory with `--ephemeral`).
async fn calendar(
    settings: &Settings,
    profile: &Arc<StudioProfile>,
    clock: &Arc<dyn Clock>,
    redis: Option<Arc<inkdesk_store::RedisStore>>,
    ephemeral: bool,
) -> anyhow::Result<Arc<dyn Calendar>> {
    let google = &settings.google;
    let credentials = if let Some(path) = &google.service_account_file {
        let json = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Some(Credentials::from_service_account_json(&json).context("GOOGLE_SERVICE_ACCOUNT_FILE")?)
    } else if let Some(path) = &google.token_file {
        let token = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let secrets = match &google.client_secrets {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
            ),
            None => None,
        };
        Some(
            Credentials::from_token_json(&token, secrets.as_deref())
                .context("GOOGLE_TOKEN_FILE")?,
        )
    } else {
        None
    };
    Ok(match (credentials, redis) {
        (Some(credentials), _) => {
            let mut config = GoogleConfig::new(google.calendar_id.clone());
            if let Some(base) = &google.api_base_url {
                let url = base
                    .parse()
                    .with_context(|| format!("GOOGLE_API_BASE_URL `{base}` is not a URL"))?;
                config = config.with_api_base(url);
            }
            Arc::new(
                GoogleCalendar::new(config, credentials, profile.clone(), clock.clone())
                    .context("cannot build the Google Calendar client")?,
            )
        }
        (None, Some(store)) => Arc::new(inkdesk_store::RedisCalendar::new(
            store,
            profile.clone(),
            clock.clone(),
        )),
        (None, None) if ephemeral => Arc::new(EmbeddedCalendar::open_in_memory(
            profile.clone(),
            clock.clone(),
        )?),
        (None, None) => Arc::new(
            EmbeddedCalendar::open(&settings.data_dir, profile.clone(), clock.clone())
                .await
                .context("cannot open the embedded calendar")?,
        ),
    })
}

/// The configured model client, if any.
pub(crate) fn model(
    settings: &Settings,
    fast_retries: bool,
) -> anyhow::Result<Option<Arc<dyn ChatModel>>> {
    Ok(model_client(settings, fast_retries)?.map(|c| c as Arc<dyn ChatModel>))
}

/// The configured model client (chat and transcription), if any.
fn model_client(
    settings: &Settings,
    fast_retries: bool,
) -> anyhow::Result<Option<Arc<OpenAiClient>>> {
    let model = &settings.model;
    if !model.is_configured() {
        return Ok(None);
    }
    let mut config = OpenAiConfig::default();
    if let Some(base) = &model.base_url {
        config.base_url = base.clone();
    }
    config.api_key = model.api_key.clone();
    config.tasks.default.model = model.model_default.clone();
    config.tasks.vision.model = model.model_vision.clone();
    if let Some(transcribe) = &model.model_transcribe {
        config.tasks.transcribe = transcribe.clone();
    }
    if fast_retries {
        config.retry.min_backoff = Duration::from_millis(10);
        config.retry.max_backoff = Duration::from_millis(50);
        config.deadline = Duration::from_secs(5);
    }
    let client = OpenAiClient::new(config).context("invalid model configuration")?;
    Ok(Some(Arc::new(client)))
}

/// The Graph API settings, when an Instagram token is configured.
fn graph_config(settings: &Settings) -> Option<GraphConfig> {
    let token = settings.instagram.access_token.clone()?;
    let mut config = GraphConfig::instagram_login(token);
    if let Some(base) = &settings.instagram.graph_base_url {
        config = config.base_url(base.clone());
    }
    Some(config)
}

/// How long a customer's profile is kept: as long as their history.
fn history_retention(profile: &StudioProfile) -> Duration {
    Duration::from_secs(u64::from(profile.conversation.history_retention_days) * 86_400)
}

/// The User Profile API client, when an Instagram token is configured.
fn profile_lookup(
    settings: &Settings,
) -> anyhow::Result<Option<Arc<dyn inkdesk_messaging::ProfileLookup>>> {
    let Some(config) = graph_config(settings) else {
        return Ok(None);
    };
    let lookup = inkdesk_messaging::GraphProfiles::new(&config)
        .context("invalid Instagram configuration")?;
    Ok(Some(Arc::new(lookup)))
}

fn messenger(
    settings: &Settings,
    fast_retries: bool,
) -> anyhow::Result<Option<Arc<dyn Messenger>>> {
    let Some(mut config) = graph_config(settings) else {
        return Ok(None);
    };
    if fast_retries {
        config = config.retry(inkdesk_messaging::RetryPolicy {
            max_retries: 2,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        });
    }
    let messenger = GraphMessenger::new(config).context("invalid Instagram configuration")?;
    Ok(Some(Arc::new(messenger)))
}
