//! A VFS that writes each transaction's WAL frames with one `pwrite` instead of two per
//! frame.
//!
//! **Why.** SQLite writes a WAL frame as two writes, its 24-byte header and then its page
//! (`walWriteOneFrame`). The webhook's writer commits about 3.3 frames per message, so a
//! batch of 30 messages costs some 200 `pwrite`s, and the per-call part of each (syscall
//! entry, `vfs_write`, `file_modified`, `fdget`, the dirty-page throttle) was 8–9 % of the
//! writer thread (docs/PERFORMANCE.md).
//!
//! **How.** The VFS is the platform's default one (`unix`) with another `xOpen`: every
//! file but a WAL is the default VFS's file, untouched. A WAL's writes that append to the
//! log are gathered in memory and written as one, at the latest when the commit frame's
//! page is written, so the commit returns with every frame in the file — in the OS page
//! cache, which is what `synchronous=NORMAL` promises and what survives a `kill -9`.
//! Everything else goes to the file at once, after what is gathered: a write that
//! overwrites earlier frames (SQLite rewriting a frame or its checksums within a
//! transaction), and before any read, sync, size, truncate, lock or file control of the
//! log. So the file always holds every committed frame before SQLite publishes it in the
//! wal-index, and a failed write is reported on the call that made it or on the commit
//! frame's.
//!
//! The commit frame is the one whose header carries a non-zero database size (bytes 4–7,
//! big-endian: SQLite's WAL format). A new log starts with its 32-byte header at offset
//! 0, after which every frame is an append again.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int, c_void};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::ffi;

/// The VFS's name, for [`rusqlite::Connection::open_with_flags_and_vfs`].
pub const VFS_NAME: &CStr = c"inkdesk-gather";

/// Most bytes gathered before they are written anyway (a batch of 256 calls is ~1,000
/// frames, 4 MiB).
const FLUSH_AT: usize = 1 << 20;
/// Most bytes handed to the default VFS in one write: `unix` writes at most 128 KiB − 1
/// per call (it masks the length with `0x1ffff`), so a gathered transaction goes out in
/// pieces of 31 pages.
const CHUNK: usize = 0x1f000;
const WAL_HEADER: c_int = 32;
const FRAME_HEADER: c_int = 24;

static WRITES: AtomicU64 = AtomicU64::new(0);
static GATHERED: AtomicU64 = AtomicU64::new(0);

/// Writes reaching the log file so far, and writes SQLite made to it: for tests.
pub fn counts() -> (u64, u64) {
    (
        WRITES.load(Ordering::Relaxed),
        GATHERED.load(Ordering::Relaxed),
    )
}

/// The default VFS, which every call but `xOpen` is.
struct Base(*mut ffi::sqlite3_vfs);
// SAFETY: SQLite's VFS objects are process-wide and immutable once registered.
unsafe impl Send for Base {}
// SAFETY: as for `Send`.
unsafe impl Sync for Base {}

static BASE: OnceLock<Base> = OnceLock::new();

/// Registers the VFS (not as the default), once; later calls return the first's result.
pub fn register() -> Result<(), i32> {
    static RESULT: OnceLock<Result<(), i32>> = OnceLock::new();
    *RESULT.get_or_init(register_now)
}

fn register_now() -> Result<(), i32> {
    // SAFETY: a null name asks for the default VFS; SQLite initialises itself first.
    let base = unsafe { ffi::sqlite3_vfs_find(std::ptr::null()) };
    if base.is_null() {
        return Err(ffi::SQLITE_ERROR);
    }
    let base = BASE.get_or_init(|| Base(base)).0;
    // SAFETY: `base` is a registered VFS, valid for the process's life.
    let mut vfs = unsafe { *base };
    let Ok(own) = c_int::try_from(std::mem::size_of::<Wal>()) else {
        return Err(ffi::SQLITE_ERROR);
    };
    // A WAL file is our `Wal` followed by the default VFS's own file.
    vfs.szOsFile = own.saturating_add(vfs.szOsFile);
    vfs.zName = VFS_NAME.as_ptr();
    vfs.pNext = std::ptr::null_mut();
    vfs.xOpen = Some(x_open);
    // Every other method is the default VFS's, called with this VFS's pointer, which the
    // `unix` VFS's methods other than `xOpen` do not use.
    let vfs = Box::leak(Box::new(vfs));
    // SAFETY: `vfs` lives for the process; SQLite keeps the pointer.
    let code = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
    if code == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(code)
    }
}

/// A WAL file: its methods first (what SQLite sees as `sqlite3_file`), then the gather
/// state, then (at `inner`) the default VFS's file.
#[repr(C)]
struct Wal {
    base: ffi::sqlite3_file,
    inner: *mut ffi::sqlite3_file,
    /// Gathered bytes, to be written at `start`.
    buf: Vec<u8>,
    start: i64,
    /// The end of the log as this connection wrote it (gathered bytes included); a write
    /// there is an append.
    end: i64,
    /// The commit frame's header has been gathered; its page comes next.
    commit_next: bool,
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(Base(base)) = BASE.get() else {
        return ffi::SQLITE_ERROR;
    };
    let base = *base;
    // SAFETY: `base` is the registered default VFS; it has an `xOpen`.
    let Some(open) = (unsafe { (*base).xOpen }) else {
        return ffi::SQLITE_ERROR;
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Not a log: the default VFS's file, in the memory SQLite gave (which is larger
        // than that file needs).
        // SAFETY: passes the call through with the default VFS.
        return unsafe { open(base, name, file, flags, out_flags) };
    }
    let wal = file.cast::<Wal>();
    // SAFETY: SQLite gave `szOsFile` bytes, aligned for any file: a `Wal` and the default
    // VFS's file after it.
    let inner = unsafe { file.cast::<u8>().add(std::mem::size_of::<Wal>()) }.cast();
    // SAFETY: `inner` has room for the default VFS's file.
    let code = unsafe { open(base, name, inner, flags, out_flags) };
    if code != ffi::SQLITE_OK {
        // SAFETY: `file` is ours to fill: no methods means nothing to close.
        unsafe { (*file).pMethods = std::ptr::null() };
        return code;
    }
    let mut size: i64 = 0;
    // SAFETY: `inner` is open; it has a file-size method.
    let sized = unsafe {
        match (*(*inner).pMethods).xFileSize {
            Some(file_size) => file_size(inner, &mut size),
            None => ffi::SQLITE_ERROR,
        }
    };
    if sized != ffi::SQLITE_OK {
        size = i64::MAX; // unknown: every write goes straight through
    }
    // SAFETY: initialises the `Wal` in place; SQLite's memory was uninitialised.
    unsafe {
        wal.write(Wal {
            base: ffi::sqlite3_file { pMethods: &METHODS },
            inner,
            buf: Vec::new(),
            start: 0,
            end: size,
            commit_next: false,
        });
    }
    ffi::SQLITE_OK
}

/// The `Wal` behind SQLite's handle, and the default VFS's methods for its file.
///
/// # Safety
/// `file` must be a WAL opened by `x_open` and not yet closed; SQLite calls a file's
/// methods one at a time.
unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> (&'a mut Wal, &'a ffi::sqlite3_io_methods) {
    // SAFETY: per the contract; the inner file is open, so its methods are set.
    unsafe {
        let wal = &mut *file.cast::<Wal>();
        let methods = &*(*wal.inner).pMethods;
        (wal, methods)
    }
}

impl Wal {
    /// Writes what is gathered, if anything.
    fn flush(&mut self, methods: &ffi::sqlite3_io_methods) -> c_int {
        if self.buf.is_empty() {
            return ffi::SQLITE_OK;
        }
        let Some(write) = methods.xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let mut code = ffi::SQLITE_OK;
        let mut at = self.start;
        for chunk in self.buf.chunks(CHUNK) {
            WRITES.fetch_add(1, Ordering::Relaxed);
            let len = c_int::try_from(chunk.len()).unwrap_or(c_int::MAX);
            // SAFETY: writes our own buffer through the default VFS's file.
            code = unsafe { write(self.inner, chunk.as_ptr().cast(), len, at) };
            if code != ffi::SQLITE_OK {
                break;
            }
            at = at.saturating_add(i64::from(len));
        }
        self.buf.clear();
        self.commit_next = false;
        code
    }
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};

/// Flushes, then runs `call` with the default VFS's file and methods; a failed flush is
/// the call's result.
///
/// # Safety
/// As for [`wal`].
unsafe fn flushed(
    file: *mut ffi::sqlite3_file,
    call: impl FnOnce(*mut ffi::sqlite3_file, &ffi::sqlite3_io_methods) -> c_int,
) -> c_int {
    // SAFETY: per the contract.
    let (wal, methods) = unsafe { wal(file) };
    let code = wal.flush(methods);
    if code != ffi::SQLITE_OK {
        return code;
    }
    call(wal.inner, methods)
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file once, after its last call.
    let (wal, methods) = unsafe { wal(file) };
    let flushed = wal.flush(methods);
    let closed = match methods.xClose {
        // SAFETY: closes the default VFS's file, once.
        Some(close) => unsafe { close(wal.inner) },
        None => ffi::SQLITE_OK,
    };
    // SAFETY: drops the `Wal` written by `x_open` (its buffer); SQLite frees the memory.
    unsafe { std::ptr::drop_in_place(file.cast::<Wal>()) };
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    out: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xRead {
            Some(read) => read(inner, out, amount, offset),
            None => ffi::SQLITE_IOERR_READ,
        })
    }
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: per `wal`'s contract (SQLite's own discipline).
    let (wal, methods) = unsafe { wal(file) };
    let Ok(len) = usize::try_from(amount) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    if offset == 0 && amount == WAL_HEADER {
        // A new log: everything from here on is written in order.
        let code = wal.flush(methods);
        if code != ffi::SQLITE_OK {
            return code;
        }
        wal.end = 0;
    }
    GATHERED.fetch_add(1, Ordering::Relaxed);
    if offset != wal.end {
        // Overwrites what is already in the log (or leaves a gap): straight through,
        // after what is gathered.
        let code = wal.flush(methods);
        if code != ffi::SQLITE_OK {
            return code;
        }
        WRITES.fetch_add(1, Ordering::Relaxed);
        let Some(write) = methods.xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        // SAFETY: passes the call through.
        let code = unsafe { write(wal.inner, data, amount, offset) };
        if code == ffi::SQLITE_OK {
            wal.end = wal.end.max(offset.saturating_add(i64::from(amount)));
        }
        return code;
    }
    // SAFETY: SQLite hands `amount` readable bytes.
    let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
    if wal.buf.is_empty() {
        wal.start = offset;
    }
    wal.buf.extend_from_slice(bytes);
    wal.end = offset.saturating_add(i64::from(amount));
    if amount == FRAME_HEADER && offset >= i64::from(WAL_HEADER) {
        wal.commit_next = bytes[4..8] != [0, 0, 0, 0];
        return ffi::SQLITE_OK;
    }
    if wal.commit_next || wal.buf.len() >= FLUSH_AT {
        return wal.flush(methods);
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: passes the call through after the flush.
    let code = unsafe {
        flushed(file, |inner, m| match m.xTruncate {
            Some(truncate) => truncate(inner, size),
            None => ffi::SQLITE_IOERR_TRUNCATE,
        })
    };
    if code == ffi::SQLITE_OK {
        // SAFETY: as above.
        let (wal, _) = unsafe { wal(file) };
        wal.end = wal.end.min(size);
    }
    code
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xSync {
            Some(sync) => sync(inner, flags),
            None => ffi::SQLITE_IOERR_FSYNC,
        })
    }
}

unsafe extern "C" fn x_file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xFileSize {
            Some(file_size) => file_size(inner, size),
            None => ffi::SQLITE_IOERR_FSTAT,
        })
    }
}

unsafe extern "C" fn x_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xLock {
            Some(lock) => lock(inner, level),
            None => ffi::SQLITE_IOERR_LOCK,
        })
    }
}

unsafe extern "C" fn x_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xUnlock {
            Some(unlock) => unlock(inner, level),
            None => ffi::SQLITE_IOERR_UNLOCK,
        })
    }
}

unsafe extern "C" fn x_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xCheckReservedLock {
            Some(check) => check(inner, out),
            None => ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
        })
    }
}

unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xFileControl {
            Some(control) => control(inner, op, arg),
            None => ffi::SQLITE_NOTFOUND,
        })
    }
}

unsafe extern "C" fn x_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: passes the call through (nothing written).
    let (wal, m) = unsafe { wal(file) };
    match m.xSectorSize {
        // SAFETY: as above.
        Some(sector) => unsafe { sector(wal.inner) },
        None => 4096,
    }
}

unsafe extern "C" fn x_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: passes the call through (nothing written).
    let (wal, m) = unsafe { wal(file) };
    match m.xDeviceCharacteristics {
        // SAFETY: as above.
        Some(device) => unsafe { device(wal.inner) },
        None => 0,
    }
}

unsafe extern "C" fn x_shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xShmMap {
            Some(map) => map(inner, region, size, extend, out),
            None => ffi::SQLITE_IOERR_SHMMAP,
        })
    }
}

unsafe extern "C" fn x_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xShmLock {
            Some(lock) => lock(inner, offset, n, flags),
            None => ffi::SQLITE_IOERR_SHMLOCK,
        })
    }
}

unsafe extern "C" fn x_shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: passes the call through; a failed flush here has no caller to tell, and
    // cannot happen on a log (SQLite never calls this on one).
    let (wal, m) = unsafe { wal(file) };
    let _ = wal.flush(m);
    if let Some(barrier) = m.xShmBarrier {
        // SAFETY: as above.
        unsafe { barrier(wal.inner) }
    }
}

unsafe extern "C" fn x_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xShmUnmap {
            Some(unmap) => unmap(inner, delete),
            None => ffi::SQLITE_OK,
        })
    }
}

unsafe extern "C" fn x_fetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xFetch {
            Some(fetch) => fetch(inner, offset, amount, out),
            None => {
                *out = std::ptr::null_mut();
                ffi::SQLITE_OK
            }
        })
    }
}

unsafe extern "C" fn x_unfetch(
    file: *mut ffi::sqlite3_file,
    offset: i64,
    page: *mut c_void,
) -> c_int {
    // SAFETY: passes the call through after the flush.
    unsafe {
        flushed(file, |inner, m| match m.xUnfetch {
            Some(unfetch) => unfetch(inner, offset, page),
            None => ffi::SQLITE_OK,
        })
    }
}
