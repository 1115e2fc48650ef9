//! The tools `bench/run.sh` uses besides wrk:
//!
//! - `bench-tool body LEN FILE`: writes a v1 `complete` of exactly LEN bytes to FILE and prints
//!   its `X-MeetingBaas-Signature` (secret from `MEETINGBAAS_WEBHOOK_SECRET`, signed with the
//!   core's `Signer`).
//! - `bench-tool check PORT FILE SIGNATURE`: one delivery to `127.0.0.1:PORT`; fails unless 200.
//! - `bench-tool flood PORT FILE SIGNATURE CONCURRENCY ROUNDS`: CONCURRENCY deliveries at once,
//!   ROUNDS times; fails unless every answer is 200, or 503 (over the receiver's in-flight
//!   memory budget: "retry later", which a sender does; counted and printed).
//! - `bench-tool report DIR`: reads the raw results under DIR and prints the summary tables.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use meetingbaas_bench_load::{ROUTE, body::complete_body, fail};
use meetingbaas_webhooks::Signer;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["body", len, file] => body(parse(len), file),
        ["check", port, file, signature] => {
            let (status, reply) = runtime().block_on(post(
                parse(port),
                Arc::new(read(file)),
                Arc::from(*signature),
            ));
            println!("{status} {}", String::from_utf8_lossy(&reply));
            if status != 200 {
                fail(format!("expected 200, got {status}"));
            }
        }
        ["flood", port, file, signature, concurrency, rounds] => flood(
            parse(port),
            read(file),
            signature,
            parse(concurrency),
            parse(rounds),
        ),
        ["report", dir] => print!("{}", report(Path::new(dir))),
        _ => fail(
            "usage: bench-tool body LEN FILE | check PORT FILE SIG | \
             flood PORT FILE SIG CONCURRENCY ROUNDS | report DIR",
        ),
    }
}

fn parse<T: std::str::FromStr>(raw: &str) -> T {
    raw.parse()
        .unwrap_or_else(|_| fail(format!("not a number: {raw}")))
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(file).unwrap_or_else(|err| fail(format!("{file}: {err}")))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|err| fail(err))
}

fn body(len: usize, file: &str) {
    let secret = meetingbaas_bench_load::secret_from_env();
    let body = complete_body(len);
    std::fs::write(file, &body).unwrap_or_else(|err| fail(format!("{file}: {err}")));
    let signer = Signer::signature(&secret).unwrap_or_else(|err| fail(err));
    let headers = signer.sign(&body, "", 0);
    println!("{}", headers.get("x-meetingbaas-signature").unwrap_or(""));
}

/// One delivery on its own connection (`connection: close`); the status and the reply bytes.
async fn post(port: u16, body: Arc<Vec<u8>>, signature: Arc<str>) -> (u16, Vec<u8>) {
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let head = format!(
            "POST {ROUTE} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nx-meetingbaas-signature: {signature}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = match tokio::time::timeout(Duration::from_secs(60), exchange).await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) | Err(_) => return (0, Vec::new()),
    };
    // "HTTP/1.1 200 OK\r\n..."
    let status = response
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let reply = match response.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => response[at + 4..].to_vec(),
        None => Vec::new(),
    };
    (status, reply)
}

fn flood(port: u16, body: Vec<u8>, signature: &str, concurrency: usize, rounds: usize) {
    let body = Arc::new(body);
    let signature: Arc<str> = Arc::from(signature);
    let started = Instant::now();
    let statuses = runtime().block_on(async {
        let mut statuses = Vec::new();
        for _ in 0..rounds {
            let tasks: Vec<_> = (0..concurrency)
                .map(|_| tokio::spawn(post(port, body.clone(), signature.clone())))
                .collect();
            for task in tasks {
                statuses.push(task.await.map_or(0, |(status, _)| status));
            }
        }
        statuses
    });
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let busy = statuses.iter().filter(|s| **s == 503).count();
    println!(
        "{ok}/{} deliveries answered 200, {busy} answered 503 (memory budget: retry later) in {:.2} s",
        statuses.len(),
        started.elapsed().as_secs_f64()
    );
    if ok + busy != statuses.len() {
        fail("some deliveries were answered neither 200 nor 503");
    }
}

// ---------------------------------------------------------------------------------------------
// The summary.

/// Median nanoseconds per iteration, by (backend, group, function, size).
type Criterion = BTreeMap<(String, String, String, String), f64>;

fn report(dir: &Path) -> String {
    let mut criterion = Criterion::new();
    for backend in ["rustcrypto", "ring", "portable"] {
        collect_criterion(
            &dir.join("criterion").join(backend),
            backend,
            &mut criterion,
        );
    }
    let mut out = String::new();
    verification_table(&mut out, &criterion);
    ring_table(&mut out, &criterion);
    peer_table(&mut out, &criterion);
    portable_table(&mut out, &criterion);
    parse_table(&mut out, &criterion);
    load_table(&mut out, &dir.join("load.tsv"));
    memory_table(&mut out, &dir.join("memory.tsv"));
    out
}

fn collect_criterion(dir: &Path, backend: &str, into: &mut Criterion) {
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "new") {
                    if let Some((key, ns)) = read_estimate(&path) {
                        let (group, function, value) = key;
                        into.insert((backend.to_string(), group, function, value), ns);
                    }
                } else {
                    stack.push(path);
                }
            }
        }
    }
}

fn read_estimate(new: &Path) -> Option<((String, String, String), f64)> {
    let json = |name: &str| -> Option<Value> {
        serde_json::from_slice(&std::fs::read(new.join(name)).ok()?).ok()
    };
    let benchmark = json("benchmark.json")?;
    let estimates = json("estimates.json")?;
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    Some((
        (
            text(&benchmark["group_id"]),
            text(&benchmark["function_id"]),
            text(&benchmark["value_str"]),
        ),
        estimates["median"]["point_estimate"].as_f64()?,
    ))
}

fn get(c: &Criterion, backend: &str, group: &str, function: &str, size: &str) -> Option<f64> {
    c.get(&(
        backend.to_string(),
        group.to_string(),
        function.to_string(),
        size.to_string(),
    ))
    .copied()
}

fn time(ns: Option<f64>) -> String {
    match ns {
        None => "n/a".to_string(),
        Some(ns) if ns < 1e4 => format!("{ns:.0} ns"),
        Some(ns) if ns < 1e7 => format!("{:.1} µs", ns / 1e3),
        Some(ns) => format!("{:.2} ms", ns / 1e6),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

fn show(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_string(), |r| format!("{r:.3}x"))
}

/// "met" / "missed" against a target ratio, or "-" when none applies.
fn verdict(r: Option<f64>, target: Option<f64>, at_most: bool) -> &'static str {
    match (r, target) {
        (Some(r), Some(t)) if (at_most && r <= t) || (!at_most && r >= t) => "met",
        (Some(_), Some(_)) => "**missed**",
        _ => "-",
    }
}

const VERIFY_SIZES: [&str; 4] = ["64B", "1KiB", "16KiB", "1MiB"];

fn verification_table(out: &mut String, c: &Criterion) {
    out.push_str(
        "\n### Verification vs floor (default RustCrypto backend; median per verification)\n\n\
         Targets (issue 17): Svix and signature ≤1.10x at 1 KiB and ≤1.05x above; the token \
         schemes ≤1.20x.\n\n\
         | scheme | body | floor | ours | ours/floor | target |\n\
         |---|---|---|---|---|---|\n",
    );
    for scheme in ["svix", "signature", "callback", "api-key"] {
        for size in VERIFY_SIZES {
            let floor = get(c, "rustcrypto", scheme, "floor", size);
            let ours = get(c, "rustcrypto", scheme, "ours", size);
            let r = ratio(ours, floor);
            let target = match (scheme, size) {
                (_, "64B") => None,
                ("callback" | "api-key", _) => Some(1.2),
                (_, "1KiB") => Some(1.1),
                _ => Some(1.05),
            };
            let _ = writeln!(
                out,
                "| {scheme} | {size} | {} | {} | {} | {} |",
                time(floor),
                time(ours),
                show(r),
                verdict(r, target, true)
            );
        }
    }
}

fn ring_table(out: &mut String, c: &Criterion) {
    out.push_str(
        "\n### With `--features ring` (same bytes; separate run)\n\n\
         | scheme | body | floor (RustCrypto) | floor (ring) | ours (ring) | ours/ring floor | ours (ring)/RustCrypto floor |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for scheme in ["svix", "signature"] {
        for size in VERIFY_SIZES {
            let floor = get(c, "ring", scheme, "floor", size);
            let ring_floor = get(c, "ring", scheme, "floor-ring", size);
            let ours = get(c, "ring", scheme, "ours", size);
            let _ = writeln!(
                out,
                "| {scheme} | {size} | {} | {} | {} | {} | {} |",
                time(floor),
                time(ring_floor),
                time(ours),
                show(ratio(ours, ring_floor)),
                show(ratio(ours, floor))
            );
        }
    }
}

fn peer_table(out: &mut String, c: &Criterion) {
    out.push_str(
        "\n### Svix verification vs `standardwebhooks` 1.0.1 (same bytes, same `HeaderMap`)\n\n\
         | body | floor | ours | standardwebhooks | ours/standardwebhooks | ours (ring) | ours (ring)/standardwebhooks | target <1x |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for size in VERIFY_SIZES {
        let g = "standardwebhooks";
        let floor = get(c, "rustcrypto", g, "floor", size);
        let ours = get(c, "rustcrypto", g, "ours", size);
        let peer = get(c, "rustcrypto", g, "standardwebhooks", size);
        let ours_ring = get(c, "ring", g, "ours", size);
        let peer_ring = get(c, "ring", g, "standardwebhooks", size);
        let r = ratio(ours, peer);
        let _ = writeln!(
            out,
            "| {size} | {} | {} | {} | {} | {} | {} | {} (ring: {}) |",
            time(floor),
            time(ours),
            time(peer),
            show(r),
            time(ours_ring),
            show(ratio(ours_ring, peer_ring)),
            verdict(r, Some(1.0), true).trim_matches('*'),
            verdict(ratio(ours_ring, peer_ring), Some(1.0), true).trim_matches('*'),
        );
    }
}

fn portable_table(out: &mut String, c: &Criterion) {
    out.push_str(
        "\n### Svix vs `standardwebhooks` with sha2's portable code (`--features sha2/force-soft`, \
         as on CPUs without SHA extensions)\n\n\
         | body | floor | ours | standardwebhooks | ours/floor | ours/standardwebhooks | target <1x |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for size in VERIFY_SIZES {
        let g = "standardwebhooks";
        let floor = get(c, "portable", g, "floor", size);
        let ours = get(c, "portable", g, "ours", size);
        let peer = get(c, "portable", g, "standardwebhooks", size);
        let r = ratio(ours, peer);
        let _ = writeln!(
            out,
            "| {size} | {} | {} | {} | {} | {} | {} |",
            time(floor),
            time(ours),
            time(peer),
            show(ratio(ours, floor)),
            show(r),
            verdict(r, Some(1.0), true),
        );
    }
}

fn parse_table(out: &mut String, c: &Criterion) {
    out.push_str(
        "\n### Verify + typed parse of a v1 `complete` (signature scheme)\n\n\
         The floor reads the whole transcript; `ours` leaves it unread until the handler reads it \
         (`event::Lazy`), `ours, every word read` reads all of it.\n\n\
         | body | floor | ours | ours/floor | ours, every word read | every word/floor | target ≤1.10x (every word) | ring: floor (RustCrypto HMAC) | ring: ours | ring: ours/floor |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for size in ["200KiB", "2MiB"] {
        let g = "verify+parse";
        let floor = get(c, "rustcrypto", g, "floor", size);
        let ours = get(c, "rustcrypto", g, "ours", size);
        let all = get(c, "rustcrypto", g, "ours-read-all", size);
        let floor_ring = get(c, "ring", g, "floor", size);
        let ours_ring = get(c, "ring", g, "ours", size);
        let r = ratio(all, floor);
        let _ = writeln!(
            out,
            "| {size} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            time(floor),
            time(ours),
            show(ratio(ours, floor)),
            time(all),
            show(r),
            verdict(r, Some(1.10), true),
            time(floor_ring),
            time(ours_ring),
            show(ratio(ours_ring, floor_ring)),
        );
    }
}

fn read_tsv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| line.split('\t').map(str::to_string).collect())
        .collect()
}

fn load_table(out: &mut String, path: &Path) {
    // framework, body, round, side, rps, non-2xx, socket errors, server CPU µs per request
    let rows = read_tsv(path);
    // (framework, body) -> side -> runs
    let mut runs: BTreeMap<(String, String), LoadRuns> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for row in &rows {
        let [
            framework,
            body,
            _round,
            side,
            rps,
            non2xx,
            errors,
            rest @ ..,
        ] = row.as_slice()
        else {
            continue;
        };
        let key = (framework.clone(), body.clone());
        if !order.contains(&key) {
            order.push(key.clone());
        }
        let entry = runs.entry(key).or_default();
        let side = match side.as_str() {
            "example" => &mut entry.example,
            "hardened" => &mut entry.hardened,
            _ => &mut entry.baseline,
        };
        side.rps.push(rps.parse().unwrap_or(0.0));
        if let Some(cpu) = rest.first().and_then(|cpu| cpu.parse::<f64>().ok()) {
            side.cpu.push(cpu);
        }
        entry.failures += non2xx.parse::<u64>().unwrap_or(0) + errors.parse::<u64>().unwrap_or(0);
    }
    out.push_str(
        "\n### Load: example vs the careful hand-written baseline (wrk, alternating rounds)\n\n\
         Throughput is the mean req/s of the rounds; CPU is the server's CPU time per request \
         (user + system, from /proc), median of the rounds. A ratio above 1 means the example is \
         faster: \"speed\" is baseline CPU / example CPU. \"hardened\" is the same baseline served by \
         the examples' own loop (header deadline, connection cap): example vs hardened is the \
         crates' cost alone, baseline vs hardened the loop's.\n\n\
         | framework | body | example req/s | baseline req/s | req/s ratio | example CPU µs/req | baseline CPU µs/req | hardened CPU µs/req | speed vs baseline | speed vs hardened | target ≥1.0x (goal 1.1x) | non-2xx + errors |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for key in order {
        let entry = &runs[&key];
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let median = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| v[v.len() / 2])
        };
        let cpu = |v: &[f64]| median(v).map_or_else(|| "-".to_string(), |c| format!("{c:.1}"));
        let example_cpu = median(&entry.example.cpu);
        let speed = ratio(median(&entry.baseline.cpu), example_cpu);
        let speed_hardened = ratio(median(&entry.hardened.cpu), example_cpu);
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} |",
            key.0,
            key.1,
            mean(&entry.example.rps).unwrap_or(0.0),
            mean(&entry.baseline.rps).unwrap_or(0.0),
            show(ratio(mean(&entry.example.rps), mean(&entry.baseline.rps))),
            cpu(&entry.example.cpu),
            cpu(&entry.baseline.cpu),
            cpu(&entry.hardened.cpu),
            show(speed),
            show(speed_hardened),
            verdict(speed, Some(1.0), false),
            entry.failures,
        );
    }
}

/// One side's wrk runs: req/s and server CPU µs per request.
#[derive(Default)]
struct SideRuns {
    rps: Vec<f64>,
    cpu: Vec<f64>,
}

/// Every side of one (framework, body) row of the load table.
#[derive(Default)]
struct LoadRuns {
    example: SideRuns,
    baseline: SideRuns,
    hardened: SideRuns,
    failures: u64,
}

fn memory_table(out: &mut String, path: &Path) {
    // framework, side, idle VmHWM KiB, VmHWM after the flood KiB, result
    let rows = read_tsv(path);
    // framework -> side -> (idle, peak, result)
    type Sides = BTreeMap<String, (String, String, String)>;
    let mut table: BTreeMap<String, Sides> = BTreeMap::new();
    for row in &rows {
        let [framework, side, idle, peak, result] = row.as_slice() else {
            continue;
        };
        table
            .entry(framework.clone())
            .or_default()
            .insert(side.clone(), (idle.clone(), peak.clone(), result.clone()));
    }
    out.push_str(
        "\n### Peak memory under 64 concurrent 1 MiB deliveries (VmHWM, 3 rounds)\n\n\
         | framework | example idle | example peak | baseline idle | baseline peak | answers |\n\
         |---|---|---|---|---|---|\n",
    );
    let mib = |kib: &str| {
        kib.parse::<f64>()
            .map_or_else(|_| "n/a".to_string(), |k| format!("{:.1} MiB", k / 1024.0))
    };
    for (framework, sides) in &table {
        let none = (String::new(), String::new(), String::from("n/a"));
        let example = sides.get("example").unwrap_or(&none);
        let baseline = sides.get("baseline").unwrap_or(&none);
        let _ = writeln!(
            out,
            "| {framework} | {} | {} | {} | {} | example: {}; baseline: {} |",
            mib(&example.0),
            mib(&example.1),
            mib(&baseline.0),
            mib(&baseline.1),
            example.2,
            baseline.2,
        );
    }
}
