//! The gathering VFS against real SQLite: a transaction's frames reach the log in about
//! one write, and after every commit the files on disk hold it — a copy of the database
//! and its log, opened (and so recovered, checksums checked) as another process would
//! after a `kill -9`, has every committed row — including transactions that spill pages
//! and overwrite their own frames, and logs started over by a checkpoint.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use inkdesk_sqlite::gather;
use rusqlite::{Connection, params};

fn key(state: &mut u64) -> String {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    format!("{:016x}", *state)
}

/// What a process opening the files as they are now would find: the row count, after
/// SQLite's recovery of the copied log.
fn rows_on_disk(db: &Path, scratch: &Path, round: usize) -> i64 {
    let dir = scratch.join(format!("copy-{round}"));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("t.db");
    std::fs::copy(db, &copy).unwrap();
    let wal = db.with_file_name("t.db-wal");
    if wal.exists() {
        std::fs::copy(&wal, dir.join("t.db-wal")).unwrap();
    }
    let conn = Connection::open(&copy).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok", "copy {round}");
    conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap()
}

/// One transaction of 30 random-keyed rows, as a webhook batch writes.
fn commit_batch(writer: &mut Connection, state: &mut u64, body: &str) {
    let tx = writer.transaction().unwrap();
    for _ in 0..30 {
        tx.execute(
            "INSERT INTO t(k, v) VALUES (?1, ?2)",
            params![key(state), body],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

#[test]
fn every_commit_is_in_the_files_and_frames_are_written_together() {
    let scratch = tempfile::tempdir().unwrap();
    let db = scratch.path().join("t.db");
    let mut writer = inkdesk_sqlite::open_gathering(&db).unwrap();
    let mode: String = writer
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    writer
        .execute_batch(
            "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=20;
             CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL);",
        )
        .unwrap();
    let reader = inkdesk_sqlite::open(&db).unwrap();
    let body = "v".repeat(200);
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut expected = 0_i64;
    let (writes_before, made_before) = gather::counts();

    // Small transactions, as the webhook's batches: each commit visible to a reader on
    // the default VFS at once, and on disk.
    for round in 0..60 {
        commit_batch(&mut writer, &mut state, &body);
        expected += 30;
        let seen: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(seen, expected, "round {round}");
        if round % 15 == 14 {
            assert_eq!(rows_on_disk(&db, scratch.path(), round), expected);
        }
    }
    let (writes, made) = gather::counts();
    let (writes, made) = (writes - writes_before, made - made_before);
    assert!(
        writes * 4 < made,
        "{made} writes by SQLite reached the file as {writes}"
    );

    // A transaction larger than the page cache: it spills frames before its commit and
    // overwrites them as it changes the same pages again (SQLite then rewrites the
    // checksums of those frames after the commit frame).
    {
        let tx = writer.transaction().unwrap();
        for i in 0..3_000 {
            tx.execute(
                "INSERT INTO t(k, v) VALUES (?1, ?2)",
                params![format!("big-{i:05}"), body],
            )
            .unwrap();
        }
        tx.execute("UPDATE t SET v = 'changed' WHERE k LIKE 'big-%'", [])
            .unwrap();
        tx.commit().unwrap();
        expected += 3_000;
    }
    assert_eq!(rows_on_disk(&db, scratch.path(), 100), expected);
    let changed: i64 = reader
        .query_row("SELECT count(*) FROM t WHERE v = 'changed'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(changed, 3_000);

    // The log copied back and started over by another connection: the next commit
    // writes a new log header at offset 0, and appends from there.
    let (busy, _, _): (i64, i64, i64) = reader
        .query_row("PRAGMA wal_checkpoint(RESTART)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(busy, 0);
    for round in 0..5 {
        commit_batch(&mut writer, &mut state, &body);
        expected += 30;
        assert_eq!(rows_on_disk(&db, scratch.path(), 200 + round), expected);
    }

    // The log copied back by the writer's own connection, as the store's writer does
    // before the log starts over: the checkpoint reads the frames through this VFS,
    // and the next commit starts the log over from this side.
    commit_batch(&mut writer, &mut state, &body);
    expected += 30;
    let (busy, log, copied): (i64, i64, i64) = writer
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((busy, log), (0, copied), "everything copied");
    for round in 0..5 {
        commit_batch(&mut writer, &mut state, &body);
        expected += 30;
        assert_eq!(rows_on_disk(&db, scratch.path(), 300 + round), expected);
    }
    let (_, log, _): (i64, i64, i64) = reader
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert!(
        log < copied,
        "the log was started over ({log} frames, {copied} before)"
    );
    let seen: i64 = reader
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(seen, expected);

    // Closing and reopening on the gathering VFS reads it all back.
    drop(writer);
    let again = inkdesk_sqlite::open_gathering(&db).unwrap();
    let count: i64 = again
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, expected);
}
