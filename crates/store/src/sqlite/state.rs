//! Dedupe, Outbox, Takeover and SlotHolds on SQLite.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use inkdesk_domain::{ArtistKey, ConversationId};
use rusqlite::{Connection, OptionalExtension, params};

use super::log::parse_conv;
use super::{SqliteStore, dur_ms};
use crate::StoreError;
use crate::model::{Hold, HoldOutcome, Mute, SlotKey, from_ms, ms};
use crate::ports::{Dedupe, Keyed, Outbox, SlotHolds, Takeover};

/// Marks `id` seen for `ttl` ms; false if it already was (and the mark is live).
pub(super) fn mark_seen(
    conn: &Connection,
    id: &str,
    now: i64,
    ttl: i64,
) -> Result<bool, StoreError> {
    // Inserts a new id, or takes over an expired one; a live id changes nothing.
    let changed = conn
        .prepare_cached(
            "INSERT INTO dedupe(id, expires_at) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE \
             SET expires_at = excluded.expires_at WHERE dedupe.expires_at <= ?3",
        )?
        .execute(params![id, now.saturating_add(ttl), now])?;
    Ok(changed == 1)
}

#[async_trait]
impl Dedupe for SqliteStore {
    async fn first_seen(&self, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let id = id.to_owned();
        let ttl = dur_ms(ttl);
        self.run(move |conn, now| mark_seen(conn, &id, now, ttl))
            .await
    }

    async fn forget(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.run(move |conn, _| {
            conn.prepare_cached("DELETE FROM dedupe WHERE id = ?1")?
                .execute(params![id])?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl Keyed for SqliteStore {
    async fn put(
        &self,
        conversation: &ConversationId,
        key: &str,
        value: serde_json::Value,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (conv, key, value) = (
            conversation.as_str().to_owned(),
            key.to_owned(),
            value.to_string(),
        );
        let ttl = dur_ms(ttl);
        self.run(move |conn, now| {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO keyed(conv, key, value, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![conv, key, value, now.saturating_add(ttl)])?;
            Ok(())
        })
        .await
    }

    async fn get(
        &self,
        conversation: &ConversationId,
        key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let (conv, key) = (conversation.as_str().to_owned(), key.to_owned());
        let text: Option<String> = self
            .run(move |conn, now| {
                let mut stmt = conn.prepare_cached(
                    "SELECT value FROM keyed WHERE conv = ?1 AND key = ?2 AND expires_at > ?3",
                )?;
                let mut rows = stmt.query(params![conv, key, now])?;
                Ok(match rows.next()? {
                    Some(row) => Some(row.get(0)?),
                    None => None,
                })
            })
            .await?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("keyed value: {e}")))
        })
        .transpose()
    }

    async fn delete(&self, conversation: &ConversationId, key: &str) -> Result<(), StoreError> {
        let (conv, key) = (conversation.as_str().to_owned(), key.to_owned());
        self.run(move |conn, _| {
            conn.prepare_cached("DELETE FROM keyed WHERE conv = ?1 AND key = ?2")?
                .execute(params![conv, key])?;
            Ok(())
        })
        .await
    }

    async fn increment(
        &self,
        conversation: &ConversationId,
        key: &str,
        ttl: Duration,
    ) -> Result<u64, StoreError> {
        let (conv, key) = (conversation.as_str().to_owned(), key.to_owned());
        let ttl = dur_ms(ttl);
        // One job on the writer thread: nothing runs between the read and the write.
        self.run(move |conn, now| {
            let live: Option<(String, i64)> = conn
                .prepare_cached(
                    "SELECT value, expires_at FROM keyed \
                     WHERE conv = ?1 AND key = ?2 AND expires_at > ?3",
                )?
                .query_row(params![conv, key, now], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let (count, expires) = match live
                .and_then(|(value, exp)| Some((value.parse::<u64>().ok()?, exp)))
            {
                Some((count, exp)) => (count.saturating_add(1), exp),
                None => (1, now.saturating_add(ttl)),
            };
            conn.prepare_cached(
                "INSERT OR REPLACE INTO keyed(conv, key, value, expires_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![conv, key, count.to_string(), expires])?;
            Ok(count)
        })
        .await
    }
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn remember(&self, message_id: &str, ttl: Duration) -> Result<(), StoreError> {
        let id = message_id.to_owned();
        let ttl = dur_ms(ttl);
        self.run(move |conn, now| {
            conn.prepare_cached("INSERT OR REPLACE INTO outbox(id, expires_at) VALUES (?1, ?2)")?
                .execute(params![id, now.saturating_add(ttl)])?;
            Ok(())
        })
        .await
    }

    async fn contains(&self, message_id: &str) -> Result<bool, StoreError> {
        let id = message_id.to_owned();
        self.run(move |conn, now| {
            Ok(conn
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM outbox WHERE id = ?1 AND expires_at > ?2)",
                )?
                .query_row(params![id, now], |r| r.get(0))?)
        })
        .await
    }
}

#[async_trait]
impl Takeover for SqliteStore {
    async fn mute(
        &self,
        conversation: &ConversationId,
        until: DateTime<Utc>,
        reason: String,
    ) -> Result<(), StoreError> {
        let conv = conversation.as_str().to_owned();
        self.run(move |conn, _| {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO mutes(conv, until, reason) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![conv, ms(until), reason])?;
            Ok(())
        })
        .await
    }

    async fn unmute(&self, conversation: &ConversationId) -> Result<(), StoreError> {
        let conv = conversation.as_str().to_owned();
        self.run(move |conn, _| {
            conn.prepare_cached("DELETE FROM mutes WHERE conv = ?1")?
                .execute([conv])?;
            Ok(())
        })
        .await
    }

    async fn muted(&self, conversation: &ConversationId) -> Result<Option<Mute>, StoreError> {
        let conv = conversation.as_str().to_owned();
        let row: Option<(i64, String)> = self
            .run(move |conn, now| {
                Ok(conn
                    .prepare_cached(
                        "SELECT until, reason FROM mutes WHERE conv = ?1 AND until > ?2",
                    )?
                    .query_row(params![conv, now], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?)
            })
            .await?;
        row.map(|(until, reason)| {
            Ok(Mute {
                until: from_ms(until)?,
                reason,
            })
        })
        .transpose()
    }

    async fn list_muted(&self) -> Result<Vec<(ConversationId, Mute)>, StoreError> {
        let rows: Vec<(String, i64, String)> = self
            .run(move |conn, now| {
                let mut stmt = conn.prepare_cached(
                    "SELECT conv, until, reason FROM mutes WHERE until > ?1 ORDER BY conv",
                )?;
                let rows = stmt.query_map([now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        rows.into_iter()
            .map(|(conv, until, reason)| {
                Ok((
                    parse_conv(conv)?,
                    Mute {
                        until: from_ms(until)?,
                        reason,
                    },
                ))
            })
            .collect()
    }

    async fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
        self.run(move |conn, _| {
            conn.prepare_cached("UPDATE counters SET value = ?1 WHERE name = 'paused'")?
                .execute([i64::from(paused)])?;
            Ok(())
        })
        .await
    }

    async fn is_paused(&self) -> Result<bool, StoreError> {
        self.run(|conn, _| {
            let v: Option<i64> = conn
                .prepare_cached("SELECT value FROM counters WHERE name = 'paused'")?
                .query_row([], |r| r.get(0))
                .optional()?;
            Ok(v.unwrap_or(0) != 0)
        })
        .await
    }
}

/// The `artist` column of a hold: the key, or `''` for the studio's capacity.
fn artist_column(slot: &SlotKey) -> String {
    slot.artist
        .as_ref()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default()
}

#[async_trait]
impl SlotHolds for SqliteStore {
    async fn hold(
        &self,
        slot: SlotKey,
        conversation: &ConversationId,
        capacity: u32,
        ttl: Duration,
    ) -> Result<HoldOutcome, StoreError> {
        let conv = conversation.as_str().to_owned();
        let (start, end) = (ms(slot.start), ms(slot.end));
        let artist = artist_column(&slot);
        let ttl = dur_ms(ttl);
        self.run(move |conn, now| {
            let tx = conn.savepoint()?;
            tx.prepare_cached(
                "DELETE FROM holds WHERE slot_start = ?1 AND slot_end = ?2 AND artist = ?3 AND expires_at <= ?4",
            )?
            .execute(params![start, end, artist, now])?;
            let expires = now.saturating_add(ttl);
            let refreshed = tx
                .prepare_cached(
                    "UPDATE holds SET expires_at = ?5 WHERE slot_start = ?1 AND slot_end = ?2 AND artist = ?3 AND conv = ?4",
                )?
                .execute(params![start, end, artist, conv, expires])?;
            let outcome = if refreshed == 1 {
                HoldOutcome::Refreshed
            } else {
                let held: i64 = tx
                    .prepare_cached(
                        "SELECT count(*) FROM holds WHERE slot_start = ?1 AND slot_end = ?2 AND artist = ?3",
                    )?
                    .query_row(params![start, end, artist], |r| r.get(0))?;
                if held >= i64::from(capacity) {
                    HoldOutcome::Full
                } else {
                    tx.prepare_cached(
                        "INSERT INTO holds(slot_start, slot_end, artist, conv, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![start, end, artist, conv, expires])?;
                    HoldOutcome::Held
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn release(
        &self,
        slot: &SlotKey,
        conversation: &ConversationId,
    ) -> Result<(), StoreError> {
        let conv = conversation.as_str().to_owned();
        let (start, end) = (ms(slot.start), ms(slot.end));
        let artist = artist_column(slot);
        self.run(move |conn, _| {
            conn.prepare_cached(
                "DELETE FROM holds WHERE slot_start = ?1 AND slot_end = ?2 AND artist = ?3 AND conv = ?4",
            )?
            .execute(params![start, end, artist, conv])?;
            Ok(())
        })
        .await
    }

    async fn release_all(&self, conversation: &ConversationId) -> Result<(), StoreError> {
        let conv = conversation.as_str().to_owned();
        self.run(move |conn, _| {
            conn.prepare_cached("DELETE FROM holds WHERE conv = ?1")?
                .execute([conv])?;
            Ok(())
        })
        .await
    }

    async fn active(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Hold>, StoreError> {
        let (from, to) = (ms(from), ms(to));
        let rows: Vec<(i64, i64, String, String)> = self
            .run(move |conn, now| {
                let mut stmt = conn.prepare_cached(
                    "SELECT slot_start, slot_end, artist, conv FROM holds WHERE slot_start < ?1 AND slot_end > ?2 \
                     AND expires_at > ?3 ORDER BY slot_start, slot_end, artist, conv",
                )?;
                let rows = stmt.query_map(params![to, from, now], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        rows.into_iter()
            .map(|(start, end, artist, conv)| {
                let artist = match artist.as_str() {
                    "" => None,
                    key => Some(
                        ArtistKey::parse(key)
                            .map_err(|_| StoreError::Corrupt(format!("hold artist {key}")))?,
                    ),
                };
                Ok(Hold {
                    slot: SlotKey {
                        start: from_ms(start)?,
                        end: from_ms(end)?,
                        artist,
                    },
                    conversation: parse_conv(conv)?,
                })
            })
            .collect()
    }
}
