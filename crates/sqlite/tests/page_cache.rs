//! The page cache wrapper against real SQLite: it takes its shortcut on the workload it
//! exists for (random-keyed inserts and deletes, as the webhook's writer makes), the
//! database stays whole, and a truncate that must drop pages (a rolled-back growth) still
//! drops them.
//!
//! One test function: the counters are process-wide, so phases that compare them must
//! not run beside each other.

#![allow(clippy::unwrap_used)]

use inkdesk_sqlite::page_cache::{self, Counts};
use rusqlite::{Connection, params};

/// A pseudo-random 24-hex-digit key (xorshift), like a message id's spread.
fn key(state: &mut u64) -> String {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    format!("{:016x}{:08x}", *state, *state >> 32)
}

fn integrity(conn: &Connection) -> String {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn rows(conn: &Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM marks", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_wrapper_skips_empty_truncates_and_keeps_the_ones_that_drop_pages() {
    page_cache::install().expect("installed before any connection");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("marks.sqlite3");
    let mut conn = inkdesk_sqlite::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch(
        "CREATE TABLE marks (id TEXT PRIMARY KEY, body TEXT NOT NULL, at INTEGER NOT NULL);
         CREATE INDEX marks_by_at ON marks(at);",
    )
    .unwrap();

    // Phase 1: the writer's shape. Batches of random-keyed inserts, and the oldest rows
    // deleted as new ones come (which fills the freelist, whose pages splits then reuse
    // out of order).
    let before = page_cache::counts();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let body = "x".repeat(180);
    let mut at = 0_i64;
    for _ in 0..400 {
        let tx = conn.transaction().unwrap();
        for _ in 0..20 {
            at += 1;
            tx.execute(
                "INSERT INTO marks(id, body, at) VALUES (?1, ?2, ?3)",
                params![key(&mut state), body, at],
            )
            .unwrap();
        }
        tx.execute("DELETE FROM marks WHERE at <= ?1", params![at - 3_000])
            .unwrap();
        tx.commit().unwrap();
    }
    let after = page_cache::counts();
    assert!(
        after.parked > before.parked,
        "splits parked a page under the lock-byte number: {before:?} → {after:?}"
    );
    assert!(
        after.truncates_skipped > before.truncates_skipped,
        "commits after those splits took the shortcut: {before:?} → {after:?}"
    );
    assert_eq!(integrity(&conn), "ok");
    assert_eq!(rows(&conn), 3_000);

    // Phase 2: a transaction that grows the database, rolled back. SQLite truncates the
    // cache to the old size, and those pages must really go: the next transaction sees
    // the old database, whole.
    let pages_before: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let Counts {
        truncates_passed, ..
    } = page_cache::counts();
    {
        let tx = conn.transaction().unwrap();
        for i in 0..5_000 {
            tx.execute(
                "INSERT INTO marks(id, body, at) VALUES (?1, ?2, ?3)",
                params![format!("rolled-back-{i}"), body, -1],
            )
            .unwrap();
        }
        let grown: i64 = tx.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        assert!(grown > pages_before + 100, "{grown} vs {pages_before}");
        // Dropped without commit: rolled back.
    }
    assert!(
        page_cache::counts().truncates_passed > truncates_passed,
        "the rollback's truncate reached pcache1"
    );
    let pages_after: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pages_after, pages_before);
    assert_eq!(rows(&conn), 3_000);
    let leftovers: i64 = conn
        .query_row("SELECT count(*) FROM marks WHERE at = -1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(leftovers, 0);
    // The database grows again into the same page numbers, from the file, not from
    // stale cached copies.
    conn.execute(
        "INSERT INTO marks(id, body, at) VALUES ('after', ?1, ?2)",
        params![body, at + 1],
    )
    .unwrap();
    assert_eq!(integrity(&conn), "ok");
    assert_eq!(rows(&conn), 3_001);

    // Phase 3: a second connection (another cache) reads everything the first wrote.
    let other = inkdesk_sqlite::open(&path).unwrap();
    assert_eq!(rows(&other), 3_001);
    assert_eq!(integrity(&other), "ok");
}
