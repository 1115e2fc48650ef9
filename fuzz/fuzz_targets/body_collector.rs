//! `BodyCollector` with an arbitrary limit, declared length and frame splits.
//!
//! Input: a mode byte, 4 bytes of limit, a flag and 8 bytes of declared length, then frames, each
//! a 2-byte length followed by (up to) that many bytes. Limits stay under 8 MiB so that a declared
//! length (allocated in one step by design, charged up front by the pipeline) cannot exhaust memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meetingbaas_webhooks::{Bytes, VerifyError};
use meetingbaas_webhooks_receiver::{BodyCollector};

fuzz_target!(|data: &[u8]| {
    if data.len() < 14 {
        return;
    }
    let mode = data[0];
    let raw_limit = u32::from_le_bytes(data[1..5].try_into().unwrap()) as usize;
    let limit = match mode % 3 {
        0 => raw_limit % 4096,
        1 => raw_limit % (64 * 1024),
        _ => raw_limit % (8 * 1024 * 1024),
    };
    let raw_declared = u64::from_le_bytes(data[6..14].try_into().unwrap());
    let declared = match data[5] % 4 {
        0 => None,
        1 => Some(raw_declared),
        // Near the limit, either side, and near the data actually sent.
        2 => Some(
            (limit as u64)
                .wrapping_add(raw_declared % 8)
                .wrapping_sub(4),
        ),
        _ => Some(
            ((data.len() - 14) as u64)
                .wrapping_add(raw_declared % 8)
                .wrapping_sub(4),
        ),
    };

    let mut body = match BodyCollector::new(limit, declared) {
        Ok(body) => {
            assert!(declared.is_none_or(|d| d <= limit as u64));
            body
        }
        Err(err) => {
            assert!(declared.is_some_and(|d| d > limit as u64));
            assert_eq!(err, VerifyError::PayloadTooLarge { limit });
            return;
        }
    };
    assert_eq!(body.limit(), limit);
    assert!(body.is_empty() && body.allocated() == 0);

    let mut rest = &data[14..];
    let mut expected = Vec::new();
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let take = len.min(rest.len());
        let frame = Bytes::copy_from_slice(&rest[..take]);
        rest = &rest[take..];

        let before = body.len();
        let peak = body.peak_allocation(frame.len());
        match body.push(frame.clone()) {
            Ok(()) => {
                assert!(before + frame.len() <= limit);
                expected.extend_from_slice(&frame);
                assert!(
                    body.allocated() <= peak,
                    "allocated {} > peak {peak}",
                    body.allocated()
                );
            }
            Err(err) => {
                assert!(before + frame.len() > limit);
                assert_eq!(err, VerifyError::PayloadTooLarge { limit });
                // Nothing of a refused frame is kept.
                assert_eq!(body.len(), before);
            }
        }
        assert_eq!(body.len(), expected.len());
        assert!(body.len() <= limit);
        assert!(
            body.allocated() <= limit.saturating_add(frame.len()),
            "allocated {} > limit {limit} + frame {}",
            body.allocated(),
            frame.len()
        );
    }
    assert_eq!(&body.finish()[..], &expected[..]);
});
