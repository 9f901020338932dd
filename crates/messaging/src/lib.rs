//! Instagram messaging for inkdesk — the only crate that knows Meta's wire format.
//!
//! Map:
//! - [`verify`]: the `GET` subscription handshake (`hub.mode` / `hub.verify_token`,
//!   constant-time).
//! - [`signature`]: `X-Hub-Signature-256` over the raw body (HMAC-SHA256, constant-time).
//! - [`inbound`]: [`parse_webhook`] turns a webhook body into [`InboundEvent`]s — a common
//!   envelope (sender, recipient, the customer's [`ConversationId`](inkdesk_domain::ConversationId),
//!   timestamp, standby flag) and a closed [`EventKind`]. Meta's JSON shapes stay private in
//!   `inbound::wire`.
//! - [`split`]: [`split_message`] cuts replies into ≤ 1000-byte chunks at the best boundary,
//!   never inside a grapheme cluster.
//! - [`outbound`]: the [`Messenger`] port, [`GraphMessenger`] (Send API, retries with
//!   backoff, classified errors) and [`RecordingMessenger`] (a fake that records); the
//!   [`ProfileLookup`] port and [`GraphProfiles`] (the User Profile API: a customer's name
//!   and username, one attempt per call).
//! - [`download`]: the [`AttachmentFetcher`] port, [`HttpFetcher`] (http(s) only, public
//!   addresses only — checked when connecting and on each of at most 3 redirects —,
//!   timeout, 8 MB streamed cap, MIME sniffed from bytes) and [`StaticFetcher`].
//! - [`sms`]: the [`Sms`] port and [`TwilioSms`] (Twilio's Messages API, E.164 numbers,
//!   errors classified as retryable — 429, 5xx — ambiguous or permanent; no retries of its
//!   own, since Twilio has no idempotency key).
//! - [`window`]: Meta's 24-hour (standard) and 7-day (`HUMAN_AGENT`) reply windows,
//!   [`ReplyWindows`]; nothing sends to a customer without asking it.
//!
//! Invariants: parsing never panics and only a body that is not a JSON object is an error;
//! secrets are [`secrecy::SecretString`] and never logged; message text is never logged
//! above DEBUG.
//!
//! Feature `testing` adds mockall mocks: `MockMessenger`, `MockAttachmentFetcher`, `MockSms`.

pub mod download;
pub mod inbound;
pub mod outbound;
pub mod signature;
pub mod sms;
pub mod split;
pub mod verify;
pub mod window;

#[cfg(feature = "testing")]
pub use download::MockAttachmentFetcher;
pub use download::{
    AllowHosts, AttachmentFetcher, DownloadError, Downloaded, HttpFetcher, MAX_ATTACHMENT_BYTES,
    StaticFetcher,
};
pub use inbound::{EventKind, InboundEvent, ParseError, parse_webhook};
#[cfg(feature = "testing")]
pub use outbound::MockMessenger;
pub use outbound::{
    GraphConfig, GraphMessenger, GraphMode, GraphProfiles, Messenger, ProfileError, ProfileLookup,
    RecordingMessenger, RetryPolicy, SendError, SendFailure, SendOptions, SentMessageId,
    UserProfile,
};
pub use signature::{SignatureError, signature_header, verify_signature};
#[cfg(feature = "testing")]
pub use sms::MockSms;
pub use sms::{
    MAX_SMS_CHARS, Sms, SmsError, SmsReceipt, SmsSender, TwilioApiError, TwilioConfig,
    TwilioConfigError, TwilioSms,
};
pub use split::{MAX_MESSAGE_BYTES, split_message};
pub use verify::{VerifyError, verify_subscription};
pub use window::{ReplyWindows, SendKind, WindowClosed};
