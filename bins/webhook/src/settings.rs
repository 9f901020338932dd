//! Environment settings: everything that is not the studio profile.
//!
//! Precedence: built-in defaults < studio profile < environment (a `.env` file is read
//! into the environment at start-up). The seed's variable names keep working. Secrets are
//! `SecretString`s: `Debug` shows `[REDACTED]` and [`Settings::report`] prints only
//! whether each one is set.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use inkdesk_messaging::AllowHosts;
use inkdesk_openai::PriceTable;
use secrecy::{ExposeSecret, SecretString};

use crate::http::client_addr::TrustedProxies;
use crate::http::limits::HttpLimits;

/// Shortest `INKDESK_ADMIN_TOKEN` that `serve` accepts.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 24;
/// Shortest `INKDESK_FEED_TOKEN` that `serve` accepts (it is the feed's only protection).
pub const MIN_FEED_TOKEN_CHARS: usize = 24;

/// Reads one variable; empty values count as unset.
pub trait Env {
    /// The value of `key`, if set and not empty.
    fn get(&self, key: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Env for std::collections::HashMap<String, String> {
    fn get(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.trim().is_empty()).cloned()
    }
}

/// The OpenAI-compatible model server.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    /// `OPENAI_API_KEY` (optional for local servers).
    pub api_key: Option<SecretString>,
    /// `OPENAI_BASE_URL`, set for Azure OpenAI, OpenRouter, Ollama, vLLM, llama.cpp.
    pub base_url: Option<String>,
    /// `OPENAI_MODEL_DEFAULT`.
    pub model_default: String,
    /// `OPENAI_MODEL_VISION`.
    pub model_vision: String,
    /// `OPENAI_MODEL_TRANSCRIBE` (default `gpt-4o-mini-transcribe`); `None` when set to
    /// `none`: voice notes are then not transcribed.
    pub model_transcribe: Option<String>,
    /// Prices per model: OpenAI's list prices with `INKDESK_MODEL_PRICES` applied.
    pub prices: PriceTable,
}

impl ModelSettings {
    /// A model is usable when a key is set or a (local) base URL is given.
    pub fn is_configured(&self) -> bool {
        self.api_key.is_some() || self.base_url.is_some()
    }
}

/// Instagram (Meta Graph API) settings.
#[derive(Debug, Clone)]
pub struct InstagramSettings {
    /// `IG_USER_ACCESS_TOKEN`: token used to send messages.
    pub access_token: Option<SecretString>,
    /// `IG_APP_SECRET`: key of the webhook signature.
    pub app_secret: Option<SecretString>,
    /// `IG_VERIFY_TOKEN`: answer expected in the subscription handshake.
    pub verify_token: Option<SecretString>,
    /// `IG_ACCOUNT_ID`: the studio's Instagram account id (entries for others are ignored).
    pub account_id: Option<String>,
    /// `IG_GRAPH_BASE_URL`.
    pub graph_base_url: Option<String>,
}

/// Redis connection settings (`REDIS_URL`, or `REDIS_HOST`/`REDIS_PORT`/`REDIS_SSL`/
/// `REDIS_USERNAME`/`REDIS_PASSWORD`).
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `REDIS_URL`, which wins over the parts.
    pub url: Option<SecretString>,
    /// `REDIS_HOST`.
    pub host: Option<String>,
    /// `REDIS_PORT` (6379).
    pub port: u16,
    /// `REDIS_SSL`.
    pub ssl: bool,
    /// `REDIS_USERNAME`.
    pub username: Option<String>,
    /// `REDIS_PASSWORD`.
    pub password: Option<SecretString>,
}

/// Google Calendar settings.
#[derive(Debug, Clone)]
pub struct GoogleSettings {
    /// `GOOGLE_TOKEN_FILE`: installed-app `token.json`.
    pub token_file: Option<PathBuf>,
    /// `GOOGLE_CLIENT_SECRETS`: installed-app client secrets.
    pub client_secrets: Option<PathBuf>,
    /// `GOOGLE_SERVICE_ACCOUNT_FILE`: service account key.
    pub service_account_file: Option<PathBuf>,
    /// `GOOGLE_CALENDAR_ID` (`primary`).
    pub calendar_id: String,
    /// `GOOGLE_API_BASE_URL`.
    pub api_base_url: Option<String>,
}

impl GoogleSettings {
    /// Google is used when either kind of credentials is configured.
    pub fn is_configured(&self) -> bool {
        self.token_file.is_some() || self.service_account_file.is_some()
    }
}

/// Twilio, for customer reminders by SMS: all of SID, token and sender, or none.
#[derive(Debug, Clone)]
pub struct TwilioSettings {
    /// `TWILIO_ACCOUNT_SID`.
    pub account_sid: String,
    /// `TWILIO_AUTH_TOKEN`.
    pub auth_token: SecretString,
    /// `TWILIO_FROM`: a Twilio number, a Messaging Service SID (`MG…`) or a sender id.
    pub from: inkdesk_messaging::sms::SmsSender,
    /// `TWILIO_API_BASE_URL` (`https://api.twilio.com`).
    pub api_base_url: Option<String>,
}

impl TwilioSettings {
    fn from_env(env: &dyn Env) -> anyhow::Result<Option<Self>> {
        let sid = env.get("TWILIO_ACCOUNT_SID");
        let token = env.get("TWILIO_AUTH_TOKEN").map(SecretString::from);
        let from = env.get("TWILIO_FROM");
        let (sid, token, from) = match (sid, token, from) {
            (None, None, None) => return Ok(None),
            (Some(sid), Some(token), Some(from)) => (sid, token, from),
            (sid, token, from) => {
                let missing: Vec<&str> = [
                    ("TWILIO_ACCOUNT_SID", sid.is_none()),
                    ("TWILIO_AUTH_TOKEN", token.is_none()),
                    ("TWILIO_FROM", from.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, missing)| missing.then_some(name))
                .collect();
                bail!(
                    "SMS reminders need TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM together; {} unset",
                    missing.join(", ")
                );
            }
        };
        let from = inkdesk_messaging::sms::SmsSender::parse(&from).context("TWILIO_FROM")?;
        let settings = Self {
            account_sid: sid.trim().to_owned(),
            auth_token: token,
            from,
            api_base_url: env.get("TWILIO_API_BASE_URL"),
        };
        // The SID's shape and the base URL are checked here, so `check-config` says so.
        settings
            .client()
            .context("TWILIO_ACCOUNT_SID / TWILIO_API_BASE_URL")?;
        Ok(Some(settings))
    }

    /// The Twilio client these settings describe.
    pub fn client(
        &self,
    ) -> Result<inkdesk_messaging::sms::TwilioSms, inkdesk_messaging::sms::TwilioConfigError> {
        let mut config = inkdesk_messaging::sms::TwilioConfig::new(
            self.account_sid.clone(),
            self.auth_token.clone(),
            self.from.clone(),
        );
        if let Some(base) = &self.api_base_url {
            config = config.base_url(base.clone());
        }
        inkdesk_messaging::sms::TwilioSms::new(config)
    }
}

/// Tone examples: the embedding model and an optional Pinecone index.
#[derive(Debug, Clone)]
pub struct ToneSettings {
    /// `INKDESK_EMBEDDING_MODEL` (`text-embedding-3-small`), served at `OPENAI_BASE_URL`.
    pub embedding_model: String,
    /// `PINECONE_API_KEY`: use Pinecone instead of the index file in the data dir.
    pub pinecone_api_key: Option<SecretString>,
    /// `PINECONE_INDEX`: the Pinecone index name.
    pub pinecone_index: Option<String>,
    /// `PINECONE_CONTROL_URL` (`https://api.pinecone.io`): where index hosts are looked up.
    pub pinecone_control_url: String,
}

impl ToneSettings {
    /// Pinecone is used when both its key and its index name are set.
    pub fn pinecone(&self) -> Option<(&SecretString, &str)> {
        self.pinecone_api_key
            .as_ref()
            .zip(self.pinecone_index.as_deref())
    }
}

/// The HTTP server and its outbound protections.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `INKDESK_BIND` (`0.0.0.0`): the address `serve` listens on.
    pub bind: IpAddr,
    /// `INKDESK_HTTP_TIMEOUT_SECONDS` (15) and `INKDESK_HTTP_MAX_CONCURRENCY` (512).
    pub limits: HttpLimits,
    /// `INKDESK_TRUSTED_PROXY`: proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// `INKDESK_METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer` with it.
    pub metrics_token: Option<SecretString>,
    /// `INKDESK_DOWNLOAD_ALLOW_HOSTS`: attachment hosts allowed to resolve to non-public
    /// addresses (tests, a private CDN).
    pub download_allow_hosts: AllowHosts,
}

/// Every environment setting.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `PORT` (3000).
    pub port: u16,
    /// Listen address, limits, proxies, metrics token, download allow list.
    pub server: ServerSettings,
    /// `INKDESK_DATA_DIR` (`./data`): embedded store and calendar files.
    pub data_dir: PathBuf,
    /// `INKDESK_INTAKE_ACK_MS` (2): embedded store only, the longest a webhook waits for
    /// its commit before its message is answered from the intake spool; `None` (`0`):
    /// always wait for the commit.
    pub intake_ack_within: Option<Duration>,
    /// `INKDESK_DEBOUNCE_SECONDS`: overrides the profile's debounce window.
    pub debounce: Option<Duration>,
    /// `DEBUG`: pretty logs and debug level.
    pub debug: bool,
    /// `APP_LOG_FILE`: also write JSON logs to this file.
    pub log_file: Option<PathBuf>,
    /// `INKDESK_ADMIN_TOKEN`: the admin console's bearer token (console off when unset).
    pub admin_token: Option<SecretString>,
    /// `INKDESK_FEED_TOKEN`: the secret part of the iCalendar feed's address
    /// (`/feed/{token}.ics`); the feed is off (404) when unset.
    pub feed_token: Option<SecretString>,
    /// Handoff notifications (Telegram, outgoing webhook) of the admin console.
    pub notify: crate::admin::notify::NotifySettings,
    /// The model server.
    pub model: ModelSettings,
    /// Instagram.
    pub instagram: InstagramSettings,
    /// Redis; `None` means the embedded store.
    pub redis: Option<RedisSettings>,
    /// Google Calendar.
    pub google: GoogleSettings,
    /// Tone examples (embeddings, Pinecone).
    pub tone: ToneSettings,
    /// How turns are leased, bounded and retried.
    pub turns: TurnSettings,
    /// Twilio (SMS reminders); `None` when unset.
    pub twilio: Option<TwilioSettings>,
    /// Deposits: `INKDESK_PAYMENTS` and Stripe's keys.
    pub payments: crate::payments::PaymentSettings,
}

/// How turns are leased, bounded and retried (see the runner in inkdesk-assistant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnSettings {
    /// `INKDESK_LEASE_SECONDS` (60): a claimed conversation's lease, renewed by a heartbeat.
    pub lease_seconds: u64,
    /// `INKDESK_TURN_DEADLINE_SECONDS` (300): the longest a turn may take.
    pub deadline_seconds: u64,
    /// `INKDESK_TURN_MAX_ATTEMPTS` (5): failed attempts before a person takes over.
    pub max_attempts: u32,
    /// `INKDESK_TURN_MAX_MESSAGES` (20): messages one turn answers.
    pub max_messages: usize,
    /// `INKDESK_TURN_MAX_IMAGES` (4): images one turn analyses.
    pub max_images: usize,
}

impl Default for TurnSettings {
    fn default() -> Self {
        Self {
            lease_seconds: 60,
            deadline_seconds: 300,
            max_attempts: 5,
            max_messages: 20,
            max_images: 4,
        }
    }
}

impl TurnSettings {
    fn from_env(env: &dyn Env) -> anyhow::Result<Self> {
        let d = Self::default();
        let turns = Self {
            lease_seconds: number(env, "INKDESK_LEASE_SECONDS")?.unwrap_or(d.lease_seconds),
            deadline_seconds: number(env, "INKDESK_TURN_DEADLINE_SECONDS")?
                .unwrap_or(d.deadline_seconds),
            max_attempts: number(env, "INKDESK_TURN_MAX_ATTEMPTS")?.unwrap_or(d.max_attempts),
            max_messages: number(env, "INKDESK_TURN_MAX_MESSAGES")?.unwrap_or(d.max_messages),
            max_images: number(env, "INKDESK_TURN_MAX_IMAGES")?.unwrap_or(d.max_images),
        };
        if turns.lease_seconds < 3 {
            bail!("INKDESK_LEASE_SECONDS must be at least 3 (the heartbeat renews every third)");
        }
        if turns.max_attempts == 0 || turns.max_messages == 0 {
            bail!("INKDESK_TURN_MAX_ATTEMPTS and INKDESK_TURN_MAX_MESSAGES must be at least 1");
        }
        Ok(turns)
    }
}

fn flag(value: Option<String>) -> anyhow::Result<bool> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => bail!("`{other}` is not a boolean (use true or false)"),
    }
}

fn number<T: std::str::FromStr>(env: &dyn Env, key: &str) -> anyhow::Result<Option<T>> {
    env.get(key)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .ok()
                .with_context(|| format!("{key}: `{v}` is not a valid number"))
        })
        .transpose()
}

impl Settings {
    /// Reads every setting from `env`; malformed numbers and booleans are errors naming
    /// the variable.
    pub fn from_env(env: &dyn Env) -> anyhow::Result<Self> {
        let secret = |key: &str| env.get(key).map(SecretString::from);
        let redis_url = secret("REDIS_URL");
        let redis_host = env.get("REDIS_HOST");
        let redis = if redis_url.is_some() || redis_host.is_some() {
            Some(RedisSettings {
                url: redis_url,
                host: redis_host,
                port: number(env, "REDIS_PORT")?.unwrap_or(6379),
                ssl: flag(env.get("REDIS_SSL")).context("REDIS_SSL")?,
                username: env.get("REDIS_USERNAME"),
                password: secret("REDIS_PASSWORD"),
            })
        } else {
            None
        };
        let defaults = HttpLimits::default();
        let timeout = number::<u64>(env, "INKDESK_HTTP_TIMEOUT_SECONDS")?
            .map_or(defaults.request_timeout, Duration::from_secs);
        let concurrency = number::<usize>(env, "INKDESK_HTTP_MAX_CONCURRENCY")?
            .unwrap_or(defaults.max_concurrency);
        if timeout.is_zero() || concurrency == 0 {
            bail!(
                "INKDESK_HTTP_TIMEOUT_SECONDS and INKDESK_HTTP_MAX_CONCURRENCY must be at least 1"
            );
        }
        let server = ServerSettings {
            bind: match env.get("INKDESK_BIND") {
                None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Some(raw) => raw.trim().parse().ok().with_context(|| {
                    format!(
                        "INKDESK_BIND: `{raw}` is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::)"
                    )
                })?,
            },
            limits: HttpLimits {
                request_timeout: timeout,
                max_concurrency: concurrency,
            },
            trusted_proxies: TrustedProxies::parse(
                &env.get("INKDESK_TRUSTED_PROXY").unwrap_or_default(),
            )
            .context("INKDESK_TRUSTED_PROXY")?,
            metrics_token: secret("INKDESK_METRICS_TOKEN"),
            download_allow_hosts: AllowHosts::parse(
                &env.get("INKDESK_DOWNLOAD_ALLOW_HOSTS").unwrap_or_default(),
            ),
        };
        Ok(Self {
            port: number(env, "PORT")?.unwrap_or(3000),
            server,
            data_dir: env
                .get("INKDESK_DATA_DIR")
                .unwrap_or_else(|| "./data".into())
                .into(),
            intake_ack_within: match number::<u64>(env, "INKDESK_INTAKE_ACK_MS")? {
                None => Some(inkdesk_store::DEFAULT_INTAKE_ACK_WITHIN),
                Some(0) => None,
                Some(ms) => Some(Duration::from_millis(ms)),
            },
            debounce: number::<u64>(env, "INKDESK_DEBOUNCE_SECONDS")?.map(Duration::from_secs),
            turns: TurnSettings::from_env(env)?,
            twilio: TwilioSettings::from_env(env)?,
            debug: flag(env.get("DEBUG")).context("DEBUG")?,
            log_file: env.get("APP_LOG_FILE").map(PathBuf::from),
            admin_token: secret("INKDESK_ADMIN_TOKEN"),
            feed_token: secret("INKDESK_FEED_TOKEN"),
            notify: crate::admin::notify::NotifySettings::from_env(env),
            payments: crate::payments::PaymentSettings::from_env(env)?,
            model: ModelSettings {
                api_key: secret("OPENAI_API_KEY"),
                base_url: env.get("OPENAI_BASE_URL"),
                model_default: env
                    .get("OPENAI_MODEL_DEFAULT")
                    .unwrap_or_else(|| "gpt-4o".into()),
                model_vision: env
                    .get("OPENAI_MODEL_VISION")
                    .unwrap_or_else(|| "gpt-4o-mini".into()),
                model_transcribe: match env.get("OPENAI_MODEL_TRANSCRIBE") {
                    Some(v) if matches!(v.trim(), "none" | "off") => None,
                    Some(v) => Some(v.trim().to_owned()),
                    None => Some("gpt-4o-mini-transcribe".into()),
                },
                prices: {
                    let mut prices = PriceTable::list_prices();
                    if let Some(overrides) = env.get("INKDESK_MODEL_PRICES") {
                        prices
                            .apply_overrides(&overrides)
                            .context("INKDESK_MODEL_PRICES")?;
                    }
                    prices
                },
            },
            instagram: InstagramSettings {
                access_token: secret("IG_USER_ACCESS_TOKEN"),
                app_secret: secret("IG_APP_SECRET"),
                verify_token: secret("IG_VERIFY_TOKEN"),
                account_id: env.get("IG_ACCOUNT_ID"),
                graph_base_url: env.get("IG_GRAPH_BASE_URL"),
            },
            redis,
            google: GoogleSettings {
                token_file: env.get("GOOGLE_TOKEN_FILE").map(PathBuf::from),
                client_secrets: env.get("GOOGLE_CLIENT_SECRETS").map(PathBuf::from),
                service_account_file: env.get("GOOGLE_SERVICE_ACCOUNT_FILE").map(PathBuf::from),
                calendar_id: env
                    .get("GOOGLE_CALENDAR_ID")
                    .unwrap_or_else(|| "primary".into()),
                api_base_url: env.get("GOOGLE_API_BASE_URL"),
            },
            tone: ToneSettings {
                embedding_model: env
                    .get("INKDESK_EMBEDDING_MODEL")
                    .unwrap_or_else(|| "text-embedding-3-small".into()),
                pinecone_api_key: secret("PINECONE_API_KEY"),
                pinecone_index: env.get("PINECONE_INDEX"),
                pinecone_control_url: env
                    .get("PINECONE_CONTROL_URL")
                    .unwrap_or_else(|| "https://api.pinecone.io".into()),
            },
        })
    }

    /// Refuses settings `serve` must not run with: an admin token shorter than
    /// [`MIN_ADMIN_TOKEN_CHARS`] or a feed token shorter than [`MIN_FEED_TOKEN_CHARS`] (the
    /// error says how long it is, never what it is).
    pub fn check_for_serve(&self) -> anyhow::Result<()> {
        if let Some(token) = &self.admin_token {
            let chars = token.expose_secret().chars().count();
            if chars < MIN_ADMIN_TOKEN_CHARS {
                bail!(
                    "INKDESK_ADMIN_TOKEN is {chars} characters long; the admin console needs at \
                     least {MIN_ADMIN_TOKEN_CHARS} (for example the 64 characters of \
                     `openssl rand -hex 32`), or unset it to turn the console off"
                );
            }
        }
        if let Some(token) = &self.feed_token {
            let chars = token.expose_secret().chars().count();
            if chars < MIN_FEED_TOKEN_CHARS {
                bail!(
                    "INKDESK_FEED_TOKEN is {chars} characters long; the calendar feed needs at \
                     least {MIN_FEED_TOKEN_CHARS} (for example the 64 characters of \
                     `openssl rand -hex 32`), or unset it to turn the feed off"
                );
            }
            if !token
                .expose_secret()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!(
                    "INKDESK_FEED_TOKEN may hold only letters, digits, `-` and `_` (it is part \
                     of the feed's address)"
                );
            }
        }
        Ok(())
    }

    /// What production needs and is not configured, one line each.
    pub fn missing_for_production(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if let Err(error) = self.check_for_serve() {
            missing.push(if error.to_string().starts_with("INKDESK_FEED_TOKEN") {
                "INKDESK_FEED_TOKEN: shorter than 24 characters or not letters, digits, - and _; `serve` refuses to start"
            } else {
                "INKDESK_ADMIN_TOKEN: shorter than 24 characters; `serve` refuses to start"
            });
        }
        if self.instagram.app_secret.is_none() {
            missing.push("IG_APP_SECRET: webhook POSTs are refused (503) until it is set");
        }
        if self.instagram.verify_token.is_none() {
            missing.push("IG_VERIFY_TOKEN: Meta cannot verify the webhook subscription");
        }
        if self.instagram.access_token.is_none() {
            missing.push("IG_USER_ACCESS_TOKEN: replies cannot be sent; conversations are recorded for a person");
        }
        if self.instagram.account_id.is_none() {
            missing.push("IG_ACCOUNT_ID: entries are not filtered by the studio's account id");
        }
        if !self.model.is_configured() {
            missing.push("OPENAI_API_KEY or OPENAI_BASE_URL: no model; conversations are recorded for a person");
        }
        if self.google.token_file.is_some() && self.google.client_secrets.is_none() {
            missing.push("GOOGLE_CLIENT_SECRETS: needed with GOOGLE_TOKEN_FILE unless the token file holds the client id and secret");
        }
        missing.extend(self.payments.missing());
        missing
    }

    /// The effective settings as `KEY = value` lines, secrets shown only as set/unset.
    pub fn report(&self) -> Vec<(String, String)> {
        let set = |s: &Option<SecretString>| {
            if s.is_some() { "set (hidden)" } else { "unset" }.to_owned()
        };
        let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "unset".into());
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("unset".into(), |p| p.display().to_string())
        };
        let mut rows = vec![
            ("PORT".into(), self.port.to_string()),
            ("INKDESK_BIND".into(), self.server.bind.to_string()),
            (
                "INKDESK_HTTP_TIMEOUT_SECONDS".into(),
                self.server.limits.request_timeout.as_secs().to_string(),
            ),
            (
                "INKDESK_HTTP_MAX_CONCURRENCY".into(),
                self.server.limits.max_concurrency.to_string(),
            ),
            (
                "INKDESK_TRUSTED_PROXY".into(),
                self.server.trusted_proxies.describe(),
            ),
            (
                "INKDESK_METRICS_TOKEN".into(),
                set(&self.server.metrics_token),
            ),
            (
                "INKDESK_DOWNLOAD_ALLOW_HOSTS".into(),
                match self.server.download_allow_hosts.hosts() {
                    hosts if hosts.is_empty() => "unset (public addresses only)".into(),
                    hosts => hosts.join(","),
                },
            ),
            (
                "INKDESK_DATA_DIR".into(),
                self.data_dir.display().to_string(),
            ),
            (
                "INKDESK_INTAKE_ACK_MS".into(),
                self.intake_ack_within
                    .map_or("0 (always wait for the commit)".into(), |d| {
                        d.as_millis().to_string()
                    }),
            ),
            (
                "INKDESK_DEBOUNCE_SECONDS".into(),
                self.debounce
                    .map_or("from studio profile".into(), |d| d.as_secs().to_string()),
            ),
            ("DEBUG".into(), self.debug.to_string()),
            (
                "INKDESK_LEASE_SECONDS".into(),
                self.turns.lease_seconds.to_string(),
            ),
            (
                "INKDESK_TURN_DEADLINE_SECONDS".into(),
                self.turns.deadline_seconds.to_string(),
            ),
            (
                "INKDESK_TURN_MAX_ATTEMPTS".into(),
                self.turns.max_attempts.to_string(),
            ),
            (
                "INKDESK_TURN_MAX_MESSAGES".into(),
                self.turns.max_messages.to_string(),
            ),
            (
                "INKDESK_TURN_MAX_IMAGES".into(),
                self.turns.max_images.to_string(),
            ),
            ("APP_LOG_FILE".into(), path(&self.log_file)),
            ("INKDESK_ADMIN_TOKEN".into(), set(&self.admin_token)),
            ("INKDESK_FEED_TOKEN".into(), set(&self.feed_token)),
            ("OPENAI_API_KEY".into(), set(&self.model.api_key)),
            ("OPENAI_BASE_URL".into(), opt(&self.model.base_url)),
            (
                "OPENAI_MODEL_DEFAULT".into(),
                self.model.model_default.clone(),
            ),
            (
                "OPENAI_MODEL_VISION".into(),
                self.model.model_vision.clone(),
            ),
            (
                "INKDESK_MODEL_PRICES".into(),
                self.model
                    .prices
                    .models()
                    .map(|(model, _)| model)
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            (
                "OPENAI_MODEL_TRANSCRIBE".into(),
                self.model
                    .model_transcribe
                    .clone()
                    .unwrap_or_else(|| "none".into()),
            ),
            (
                "IG_USER_ACCESS_TOKEN".into(),
                set(&self.instagram.access_token),
            ),
            ("IG_APP_SECRET".into(), set(&self.instagram.app_secret)),
            ("IG_VERIFY_TOKEN".into(), set(&self.instagram.verify_token)),
            ("IG_ACCOUNT_ID".into(), opt(&self.instagram.account_id)),
            (
                "IG_GRAPH_BASE_URL".into(),
                opt(&self.instagram.graph_base_url),
            ),
            ("GOOGLE_TOKEN_FILE".into(), path(&self.google.token_file)),
            (
                "GOOGLE_CLIENT_SECRETS".into(),
                path(&self.google.client_secrets),
            ),
            (
                "GOOGLE_SERVICE_ACCOUNT_FILE".into(),
                path(&self.google.service_account_file),
            ),
            ("GOOGLE_CALENDAR_ID".into(), self.google.calendar_id.clone()),
            ("GOOGLE_API_BASE_URL".into(), opt(&self.google.api_base_url)),
            (
                "INKDESK_EMBEDDING_MODEL".into(),
                self.tone.embedding_model.clone(),
            ),
            ("PINECONE_API_KEY".into(), set(&self.tone.pinecone_api_key)),
            ("PINECONE_INDEX".into(), opt(&self.tone.pinecone_index)),
            (
                "PINECONE_CONTROL_URL".into(),
                self.tone.pinecone_control_url.clone(),
            ),
        ];
        match &self.twilio {
            None => rows.push((
                "TWILIO_ACCOUNT_SID".into(),
                "unset (no SMS reminders)".into(),
            )),
            Some(twilio) => {
                rows.push(("TWILIO_ACCOUNT_SID".into(), twilio.account_sid.clone()));
                rows.push(("TWILIO_AUTH_TOKEN".into(), "set (hidden)".into()));
                rows.push((
                    "TWILIO_FROM".into(),
                    match &twilio.from {
                        inkdesk_messaging::sms::SmsSender::Number(_) => "a phone number".into(),
                        inkdesk_messaging::sms::SmsSender::MessagingService(sid) => sid.clone(),
                        inkdesk_messaging::sms::SmsSender::Alphanumeric(id) => id.clone(),
                    },
                ));
                rows.push(("TWILIO_API_BASE_URL".into(), opt(&twilio.api_base_url)));
            }
        }
        match &self.redis {
            None => rows.push((
                "store".into(),
                format!("embedded (SQLite in {})", self.data_dir.display()),
            )),
            Some(redis) => {
                rows.push(("store".into(), "redis".into()));
                rows.push(("REDIS_URL".into(), set(&redis.url)));
                rows.push(("REDIS_HOST".into(), opt(&redis.host)));
                rows.push(("REDIS_PORT".into(), redis.port.to_string()));
                rows.push(("REDIS_SSL".into(), redis.ssl.to_string()));
                rows.push(("REDIS_USERNAME".into(), opt(&redis.username)));
                rows.push(("REDIS_PASSWORD".into(), set(&redis.password)));
            }
        }
        rows.extend(self.notify.report());
        rows.extend(self.payments.report());
        let calendar = if self.google.is_configured() {
            "google"
        } else {
            "embedded"
        };
        rows.push(("calendar".into(), calendar.into()));
        rows
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing_and_choose_embedded_adapters() {
        let settings = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(settings.port, 3000);
        assert_eq!(settings.data_dir, PathBuf::from("./data"));
        assert!(settings.redis.is_none());
        assert!(!settings.google.is_configured());
        assert!(!settings.model.is_configured());
        assert_eq!(settings.missing_for_production().len(), 5);
        assert_eq!(settings.tone.embedding_model, "text-embedding-3-small");
        assert!(settings.tone.pinecone().is_none());
    }

    #[test]
    fn the_intake_acknowledgement_waits_two_milliseconds_unless_told_otherwise() {
        let wait = |value: Option<&str>| {
            let pairs: Vec<(&str, &str)> = value
                .map(|v| vec![("INKDESK_INTAKE_ACK_MS", v)])
                .unwrap_or_default();
            Settings::from_env(&env(&pairs)).map(|s| s.intake_ack_within)
        };
        assert_eq!(wait(None).unwrap(), Some(Duration::from_millis(2)));
        assert_eq!(wait(Some("0")).unwrap(), None, "0: always the commit");
        assert_eq!(wait(Some("5")).unwrap(), Some(Duration::from_millis(5)));
        assert!(wait(Some("soon")).is_err());
    }

    #[test]
    fn twilio_needs_all_three_settings_and_a_real_account_sid() {
        let sid = "AC0123456789abcdef0123456789abcdef";
        let partial = Settings::from_env(&env(&[("TWILIO_ACCOUNT_SID", sid)])).unwrap_err();
        let text = format!("{partial:#}");
        assert!(
            text.contains("TWILIO_AUTH_TOKEN, TWILIO_FROM unset"),
            "{text}"
        );
        let bad_sid = Settings::from_env(&env(&[
            ("TWILIO_ACCOUNT_SID", "AC123"),
            ("TWILIO_AUTH_TOKEN", "secret-token"),
            ("TWILIO_FROM", "InkStudio"),
        ]))
        .unwrap_err();
        assert!(format!("{bad_sid:#}").contains("TWILIO_ACCOUNT_SID"));
        let ok = Settings::from_env(&env(&[
            ("TWILIO_ACCOUNT_SID", sid),
            ("TWILIO_AUTH_TOKEN", "secret-token"),
            ("TWILIO_FROM", "+30 210 123 4567"),
        ]))
        .unwrap();
        let report = ok.report();
        assert!(
            !format!("{report:?}").contains("secret-token"),
            "the token stays hidden"
        );
        assert!(ok.twilio.is_some());
    }

    #[test]
    fn server_settings_default_to_every_interface_and_safe_limits() {
        let settings = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(settings.server.bind, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(settings.server.limits, HttpLimits::default());
        assert!(settings.server.trusted_proxies.is_empty());
        assert!(settings.server.metrics_token.is_none());
        assert!(!settings.server.download_allow_hosts.contains("127.0.0.1"));

        let settings = Settings::from_env(&env(&[
            ("INKDESK_BIND", "127.0.0.1"),
            ("INKDESK_HTTP_TIMEOUT_SECONDS", "5"),
            ("INKDESK_HTTP_MAX_CONCURRENCY", "64"),
            ("INKDESK_TRUSTED_PROXY", "10.0.0.0/8"),
            ("INKDESK_DOWNLOAD_ALLOW_HOSTS", "cdn.internal,127.0.0.1"),
        ]))
        .unwrap();
        assert_eq!(settings.server.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            settings.server.limits,
            HttpLimits {
                request_timeout: Duration::from_secs(5),
                max_concurrency: 64
            }
        );
        assert!(
            settings
                .server
                .trusted_proxies
                .contains("10.1.2.3".parse().unwrap())
        );
        assert!(
            settings
                .server
                .download_allow_hosts
                .contains("cdn.internal")
        );
    }

    #[test]
    fn malformed_server_settings_name_the_variable() {
        for (key, value) in [
            ("INKDESK_BIND", "localhost:80"),
            ("INKDESK_TRUSTED_PROXY", "proxy.internal"),
            ("INKDESK_HTTP_TIMEOUT_SECONDS", "0"),
            ("INKDESK_HTTP_MAX_CONCURRENCY", "lots"),
        ] {
            let err = Settings::from_env(&env(&[(key, value)])).unwrap_err();
            assert!(format!("{err:#}").contains(key), "{key}: {err:#}");
        }
    }

    #[test]
    fn serve_refuses_a_short_or_malformed_feed_token_without_printing_it() {
        let short = Settings::from_env(&env(&[("INKDESK_FEED_TOKEN", "calendar-secret")])).unwrap();
        let err = short.check_for_serve().unwrap_err().to_string();
        assert!(err.contains("INKDESK_FEED_TOKEN is 15 characters"), "{err}");
        assert!(!err.contains("calendar-secret"), "{err}");
        assert!(
            short
                .missing_for_production()
                .iter()
                .any(|line| line.starts_with("INKDESK_FEED_TOKEN"))
        );
        let slashed = Settings::from_env(&env(&[(
            "INKDESK_FEED_TOKEN",
            "0123456789abcdef/0123456789",
        )]))
        .unwrap();
        assert!(slashed.check_for_serve().is_err());
        let good = Settings::from_env(&env(&[("INKDESK_FEED_TOKEN", "0123456789abcdef01234567")]))
            .unwrap();
        assert!(good.check_for_serve().is_ok());
        assert!(
            good.report()
                .iter()
                .any(|(k, v)| k == "INKDESK_FEED_TOKEN" && v == "set (hidden)")
        );
    }

    #[test]
    fn serve_refuses_a_short_admin_token_without_printing_it() {
        let short =
            Settings::from_env(&env(&[("INKDESK_ADMIN_TOKEN", "hunter2-hunter2")])).unwrap();
        let err = short.check_for_serve().unwrap_err().to_string();
        assert!(err.contains("15 characters"), "{err}");
        assert!(err.contains("at least 24"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            short
                .missing_for_production()
                .iter()
                .any(|line| line.starts_with("INKDESK_ADMIN_TOKEN"))
        );
        let long = Settings::from_env(&env(&[("INKDESK_ADMIN_TOKEN", "0123456789abcdef01234567")]))
            .unwrap();
        assert!(long.check_for_serve().is_ok());
        assert!(
            Settings::from_env(&env(&[]))
                .unwrap()
                .check_for_serve()
                .is_ok()
        );
    }

    #[test]
    fn transcription_and_prices_come_from_the_environment() {
        let defaults = Settings::from_env(&env(&[])).unwrap();
        assert_eq!(
            defaults.model.model_transcribe.as_deref(),
            Some("gpt-4o-mini-transcribe")
        );
        assert!(
            defaults
                .model
                .prices
                .price_of("gpt-4o-mini-2024-07-18")
                .is_some()
        );
        let set = Settings::from_env(&env(&[
            ("OPENAI_MODEL_TRANSCRIBE", "whisper-1"),
            (
                "INKDESK_MODEL_PRICES",
                "llama3.1=0,0,0; gpt-4o=2.00,1.00,8.00",
            ),
        ]))
        .unwrap();
        assert_eq!(set.model.model_transcribe.as_deref(), Some("whisper-1"));
        assert_eq!(
            set.model
                .prices
                .price_of("gpt-4o")
                .unwrap()
                .output_per_million,
            8_000_000_000
        );
        assert!(set.model.prices.price_of("llama3.1").is_some());
        let off = Settings::from_env(&env(&[("OPENAI_MODEL_TRANSCRIBE", "none")])).unwrap();
        assert_eq!(off.model.model_transcribe, None);
        let err =
            Settings::from_env(&env(&[("INKDESK_MODEL_PRICES", "gpt-4o=cheap")])).unwrap_err();
        assert!(
            format!("{err:#}").contains("INKDESK_MODEL_PRICES"),
            "{err:#}"
        );
    }

    #[test]
    fn pinecone_needs_both_the_key_and_the_index_name() {
        let key_only = Settings::from_env(&env(&[("PINECONE_API_KEY", "pc-1")])).unwrap();
        assert!(key_only.tone.pinecone().is_none());
        let both = Settings::from_env(&env(&[
            ("PINECONE_API_KEY", "pc-1"),
            ("PINECONE_INDEX", "studio-tone"),
            ("INKDESK_EMBEDDING_MODEL", "nomic-embed-text"),
        ]))
        .unwrap();
        assert_eq!(
            both.tone.pinecone().map(|(_, name)| name),
            Some("studio-tone")
        );
        assert_eq!(both.tone.embedding_model, "nomic-embed-text");
    }

    #[test]
    fn the_seeds_variable_names_keep_working() {
        let settings = Settings::from_env(&env(&[
            ("OPENAI_API_KEY", "sk-test-123"),
            ("OPENAI_MODEL_DEFAULT", "gpt-x"),
            ("IG_USER_ACCESS_TOKEN", "IGQ-token"),
            ("REDIS_HOST", "redis.internal"),
            ("REDIS_PORT", "6380"),
            ("REDIS_SSL", "true"),
            ("GOOGLE_TOKEN_FILE", "token.json"),
            ("GOOGLE_CLIENT_SECRETS", "credentials.json"),
            ("DEBUG", "true"),
            ("APP_LOG_FILE", "app.log"),
        ]))
        .unwrap();
        assert_eq!(
            settings.model.api_key.as_ref().unwrap().expose_secret(),
            "sk-test-123"
        );
        assert_eq!(settings.model.model_default, "gpt-x");
        let redis = settings.redis.unwrap();
        assert_eq!(
            (redis.host.as_deref(), redis.port, redis.ssl),
            (Some("redis.internal"), 6380, true)
        );
        assert!(settings.google.is_configured());
        assert!(settings.debug);
        assert_eq!(settings.log_file, Some(PathBuf::from("app.log")));
    }

    #[test]
    fn malformed_numbers_name_the_variable() {
        let err = Settings::from_env(&env(&[("PORT", "eighty")])).unwrap_err();
        assert!(err.to_string().contains("PORT"), "{err}");
        let err = Settings::from_env(&env(&[("DEBUG", "maybe")])).unwrap_err();
        assert!(format!("{err:#}").contains("DEBUG"), "{err:#}");
    }

    #[test]
    fn secrets_never_appear_in_debug_or_report() {
        let settings = Settings::from_env(&env(&[
            ("OPENAI_API_KEY", "sk-very-secret"),
            ("IG_APP_SECRET", "app-very-secret"),
            ("REDIS_URL", "redis://:pw-very-secret@host:6379"),
            ("PINECONE_API_KEY", "pc-very-secret"),
            ("INKDESK_METRICS_TOKEN", "metrics-very-secret"),
        ]))
        .unwrap();
        let debug = format!("{settings:?}");
        let report = format!("{:?}", settings.report());
        for text in [debug, report] {
            assert!(!text.contains("very-secret"), "{text}");
        }
    }
}
