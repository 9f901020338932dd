//! The mockall mocks stand in for the ports in other crates' unit tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use inkdesk_store::{Inbox, MockInbox, MockTakeover, StoreError, Takeover};

#[tokio::test]
async fn mocks_are_usable_as_trait_objects() {
    let mut inbox = MockInbox::new();
    inbox.expect_next_due().returning(|| Ok(None));
    inbox
        .expect_claim_due()
        .returning(|_, _| Err(StoreError::Unavailable("redis down".into())));
    let inbox: Arc<dyn Inbox> = Arc::new(inbox);
    assert_eq!(inbox.next_due().await.unwrap(), None);
    assert!(matches!(
        inbox.claim_due(1, std::time::Duration::from_secs(1)).await,
        Err(StoreError::Unavailable(_))
    ));

    let mut takeover = MockTakeover::new();
    takeover.expect_is_paused().times(1).returning(|| Ok(true));
    let takeover: Arc<dyn Takeover> = Arc::new(takeover);
    assert!(takeover.is_paused().await.unwrap());
}
