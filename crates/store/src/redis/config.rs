//! Connection settings for the Redis adapter.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// Where and how to reach Redis. The URL may carry a password, so it is a secret.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` (TLS) URL.
    pub url: SecretString,
    /// Most pooled connections. Calls share one multiplexed connection; the pool opens
    /// and checks it, so a handful is plenty.
    pub pool_size: usize,
    /// Longest wait for a free pooled connection.
    pub wait_timeout: Duration,
    /// Longest wait to open a new connection.
    pub connect_timeout: Duration,
    /// Longest wait to check a pooled connection before reuse.
    pub recycle_timeout: Duration,
    /// Longest any one call may take, pool wait included; past it the call fails as
    /// `Unavailable` instead of hanging.
    pub command_timeout: Duration,
}

impl RedisConfig {
    /// Settings for a `redis://` / `rediss://` URL (the seed's `REDIS_URL`), default timeouts.
    pub fn from_url(url: impl Into<String>) -> Self {
        Self {
            url: SecretString::from(url.into()),
            pool_size: 4,
            wait_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            recycle_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_secs(2),
        }
    }

    /// Settings from the seed's separate variables (`REDIS_HOST`, `REDIS_PORT`, `REDIS_SSL`,
    /// username, password); `ssl` selects `rediss://`. Credentials are percent-encoded.
    pub fn from_parts(
        host: &str,
        port: u16,
        ssl: bool,
        username: Option<&str>,
        password: Option<&SecretString>,
    ) -> Result<Self, url::ParseError> {
        let scheme = if ssl { "rediss" } else { "redis" };
        let mut url = Url::parse(&format!("{scheme}://{host}:{port}"))?;
        // set_username/set_password only fail for URLs without a host, which we just built.
        if let Some(user) = username.filter(|u| !u.is_empty()) {
            url.set_username(user)
                .map_err(|()| url::ParseError::EmptyHost)?;
        }
        if let Some(pw) = password.filter(|p| !p.expose_secret().is_empty()) {
            url.set_password(Some(pw.expose_secret()))
                .map_err(|()| url::ParseError::EmptyHost)?;
        }
        Ok(Self::from_url(String::from(url)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_build_an_encoded_tls_url_and_debug_hides_it() {
        let pw = SecretString::from("p@ss:w/rd".to_owned());
        let cfg =
            RedisConfig::from_parts("cache.example", 6380, true, Some("app"), Some(&pw)).unwrap();
        assert_eq!(
            cfg.url.expose_secret(),
            "rediss://app:p%40ss%3Aw%2Frd@cache.example:6380"
        );
        assert!(!format!("{cfg:?}").contains("ss:w"));
        let plain = RedisConfig::from_parts("localhost", 6379, false, None, None).unwrap();
        assert_eq!(plain.url.expose_secret(), "redis://localhost:6379");
    }
}
