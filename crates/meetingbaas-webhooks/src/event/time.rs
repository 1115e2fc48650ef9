//! When an event happened, and what follows from it: the order of one bot's events, stale
//! statuses, and when a payload's signed links expire.
//!
//! Meeting BaaS retries with growing delays, so one bot's deliveries arrive out of order: a
//! retried `in_call_recording` can come after `bot.completed`. The payload says when the event
//! happened: [`EventTime`] reads it (`data.status.created_at`, else `sent_at`), never from the
//! local clock. Every rule built on it lives here, once:
//! - [`EventTime::order_ms`]: the time a bot's deliveries are ordered by (receipt where the
//!   payload has none, is unreadable, or is in the future).
//! - [`is_stale`]: whether a status change is older than what was already handled for its bot.
//! - [`links_expire_at_ms`]: when the presigned recording, audio and transcript URLs die (the
//!   documented 4 hours from `sent_at`, or from receipt).
//!
//! ```
//! use meetingbaas_webhooks::EventKind;
//! use meetingbaas_webhooks::event::{EventTime, is_stale, parse_timestamp_ms};
//!
//! let at = parse_timestamp_ms("2025-01-15T10:30:00.250Z").unwrap();
//! assert_eq!(at, 1_736_937_000_250);
//! let time = EventTime::from_fields(Some("2025-01-15T10:30:00.250Z"), None);
//! assert_eq!(time.event_ms(), Some(at));
//! // Received a minute later: ordered by the payload's time, not by receipt.
//! assert_eq!(time.order_ms(at + 60_000), (at, None));
//! // A status older than one already handled for the bot is stale; a newer one is not.
//! assert!(is_stale(EventKind::BotStatusChange, Some(at), Some(at + 1)));
//! assert!(!is_stale(EventKind::BotStatusChange, Some(at + 2), Some(at + 1)));
//! ```

use crate::EventKind;

/// How long a payload's presigned URLs (video, audio, transcription, diarization, chat
/// messages) stay valid: 4 hours, in milliseconds (PROTOCOL.md).
pub const LINK_LIFETIME_MS: i64 = 4 * 60 * 60 * 1000;

/// How far ahead of receipt a payload's time may be and still be believed (clock skew between
/// Meeting BaaS and this host): 5 minutes, in milliseconds. A later time is not used for order.
pub const MAX_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// One time field of a payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TimeField {
    /// Not sent (or not a string).
    #[default]
    Absent,
    /// Sent, but not an RFC 3339 time this crate reads.
    Unreadable,
    /// Unix milliseconds.
    At(i64),
}

impl TimeField {
    /// Reads a field's text: [`TimeField::At`] when [`parse_timestamp_ms`] reads it.
    pub fn read(text: Option<&str>) -> TimeField {
        match text {
            None => TimeField::Absent,
            Some(text) => parse_timestamp_ms(text).map_or(TimeField::Unreadable, TimeField::At),
        }
    }

    /// The time, when there is one.
    pub const fn ms(self) -> Option<i64> {
        match self {
            TimeField::At(ms) => Some(ms),
            _ => None,
        }
    }
}

/// Why a delivery is ordered by its receipt rather than by its payload's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeFallback {
    /// A time field was sent but could not be read.
    Unreadable,
    /// The payload's time is more than [`MAX_FUTURE_SKEW_MS`] after its receipt.
    Future,
}

impl TimeFallback {
    /// Words for a log line.
    pub const fn as_str(self) -> &'static str {
        match self {
            TimeFallback::Unreadable => "its time field is not an RFC 3339 time",
            TimeFallback::Future => "its time is in the future",
        }
    }
}

/// The times a payload carries: its status's `created_at` (status changes, and `bot.completed`
/// where it sends a status) and its `sent_at` (inside `data`, else at the top level).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EventTime {
    /// `data.status.created_at`.
    pub status_at: TimeField,
    /// `data.sent_at`, or the top-level `sent_at`.
    pub sent_at: TimeField,
}

impl EventTime {
    /// The times read from the fields' text.
    pub fn from_fields(status_at: Option<&str>, sent_at: Option<&str>) -> EventTime {
        EventTime {
            status_at: TimeField::read(status_at),
            sent_at: TimeField::read(sent_at),
        }
    }

    /// When the event happened by its payload: the status's time, else `sent_at`.
    pub fn event_ms(&self) -> Option<i64> {
        self.status_at.ms().or(self.sent_at.ms())
    }

    /// The time to order a bot's deliveries by, given when it was received: the payload's
    /// [`event_ms`](Self::event_ms); `received_ms` where there is none; and `received_ms` with
    /// the reason (for a warn line) where a time was sent but is unreadable or more than
    /// [`MAX_FUTURE_SKEW_MS`] ahead of receipt.
    pub fn order_ms(&self, received_ms: i64) -> (i64, Option<TimeFallback>) {
        match self.event_ms() {
            Some(at) if at > received_ms.saturating_add(MAX_FUTURE_SKEW_MS) => {
                (received_ms, Some(TimeFallback::Future))
            }
            Some(at) => (at, None),
            None if self.status_at == TimeField::Unreadable
                || self.sent_at == TimeField::Unreadable =>
            {
                (received_ms, Some(TimeFallback::Unreadable))
            }
            None => (received_ms, None),
        }
    }

    /// The time a stale check may use: the payload's time when it is readable and not in the
    /// future (a receipt time says nothing of when a status happened).
    pub fn trusted_ms(&self, received_ms: i64) -> Option<i64> {
        match self.order_ms(received_ms) {
            (at, None) if self.event_ms().is_some() => Some(at),
            _ => None,
        }
    }
}

/// Whether a delivery of `kind` that happened at `event_ms` is stale: a status change older
/// than the newest event already handled for its bot (`last_handled_ms`). Compared by event
/// time only, never by kind or arrival: a `transcribing` status sent after `bot.completed` is
/// newer, not stale. Without a trusted time on either side nothing is stale.
pub fn is_stale(kind: EventKind, event_ms: Option<i64>, last_handled_ms: Option<i64>) -> bool {
    match (kind, event_ms, last_handled_ms) {
        (EventKind::BotStatusChange, Some(at), Some(last)) => at < last,
        _ => false,
    }
}

/// When the presigned links of a payload expire, Unix milliseconds: [`LINK_LIFETIME_MS`] after
/// its `sent_at`, or after `received_ms` where it has no readable one.
pub fn links_expire_at_ms(sent_at: TimeField, received_ms: i64) -> i64 {
    sent_at
        .ms()
        .unwrap_or(received_ms)
        .saturating_add(LINK_LIFETIME_MS)
}

/// Reads an RFC 3339 time (`2025-01-15T10:30:00Z`, `2025-01-15T10:30:00.123456+02:00`) as Unix
/// milliseconds. Also read: a space for the `T`, a lowercase `t` or `z`, and no offset at all
/// (taken as UTC, as Python's `isoformat` writes it). Fractional seconds beyond milliseconds
/// are truncated. `None` for anything else, or a time outside years 0000 to 9999; never panics.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || b.len() > 64 {
        return None;
    }
    let num = |range: core::ops::Range<usize>| -> Option<i64> {
        let mut value = 0i64;
        for &c in b.get(range)? {
            if !c.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(c - b'0');
        }
        Some(value)
    };
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // 60: a leap second, read as the next second's start.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut at = 19;
    let mut millis = 0i64;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 3 {
                millis = millis * 10 + i64::from(b[at] - b'0');
            }
            at += 1;
        }
        let digits = at - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match b.get(at) {
        None => 0,
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if b.len() == at + 6 && b[at + 3] == b':' => {
            let (h, m) = (num(at + 1..at + 3)?, num(at + 4..at + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_spellings_meeting_baas_sends() {
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp_ms("2024-01-01T12:00:00.000Z"),
            Some(1_704_110_400_000)
        );
        assert_eq!(
            parse_timestamp_ms("2024-01-01T12:00:00.123456Z"),
            Some(1_704_110_400_123)
        );
        assert_eq!(
            parse_timestamp_ms("2024-01-01T12:00:00.5"),
            Some(1_704_110_400_500)
        );
        assert_eq!(
            parse_timestamp_ms("2024-01-01 14:00:00+02:00"),
            Some(1_704_110_400_000)
        );
        assert_eq!(
            parse_timestamp_ms("2024-01-01T07:30:00-04:30"),
            Some(1_704_110_400_000)
        );
        assert_eq!(
            parse_timestamp_ms("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
        assert_eq!(parse_timestamp_ms("1969-12-31T23:59:59Z"), Some(-1_000));
    }

    #[test]
    fn refuses_anything_else_without_panicking() {
        for bad in [
            "",
            "2024",
            "2024-01-01",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-32T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T12:00:00.Z",
            "2024-01-01T12:00:00ZZ",
            "2024-01-01T12:00:00+0200",
            "2024-01-01T12:00:00+24:00",
            "+2024-01-01T12:00:00Z",
            "2024-01-01T12:00:00Z\u{e9}",
            "2024-01-01T1\u{e9}:00:00Z",
            "yesterday at noon, roughly",
        ] {
            assert_eq!(parse_timestamp_ms(bad), None, "{bad:?}");
        }
        let long = alloc::format!("2024-01-01T12:00:00.{}Z", "9".repeat(100));
        assert_eq!(parse_timestamp_ms(&long), None);
        let many = alloc::format!("2024-01-01T12:00:00.{}Z", "9".repeat(30));
        assert_eq!(parse_timestamp_ms(&many), Some(1_704_110_400_999));
    }

    #[test]
    fn agrees_with_a_day_by_day_count() {
        // Every first of the month from 1970 to 2100, counted one day at a time.
        let mut days = 0i64;
        for year in 1970..2100 {
            for month in 1..=12 {
                let text = alloc::format!("{year:04}-{month:02}-01T00:00:00Z");
                assert_eq!(parse_timestamp_ms(&text), Some(days * 86_400_000), "{text}");
                days += days_in_month(year, month);
            }
        }
    }

    #[test]
    fn orders_by_the_payload_unless_it_cannot_be_believed() {
        let received = 1_000_000_000;
        let status = EventTime {
            status_at: TimeField::At(5),
            sent_at: TimeField::At(9),
        };
        assert_eq!(status.event_ms(), Some(5));
        assert_eq!(status.order_ms(received), (5, None));
        assert_eq!(status.trusted_ms(received), Some(5));
        let sent = EventTime {
            status_at: TimeField::Absent,
            sent_at: TimeField::At(9),
        };
        assert_eq!(sent.order_ms(received), (9, None));
        let none = EventTime::default();
        assert_eq!(none.order_ms(received), (received, None));
        assert_eq!(none.trusted_ms(received), None);
        let unreadable = EventTime::from_fields(Some("soon"), None);
        assert_eq!(
            unreadable.order_ms(received),
            (received, Some(TimeFallback::Unreadable))
        );
        assert_eq!(unreadable.trusted_ms(received), None);
        let future = EventTime {
            status_at: TimeField::At(received + MAX_FUTURE_SKEW_MS + 1),
            sent_at: TimeField::Absent,
        };
        assert_eq!(
            future.order_ms(received),
            (received, Some(TimeFallback::Future))
        );
        assert_eq!(future.trusted_ms(received), None);
        let skewed = EventTime {
            status_at: TimeField::At(received + MAX_FUTURE_SKEW_MS),
            sent_at: TimeField::Absent,
        };
        assert_eq!(
            skewed.order_ms(received),
            (received + MAX_FUTURE_SKEW_MS, None)
        );
        // Extreme values do not overflow.
        let far = EventTime {
            status_at: TimeField::At(i64::MIN),
            sent_at: TimeField::Absent,
        };
        assert_eq!(far.order_ms(i64::MAX), (i64::MIN, None));
    }

    #[test]
    fn only_an_older_status_change_is_stale() {
        let kind = EventKind::BotStatusChange;
        assert!(is_stale(kind, Some(1), Some(2)));
        assert!(
            !is_stale(kind, Some(2), Some(2)),
            "the same time is not older"
        );
        assert!(!is_stale(kind, Some(3), Some(2)), "a later status is newer");
        assert!(!is_stale(kind, None, Some(2)), "no time: not comparable");
        assert!(!is_stale(kind, Some(1), None), "nothing handled yet");
        for other in EventKind::ALL {
            if *other != kind {
                assert!(!is_stale(*other, Some(1), Some(2)), "{other:?}");
            }
        }
    }

    #[test]
    fn links_live_four_hours_from_sent_at_or_receipt() {
        assert_eq!(
            links_expire_at_ms(TimeField::At(1_000), 5_000),
            1_000 + LINK_LIFETIME_MS
        );
        assert_eq!(
            links_expire_at_ms(TimeField::Absent, 5_000),
            5_000 + LINK_LIFETIME_MS
        );
        assert_eq!(
            links_expire_at_ms(TimeField::Unreadable, 5_000),
            5_000 + LINK_LIFETIME_MS
        );
        assert_eq!(links_expire_at_ms(TimeField::At(i64::MAX), 0), i64::MAX);
    }
}
