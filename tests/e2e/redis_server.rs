//! A throwaway `redis-server` for the replica tests (or `REDIS_URL` when set).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

/// A `redis-server` child process on a free port, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    pub url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts a server, or returns `None` (test skipped) when the binary is missing and
/// `INKDESK_REQUIRE_REDIS` is not `1`.
pub fn start() -> Option<RedisServer> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Some(RedisServer { child: None, url });
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    match Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => Some(RedisServer {
            child: Some(child),
            url: format!("redis://127.0.0.1:{port}"),
        }),
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
