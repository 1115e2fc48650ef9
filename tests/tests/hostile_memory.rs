//! The memory benchmark of BENCHMARKS.md ("Peak memory under 200 stalled 8 MiB uploads"): the
//! suite's stalled-upload attack, without assertions, against any example binary, old or new.
//!
//! ```text
//! ATTACK_BINARIES="target/debug/meetingbaas-example-axum ..." \
//!   cargo test -p meetingbaas-webhooks-conformance --test hostile_memory -- --ignored --nocapture
//! ```
//!
//! `ATTACK_CONNECTIONS` (default 200) and `ATTACK_HOLD_SECS` (default 15: how long a connection
//! the server never answers is held) change the attack. Prints one tab-separated line per binary
//! and framing.

use std::time::Duration;

use meetingbaas_webhooks_conformance::hostile_cases::{
    ATTACK_CONNECTIONS, Framing, attack_env, stalled_uploads,
};
use meetingbaas_webhooks_conformance::server::Server;

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name} is not a number"))
        })
        .unwrap_or(default)
}

#[test]
#[ignore = "a benchmark: set ATTACK_BINARIES"]
fn peak_memory_under_stalled_uploads() {
    let binaries = std::env::var("ATTACK_BINARIES").expect("ATTACK_BINARIES");
    let connections = number("ATTACK_CONNECTIONS", ATTACK_CONNECTIONS as u64) as usize;
    let hold = Duration::from_secs(number("ATTACK_HOLD_SECS", 15));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!("# binary\tframing\tidle MiB\tpeak MiB\tMiB 1 s after\tendings\tdelivery");
    for binary in binaries.split_whitespace() {
        for framing in [Framing::Length, Framing::Chunked] {
            runtime.block_on(async {
                let server = Server::start(binary, &attack_env()).await;
                let report = stalled_uploads(&server, connections, framing, hold).await;
                let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
                let delivery = match &report.delivery.0 {
                    Ok(response) => format!(
                        "{} in {:.2} s",
                        response.status,
                        report.delivery.1.as_secs_f64()
                    ),
                    Err(err) => err.clone(),
                };
                println!(
                    "{binary}\t{framing:?}\t{:.1}\t{:.1}\t{:.1}\t{:?}\t{delivery}",
                    mib(report.idle.rss),
                    mib(report.peak),
                    mib(report.after),
                    report.endings,
                );
            });
        }
    }
}
