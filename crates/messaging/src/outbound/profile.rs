//! The Instagram User Profile API: a customer's name and username from the
//! Instagram-scoped id a webhook gave us, `GET /{version}/{IGSID}?fields=name,username`
//! with the studio's access token (Meta's "Instagram User Profile" page of the Instagram
//! API with Instagram Login: consent exists once the customer has messaged the studio).
//!
//! One attempt per call, no retries: the caller keeps the answer (or that there was none)
//! and does not ask again soon, so a failing profile never turns into a loop of requests.

use std::time::Duration;

use async_trait::async_trait;
use inkdesk_domain::ConversationId;
use inkdesk_http::BodyError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::graph::{ConfigError, GraphConfig};
use super::graph_error::{Class, GraphApiError, classify};

/// The longest name or username kept (Instagram's own limits are 30 for a username and
/// 64 for a name; anything longer is not what Meta documents).
pub const MAX_PROFILE_CHARS: usize = 100;

/// Largest profile answer read: its JSON is well under 1 KiB.
const MAX_PROFILE_BYTES: usize = 16 * 1024;

/// What the User Profile API says about a customer. Either may be missing (a name is
/// optional on Instagram; Meta answers `null` then).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    /// The name on the customer's profile.
    pub name: Option<String>,
    /// The customer's username (without `@`).
    pub username: Option<String>,
}

impl UserProfile {
    /// How people read it: `Name (@username)`, or whichever of the two there is.
    pub fn label(&self) -> Option<String> {
        match (&self.name, &self.username) {
            (Some(name), Some(user)) => Some(format!("{name} (@{user})")),
            (Some(name), None) => Some(name.clone()),
            (None, Some(user)) => Some(format!("@{user}")),
            (None, None) => None,
        }
    }
}

/// Why a profile could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Meta refused it for this customer (no consent, blocked, unknown id): asking again
    /// soon gives the same answer.
    #[error("Instagram refused the profile: {0}")]
    Refused(Box<GraphApiError>),
    /// The access token is invalid or expired.
    #[error("the Instagram access token was refused: {0}")]
    TokenInvalid(Box<GraphApiError>),
    /// Rate limit, a server error, a timeout or an answer not in Meta's documented shape.
    #[error("the profile could not be fetched")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Looks customers' profiles up. Implementation: [`GraphProfiles`].
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait ProfileLookup: Send + Sync {
    /// The profile of the customer whose Instagram-scoped id is `customer`.
    async fn profile(&self, customer: &ConversationId) -> Result<UserProfile, ProfileError>;
}

/// The User Profile API on Meta's Graph API. Cheap to clone.
#[derive(Clone)]
pub struct GraphProfiles {
    client: reqwest::Client,
    base: Url,
    token: SecretString,
    timeout: Duration,
}

impl std::fmt::Debug for GraphProfiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphProfiles")
            .field("base", &self.base.as_str())
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ProfileAnswer {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

/// Keeps a profile text displayable: no control characters, at most
/// [`MAX_PROFILE_CHARS`], nothing left means none.
fn clean(text: Option<String>) -> Option<String> {
    let text: String = text?
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_PROFILE_CHARS)
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

impl GraphProfiles {
    /// The client for the Graph host, version and token of `config` (the messenger's).
    pub fn new(config: &GraphConfig) -> Result<Self, ConfigError> {
        // The Send API URL is checked the same way; the profile lives beside it.
        let send = config.send_url()?;
        let mut base = send.clone();
        base.path_segments_mut()
            .map_err(|()| ConfigError::InvalidBaseUrl)?
            .pop()
            .pop();
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(ConfigError::Client)?;
        Ok(Self {
            client,
            base,
            token: config.access_token.clone(),
            timeout: config.request_timeout,
        })
    }

    fn url(&self, customer: &ConversationId) -> Result<Url, ProfileError> {
        // Only an id Meta could have given: digits (IGSIDs) or letters, `_` and `-` (no
        // `.`, so never a `..` path segment).
        let id = customer.as_str();
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ProfileError::Refused(Box::new(GraphApiError {
                message: "not an Instagram-scoped id".to_owned(),
                ..GraphApiError::default()
            })));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ProfileError::Unavailable("the Graph base URL has no path".into()))?
            .push(id);
        url.query_pairs_mut().append_pair("fields", "name,username");
        Ok(url)
    }
}

#[async_trait]
impl ProfileLookup for GraphProfiles {
    async fn profile(&self, customer: &ConversationId) -> Result<UserProfile, ProfileError> {
        let url = self.url(customer)?;
        let response = self
            .client
            .get(url)
            .bearer_auth(self.token.expose_secret())
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| ProfileError::Unavailable(Box::new(e.without_url())))?;
        let status = response.status();
        let bytes = match inkdesk_http::read_body(response, MAX_PROFILE_BYTES).await {
            Ok(bytes) => bytes,
            Err(BodyError::Transport(e)) => {
                return Err(ProfileError::Unavailable(Box::new(e.without_url())));
            }
            Err(too_large) => return Err(ProfileError::Unavailable(Box::new(too_large))),
        };
        if status.is_success() {
            let answer: ProfileAnswer = serde_json::from_slice(&bytes)
                .map_err(|e| ProfileError::Unavailable(Box::new(e)))?;
            return Ok(UserProfile {
                name: clean(answer.name),
                username: clean(answer.username),
            });
        }
        let detail = Box::new(GraphApiError::from_response(status.as_u16(), &bytes));
        Err(match classify(&detail) {
            Class::TokenInvalid => ProfileError::TokenInvalid(detail),
            Class::RateLimited | Class::Transient => ProfileError::Unavailable(detail),
            Class::WindowClosed | Class::RecipientUnavailable | Class::Rejected => {
                ProfileError::Refused(detail)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn labels_read_as_people_write_them() {
        let both = UserProfile {
            name: Some("Μαρία Κ.".into()),
            username: Some("maria.ink".into()),
        };
        assert_eq!(both.label().unwrap(), "Μαρία Κ. (@maria.ink)");
        let user = UserProfile {
            name: None,
            username: Some("maria.ink".into()),
        };
        assert_eq!(user.label().unwrap(), "@maria.ink");
        assert_eq!(UserProfile::default().label(), None);
    }

    #[test]
    fn profile_texts_lose_control_characters_and_stay_short() {
        assert_eq!(clean(Some("  a\u{7}b\n ".into())), Some("ab".into()));
        assert_eq!(clean(Some("\u{0}".into())), None);
        assert_eq!(
            clean(Some("x".repeat(500))).unwrap().chars().count(),
            MAX_PROFILE_CHARS
        );
    }

    #[test]
    fn the_url_sits_beside_the_send_api_and_asks_for_two_fields() {
        let config = GraphConfig::instagram_login(SecretString::from("t"))
            .base_url("https://graph.example/prefix");
        let profiles = GraphProfiles::new(&config).unwrap();
        let url = profiles
            .url(&ConversationId::parse("17841400000000123").unwrap())
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://graph.example/prefix/v23.0/17841400000000123?fields=name%2Cusername"
        );
        assert!(profiles.url(&ConversationId::parse("..").unwrap()).is_err());
    }
}
