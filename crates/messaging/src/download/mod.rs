//! Attachment download: Instagram CDN URLs in, bytes and a sniffed MIME type out.
//!
//! Hostile input is expected: the URL arrives in a webhook. [`HttpFetcher`] downloads only
//! `http`/`https` URLs, connects only to public addresses (checked by its DNS resolver at
//! connect time, and on every redirect; see [`address`]), follows at most
//! [`MAX_REDIRECTS`] redirects, ignores proxy settings (a proxy would resolve the name
//! itself, past the check), has one overall timeout and a size cap enforced while
//! streaming (a declared `Content-Length` over the cap aborts before reading, and an
//! undeclared body aborts as soon as it passes the cap). The MIME type comes from the
//! bytes, not from the server's header.

pub mod address;
pub mod duration;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use inkdesk_http::BodyError;
use url::Url;

pub use address::{AllowHosts, is_public};
use address::{PublicResolver, Refusal, url_allowed};

/// Most redirects one download follows (each hop checked like the first URL).
pub const MAX_REDIRECTS: usize = 3;

/// Default cap on one attachment.
pub const MAX_ATTACHMENT_BYTES: usize = 8 * 1024 * 1024;

/// MIME type used when the bytes match no known signature.
pub const UNKNOWN_MIME: &str = "application/octet-stream";

/// A downloaded attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The content.
    pub bytes: Bytes,
    /// MIME type sniffed from the bytes (`image/jpeg`, `video/mp4`, …), or [`UNKNOWN_MIME`].
    pub mime: String,
}

impl Downloaded {
    /// Wraps bytes, sniffing their MIME type.
    pub fn sniffed(bytes: Bytes) -> Self {
        let mime = infer::get(&bytes)
            .map_or(UNKNOWN_MIME, |t| t.mime_type())
            .to_owned();
        Self { bytes, mime }
    }

    /// True for image types a vision model can read.
    pub fn is_image(&self) -> bool {
        self.mime.starts_with("image/")
    }

    /// Seconds of audio the file's header declares (MP4/M4A, WAV), when it does.
    pub fn declared_seconds(&self) -> Option<u64> {
        duration::declared_seconds(&self.bytes, &self.mime)
    }
}

/// Why an attachment could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The URL (or a redirect) is not an absolute `http`/`https` URL.
    #[error("only http(s) URLs can be downloaded")]
    UnsupportedUrl,
    /// The host is, or resolves only to, a non-public address (loopback, private,
    /// link-local, …) and is not in the allow list.
    #[error("the URL does not point at a public address")]
    NotPublic,
    /// More than [`MAX_REDIRECTS`] redirects.
    #[error("the download was redirected too many times")]
    TooManyRedirects,
    /// The content is larger than the cap.
    #[error("the attachment is larger than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// The download did not finish within the timeout.
    #[error("the download timed out")]
    Timeout,
    /// The server answered with a non-2xx status (CDN URLs expire: 403/404 are common).
    #[error("the server answered HTTP {0}")]
    Status(u16),
    /// Connection or protocol failure.
    #[error("the download failed")]
    Network(#[source] reqwest::Error),
}

/// Fetches attachment content. Implementations: [`HttpFetcher`], [`StaticFetcher`].
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait AttachmentFetcher: Send + Sync {
    /// Downloads `url`.
    async fn fetch(&self, url: &str) -> Result<Downloaded, DownloadError>;

    /// Downloads `url` under a cap of its own (a voice note's, from the studio profile)
    /// instead of the fetcher's. The default downloads and then measures; [`HttpFetcher`]
    /// stops reading as soon as the cap is passed.
    async fn fetch_capped(&self, url: &str, max_bytes: usize) -> Result<Downloaded, DownloadError> {
        let downloaded = self.fetch(url).await?;
        if downloaded.bytes.len() > max_bytes {
            return Err(DownloadError::TooLarge { limit: max_bytes });
        }
        Ok(downloaded)
    }
}

/// Downloads over HTTP with reqwest, from public addresses only.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    allow: AllowHosts,
    timeout: Duration,
    max_bytes: usize,
}

impl HttpFetcher {
    /// A fetcher with the given overall timeout, the default 8 MB cap, and `allow` as the
    /// host names exempt from the public-address rule.
    pub fn new(timeout: Duration, allow: AllowHosts) -> Result<Self, DownloadError> {
        let redirect_allow = allow.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` starts with the first URL, which is not a redirect.
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(Refusal::TooManyRedirects);
            }
            match url_allowed(attempt.url(), &redirect_allow) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        });
        let client = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(PublicResolver::new(allow.clone())))
            .redirect(redirects)
            .no_proxy()
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(DownloadError::Network)?;
        Ok(Self {
            client,
            allow,
            timeout,
            max_bytes: MAX_ATTACHMENT_BYTES,
        })
    }

    /// Replaces the size cap.
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    async fn fetch_inner(&self, url: Url, max_bytes: usize) -> Result<Downloaded, DownloadError> {
        let response = self.client.get(url).send().await.map_err(network)?;
        let status = response.status();
        if !status.is_success() {
            return Err(DownloadError::Status(status.as_u16()));
        }
        let body = inkdesk_http::read_body(response, max_bytes)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { limit } => DownloadError::TooLarge { limit },
                BodyError::Transport(e) => network(e),
            })?;
        Ok(Downloaded::sniffed(body))
    }
}

fn network(e: reqwest::Error) -> DownloadError {
    // A refusal from the resolver or the redirect policy travels in the error's chain.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(cause) = source {
        match cause.downcast_ref::<Refusal>() {
            Some(Refusal::NotPublic) => return DownloadError::NotPublic,
            Some(Refusal::Unsupported) => return DownloadError::UnsupportedUrl,
            Some(Refusal::TooManyRedirects) => return DownloadError::TooManyRedirects,
            None => source = cause.source(),
        }
    }
    // CDN URLs carry signed query strings; keep them out of error text and logs.
    let e = e.without_url();
    if e.is_timeout() {
        DownloadError::Timeout
    } else {
        DownloadError::Network(e)
    }
}

#[async_trait]
impl AttachmentFetcher for HttpFetcher {
    async fn fetch(&self, url: &str) -> Result<Downloaded, DownloadError> {
        self.fetch_capped(url, self.max_bytes).await
    }

    async fn fetch_capped(&self, url: &str, max_bytes: usize) -> Result<Downloaded, DownloadError> {
        let url = Url::parse(url).map_err(|_| DownloadError::UnsupportedUrl)?;
        url_allowed(&url, &self.allow).map_err(|refusal| match refusal {
            Refusal::NotPublic => DownloadError::NotPublic,
            Refusal::Unsupported | Refusal::TooManyRedirects => DownloadError::UnsupportedUrl,
        })?;
        tokio::time::timeout(self.timeout, self.fetch_inner(url, max_bytes))
            .await
            .map_err(|_| DownloadError::Timeout)?
    }
}

/// A fetcher serving fixed content per URL; unknown URLs answer `Status(404)`.
/// For tests and offline runs.
#[derive(Debug, Default)]
pub struct StaticFetcher {
    content: Mutex<HashMap<String, Bytes>>,
}

impl StaticFetcher {
    /// An empty fetcher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `bytes` for `url`.
    pub fn insert(&self, url: impl Into<String>, bytes: impl Into<Bytes>) {
        self.content
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.into(), bytes.into());
    }
}

#[async_trait]
impl AttachmentFetcher for StaticFetcher {
    async fn fetch(&self, url: &str) -> Result<Downloaded, DownloadError> {
        let found = self
            .content
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .cloned();
        found
            .map(Downloaded::sniffed)
            .ok_or(DownloadError::Status(404))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn non_http_urls_are_refused_before_any_request() {
        let f = HttpFetcher::new(Duration::from_secs(1), AllowHosts::none()).unwrap();
        for url in [
            "file:///etc/passwd",
            "ftp://x/y",
            "data:image/png;base64,AA",
            "not a url",
            "",
        ] {
            assert!(
                matches!(f.fetch(url).await, Err(DownloadError::UnsupportedUrl)),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn static_fetcher_sniffs_and_misses_with_404() {
        let f = StaticFetcher::new();
        f.insert("https://cdn/x", &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..]);
        let got = f.fetch("https://cdn/x").await.unwrap();
        assert_eq!(got.mime, "image/png");
        assert!(got.is_image());
        assert!(matches!(
            f.fetch("https://cdn/y").await,
            Err(DownloadError::Status(404))
        ));
    }
}
