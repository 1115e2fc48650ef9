//! Hostile load over real TCP: what anyone who can reach the port can do without a secret.
//!
//! - **Stalled uploads**: [`ATTACK_CONNECTIONS`] connections each declare a body just under the
//!   8 MiB limit (`Content-Length`, or chunked), send all of it but the last byte, and wait. The
//!   server's resident memory must stay under its in-flight [memory budget](MEMORY_BUDGET) plus a
//!   fixed [allowance](RSS_ALLOWANCE) (the idle process, the runtime, and the per-connection
//!   buffers of 200 connections): 256 MiB in all, the same for chunked bodies and for every
//!   example; each attacking connection is answered (503 +
//!   `Retry-After` before its body is read, or 408 at the body deadline) or closed by the
//!   deadline; and a verified delivery sent in the middle of the attack gets 200, or 503 with
//!   `Retry-After`, quickly (never a hang).
//! - **Stalled headers and bodies**: a request head that never ends is closed at the header
//!   deadline; a body that stops (by length, or chunked) is answered 408 at the body deadline.
//!
//! Peak memory is the kernel's high-water mark of the server process (`VmHWM` in
//! `/proc/<pid>/status`), so no sampling can miss it. The same attack, with a bounded holding
//! time instead of assertions, is the memory benchmark of BENCHMARKS.md
//! (`tests/tests/hostile_memory.rs`).

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, Instant};

use meetingbaas_webhooks::Scheme;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cases::{assert_accepted, assert_rejected, post, run};
use crate::client::{self, Body, Response};
use crate::deliveries::{minimal, secret_of, signed};
use crate::server::{Server, default_env};

/// Concurrent stalled uploads in the memory attack.
pub const ATTACK_CONNECTIONS: usize = 200;
/// The body limit of the attacked server, and what each attacking connection declares: the
/// examples' default limit (8 MiB).
pub const ATTACK_BODY_BYTES: usize = 8 * 1024 * 1024;
/// The examples' in-flight memory budget (the pipeline's default, 128 MiB).
pub const MEMORY_BUDGET: u64 = 128 * 1024 * 1024;
/// What the process may hold on top of the budget under the attack: the idle process (about
/// 5-10 MiB), the runtime's threads, and for each of the 200 connections its socket task, its
/// read buffer and the answer. The hyper-based examples cap hyper's read buffer at 64 KiB
/// (`examples/server`'s `READ_BUFFER_BYTES`); actix-http reads up to 128 KiB of a connection
/// ahead of the handler (its decoder's `MAX_BUFFER_SIZE`, not configurable), which during the
/// chunked attack, when all 200 connections stream at once, is the largest part. Budget plus
/// allowance is the bound issue 13 sets for every example: 256 MiB resident. Measured peaks are
/// in BENCHMARKS.md ("Peak memory under 200 stalled 8 MiB uploads").
pub const RSS_ALLOWANCE: u64 = 128 * 1024 * 1024;
/// The examples' header deadline and the pipeline's default body deadline.
pub const DEADLINE: Duration = Duration::from_secs(10);
/// How late past [`DEADLINE`] a stalled connection may still be open (a loaded 2-core machine
/// runs the suite's cases in parallel).
pub const DEADLINE_SLACK: Duration = Duration::from_secs(8);
/// How long the verified delivery sent in the middle of the attack may wait for its answer.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The memory of a process, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Resident now (`VmRSS`), bytes.
    pub rss: u64,
    /// The most ever resident (`VmHWM`), bytes.
    pub peak: u64,
}

/// Reads `VmRSS` and `VmHWM` of process `pid` (Linux only; `None` elsewhere or once it exited).
pub fn memory_of(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    };
    Some(Memory {
        rss: field("VmRSS:")?,
        peak: field("VmHWM:")?,
    })
}

/// The memory of a running server.
pub fn memory(server: &Server) -> Memory {
    server
        .pid()
        .and_then(memory_of)
        .expect("the server's /proc/<pid>/status (Linux only)")
}

/// How an attacking upload frames its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: 8388608`, then all but the last byte.
    Length,
    /// `Transfer-Encoding: chunked`, 64 KiB chunks up to one byte short of 8 MiB, the last chunk
    /// one byte short of its declared size, no terminator.
    Chunked,
}

/// What one attack did.
#[derive(Debug)]
pub struct AttackReport {
    /// The server before the attack.
    pub idle: Memory,
    /// The server's high-water mark once every attacking connection had ended.
    pub peak: u64,
    /// The server's resident memory one second after the attacking connections ended.
    pub after: u64,
    /// How each attacking connection ended (`"503"`, `"408"`, `"closed"`, `"reset"`,
    /// `"held"` when nothing happened within the holding time...), and how many ended so.
    pub endings: BTreeMap<String, usize>,
    /// The longest an attacking connection stayed open (or `hold`, when some were held).
    pub longest: Duration,
    /// The answer to the verified delivery sent in the middle of the attack, and its time.
    pub delivery: (Result<Response, String>, Duration),
    /// The whole attack, from the first connection to the last ending.
    pub elapsed: Duration,
}

impl AttackReport {
    /// One line: `peak 123.4 MiB (idle 6.1 MiB, after 40.2 MiB); endings {...}; ...`.
    pub fn summary(&self) -> String {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let delivery = match &self.delivery.0 {
            Ok(response) => response.status.to_string(),
            Err(err) => err.clone(),
        };
        format!(
            "peak {:.1} MiB (idle {:.1} MiB, {:.1} MiB resident 1 s after); endings {:?}; longest \
             connection {:.1} s; verified delivery during the attack: {delivery} in {:.2} s; {:.1} s \
             in all",
            mib(self.peak),
            mib(self.idle.rss),
            mib(self.after),
            self.endings,
            self.longest.as_secs_f64(),
            self.delivery.1.as_secs_f64(),
            self.elapsed.as_secs_f64(),
        )
    }
}

/// The environment of an attacked server: the default one with the 8 MiB limit.
pub fn attack_env() -> Vec<(&'static str, String)> {
    let mut env = default_env();
    env.retain(|(name, _)| *name != "MEETINGBAAS_MAX_BODY_BYTES");
    env.push(("MEETINGBAAS_MAX_BODY_BYTES", ATTACK_BODY_BYTES.to_string()));
    env
}

/// Runs the stalled-upload attack against `server`: `connections` uploads framed as `framing`,
/// each held at most `hold`; one second in, a verified delivery.
pub async fn stalled_uploads(
    server: &Server,
    connections: usize,
    framing: Framing,
    hold: Duration,
) -> AttackReport {
    stalled_uploads_with(
        server,
        connections,
        framing,
        hold,
        secret_of(Scheme::Callback),
    )
    .await
}

/// [`stalled_uploads`] whose uploads present `secret` as their `x-mb-secret`.
pub async fn stalled_uploads_with(
    server: &Server,
    connections: usize,
    framing: Framing,
    hold: Duration,
    secret: &'static str,
) -> AttackReport {
    let credentials = format!("x-mb-secret: {secret}\r\n");
    stalled_uploads_from(
        server,
        connections,
        framing,
        hold,
        (credentials, None),
        Scheme::Callback,
    )
    .await
}

/// [`stalled_uploads`] whose uploads send the header lines `attacker.0` from the local
/// address `attacker.1` (any loopback address: 127.0.0.2 is another peer than 127.0.0.1); the
/// verified delivery is signed with `scheme`, from 127.0.0.1.
pub async fn stalled_uploads_from(
    server: &Server,
    connections: usize,
    framing: Framing,
    hold: Duration,
    attacker: (String, Option<std::net::IpAddr>),
    scheme: Scheme,
) -> AttackReport {
    let idle = memory(server);
    let start = Instant::now();
    let (credentials, from) = attacker;
    let credentials: std::sync::Arc<str> = credentials.into();
    let uploads: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(stalled_upload(
                server.addr.clone(),
                framing,
                hold,
                credentials.clone(),
                from,
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let body = minimal("bot.completed", "during-the-attack");
    let sent = Instant::now();
    let delivery = tokio::time::timeout(
        DELIVERY_TIMEOUT,
        client::post(&server.addr, &signed(scheme, &body), Body::Length(body)),
    )
    .await
    .map_err(|_| format!("no answer within {DELIVERY_TIMEOUT:?}"))
    .and_then(|answer| answer.map_err(|err| err.to_string()));
    let delivery = (delivery, sent.elapsed());

    let mut endings = BTreeMap::new();
    let mut longest = Duration::ZERO;
    for upload in uploads {
        let (ending, open) = upload.await.expect("upload task");
        *endings.entry(ending).or_insert(0) += 1;
        longest = longest.max(open);
    }
    let elapsed = start.elapsed();
    let peak = memory(server).peak;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = memory(server).rss;
    AttackReport {
        idle,
        peak,
        after,
        endings,
        longest,
        delivery,
        elapsed,
    }
}

/// 64 KiB of body: every attacking connection writes the same bytes.
static PIECE: [u8; 64 * 1024] = [b' '; 64 * 1024];

/// One stalled upload: how it ended, and how long it was open.
async fn stalled_upload(
    addr: String,
    framing: Framing,
    hold: Duration,
    credentials: std::sync::Arc<str>,
    from: Option<std::net::IpAddr>,
) -> (String, Duration) {
    let start = Instant::now();
    let connected = match from {
        None => TcpStream::connect(&addr).await,
        Some(from) => connect_from(from, &addr).await,
    };
    let stream = match connected {
        Ok(stream) => stream,
        Err(err) => return (format!("connect: {:?}", err.kind()), start.elapsed()),
    };
    let (mut reader, mut writer) = stream.into_split();
    let framing_header = match framing {
        Framing::Length => format!("Content-Length: {ATTACK_BODY_BYTES}"),
        Framing::Chunked => "Transfer-Encoding: chunked".to_string(),
    };
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         {credentials}{framing_header}\r\n\r\n",
        client::ROUTE
    );
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let mut left = ATTACK_BODY_BYTES - 1;
        while left > 0 {
            let piece = &PIECE[..left.min(PIECE.len())];
            match framing {
                Framing::Length => writer.write_all(piece).await?,
                Framing::Chunked => {
                    // The last chunk declares one byte more than it carries.
                    let declared = if left == piece.len() {
                        piece.len() + 1
                    } else {
                        piece.len()
                    };
                    writer
                        .write_all(format!("{declared:x}\r\n").as_bytes())
                        .await?;
                    writer.write_all(piece).await?;
                    if declared == piece.len() {
                        writer.write_all(b"\r\n").await?;
                    }
                }
            }
            left -= piece.len();
        }
        writer.flush().await?;
        // Stall, with the connection open, until the reader gives up.
        std::future::pending::<()>().await;
        Ok::<_, io::Error>(writer)
    });
    let ending = tokio::time::timeout(hold, read_ending(&mut reader)).await;
    let open = start.elapsed();
    writing.abort();
    (ending.unwrap_or_else(|_| "held".to_string()), open)
}

/// A connection to `addr` from the local address `from` (bound first, any port).
async fn connect_from(from: std::net::IpAddr, addr: &str) -> io::Result<TcpStream> {
    let target: std::net::SocketAddr = addr
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not an IP address and port"))?;
    let socket = match from {
        std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.bind(std::net::SocketAddr::new(from, 0))?;
    socket.connect(target).await
}

/// Reads until the server answers (its status code, `"503 without Retry-After"` if so) or
/// closes (`"closed"`, `"reset"`).
async fn read_ending(reader: &mut (impl AsyncReadExt + Unpin)) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head.split(' ').nth(1).unwrap_or("?").to_string();
            if status == "503" && !head.contains("\r\nretry-after:") {
                return "503 without Retry-After".to_string();
            }
            return status;
        }
        match reader.read(&mut chunk).await {
            Ok(0) => return "closed".to_string(),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => return "reset".to_string(),
        }
    }
}

/// Endings that mean the server dealt with an attacking connection.
const ACCEPTABLE_ENDINGS: [&str; 5] = ["503", "408", "413", "closed", "reset"];

/// The verified delivery sent during an attack got 200, or 503 with `Retry-After`, in time.
#[track_caller]
fn assert_delivery_answered(report: &AttackReport) {
    let response = report
        .delivery
        .0
        .as_ref()
        .unwrap_or_else(|err| panic!("verified delivery during the attack: {err}"));
    if response.status == 503 {
        assert_rejected(response, 503, &["overloaded", "memory_budget_exceeded"]);
        assert!(
            response.header("retry-after").is_some(),
            "503 without Retry-After: {}",
            response.text()
        );
    } else {
        assert_accepted(response, "bot.completed", Some("during-the-attack"));
    }
}

fn attack(binary: &str, framing: Framing) {
    run(async {
        let mut server = Server::start(binary, &attack_env()).await;
        let hold = DEADLINE + DEADLINE_SLACK;
        let report = stalled_uploads(&server, ATTACK_CONNECTIONS, framing, hold).await;
        eprintln!("{framing:?} attack on {binary}: {}", report.summary());
        assert!(
            report.peak < MEMORY_BUDGET + RSS_ALLOWANCE,
            "peak RSS over {} MiB (the budget plus {} MiB): {}",
            (MEMORY_BUDGET + RSS_ALLOWANCE) >> 20,
            RSS_ALLOWANCE >> 20,
            report.summary()
        );
        let unexpected: Vec<_> = report
            .endings
            .keys()
            .filter(|ending| !ACCEPTABLE_ENDINGS.contains(&ending.as_str()))
            .collect();
        assert!(
            unexpected.is_empty(),
            "attacking connections ended with {unexpected:?}: {}",
            report.summary()
        );
        assert_delivery_answered(&report);
        assert!(server.is_running(), "the server exited");
        let body = minimal("bot.completed", "after-the-attack");
        let response = post(
            &server,
            &signed(Scheme::Callback, &body),
            Body::Length(body),
        )
        .await;
        assert_accepted(&response, "bot.completed", Some("after-the-attack"));
    });
}

/// 200 connections each declaring 8 MiB and withholding the last byte: the server stays under
/// its memory budget, answers each (503 before reading, 408 at the deadline) or closes it, and a
/// verified delivery in the middle still gets 200 or 503 with `Retry-After`.
pub fn stalled_uploads_stay_under_the_memory_budget(binary: &str) {
    attack(binary, Framing::Length);
}

/// The same attack with chunked bodies (no declared length: bodies are charged as they grow).
pub fn stalled_chunked_uploads_stay_under_the_memory_budget(binary: &str) {
    attack(binary, Framing::Chunked);
}

/// 200 connections each declaring 8 MiB with a **wrong** `x-mb-secret` and stalling: refused
/// 401 from their headers, before a byte of their bodies is read, so they hold none of the memory
/// budget, and a verified delivery sent meanwhile is accepted (2xx, never 503).
pub fn stalled_uploads_with_a_wrong_secret_never_crowd_out_a_verified_delivery(binary: &str) {
    run(async {
        let server = Server::start(binary, &attack_env()).await;
        let hold = DEADLINE + DEADLINE_SLACK;
        let report = stalled_uploads_with(
            &server,
            ATTACK_CONNECTIONS,
            Framing::Length,
            hold,
            "a wrong secret",
        )
        .await;
        eprintln!("wrong-secret attack on {binary}: {}", report.summary());
        assert_got_through(&report, &["401", "closed", "reset"]);
    });
}

/// The verified delivery sent during an attack was accepted, every attacking upload ended in
/// one of `refusals`, and the peak memory stayed under the budget.
fn assert_got_through(report: &AttackReport, refusals: &[&str]) {
    let response = report
        .delivery
        .0
        .as_ref()
        .unwrap_or_else(|err| panic!("verified delivery during the attack: {err}"));
    assert_accepted(response, "bot.completed", Some("during-the-attack"));
    let refused: usize = report
        .endings
        .iter()
        .filter(|(ending, _)| refusals.contains(&ending.as_str()))
        .map(|(_, count)| count)
        .sum();
    assert_eq!(refused, ATTACK_CONNECTIONS, "{}", report.summary());
    assert!(
        report.peak < MEMORY_BUDGET + RSS_ALLOWANCE,
        "peak RSS: {}",
        report.summary()
    );
}

/// 200 connections **from 127.0.0.2**, each declaring 8 MiB with Svix-shaped headers (an id,
/// a fresh timestamp, a well-formed signature only the body can refute) and stalling: they may
/// be read, so they hold memory, but only 127.0.0.2's share of the budget; a Svix-signed
/// delivery sent meanwhile from 127.0.0.1 is accepted (2xx, never 503).
pub fn stalled_svix_shaped_uploads_from_one_client_never_crowd_out_another(binary: &str) {
    run(async {
        let server = Server::start(binary, &attack_env()).await;
        let hold = DEADLINE + DEADLINE_SLACK;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs();
        let credentials = format!(
            "svix-id: msg_stranger\r\nsvix-timestamp: {now}\r\nsvix-signature: v1,{}\r\n",
            "A".repeat(43) + "="
        );
        let stranger: std::net::IpAddr = "127.0.0.2".parse().expect("an address");
        let report = stalled_uploads_from(
            &server,
            ATTACK_CONNECTIONS,
            Framing::Length,
            hold,
            (credentials, Some(stranger)),
            Scheme::Svix,
        )
        .await;
        eprintln!(
            "svix-shaped attack from 127.0.0.2 on {binary}: {}",
            report.summary()
        );
        // Past its share, the stranger is answered 503 with Retry-After (or, read, 408).
        assert_got_through(&report, &["503", "408", "closed", "reset"]);
    });
}

/// Writes `bytes` and waits for the server to answer or close: how it ended, and when.
/// Sends one complete request on a keep-alive connection, reads its answer, then waits: how the
/// idle connection ended (`closed`, `reset`, or `held` past the deadline) and how long after the
/// answer.
async fn idle_after_one_request(addr: &str, request: String) -> (String, Duration) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut buf = [0u8; 4096];
    let mut answer = Vec::new();
    while !String::from_utf8_lossy(&answer).contains("\"status\":\"success\"") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return ("closed before answering".to_string(), Duration::ZERO),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let idle = Instant::now();
    let ending = tokio::time::timeout(DEADLINE + DEADLINE_SLACK, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return "closed",
                Err(_) => return "reset",
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap_or("held");
    (ending.to_string(), idle.elapsed())
}

async fn stall(addr: &str, bytes: String) -> (String, Duration) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes.as_bytes()).await.expect("write");
    let ending = tokio::time::timeout(DEADLINE + DEADLINE_SLACK, read_ending(&mut stream))
        .await
        .unwrap_or_else(|_| "held".to_string());
    (ending, start.elapsed())
}

/// A request head that never ends is closed by the header deadline; a body that stops, by
/// length or chunked, is answered 408 by the body deadline. The three run at once.
pub fn stalled_headers_and_bodies_are_closed_by_their_deadlines(binary: &str) {
    run(async {
        let mut server = Server::start_default(binary).await;
        let secret = secret_of(Scheme::Callback);
        let route = client::ROUTE;
        let headers = format!("POST {route} HTTP/1.1\r\nHost: x\r\nx-mb-secret: {secret}\r\n");
        let by_length = format!("{headers}Content-Length: 1000\r\n\r\n{{\"event\":");
        let chunked = format!("{headers}Transfer-Encoding: chunked\r\n\r\n9\r\n{{\"event\":\r\n");
        let delivery = minimal("bot.completed", "keep-alive");
        let mut keep_alive = format!("POST {route} HTTP/1.1\r\nHost: x\r\n");
        for (name, value) in signed(Scheme::Callback, &delivery) {
            keep_alive.push_str(&format!("{name}: {value}\r\n"));
        }
        keep_alive.push_str(&format!("Content-Length: {}\r\n\r\n", delivery.len()));
        keep_alive.push_str(&String::from_utf8_lossy(&delivery));
        let (head, body, chunks, idle) = tokio::join!(
            stall(&server.addr, headers.clone()),
            stall(&server.addr, by_length),
            stall(&server.addr, chunked),
            idle_after_one_request(&server.addr, keep_alive),
        );
        let latest = DEADLINE + DEADLINE_SLACK;
        // Not at once (that would be some other error), and not past the deadline.
        let earliest = DEADLINE / 2;
        for (what, (ending, open), expected) in [
            ("stalled head", &head, &["closed", "reset", "408"][..]),
            ("stalled body", &body, &["408"][..]),
            ("stalled chunked body", &chunks, &["408"][..]),
            (
                "idle keep-alive connection",
                &idle,
                &["closed", "reset"][..],
            ),
        ] {
            assert!(
                expected.contains(&ending.as_str()),
                "{what}: ended {ending:?} after {open:?}, expected one of {expected:?}"
            );
            assert!(
                *open >= earliest && *open < latest,
                "{what}: ended {ending:?} after {open:?}, expected between {earliest:?} and \
                 {latest:?}"
            );
        }
        assert!(server.is_running(), "the server exited");
        let body = minimal("bot.completed", "after-the-stalls");
        let response = post(
            &server,
            &signed(Scheme::Callback, &body),
            Body::Length(body),
        )
        .await;
        assert_accepted(&response, "bot.completed", Some("after-the-stalls"));
    });
}

/// Out of file descriptors (EMFILE), the accept loop backs off instead of spinning: a few log
/// lines at most while connections wait, and the server answers again once they are gone.
pub fn running_out_of_file_descriptors_does_not_spin(binary: &str) {
    run(async {
        // 64 descriptors: the runtime and the listener take some, a few dozen connections the
        // rest, and every accept after that fails with EMFILE.
        let (server, stderr) = Server::start_with_nofile(binary, 64).await;
        let lines = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&lines);
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt;
            let mut stderr = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(_)) = stderr.next_line().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let mut held = Vec::new();
        for _ in 0..120 {
            if let Ok(stream) = TcpStream::connect(&server.addr).await {
                held.push(stream);
            }
        }
        let before = lines.load(std::sync::atomic::Ordering::Relaxed);
        // While the descriptors stay exhausted (shorter than the 10 s header deadline that would
        // free them), a spinning loop would log thousands of lines.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let logged = lines.load(std::sync::atomic::Ordering::Relaxed) - before;
        assert!(
            logged < 50,
            "{logged} log lines in 3 s while out of descriptors: the accept loop spins"
        );
        drop(held);
        // Freed: a verified delivery is answered again.
        let body = minimal("bot.completed", "after-emfile");
        let mut answer = None;
        for _ in 0..50 {
            match client::post(
                &server.addr,
                &signed(Scheme::Callback, &body),
                Body::Length(body.clone()),
            )
            .await
            {
                Ok(response) if response.status == 200 => {
                    answer = Some(response);
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let response = answer.expect("the server answers again once descriptors are free");
        assert_accepted(&response, "bot.completed", Some("after-emfile"));
    });
}
