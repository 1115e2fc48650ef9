//! Starting and stopping an example server.

use std::cell::Cell;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_rustls::TlsConnector;

use crate::client::Target;
use crate::tls::TestCertificate;

use crate::deliveries::{
    ALERT_SECRET, API_KEY, CALLBACK_SECRET, MAX_BODY_BYTES, SIGNATURE_SECRET, SVIX_SECRET,
};

/// Every variable an example reads: cleared before each start so that the caller's environment
/// never leaks into a case.
pub const EXAMPLE_ENV_VARS: [&str; 18] = [
    "MEETINGBAAS_SVIX_SECRET",
    "MEETINGBAAS_WEBHOOK_SECRET",
    "MEETINGBAAS_CALLBACK_SECRET",
    "MEETINGBAAS_API_KEY",
    "MEETINGBAAS_ALERT_SECRET",
    "MEETINGBAAS_MAX_BODY_BYTES",
    "MEETINGBAAS_DEDUPE",
    "MEETINGBAAS_METRICS",
    "RUST_LOG_FORMAT",
    "MEETINGBAAS_INBOX",
    "MEETINGBAAS_CONFIG",
    "MEETINGBAAS_TLS_CERT",
    "MEETINGBAAS_TLS_KEY",
    "MEETINGBAAS_FAILURE_LIMIT",
    "MEETINGBAAS_DRAIN_SECONDS",
    "MEETINGBAAS_TRUSTED_PROXIES",
    "MEETINGBAAS_EXAMPLE_FAULTS",
    "PORT",
];

/// How long a server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

thread_local! {
    /// Whether servers started on this thread serve HTTPS (see [`over_tls`]).
    static OVER_TLS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `case` with every server it starts serving HTTPS with the [`TestCertificate`], and
/// every request through [`Server::target`] sent over TLS: the same case, over TLS.
pub fn over_tls<R>(case: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            OVER_TLS.with(|tls| tls.set(false));
        }
    }
    OVER_TLS.with(|tls| tls.set(true));
    let _reset = Reset;
    case()
}

/// A running example server, killed on drop.
pub struct Server {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub addr: String,
    /// A client trusting the server's certificate, when it serves HTTPS.
    pub tls: Option<TlsConnector>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// The environment of the default server: all five schemes and a 64 KiB limit.
pub fn default_env() -> Vec<(&'static str, String)> {
    vec![
        ("MEETINGBAAS_SVIX_SECRET", SVIX_SECRET.to_string()),
        ("MEETINGBAAS_WEBHOOK_SECRET", SIGNATURE_SECRET.to_string()),
        ("MEETINGBAAS_CALLBACK_SECRET", CALLBACK_SECRET.to_string()),
        ("MEETINGBAAS_API_KEY", API_KEY.to_string()),
        ("MEETINGBAAS_ALERT_SECRET", ALERT_SECRET.to_string()),
        ("MEETINGBAAS_MAX_BODY_BYTES", MAX_BODY_BYTES.to_string()),
    ]
}

fn command(binary: &str, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(binary);
    for name in EXAMPLE_ENV_VARS {
        command.env_remove(name);
    }
    command.env("PORT", "0").env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    command
}

impl Server {
    /// Starts `binary` with `env` (on top of a cleared example environment and `PORT=0`) and
    /// waits for its `listening on http://...` line (`https://` inside [`over_tls`], or when
    /// `env` sets `MEETINGBAAS_TLS_CERT`).
    pub async fn start(binary: &str, env: &[(&str, String)]) -> Server {
        let mut env = env.to_vec();
        if OVER_TLS.with(Cell::get) {
            env.extend(TestCertificate::get().env());
        }
        let https = env.iter().any(|(name, _)| *name == "MEETINGBAAS_TLS_CERT");
        let child = command(binary, &env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {binary}: {err}"));
        Server::announced(child, binary, https).await
    }

    /// [`Server::start`] for a program that may refuse to start: `Err` with its exit status
    /// when it exits before printing its address.
    pub async fn try_start(
        binary: &str,
        env: &[(&str, String)],
    ) -> Result<Server, (Option<i32>, String)> {
        let mut child = command(binary, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {binary}: {err}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        match tokio::time::timeout(START_TIMEOUT, lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                let addr = line
                    .strip_prefix("listening on http://")
                    .unwrap_or_else(|| panic!("{binary} printed {line:?}"))
                    .trim()
                    .to_string();
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                Ok(Server {
                    child,
                    addr,
                    tls: None,
                })
            }
            Ok(_) => {
                let status = child.wait().await.ok().and_then(|status| status.code());
                Err((status, String::new()))
            }
            Err(_) => panic!("{binary} printed no address within {START_TIMEOUT:?}"),
        }
    }

    /// Starts `binary` with [`default_env`] under `prlimit --nofile=N:N` (at most `nofile` open
    /// file descriptors), its stderr piped to the caller: for the cases that exhaust the
    /// server's descriptors.
    pub async fn start_with_nofile(
        binary: &str,
        nofile: u32,
    ) -> (Server, tokio::process::ChildStderr) {
        let mut command = command("prlimit", &default_env());
        command
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg(binary);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start prlimit {binary}: {err}"));
        let stderr = child.stderr.take().expect("stderr is piped");
        (Server::announced(child, binary, false).await, stderr)
    }

    /// Waits for the `listening on ...` line of a started server.
    async fn announced(mut child: Child, binary: &str, https: bool) -> Server {
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{binary} printed no address within {START_TIMEOUT:?}"))
            .expect("reading the server's stdout")
            .unwrap_or_else(|| panic!("{binary} exited before printing its address"));
        let prefix = if https {
            "listening on https://"
        } else {
            "listening on http://"
        };
        let addr = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{binary} printed {line:?}, not `{prefix}...`"))
            .trim()
            .to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let tls = https.then(|| TestCertificate::get().connector());
        Server { child, addr, tls }
    }

    /// Where requests to this server go: its address, the default route, TLS when it serves
    /// HTTPS.
    pub fn target(&self) -> Target {
        Target {
            tls: self.tls.clone(),
            ..Target::plain(&self.addr)
        }
    }

    /// Starts the server with [`default_env`].
    pub async fn start_default(binary: &str) -> Server {
        Server::start(binary, &default_env()).await
    }

    /// Kills the process with SIGKILL (`kill -9`: no cleanup of any kind) and waits for it.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// The process id (`None` once it has exited and been reaped): for reading
    /// `/proc/<pid>/status`.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends SIGTERM (what Kubernetes and `docker stop` send), for the graceful stop.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("the server is running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -TERM {pid}: {status}");
    }

    /// Sends SIGHUP: the examples read their secrets again.
    pub fn hang_up(&self) {
        let pid = self.child.id().expect("the server is running");
        let status = std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -HUP {pid}: {status}");
    }

    /// Waits at most `timeout` for the process to exit: its exit code (`None` when a signal
    /// ended it), or `Err` when it is still running then.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> Result<Option<i32>, ()> {
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => Ok(status.expect("waiting for the server").code()),
            Err(_) => Err(()),
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// Runs `binary` with `env` to completion: its exit code and what it wrote to stderr.
pub async fn run_to_exit(binary: &str, env: &[(&str, String)]) -> (Option<i32>, String) {
    let output = tokio::time::timeout(
        START_TIMEOUT,
        command(binary, env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{binary} did not exit"))
    .expect("running the example");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
