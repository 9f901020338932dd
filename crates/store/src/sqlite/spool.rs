//! The intake spool: a file beside the database (`<database>-intake`) where a webhook's
//! message is made durable when the writer cannot commit it promptly, so that answering
//! the webhook never waits for a WAL restart, the fsync after it, or a purge step.
//!
//! A record is appended with one `write()` before the webhook is answered. Like the
//! database's own commits under `synchronous=NORMAL` it is not fsynced: it survives a
//! `kill -9` (the OS holds it), and a power loss may lose the last moments of both. The
//! message's call is queued for the writer before the record is written; once the call
//! commits, the record is settled, and when no record is left unsettled the file is
//! emptied. At open, every record still in the file is applied again before any other
//! call: one whose call had committed finds its own event key seen and changes nothing.
//!
//! Framing: `u32` length (little endian), `u64` FNV-1a checksum of the body, then the
//! body (JSON). A record cut short by a crash mid-write, or torn by a power loss, fails
//! its length or checksum; it and whatever follows are ignored (it was never answered).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Most records left unsettled at once. At this many the spool stops taking records
/// until every one of them is settled (and the file emptied), so under a sustained
/// overload callers wait for their commits as they would without a spool, and the file
/// stays small.
pub(super) const MOST_UNSETTLED: usize = 256;

/// Records an earlier process left unsettled: (sequence number, body), in their order.
pub(super) type Left = Vec<(u64, Vec<u8>)>;

/// Bytes before a record's body: its length and checksum.
const HEADER: usize = 4 + 8;

/// The spool file and which of its records are not yet settled.
#[derive(Debug)]
pub(super) struct Spool {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    file: File,
    next: u64,
    unsettled: HashSet<u64>,
    /// Set when [`MOST_UNSETTLED`] was reached; cleared once none is left.
    full: bool,
}

/// The spool file's path for the database at `database`.
pub(super) fn path_for(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-intake");
    PathBuf::from(name)
}

impl Spool {
    /// Opens the spool at `path` (creating it) and returns it with the bodies of the
    /// records left in it by an earlier process, in the order they were written, each
    /// already counted as unsettled under the sequence number returned beside it.
    pub(super) fn open(path: &Path) -> io::Result<(Self, Left)> {
        let mut bytes = Vec::new();
        match File::open(path) {
            Ok(mut f) => {
                f.read_to_end(&mut bytes)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let (bodies, used) = parse(&bytes);
        if used < bytes.len() {
            tracing::warn!(
                ignored_bytes = bytes.len() - used,
                kept = bodies.len(),
                "intake spool ends in a record cut short; it was never acknowledged"
            );
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if used < bytes.len() {
            // Drop the torn tail so that new records do not land behind it.
            file.set_len(used as u64)?;
        }
        let left: Left = (0u64..).zip(bodies).collect();
        let state = State {
            file,
            next: left.len() as u64,
            unsettled: left.iter().map(|(seq, _)| *seq).collect(),
            full: false,
        };
        let spool = Self {
            state: Mutex::new(state),
        };
        if left.is_empty() {
            spool.empty_if_settled()?;
        }
        Ok((spool, left))
    }

    /// Appends `body` and returns its sequence number, or `None` when the spool is full
    /// (the caller then waits for its commit instead).
    pub(super) fn append(&self, body: &[u8]) -> io::Result<Option<u64>> {
        let mut state = self.lock();
        if state.full {
            return Ok(None);
        }
        let len = u32::try_from(body.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record too large"))?;
        let mut record = Vec::with_capacity(HEADER + body.len());
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&fnv1a(body).to_le_bytes());
        record.extend_from_slice(body);
        // One write, so that a record is either whole in the file or (cut short by a
        // crash) fails its checks at the next open.
        state.file.write_all(&record)?;
        let seq = state.next;
        state.next += 1;
        state.unsettled.insert(seq);
        if state.unsettled.len() >= MOST_UNSETTLED {
            state.full = true;
        }
        Ok(Some(seq))
    }

    /// Marks record `seq` as committed to the database; empties the file once no record
    /// is left unsettled.
    pub(super) fn settle(&self, seq: u64) -> io::Result<()> {
        self.lock().unsettled.remove(&seq);
        self.empty_if_settled()
    }

    /// How many records are not settled yet.
    #[cfg(test)]
    pub(super) fn unsettled(&self) -> usize {
        self.lock().unsettled.len()
    }

    fn empty_if_settled(&self) -> io::Result<()> {
        let mut state = self.lock();
        if state.unsettled.is_empty() {
            state.full = false;
            if state.file.metadata()?.len() > 0 {
                // Small (at most MOST_UNSETTLED records): no long truncate. The file is
                // opened for appending, so the next record goes to its start.
                state.file.set_len(0)?;
            }
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way
        // that matters: at worst a record stays unsettled and is applied again at open.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The whole records at the start of `bytes`, and how many bytes they take.
fn parse(bytes: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut bodies = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER) {
        let (len, sum) = header.split_at(4);
        let len = u32::from_le_bytes(len.try_into().unwrap_or_default()) as usize;
        let sum = u64::from_le_bytes(sum.try_into().unwrap_or_default());
        let Some(body) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if len == 0 || fnv1a(body) != sum {
            break;
        }
        bodies.push(body.to_vec());
        at += HEADER + len;
    }
    (bodies, at)
}

/// 64-bit FNV-1a: enough to tell a whole record from a torn or zeroed one.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn records_left_unsettled_come_back_in_order_and_settled_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-intake");
        let (spool, left) = Spool::open(&path).unwrap();
        assert!(left.is_empty());
        let a = spool.append(b"first").unwrap().unwrap();
        let b = spool.append(b"second").unwrap().unwrap();
        assert_eq!(spool.unsettled(), 2);
        drop(spool);
        let (spool, left) = Spool::open(&path).unwrap();
        let bodies: Vec<_> = left.iter().map(|(_, b)| b.as_slice()).collect();
        assert_eq!(bodies, [b"first".as_slice(), b"second".as_slice()]);
        assert_ne!(a, b);
        for (seq, _) in &left {
            spool.settle(*seq).unwrap();
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "emptied");
        let c = spool.append(b"third").unwrap().unwrap();
        drop(spool);
        let (spool, left) = Spool::open(&path).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].1, b"third");
        assert_eq!(spool.unsettled(), 1);
        let _ = c;
    }

    #[test]
    fn a_record_cut_short_and_what_follows_it_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-intake");
        let (spool, _) = Spool::open(&path).unwrap();
        spool.append(b"whole").unwrap().unwrap();
        spool.append(b"cut short").unwrap().unwrap();
        drop(spool);
        let full = std::fs::read(&path).unwrap();
        // The second record loses its last byte, as a crash mid-write could leave it.
        std::fs::write(&path, &full[..full.len() - 1]).unwrap();
        let (spool, left) = Spool::open(&path).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].1, b"whole");
        // The torn tail is gone, so a new record is read back after the whole one.
        spool.append(b"next").unwrap().unwrap();
        drop(spool);
        let (_, left) = Spool::open(&path).unwrap();
        let bodies: Vec<_> = left.iter().map(|(_, b)| b.clone()).collect();
        assert_eq!(bodies, [b"whole".to_vec(), b"next".to_vec()]);
        // A flipped byte inside a body fails its checksum.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, left) = Spool::open(&path).unwrap();
        assert!(left.is_empty());
    }

    #[test]
    fn a_full_spool_takes_nothing_until_every_record_is_settled() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(&dir.path().join("db-intake")).unwrap();
        let seqs: Vec<u64> = (0..MOST_UNSETTLED)
            .map(|_| spool.append(b"m").unwrap().unwrap())
            .collect();
        assert_eq!(spool.append(b"m").unwrap(), None);
        spool.settle(seqs[0]).unwrap();
        assert_eq!(spool.append(b"m").unwrap(), None, "still full");
        for seq in &seqs[1..] {
            spool.settle(*seq).unwrap();
        }
        assert!(spool.append(b"m").unwrap().is_some());
    }
}
