//! How inkdesk opens SQLite.
//!
//! Every connection the store and the calendar make goes through [`open`] or
//! [`open_in_memory`], which first installs, once per process, SQLite's own page cache
//! with one shortcut in front of it (see [`page_cache`]). SQLite accepts a page cache only
//! before its first connection, so a connection opened some other way first leaves the
//! stock one in place: slower after page splits, never wrong.

pub mod gather;
pub mod page_cache;

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// Opens (creating if needed) the database file at `path`, after installing the page
/// cache if this is the process's first connection.
pub fn open(path: impl AsRef<Path>) -> rusqlite::Result<Connection> {
    page_cache::install_once();
    Connection::open(path)
}

/// Like [`open`], on the [`gather`] VFS: each transaction's WAL frames reach the file in
/// one write. Falls back to [`open`] (with a warning, once) if the VFS cannot be
/// registered.
pub fn open_gathering(path: impl AsRef<Path>) -> rusqlite::Result<Connection> {
    page_cache::install_once();
    match gather::register() {
        Ok(()) => Connection::open_with_flags_and_vfs(path, OpenFlags::default(), gather::VFS_NAME),
        Err(code) => {
            static LOGGED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
            LOGGED.get_or_init(|| tracing::warn!(code, "the gathering VFS is not registered"));
            Connection::open(path)
        }
    }
}

/// Opens a private in-memory database, after installing the page cache if this is the
/// process's first connection.
pub fn open_in_memory() -> rusqlite::Result<Connection> {
    page_cache::install_once();
    Connection::open_in_memory()
}
