//! Outbound: the [`Messenger`] port, the Graph API adapter and a recording fake.

mod graph;
mod graph_error;
mod port;
mod recording;

pub use graph::{
    ConfigError, DEFAULT_API_VERSION, FACEBOOK_GRAPH_BASE, GraphConfig, GraphMessenger, GraphMode,
    INSTAGRAM_GRAPH_BASE, RetryPolicy,
};
pub use graph_error::GraphApiError;
#[cfg(feature = "testing")]
pub use port::MockMessenger;
pub use port::{Messenger, SendError, SendFailure, SendOptions, SentMessageId};
pub use recording::{RecordingMessenger, SentText};
