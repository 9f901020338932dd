//! A throwaway `redis-server` for tests that need a real Redis (this crate's adapter tests
//! and the service's replica tests), or the server named by `REDIS_URL`.
//!
//! Without a `redis-server` binary, [`server`] and [`own_server`] print `SKIPPED:
//! redis-server not found` and return `None`, unless `INKDESK_REQUIRE_REDIS=1` (CI), where
//! they panic instead. A test that stops its server uses [`own_server`], which starts one
//! even when `REDIS_URL` is set, so `REDIS_URL` never silently skips it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

/// A `redis-server` child process without persistence, killed on drop.
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts a server on `port` (127.0.0.1 only).
    pub fn start_on(port: u16) -> std::io::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Self { child, port })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its `redis://` URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server for one test: `REDIS_URL` (no process to own), or a fresh `redis-server`;
/// `None` means skip the test.
pub fn server() -> Option<(String, Option<RedisServer>)> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Some((url, None));
    }
    own_server().map(|server| (server.url(), Some(server)))
}

/// A fresh `redis-server` the test owns and may stop or restart, started even when
/// `REDIS_URL` names a shared server (a test must never stop that one). `None` means skip:
/// only when there is no `redis-server` binary and `INKDESK_REQUIRE_REDIS` is not `1`.
pub fn own_server() -> Option<RedisServer> {
    match RedisServer::start_on(free_port()) {
        Ok(server) => Some(server),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var("INKDESK_REQUIRE_REDIS").as_deref() != Ok("1"),
                "redis-server not found and INKDESK_REQUIRE_REDIS=1"
            );
            println!("SKIPPED: redis-server not found");
            None
        }
        Err(e) => panic!("cannot start redis-server: {e}"),
    }
}
