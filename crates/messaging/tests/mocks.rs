//! The mockall mocks behind the `testing` feature are usable as `Arc<dyn Port>`.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use inkdesk_domain::ConversationId;
use inkdesk_messaging::{
    AttachmentFetcher, DownloadError, Messenger, MockAttachmentFetcher, MockMessenger, SendError,
    SendOptions, SentMessageId,
};

#[tokio::test]
async fn mock_messenger_and_fetcher_work_behind_trait_objects() {
    let mut m = MockMessenger::new();
    m.expect_send_text()
        .withf(|to, text, opts| to.as_str() == "42" && text == "hi" && !opts.human_agent_tag)
        .returning(|_, _, _| Ok(vec![SentMessageId::new("m1")]));
    m.expect_send_text()
        .returning(|_, _, _| Err(SendError::EmptyText.into()));
    let m: Arc<dyn Messenger> = Arc::new(m);
    let to = ConversationId::parse("42").unwrap();
    assert_eq!(
        m.send_text(&to, "hi", SendOptions::default())
            .await
            .unwrap(),
        vec![SentMessageId::new("m1")]
    );
    assert!(m.send_text(&to, "", SendOptions::default()).await.is_err());

    let mut f = MockAttachmentFetcher::new();
    f.expect_fetch()
        .returning(|_| Err(DownloadError::Status(410)));
    let f: Arc<dyn AttachmentFetcher> = Arc::new(f);
    assert!(matches!(
        f.fetch("https://x").await,
        Err(DownloadError::Status(410))
    ));
}
