//! Outbound: the [`Messenger`] port, the Graph API adapter and a recording fake; the
//! [`ProfileLookup`] port and its Graph adapter (a customer's name and username).

mod graph;
mod graph_error;
mod port;
mod profile;
mod recording;

pub use graph::{
    ConfigError, DEFAULT_API_VERSION, FACEBOOK_GRAPH_BASE, GraphConfig, GraphMessenger, GraphMode,
    INSTAGRAM_GRAPH_BASE, RetryPolicy,
};
pub use graph_error::GraphApiError;
#[cfg(feature = "testing")]
pub use port::MockMessenger;
pub use port::{Messenger, SendError, SendFailure, SendOptions, SentMessageId};
#[cfg(feature = "testing")]
pub use profile::MockProfileLookup;
pub use profile::{GraphProfiles, MAX_PROFILE_CHARS, ProfileError, ProfileLookup, UserProfile};
pub use recording::{RecordingMessenger, SentText};
