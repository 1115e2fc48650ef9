//! A real `redis-server` on a free loopback port, for the idempotency tests.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` process owned by a test, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    /// With persistence: the directory of its append-only file.
    aof_dir: Option<std::path::PathBuf>,
}

impl RedisServer {
    /// Starts `redis-server` (installed by `.ci/run`) on a free loopback port, without
    /// persistence, and waits until it accepts connections.
    pub fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer {
            child: None,
            port,
            aof_dir: None,
        };
        server.restart();
        server
    }

    /// Starts `redis-server` persisting every write to an append-only file in `dir`
    /// (`appendonly yes`, `appendfsync always`), so that [`RedisServer::restart`] keeps the data.
    pub fn start_persistent(dir: &std::path::Path) -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer {
            child: None,
            port,
            aof_dir: Some(dir.to_path_buf()),
        };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server (as an outage would), keeping its port for [`RedisServer::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        wait_until(
            || TcpStream::connect(("127.0.0.1", self.port)).is_err(),
            "redis-server to stop",
        );
    }

    /// Starts the server again on the same port (empty unless started persistent).
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port.to_string();
        let mut args = vec!["--port", &port, "--bind", "127.0.0.1", "--save", ""];
        let dir;
        match &self.aof_dir {
            Some(aof_dir) => {
                dir = aof_dir.display().to_string();
                args.extend([
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--dir",
                    &dir,
                ]);
            }
            None => args.extend(["--appendonly", "no"]),
        }
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start redis-server ({err}): install it (Debian package `redis-server`; .ci/run does)")
            });
        self.child = Some(child);
        wait_until(
            || TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
            "redis-server to accept connections",
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_until(mut ready: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
