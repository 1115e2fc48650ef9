//! Numbers round trip exactly: a number in a delivery is read as the `f64` nearest to its
//! decimal text (correctly rounded, as `str::parse::<f64>` does), and an event's normalized form
//! writes it as the shortest text that reads back as that same `f64`. So the normalized form
//! parses back to the same values bit for bit, and normalizing is a fixed point, numbers
//! included. (serde_json's `float_roundtrip` feature, on in the core; without it some 17-digit
//! numbers came back one unit in the last place off: a fuzz finding of `event_roundtrip`.)

use meetingbaas_webhooks::Event;
use proptest::prelude::*;

/// A v2 `bot.completed` whose `duration_seconds` (typed) and unknown `rate` (kept as JSON) are
/// both `number`, spelled exactly so.
fn body(number: &str) -> Vec<u8> {
    format!(
        r#"{{"event":"bot.completed","data":{{"bot_id":"b","duration_seconds":{number},"rate":{number}}}}}"#
    )
    .into_bytes()
}

/// The typed `duration_seconds` and the unknown `rate` of a parsed `bot.completed`.
fn numbers(event: &Event) -> (f64, f64) {
    let Event::BotCompleted { data, .. } = event else {
        panic!("not a completion: {event:?}")
    };
    let typed = data.duration_seconds.expect("duration_seconds");
    let kept = event
        .unknown_fields()
        .and_then(|fields| fields.get("rate"))
        .and_then(serde_json::Value::as_f64)
        .expect("rate kept");
    (typed, kept)
}

/// Checks that `number` is read correctly rounded and survives normalizing, bit for bit.
fn round_trips(number: &str) {
    let expected: f64 = number.parse().expect("a number std reads");
    let event = Event::from_slice(&body(number)).expect("parses");
    let (typed, kept) = numbers(&event);
    assert_eq!(
        typed.to_bits(),
        expected.to_bits(),
        "{number} read as {typed}"
    );
    assert_eq!(
        kept.to_bits(),
        expected.to_bits(),
        "{number} kept as {kept}"
    );
    let normalized = serde_json::to_vec(&event).expect("serializes");
    let again = Event::from_slice(&normalized).expect("the normalized form parses");
    let (typed_again, kept_again) = numbers(&again);
    assert_eq!(
        typed_again.to_bits(),
        expected.to_bits(),
        "{}",
        String::from_utf8_lossy(&normalized)
    );
    assert_eq!(
        kept_again.to_bits(),
        expected.to_bits(),
        "{}",
        String::from_utf8_lossy(&normalized)
    );
    assert_eq!(
        serde_json::to_vec(&again).expect("serializes"),
        normalized,
        "normalizing is a fixed point"
    );
}

/// Found by proptest before `float_roundtrip`: a plausible meeting timing, in its shortest
/// spelling, was read one unit in the last place off (18509.730553234494), so its normalized form
/// said something else than the sender did.
#[test]
fn a_timing_in_its_shortest_spelling_is_read_exactly() {
    round_trips("18509.730553234498");
    round_trips("-8.594090875356415e-97");
}

fn finite() -> impl Strategy<Value = f64> {
    any::<u64>()
        .prop_map(f64::from_bits)
        .prop_filter("finite", |x| x.is_finite())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The shortest spelling (what the normalized form writes), and long ones (more digits
    /// than an `f64` holds: they must round correctly, not just approximately).
    #[test]
    fn every_finite_number_round_trips_exactly(x in finite(), digits in 17usize..40) {
        round_trips(&format!("{x:?}"));
        round_trips(&format!("{x:e}"));
        round_trips(&format!("{x:.digits$e}"));
    }

    /// Timings as Meeting BaaS writes them (seconds with a few decimals), and with 17
    /// significant digits.
    #[test]
    fn timings_round_trip_exactly(seconds in 0.0f64..100_000.0) {
        round_trips(&format!("{seconds:.2}"));
        round_trips(&format!("{seconds:.6}"));
        round_trips(&format!("{seconds:?}"));
    }
}
