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
use std::sync::mpsc;

use tokio::sync::oneshot;

/// Most records left unsettled at once. At this many the spool stops taking records
/// until every one of them is settled (and the file emptied), so under a sustained
/// overload callers wait for their commits as they would without a spool, and the file
/// stays small.
pub(super) const MOST_UNSETTLED: usize = 256;

/// Records an earlier process left unsettled: (sequence number, body), in their order.
pub(super) type Left = Vec<(u64, Vec<u8>)>;

/// Bytes before a record's body: its length and checksum.
const HEADER: usize = 4 + 8;

/// The spool's thread, which owns the file: the runtime never waits on disk, and a burst
/// of records costs one thread, not one blocking task each.
#[derive(Debug, Clone)]
pub(super) struct Spool {
    ops: mpsc::Sender<Op>,
}

#[derive(Debug)]
enum Op {
    Append(Vec<u8>, oneshot::Sender<io::Result<Option<u64>>>),
    Settle(u64),
}

impl Spool {
    /// Opens the spool file at `path` (see [`SpoolFile::open`]) and starts its thread,
    /// which stops once every handle is gone.
    pub(super) fn start(path: &Path) -> io::Result<(Self, Left)> {
        let (mut file, left) = SpoolFile::open(path)?;
        let (ops, queue) = mpsc::channel::<Op>();
        std::thread::Builder::new()
            .name("inkdesk-spool".into())
            .spawn(move || serve(&mut file, &queue))?;
        Ok((Self { ops }, left))
    }

    /// Appends `body`; its sequence number once it is in the file, or `None` when the
    /// spool is full (the caller then waits for its commit instead).
    pub(super) async fn append(&self, body: Vec<u8>) -> io::Result<Option<u64>> {
        let (reply, answer) = oneshot::channel();
        self.ops
            .send(Op::Append(body, reply))
            .map_err(|_| io::Error::other("the intake spool's thread stopped"))?;
        answer
            .await
            .map_err(|_| io::Error::other("the intake spool's thread stopped"))?
    }

    /// Marks record `seq` as committed to the database.
    pub(super) fn settle(&self, seq: u64) {
        if self.ops.send(Op::Settle(seq)).is_err() {
            tracing::warn!(
                "the intake spool's thread stopped; the record is applied again at the next start"
            );
        }
    }
}

/// The spool thread: each op in turn; the file is emptied (if every record is settled)
/// only once no op waits, since a settle is often followed at once by the next record.
fn serve(file: &mut SpoolFile, queue: &mpsc::Receiver<Op>) {
    let mut next = queue.recv().ok();
    while let Some(op) = next {
        match op {
            Op::Append(body, reply) => {
                let _ = reply.send(file.append(&body));
            }
            Op::Settle(seq) => file.settle(seq),
        }
        next = match queue.try_recv() {
            Ok(op) => Some(op),
            Err(mpsc::TryRecvError::Disconnected) => None,
            Err(mpsc::TryRecvError::Empty) => {
                if let Err(error) = file.empty_if_settled() {
                    tracing::warn!(%error, "intake spool not emptied");
                }
                queue.recv().ok()
            }
        };
    }
    if let Err(error) = file.empty_if_settled() {
        tracing::warn!(%error, "intake spool not emptied");
    }
}

/// The spool file and which of its records are not yet settled.
#[derive(Debug)]
pub(super) struct SpoolFile {
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

impl SpoolFile {
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
        let mut spool = Self {
            file,
            next: left.len() as u64,
            unsettled: left.iter().map(|(seq, _)| *seq).collect(),
            full: false,
        };
        spool.empty_if_settled()?;
        Ok((spool, left))
    }

    /// Appends `body` and returns its sequence number, or `None` when the spool is full
    /// (the caller then waits for its commit instead).
    pub(super) fn append(&mut self, body: &[u8]) -> io::Result<Option<u64>> {
        if self.full {
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
        self.file.write_all(&record)?;
        let seq = self.next;
        self.next += 1;
        self.unsettled.insert(seq);
        if self.unsettled.len() >= MOST_UNSETTLED {
            self.full = true;
        }
        Ok(Some(seq))
    }

    /// Marks record `seq` as committed to the database.
    pub(super) fn settle(&mut self, seq: u64) {
        self.unsettled.remove(&seq);
    }

    /// How many records are not settled yet.
    #[cfg(test)]
    pub(super) fn unsettled(&self) -> usize {
        self.unsettled.len()
    }

    /// Empties the file if no record is left unsettled.
    pub(super) fn empty_if_settled(&mut self) -> io::Result<()> {
        if self.unsettled.is_empty() {
            self.full = false;
            if self.file.metadata()?.len() > 0 {
                // Small (at most MOST_UNSETTLED records): no long truncate. The file is
                // opened for appending, so the next record goes to its start.
                self.file.set_len(0)?;
            }
        }
        Ok(())
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
        let (mut spool, left) = SpoolFile::open(&path).unwrap();
        assert!(left.is_empty());
        let a = spool.append(b"first").unwrap().unwrap();
        let b = spool.append(b"second").unwrap().unwrap();
        assert_eq!(spool.unsettled(), 2);
        drop(spool);
        let (mut spool, left) = SpoolFile::open(&path).unwrap();
        let bodies: Vec<_> = left.iter().map(|(_, b)| b.as_slice()).collect();
        assert_eq!(bodies, [b"first".as_slice(), b"second".as_slice()]);
        assert_ne!(a, b);
        for (seq, _) in &left {
            spool.settle(*seq);
            spool.empty_if_settled().unwrap();
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "emptied");
        let c = spool.append(b"third").unwrap().unwrap();
        drop(spool);
        let (spool, left) = SpoolFile::open(&path).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].1, b"third");
        assert_eq!(spool.unsettled(), 1);
        let _ = c;
    }

    #[test]
    fn a_record_cut_short_and_what_follows_it_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-intake");
        let (mut spool, _) = SpoolFile::open(&path).unwrap();
        spool.append(b"whole").unwrap().unwrap();
        spool.append(b"cut short").unwrap().unwrap();
        drop(spool);
        let full = std::fs::read(&path).unwrap();
        // The second record loses its last byte, as a crash mid-write could leave it.
        std::fs::write(&path, &full[..full.len() - 1]).unwrap();
        let (mut spool, left) = SpoolFile::open(&path).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].1, b"whole");
        // The torn tail is gone, so a new record is read back after the whole one.
        spool.append(b"next").unwrap().unwrap();
        drop(spool);
        let (_, left) = SpoolFile::open(&path).unwrap();
        let bodies: Vec<_> = left.iter().map(|(_, b)| b.clone()).collect();
        assert_eq!(bodies, [b"whole".to_vec(), b"next".to_vec()]);
        // A flipped byte inside a body fails its checksum.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let (_, left) = SpoolFile::open(&path).unwrap();
        assert!(left.is_empty());
    }

    #[test]
    fn a_full_spool_takes_nothing_until_every_record_is_settled() {
        let dir = tempfile::tempdir().unwrap();
        let (mut spool, _) = SpoolFile::open(&dir.path().join("db-intake")).unwrap();
        let seqs: Vec<u64> = (0..MOST_UNSETTLED)
            .map(|_| spool.append(b"m").unwrap().unwrap())
            .collect();
        assert_eq!(spool.append(b"m").unwrap(), None);
        spool.settle(seqs[0]);
        spool.empty_if_settled().unwrap();
        assert_eq!(spool.append(b"m").unwrap(), None, "still full");
        for seq in &seqs[1..] {
            spool.settle(*seq);
            spool.empty_if_settled().unwrap();
        }
        assert!(spool.append(b"m").unwrap().is_some());
    }
}
