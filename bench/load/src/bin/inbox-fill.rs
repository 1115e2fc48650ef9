//! Writes a large SQLite inbox for the scale benchmarks (`bench/inbox-scale.sh`), in the store's
//! own format and fast: `inbox-fill PATH DELIVERIES [PENDING] [BODY_BYTES]` (defaults: 1 000
//! pending, 1 KiB bodies; one finished delivery in 100 dead, 1 000 bots, finished over the last
//! 7 days). Appends to an existing file.

use std::time::Instant;

use meetingbaas_webhooks_inbox::testing::{Fill, fill_sqlite};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |at: usize, default: u64| -> u64 {
        args.get(at).map_or(default, |value| {
            value.replace('_', "").parse().unwrap_or_else(|_| {
                eprintln!("usage: inbox-fill PATH DELIVERIES [PENDING] [BODY_BYTES]");
                std::process::exit(2)
            })
        })
    };
    let Some(path) = args.first() else {
        eprintln!("usage: inbox-fill PATH DELIVERIES [PENDING] [BODY_BYTES]");
        std::process::exit(2)
    };
    let plan = Fill {
        deliveries: number(1, 100_000),
        pending: number(2, 1_000),
        body_bytes: usize::try_from(number(3, 1024)).unwrap_or(1024),
        ..Fill::default()
    };
    let started = Instant::now();
    match fill_sqlite(path, &plan) {
        Ok(written) => println!(
            "{written} deliveries ({} pending) written to {path} in {:.1} s",
            plan.pending,
            started.elapsed().as_secs_f64()
        ),
        Err(err) => {
            eprintln!("inbox-fill: {err}");
            std::process::exit(1)
        }
    }
}
