//! What the CLI's test files share: the built binary with a clean environment, and a running
//! `listen` read line by line. Each test file uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The built `meetingbaas-webhooks` binary.
const BIN: &str = env!("CARGO_BIN_EXE_meetingbaas-webhooks");

/// The binary with `args`, inheriting none of the `MEETINGBAAS_*` variables of the test's own
/// environment (every one the binary reads, including any added later).
pub(crate) fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MEETINGBAAS_") {
            command.env_remove(name);
        }
    }
    command
}

/// A running `listen`, killed when dropped.
pub(crate) struct Listener {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Listener {
    /// Starts `listen --port 0` with `args`, `configure`d further (secrets, environment), and
    /// waits for its `listening on ADDRESS` line; returns the listener and the address.
    pub(crate) fn start(args: &[&str], configure: impl FnOnce(&mut Command)) -> (Listener, String) {
        let mut command = command(&["listen", "--port", "0"]);
        command.args(args);
        configure(&mut command);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut listener = Listener { child, lines };
        let first = listener.next_line();
        let address = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {first:?}"))
            .to_owned();
        (listener, address)
    }

    /// The next stdout line; a generous bound only so that a broken build fails instead of
    /// hanging (not a timing assertion).
    pub(crate) fn next_line(&mut self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(120))
            .expect("a line from listen")
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
