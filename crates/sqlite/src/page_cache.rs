//! SQLite's default page cache (`pcache1`), with one shortcut: a truncate that has no page
//! to drop returns at once.
//!
//! **Why.** When a b-tree page splits, SQLite renumbers the new pages into ascending order
//! (`balance_nonroot`), parking one of them for a moment under a number no database page
//! ever has: the lock-byte page, 1 GiB / page size + 1 (262,145 with 4 KiB pages).
//! `pcache1` remembers the largest page number it has held since its last truncate, and
//! every commit asks it to drop the pages past the end of the database. With that
//! remembered number far past the end, `pcache1` walks its whole hash table, every cached
//! page, on each commit that followed a split with a swap. Random-keyed indexes split
//! often: on the webhook's writer that walk (`pcache1TruncateUnsafe`) was 11 % of the
//! thread's time on a fresh database, and the walk grows with the cache (see
//! docs/PERFORMANCE.md).
//!
//! **How.** Each cache is `pcache1`'s, wrapped: the wrapper passes every call through and
//! keeps its own bound on the page numbers the cache can hold (every page is created by
//! a fetch or renamed by a rekey, and both pass here), leaving the parked lock-byte page
//! out of that bound but noting while it is parked. A truncate below which no page can
//! exist changes nothing in `pcache1` either, so it is answered here; any other goes
//! through whole. The wrapper never touches a page.
//!
//! **Safety.** Each cache belongs to one connection's pager (no shared-cache mode here),
//! and a connection is used by one thread at a time: rusqlite opens it with
//! `SQLITE_OPEN_NO_MUTEX` and its `Connection` is `Send` but not `Sync`. So a cache's
//! methods are never called concurrently, which is what makes the per-cache bound safe
//! to update without a lock of its own. The counters are atomics. Installing calls
//! `sqlite3_config`, which must not run beside any other SQLite call: it runs once,
//! before the process's first connection, from [`crate::open`].
#![allow(unsafe_code)]

use std::ffi::{c_int, c_uint, c_void};
use std::mem::MaybeUninit;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::ffi;

/// Where SQLite parks a page during a split: the lock-byte page's number (see the module
/// documentation).
const LOCK_BYTE: u32 = 0x4000_0000;

/// Why the page cache could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallError {
    /// SQLite refused the configuration (it was initialised already, by a connection
    /// opened before the first call); the code is SQLite's.
    Refused(i32),
    /// SQLite's default cache lacks a method this wrapper passes through.
    Incomplete,
}

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(code) => write!(
                f,
                "SQLite refused the page cache (code {code}): a connection was opened before it"
            ),
            Self::Incomplete => f.write_str("SQLite's default page cache lacks a method"),
        }
    }
}

impl std::error::Error for InstallError {}

/// What the wrapper has done since the process started: for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Truncates answered here: no page at or past the limit.
    pub truncates_skipped: u64,
    /// Truncates passed to `pcache1`.
    pub truncates_passed: u64,
    /// Pages renamed to the lock-byte page (a split's swap).
    pub parked: u64,
}

static SKIPPED: AtomicU64 = AtomicU64::new(0);
static PASSED: AtomicU64 = AtomicU64::new(0);
static PARKED: AtomicU64 = AtomicU64::new(0);

/// The wrapper's counters so far.
pub fn counts() -> Counts {
    Counts {
        truncates_skipped: SKIPPED.load(Ordering::Relaxed),
        truncates_passed: PASSED.load(Ordering::Relaxed),
        parked: PARKED.load(Ordering::Relaxed),
    }
}

/// Installs the wrapper, once per process; later calls return the first call's result.
/// Must run before the process's first SQLite connection (see [`crate::open`]).
pub fn install() -> Result<(), InstallError> {
    static RESULT: OnceLock<Result<(), InstallError>> = OnceLock::new();
    *RESULT.get_or_init(install_now)
}

/// [`install`], logging (once) why not if it could not.
pub(crate) fn install_once() {
    static LOGGED: OnceLock<()> = OnceLock::new();
    if let Err(error) = install() {
        LOGGED.get_or_init(|| {
            tracing::warn!(%error, "SQLite keeps its stock page cache");
        });
    }
}

/// `pcache1`'s methods, as plain function pointers (all checked present at install).
#[derive(Clone, Copy)]
struct Inner {
    arg: *mut c_void,
    init: unsafe extern "C" fn(*mut c_void) -> c_int,
    shutdown: unsafe extern "C" fn(*mut c_void),
    create: unsafe extern "C" fn(c_int, c_int, c_int) -> *mut ffi::sqlite3_pcache,
    cachesize: unsafe extern "C" fn(*mut ffi::sqlite3_pcache, c_int),
    pagecount: unsafe extern "C" fn(*mut ffi::sqlite3_pcache) -> c_int,
    fetch: unsafe extern "C" fn(
        *mut ffi::sqlite3_pcache,
        c_uint,
        c_int,
    ) -> *mut ffi::sqlite3_pcache_page,
    unpin: unsafe extern "C" fn(*mut ffi::sqlite3_pcache, *mut ffi::sqlite3_pcache_page, c_int),
    rekey: unsafe extern "C" fn(
        *mut ffi::sqlite3_pcache,
        *mut ffi::sqlite3_pcache_page,
        c_uint,
        c_uint,
    ),
    truncate: unsafe extern "C" fn(*mut ffi::sqlite3_pcache, c_uint),
    destroy: unsafe extern "C" fn(*mut ffi::sqlite3_pcache),
    shrink: unsafe extern "C" fn(*mut ffi::sqlite3_pcache),
}

// SAFETY: `arg` is `pcache1`'s context pointer, which it never uses (it is null) and
// which is only ever handed back to `pcache1`; the rest are function pointers.
unsafe impl Send for Inner {}
// SAFETY: as for `Send`: nothing here is mutated after install.
unsafe impl Sync for Inner {}

static INNER: OnceLock<Inner> = OnceLock::new();

impl Inner {
    fn from_methods(m: &ffi::sqlite3_pcache_methods2) -> Option<Self> {
        Some(Self {
            arg: m.pArg,
            init: m.xInit?,
            shutdown: m.xShutdown?,
            create: m.xCreate?,
            cachesize: m.xCachesize?,
            pagecount: m.xPagecount?,
            fetch: m.xFetch?,
            unpin: m.xUnpin?,
            rekey: m.xRekey?,
            truncate: m.xTruncate?,
            destroy: m.xDestroy?,
            shrink: m.xShrink?,
        })
    }
}

fn install_now() -> Result<(), InstallError> {
    let mut stock = MaybeUninit::<ffi::sqlite3_pcache_methods2>::zeroed();
    // SAFETY: GETPCACHE2 writes one `sqlite3_pcache_methods2` through the pointer, which
    // points at enough (zeroed) memory for one.
    let code = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, stock.as_mut_ptr()) };
    if code != ffi::SQLITE_OK {
        return Err(InstallError::Refused(code));
    }
    // SAFETY: SQLite filled it in (it was zeroed before, which is a valid value too).
    let stock = unsafe { stock.assume_init() };
    let inner = Inner::from_methods(&stock).ok_or(InstallError::Incomplete)?;
    let inner = *INNER.get_or_init(|| inner);
    let wrapper = ffi::sqlite3_pcache_methods2 {
        iVersion: 1,
        pArg: inner.arg,
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        xCreate: Some(x_create),
        xCachesize: Some(x_cachesize),
        xPagecount: Some(x_pagecount),
        xFetch: Some(x_fetch),
        xUnpin: Some(x_unpin),
        xRekey: Some(x_rekey),
        xTruncate: Some(x_truncate),
        xDestroy: Some(x_destroy),
        xShrink: Some(x_shrink),
    };
    // SAFETY: PCACHE2 copies the struct it is given; every method in it is defined below
    // with the signature SQLite expects.
    let code = unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_PCACHE2,
            &wrapper as *const ffi::sqlite3_pcache_methods2,
        )
    };
    if code == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(InstallError::Refused(code))
    }
}

/// One wrapped cache: `pcache1`'s, and what this wrapper knows about its page numbers.
struct Cache {
    inner: *mut ffi::sqlite3_pcache,
    /// The lock-byte page's number for this cache's page size.
    lock_page: c_uint,
    /// No page other than a parked one has a number above this.
    bound: c_uint,
    /// Whether a page may be parked under `lock_page` right now.
    parked: bool,
}

impl Cache {
    /// Takes note that a page numbered `key` exists.
    fn holds(&mut self, key: c_uint) {
        if key == self.lock_page {
            self.parked = true;
        } else if key > self.bound {
            self.bound = key;
        }
    }

    /// Whether some page may be numbered `limit` or more.
    fn may_hold_from(&self, limit: c_uint) -> bool {
        self.bound >= limit || (self.parked && self.lock_page >= limit)
    }
}

/// The wrapped cache behind SQLite's handle.
///
/// # Safety
/// `p` must be a handle this wrapper's `x_create` returned and `x_destroy` has not freed,
/// used by one thread at a time (its connection's; see the module documentation).
unsafe fn cache<'a>(p: *mut ffi::sqlite3_pcache) -> &'a mut Cache {
    // SAFETY: per the function's contract, `p` is a live `Box<Cache>` nobody else borrows.
    unsafe { &mut *p.cast::<Cache>() }
}

/// `pcache1`'s methods; always set before SQLite can call any method below.
fn inner() -> Option<&'static Inner> {
    INNER.get()
}

unsafe extern "C" fn x_init(arg: *mut c_void) -> c_int {
    match inner() {
        // SAFETY: passes SQLite's call through unchanged.
        Some(inner) => unsafe { (inner.init)(arg) },
        None => ffi::SQLITE_ERROR,
    }
}

unsafe extern "C" fn x_shutdown(arg: *mut c_void) {
    if let Some(inner) = inner() {
        // SAFETY: passes SQLite's call through unchanged.
        unsafe { (inner.shutdown)(arg) }
    }
}

unsafe extern "C" fn x_create(
    page_size: c_int,
    extra: c_int,
    purgeable: c_int,
) -> *mut ffi::sqlite3_pcache {
    let Some(inner) = inner() else {
        return std::ptr::null_mut();
    };
    // SAFETY: passes SQLite's call through unchanged.
    let created = unsafe { (inner.create)(page_size, extra, purgeable) };
    if created.is_null() {
        return created;
    }
    let lock_page = u32::try_from(page_size)
        .ok()
        .filter(|size| *size > 0)
        .map_or(c_uint::MAX, |size| LOCK_BYTE / size + 1);
    let wrapped = Box::new(Cache {
        inner: created,
        lock_page,
        bound: 0,
        parked: false,
    });
    Box::into_raw(wrapped).cast()
}

unsafe extern "C" fn x_cachesize(p: *mut ffi::sqlite3_pcache, pages: c_int) {
    if let Some(inner) = inner() {
        // SAFETY: `p` is ours (SQLite passes back what `x_create` returned).
        unsafe { (inner.cachesize)(cache(p).inner, pages) }
    }
}

unsafe extern "C" fn x_pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    match inner() {
        // SAFETY: `p` is ours.
        Some(inner) => unsafe { (inner.pagecount)(cache(p).inner) },
        None => 0,
    }
}

unsafe extern "C" fn x_fetch(
    p: *mut ffi::sqlite3_pcache,
    key: c_uint,
    create: c_int,
) -> *mut ffi::sqlite3_pcache_page {
    let Some(inner) = inner() else {
        return std::ptr::null_mut();
    };
    // SAFETY: `p` is ours.
    let cache = unsafe { cache(p) };
    // SAFETY: passes SQLite's call through to the wrapped cache.
    let page = unsafe { (inner.fetch)(cache.inner, key, create) };
    if !page.is_null() {
        cache.holds(key);
    }
    page
}

unsafe extern "C" fn x_unpin(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    discard: c_int,
) {
    if let Some(inner) = inner() {
        // SAFETY: `p` is ours; the page is one the wrapped cache returned.
        unsafe { (inner.unpin)(cache(p).inner, page, discard) }
    }
}

unsafe extern "C" fn x_rekey(
    p: *mut ffi::sqlite3_pcache,
    page: *mut ffi::sqlite3_pcache_page,
    old: c_uint,
    new: c_uint,
) {
    let Some(inner) = inner() else {
        return;
    };
    // SAFETY: `p` is ours.
    let cache = unsafe { cache(p) };
    // SAFETY: passes SQLite's call through to the wrapped cache.
    unsafe { (inner.rekey)(cache.inner, page, old, new) };
    if old == cache.lock_page {
        cache.parked = false;
    }
    if new == cache.lock_page {
        PARKED.fetch_add(1, Ordering::Relaxed);
    }
    cache.holds(new);
}

unsafe extern "C" fn x_truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    let Some(inner) = inner() else {
        return;
    };
    // SAFETY: `p` is ours.
    let cache = unsafe { cache(p) };
    if !cache.may_hold_from(limit) {
        // No page is numbered `limit` or more: `pcache1` would drop nothing.
        SKIPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    PASSED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: passes SQLite's call through to the wrapped cache.
    unsafe { (inner.truncate)(cache.inner, limit) };
    cache.bound = cache.bound.min(limit.saturating_sub(1));
    if cache.lock_page >= limit {
        cache.parked = false;
    }
}

unsafe extern "C" fn x_destroy(p: *mut ffi::sqlite3_pcache) {
    // SAFETY: `p` is ours and SQLite never uses it again after this call.
    let cache = unsafe { Box::from_raw(p.cast::<Cache>()) };
    if let Some(inner) = inner() {
        // SAFETY: destroys the wrapped cache, once.
        unsafe { (inner.destroy)(cache.inner) }
    }
}

unsafe extern "C" fn x_shrink(p: *mut ffi::sqlite3_pcache) {
    if let Some(inner) = inner() {
        // SAFETY: `p` is ours.
        unsafe { (inner.shrink)(cache(p).inner) }
    }
}
