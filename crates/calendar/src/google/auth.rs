//! OAuth 2.0 access tokens for the Calendar API, both ways Google offers:
//!
//! - an installed-app user token (`token.json` as google-auth's `Credentials.to_json()`
//!   writes it: `token`, `refresh_token`, `token_uri`, `client_id`, `client_secret`,
//!   `scopes`, `expiry`; the client id and secret may instead come from the console's
//!   `credentials.json` with an `installed` or `web` section), exchanged with
//!   `grant_type=refresh_token`;
//! - a service-account key file (`type: service_account`), exchanged with an RS256-signed
//!   JWT assertion (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`).
//!
//! A token is cached until a minute before it expires; concurrent callers wait on one
//! refresh (the cache lock is held across the exchange). A 401 from the API drops the
//! cached token so the next call fetches a new one.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use inkdesk_domain::Clock;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use crate::port::CalendarError;

/// Scope for reading and writing events.
pub const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar";
/// Google's token endpoint.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// How long before expiry a cached token is replaced.
const EXPIRY_MARGIN: Duration = Duration::seconds(60);

/// Why credentials could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file is not JSON of the expected shape.
    #[error("cannot read Google credentials: {0}")]
    Malformed(String),
    /// A field the exchange needs is missing.
    #[error("Google credentials lack `{0}`")]
    Missing(&'static str),
    /// The service account's private key is not an RSA PEM key.
    #[error("the service account's private key is not a valid RSA PEM key")]
    Key,
}

/// How inkdesk proves who it is to Google. `Debug` never shows secrets.
#[derive(Clone)]
pub enum Credentials {
    /// A user's refresh token from the installed-app flow.
    InstalledApp {
        /// OAuth client id.
        client_id: String,
        /// OAuth client secret.
        client_secret: SecretString,
        /// Long-lived refresh token.
        refresh_token: SecretString,
        /// Token endpoint.
        token_uri: Url,
    },
    /// A service account's key.
    ServiceAccount {
        /// The account's e-mail (the JWT issuer).
        client_email: String,
        /// Key id, sent as the JWT `kid`.
        private_key_id: Option<String>,
        /// RSA private key, PEM.
        private_key: SecretString,
        /// Token endpoint (the JWT audience).
        token_uri: Url,
        /// User to impersonate with domain-wide delegation, if any.
        subject: Option<String>,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InstalledApp {
                client_id,
                token_uri,
                ..
            } => f
                .debug_struct("InstalledApp")
                .field("client_id", client_id)
                .field("token_uri", &token_uri.as_str())
                .finish_non_exhaustive(),
            Self::ServiceAccount {
                client_email,
                token_uri,
                ..
            } => f
                .debug_struct("ServiceAccount")
                .field("client_email", client_email)
                .field("token_uri", &token_uri.as_str())
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Deserialize)]
struct TokenFile {
    refresh_token: Option<String>,
    token_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Deserialize)]
struct ClientSecretsFile {
    installed: Option<ClientSecrets>,
    web: Option<ClientSecrets>,
}

#[derive(Deserialize)]
struct ClientSecrets {
    client_id: String,
    client_secret: String,
    token_uri: Option<String>,
}

#[derive(Deserialize)]
struct ServiceAccountFile {
    #[serde(rename = "type")]
    kind: String,
    client_email: String,
    private_key_id: Option<String>,
    private_key: String,
    token_uri: Option<String>,
}

fn parse_url(raw: Option<String>) -> Result<Url, CredentialsError> {
    let raw = raw.unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned());
    Url::parse(&raw).map_err(|e| CredentialsError::Malformed(format!("token_uri: {e}")))
}

impl Credentials {
    /// Reads an installed-app `token.json`; the client id and secret come from it or, when
    /// it lacks them, from `client_secrets` (the console's `credentials.json`).
    pub fn from_token_json(
        token_json: &str,
        client_secrets: Option<&str>,
    ) -> Result<Self, CredentialsError> {
        let token: TokenFile = serde_json::from_str(token_json)
            .map_err(|e| CredentialsError::Malformed(e.to_string()))?;
        let secrets = client_secrets
            .map(|text| {
                let file: ClientSecretsFile = serde_json::from_str(text)
                    .map_err(|e| CredentialsError::Malformed(e.to_string()))?;
                file.installed
                    .or(file.web)
                    .ok_or(CredentialsError::Missing("installed"))
            })
            .transpose()?;
        let client_id = token
            .client_id
            .or_else(|| secrets.as_ref().map(|s| s.client_id.clone()))
            .ok_or(CredentialsError::Missing("client_id"))?;
        let client_secret = token
            .client_secret
            .or_else(|| secrets.as_ref().map(|s| s.client_secret.clone()))
            .ok_or(CredentialsError::Missing("client_secret"))?;
        let refresh_token = token
            .refresh_token
            .ok_or(CredentialsError::Missing("refresh_token"))?;
        let token_uri = token
            .token_uri
            .or_else(|| secrets.and_then(|s| s.token_uri));
        Ok(Self::InstalledApp {
            client_id,
            client_secret: SecretString::from(client_secret),
            refresh_token: SecretString::from(refresh_token),
            token_uri: parse_url(token_uri)?,
        })
    }

    /// Reads a service-account key file; checks the key is a usable RSA PEM key.
    pub fn from_service_account_json(json: &str) -> Result<Self, CredentialsError> {
        let file: ServiceAccountFile =
            serde_json::from_str(json).map_err(|e| CredentialsError::Malformed(e.to_string()))?;
        if file.kind != "service_account" {
            return Err(CredentialsError::Malformed(format!(
                "`type` is `{}`, expected `service_account`",
                file.kind
            )));
        }
        jsonwebtoken::EncodingKey::from_rsa_pem(file.private_key.as_bytes())
            .map_err(|_| CredentialsError::Key)?;
        Ok(Self::ServiceAccount {
            client_email: file.client_email,
            private_key_id: file.private_key_id,
            private_key: SecretString::from(file.private_key),
            token_uri: parse_url(file.token_uri)?,
            subject: None,
        })
    }

    /// The same credentials exchanged at another token endpoint (tests, proxies).
    #[must_use]
    pub fn with_token_uri(mut self, uri: Url) -> Self {
        match &mut self {
            Self::InstalledApp { token_uri, .. } | Self::ServiceAccount { token_uri, .. } => {
                *token_uri = uri;
            }
        }
        self
    }

    /// For a service account: act as `user` (domain-wide delegation). No effect otherwise.
    #[must_use]
    pub fn with_subject(mut self, user: String) -> Self {
        if let Self::ServiceAccount { subject, .. } = &mut self {
            *subject = Some(user);
        }
        self
    }

    fn token_uri(&self) -> &Url {
        match self {
            Self::InstalledApp { token_uri, .. } | Self::ServiceAccount { token_uri, .. } => {
                token_uri
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    scope: String,
    aud: String,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
struct TokenErrorReply {
    error: Option<String>,
    error_description: Option<String>,
}

struct CachedToken {
    value: SecretString,
    expires_at: DateTime<Utc>,
}

/// Largest token endpoint answer read (a token reply is well under 4 KiB).
const MAX_TOKEN_REPLY_BYTES: usize = 64 * 1024;

/// Hands out access tokens, refreshing them once under concurrency.
pub(crate) struct TokenSource {
    http: reqwest::Client,
    /// Bound on one token exchange, which runs while holding the cache's lock: every
    /// caller waiting for a token waits at most this long for a hung token endpoint.
    timeout: std::time::Duration,
    credentials: Credentials,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<CachedToken>>,
}

impl TokenSource {
    pub(crate) fn new(
        http: reqwest::Client,
        timeout: std::time::Duration,
        credentials: Credentials,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            timeout,
            credentials,
            clock,
            cached: Mutex::new(None),
        }
    }

    /// A token valid for at least another minute.
    pub(crate) async fn token(&self) -> Result<SecretString, CalendarError> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some(token) = cached
            .as_ref()
            .filter(|t| t.expires_at - EXPIRY_MARGIN > now)
        {
            return Ok(token.value.clone());
        }
        let fresh = self.exchange(now).await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// Drops `stale` from the cache (after a 401), unless another caller already did.
    pub(crate) async fn invalidate(&self, stale: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == stale.expose_secret())
        {
            *cached = None;
        }
    }

    async fn exchange(&self, now: DateTime<Utc>) -> Result<CachedToken, CalendarError> {
        let form: Vec<(&str, String)> = match &self.credentials {
            Credentials::InstalledApp {
                client_id,
                client_secret,
                refresh_token,
                ..
            } => vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh_token.expose_secret().to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.expose_secret().to_owned()),
            ],
            Credentials::ServiceAccount {
                client_email,
                private_key_id,
                private_key,
                token_uri,
                subject,
            } => {
                let claims = Claims {
                    iss: client_email.clone(),
                    scope: CALENDAR_SCOPE.to_owned(),
                    aud: token_uri.to_string(),
                    iat: now.timestamp(),
                    exp: (now + Duration::hours(1)).timestamp(),
                    sub: subject.clone(),
                };
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
                header.kid = private_key_id.clone();
                let key =
                    jsonwebtoken::EncodingKey::from_rsa_pem(private_key.expose_secret().as_bytes())
                        .map_err(|_| {
                            CalendarError::Unauthorized("invalid service account key".into())
                        })?;
                let assertion = jsonwebtoken::encode(&header, &claims, &key)
                    .map_err(CalendarError::unavailable)?;
                vec![
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned(),
                    ),
                    ("assertion", assertion),
                ]
            }
        };
        let reply = self
            .http
            .post(self.credentials.token_uri().clone())
            .form(&form)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| CalendarError::unavailable(e.without_url()))?;
        let status = reply.status();
        let body = inkdesk_http::read_body(reply, MAX_TOKEN_REPLY_BYTES)
            .await
            .map_err(CalendarError::unavailable)?;
        if status.is_success() {
            let token: TokenReply =
                serde_json::from_slice(&body).map_err(CalendarError::unavailable)?;
            let lifetime = Duration::seconds(token.expires_in.unwrap_or(3600));
            tracing::debug!(
                lifetime_s = lifetime.num_seconds(),
                "Google access token refreshed"
            );
            return Ok(CachedToken {
                value: SecretString::from(token.access_token),
                expires_at: now + lifetime,
            });
        }
        let detail = serde_json::from_slice::<TokenErrorReply>(&body)
            .ok()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.error.unwrap_or_default(),
                    e.error_description.unwrap_or_default()
                )
            })
            .unwrap_or_else(|| format!("HTTP {status}"));
        if status.is_client_error() {
            Err(CalendarError::Unauthorized(detail))
        } else {
            Err(CalendarError::Unavailable(detail.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_json_takes_client_from_itself_or_the_secrets_file() {
        let full = r#"{"token":"x","refresh_token":"r","client_id":"id","client_secret":"s","token_uri":"https://oauth2.googleapis.com/token","scopes":[],"expiry":"2026-01-01T00:00:00Z"}"#;
        let creds = Credentials::from_token_json(full, None).unwrap();
        assert!(
            matches!(creds, Credentials::InstalledApp { ref client_id, .. } if client_id == "id")
        );
        let bare = r#"{"refresh_token":"r"}"#;
        let secrets = r#"{"installed":{"client_id":"cid","client_secret":"cs","token_uri":"https://example.test/token"}}"#;
        let creds = Credentials::from_token_json(bare, Some(secrets)).unwrap();
        assert_eq!(creds.token_uri().as_str(), "https://example.test/token");
        assert!(matches!(
            Credentials::from_token_json(bare, None),
            Err(CredentialsError::Missing("client_id"))
        ));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let full = r#"{"refresh_token":"very-secret-refresh","client_id":"id","client_secret":"very-secret-client"}"#;
        let shown = format!("{:?}", Credentials::from_token_json(full, None).unwrap());
        assert!(!shown.contains("very-secret"), "{shown}");
    }

    #[test]
    fn a_service_account_needs_an_rsa_key() {
        let bad = r#"{"type":"service_account","client_email":"a@b","private_key":"nope"}"#;
        assert!(matches!(
            Credentials::from_service_account_json(bad),
            Err(CredentialsError::Key)
        ));
        let wrong_type = r#"{"type":"authorized_user","client_email":"a@b","private_key":"x"}"#;
        assert!(Credentials::from_service_account_json(wrong_type).is_err());
    }
}
