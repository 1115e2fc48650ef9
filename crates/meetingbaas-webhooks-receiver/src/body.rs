//! Buffering a request body under a limit: the one implementation every adapter uses.

use std::vec::Vec;

use bytes::{Bytes, BytesMut};

use meetingbaas_webhooks::VerifyError;
use meetingbaas_webhooks::{HeaderLookup, header_names};

/// Logs a refused body at debug level (forged traffic must not be able to flood a log).
fn rejected(err: &VerifyError) {
    tracing::debug!(target: "meetingbaas_webhooks", error = %err, "webhook delivery rejected");
}

/// The body length a request declares: its one `Content-Length` header, as ASCII digits
/// (surrounding spaces allowed). Absent, repeated or unreadable: `None`, and the body is then
/// limited while it streams. Adapters pass this to [`BodyCollector::new`].
///
/// ```
/// use meetingbaas_webhooks_receiver::content_length;
///
/// assert_eq!(content_length(&[("Content-Length", "42")]), Some(42));
/// assert_eq!(content_length(&[("content-length", "1"), ("content-length", "2")]), None);
/// assert_eq!(content_length(&[("content-length", "-5")]), None);
/// ```
pub fn content_length<H: HeaderLookup + ?Sized>(headers: &H) -> Option<u64> {
    let mut values = headers.header_values(header_names::CONTENT_LENGTH);
    match (values.next(), values.next()) {
        (Some(value), None) => {
            let digits = value.trim_ascii();
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            core::str::from_utf8(digits).ok()?.parse().ok()
        }
        // Absent, or repeated.
        _ => None,
    }
}

/// Capacity reserved up front from a declared `Content-Length`, at most: a sender that declares a
/// large body and then stalls must not make the receiver allocate the whole limit.
const MAX_PREALLOCATION: usize = 256 * 1024;

/// The size of the segments a body without a declared length is collected in, once it outgrows
/// the first one: every such buffer is allocated at this size (or what is left of the limit), so
/// what one refused body frees is exactly what the next one asks for. Growing one buffer by
/// doubling instead left the allocator (glibc) with freed blocks of every size up to the limit,
/// which later, smaller requests could not reuse: 200 stalled chunked uploads peaked at 417-485
/// MiB under a 256 MiB budget, the default then (BENCHMARKS.md).
pub const SEGMENT_BYTES: usize = 256 * 1024;

/// Collects a body frame by frame and refuses it the moment it passes the limit.
///
/// Adapters check the declared `Content-Length` with [`BodyCollector::new`] before reading
/// anything, [`push`](BodyCollector::push) each frame as it arrives and stop reading on the first
/// error. A body that arrives in one frame is kept as that frame: no copy. A body with a declared
/// length grows to that length in one step. A body without one (chunked) is collected in
/// segments of [`SEGMENT_BYTES`], joined once it is complete ([`finish`](Self::finish)): it never
/// occupies more than the limit while it streams, and allocates only buffers of one size.
///
/// ```
/// use meetingbaas_webhooks_receiver::BodyCollector;
/// use meetingbaas_webhooks_receiver::core::{Bytes, VerifyError};
///
/// let mut body = BodyCollector::new(8, None)?;
/// body.push(Bytes::from_static(b"1234"))?;
/// assert_eq!(body.push(Bytes::from_static(b"56789")), Err(VerifyError::PayloadTooLarge { limit: 8 }));
///
/// // Refused before reading anything when the declared length is already too large.
/// assert!(BodyCollector::new(8, Some(9)).is_err());
/// # Ok::<(), VerifyError>(())
/// ```
#[derive(Debug)]
pub struct BodyCollector {
    limit: usize,
    len: usize,
    /// Capacity to reserve once a second frame arrives (from `Content-Length`, bounded).
    capacity_hint: usize,
    /// The declared `Content-Length`, when there was one: the buffer grows to it in one step.
    declared: Option<usize>,
    state: Collected,
}

#[derive(Debug)]
enum Collected {
    Empty,
    One(Bytes),
    /// Frames joined in one buffer: a declared length, or a streamed body that still fits one
    /// segment.
    Many(BytesMut),
    /// A streamed body past one segment: only the last buffer has room left.
    Segments {
        buffers: Vec<BytesMut>,
        /// The buffers' capacities, summed.
        capacity: usize,
    },
}

impl BodyCollector {
    /// Starts collecting under `limit` bytes; fails at once when `content_length` (the declared
    /// length, if any) is already over it.
    pub fn new(limit: usize, content_length: Option<u64>) -> Result<Self, VerifyError> {
        let declared = match content_length {
            Some(declared) => match usize::try_from(declared) {
                Ok(declared) if declared <= limit => declared,
                _ => return Err(too_large(limit)),
            },
            None => 0,
        };
        Ok(BodyCollector {
            limit,
            len: 0,
            capacity_hint: declared.min(MAX_PREALLOCATION),
            declared: content_length.map(|_| declared),
            state: Collected::Empty,
        })
    }

    /// Adds one frame; fails when the body would pass the limit (nothing of that frame is kept).
    pub fn push(&mut self, chunk: Bytes) -> Result<(), VerifyError> {
        let len = match self.len.checked_add(chunk.len()) {
            Some(len) if len <= self.limit => len,
            _ => return Err(too_large(self.limit)),
        };
        self.len = len;
        if chunk.is_empty() {
            return Ok(());
        }
        self.state = match core::mem::replace(&mut self.state, Collected::Empty) {
            Collected::Empty => Collected::One(chunk),
            Collected::One(first) if self.declared.is_none() && len > SEGMENT_BYTES => {
                let (mut buffers, mut capacity) = (Vec::with_capacity(2), 0);
                self.fill(&mut buffers, &mut capacity, &first);
                self.fill(&mut buffers, &mut capacity, &chunk);
                Collected::Segments { buffers, capacity }
            }
            Collected::One(first) => {
                let mut buf = BytesMut::with_capacity(self.capacity_hint.max(len));
                buf.extend_from_slice(&first);
                buf.extend_from_slice(&chunk);
                Collected::Many(buf)
            }
            Collected::Many(buf)
                if self.declared.is_none()
                    && buf.capacity() - buf.len() < chunk.len()
                    && len > SEGMENT_BYTES =>
            {
                // Past one segment: the buffer becomes the first segment, as it is.
                let mut capacity = buf.capacity();
                let mut buffers = Vec::with_capacity(2);
                buffers.push(buf);
                self.fill(&mut buffers, &mut capacity, &chunk);
                Collected::Segments { buffers, capacity }
            }
            Collected::Segments {
                mut buffers,
                mut capacity,
            } => {
                self.fill(&mut buffers, &mut capacity, &chunk);
                Collected::Segments { buffers, capacity }
            }
            Collected::Many(mut buf) => {
                if buf.capacity() - buf.len() < chunk.len() {
                    // A body that keeps coming past the first preallocation grows straight to
                    // its declared length (already charged to the memory budget when reading
                    // started): one copy of the first part instead of one per doubling (for
                    // 2 MiB, 256 KiB copied instead of 1.75 MiB). Without a declared length (up
                    // to one segment; past it the body is segmented), or past it, grow by
                    // doubling. Never past the limit: a body costs at most the limit (plus the
                    // frame being copied), never twice it.
                    // (`BytesMut::reserve` may round up; a new buffer has the exact capacity.)
                    let target = self.grown_capacity(buf.capacity(), len);
                    let mut grown = BytesMut::with_capacity(target);
                    grown.extend_from_slice(&buf);
                    buf = grown;
                }
                buf.extend_from_slice(&chunk);
                Collected::Many(buf)
            }
        };
        Ok(())
    }

    /// The error for a body stream that failed before its end (the client went away, or the
    /// connection broke): [`VerifyError::BodyUnreadable`], logged at debug level like every
    /// rejection. Adapters call it instead of building the error themselves.
    pub fn unreadable(&self) -> VerifyError {
        let err = VerifyError::BodyUnreadable;
        rejected(&err);
        err
    }

    /// The capacity a joined buffer of `capacity` grows to when it must hold `len` bytes: the
    /// declared length in one step when there is one (the whole of it was charged up front),
    /// otherwise double, never past the limit.
    fn grown_capacity(&self, capacity: usize, len: usize) -> usize {
        match self.declared {
            Some(declared) if declared >= len => declared,
            // A streamed body doubles up to one segment (past it, it is segmented).
            None => capacity
                .saturating_mul(2)
                .max(len)
                .min(SEGMENT_BYTES.max(len))
                .min(self.limit),
            Some(_) => capacity.saturating_mul(2).max(len).min(self.limit),
        }
    }

    /// Copies `chunk` into the last segment's room, then into new segments of
    /// [`SEGMENT_BYTES`] (never past the limit in all).
    fn fill(&self, buffers: &mut Vec<BytesMut>, capacity: &mut usize, chunk: &[u8]) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let room = buffers
                .last()
                .map_or(0, |last| last.capacity() - last.len());
            if room == 0 {
                let size = SEGMENT_BYTES
                    .min(self.limit.saturating_sub(*capacity))
                    .max(1);
                *capacity = capacity.saturating_add(size);
                buffers.push(BytesMut::with_capacity(size));
                continue;
            }
            let (now, later) = rest.split_at(room.min(rest.len()));
            if let Some(last) = buffers.last_mut() {
                last.extend_from_slice(now);
            }
            rest = later;
        }
    }

    /// The capacity of the new segments that taking `additional` more bytes allocates, after
    /// `room` bytes left in the last one.
    fn new_segments(&self, capacity: usize, room: usize, additional: usize) -> usize {
        let needed = additional.saturating_sub(room);
        needed
            .div_ceil(SEGMENT_BYTES)
            .saturating_mul(SEGMENT_BYTES)
            .min(self.limit.saturating_sub(capacity).max(needed))
    }

    /// The most memory held at once while [`push`](Self::push)ing a frame of `additional`
    /// bytes: the frame itself, the buffer, and while the buffer grows both the old buffer and
    /// the new one (the old is freed once copied). What an in-flight memory budget charges
    /// before a frame is taken, so that growing buffers cannot together pass it.
    pub fn peak_allocation(&self, additional: usize) -> usize {
        let len = self.len.saturating_add(additional);
        match &self.state {
            Collected::Empty => additional,
            Collected::One(first) if self.declared.is_none() && len > SEGMENT_BYTES => first
                .len()
                .saturating_add(additional)
                .saturating_add(self.new_segments(0, 0, len)),
            Collected::One(first) => first
                .len()
                .saturating_add(additional)
                .saturating_add(self.capacity_hint.max(len)),
            Collected::Many(buf)
                if self.declared.is_none()
                    && buf.capacity() - buf.len() < additional
                    && len > SEGMENT_BYTES =>
            {
                let room = buf.capacity() - buf.len();
                buf.capacity()
                    .saturating_add(additional)
                    .saturating_add(self.new_segments(buf.capacity(), room, additional))
            }
            Collected::Many(buf) if buf.capacity() - buf.len() < additional => buf
                .capacity()
                .saturating_add(additional)
                .saturating_add(self.grown_capacity(buf.capacity(), len)),
            Collected::Many(buf) => buf.capacity().saturating_add(additional),
            Collected::Segments { buffers, capacity } => {
                let room = buffers
                    .last()
                    .map_or(0, |last| last.capacity() - last.len());
                capacity
                    .saturating_add(additional)
                    .saturating_add(self.new_segments(*capacity, room, additional))
            }
        }
    }

    /// The memory [`finish`](Self::finish) allocates on top of [`allocated`](Self::allocated):
    /// the contiguous copy of a segmented body (its segments are freed as they are copied), 0
    /// otherwise. What an in-flight memory budget charges before finishing.
    pub fn finish_allocation(&self) -> usize {
        match &self.state {
            Collected::Segments { buffers, .. } if buffers.len() > 1 => self.len,
            _ => 0,
        }
    }

    /// Bytes of memory the collected body occupies (its buffer's capacity once frames were
    /// joined): what an in-flight memory budget charges.
    pub fn allocated(&self) -> usize {
        match &self.state {
            Collected::Empty => 0,
            Collected::One(bytes) => bytes.len(),
            Collected::Many(buf) => buf.capacity(),
            Collected::Segments { capacity, .. } => *capacity,
        }
    }

    /// Bytes collected so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been collected.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The limit in force.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The whole body, in one buffer (a segmented body is copied into one, costing
    /// [`finish_allocation`](Self::finish_allocation) more for the moment).
    pub fn finish(self) -> Bytes {
        match self.state {
            Collected::Empty => Bytes::new(),
            Collected::One(bytes) => bytes,
            Collected::Many(buf) => buf.freeze(),
            Collected::Segments { buffers, .. } if buffers.len() == 1 => buffers
                .into_iter()
                .next()
                .map_or_else(Bytes::new, BytesMut::freeze),
            Collected::Segments { buffers, .. } => {
                let mut whole = BytesMut::with_capacity(self.len);
                // Each segment is freed once copied.
                for segment in buffers {
                    whole.extend_from_slice(&segment);
                }
                whole.freeze()
            }
        }
    }
}

fn too_large(limit: usize) -> VerifyError {
    let err = VerifyError::PayloadTooLarge { limit };
    rejected(&err);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_frame_is_kept_without_copy() {
        let frame = Bytes::from(std::vec![7u8; 100]);
        let ptr = frame.as_ptr();
        let mut body = BodyCollector::new(1000, None).unwrap();
        body.push(frame).unwrap();
        assert_eq!(body.finish().as_ptr(), ptr);
    }

    #[test]
    fn frames_are_joined_in_order() {
        let mut body = BodyCollector::new(10, Some(6)).unwrap();
        for part in [&b"ab"[..], b"", b"cd", b"ef"] {
            body.push(Bytes::copy_from_slice(part)).unwrap();
        }
        assert_eq!(&body.finish()[..], b"abcdef");
    }

    #[test]
    fn a_streamed_body_never_allocates_past_the_limit() {
        let limit = 1000;
        let mut body = BodyCollector::new(limit, None).unwrap();
        for _ in 0..99 {
            body.push(Bytes::from_static(b"0123456789")).unwrap();
            assert!(body.allocated() <= limit, "{}", body.allocated());
        }
        body.push(Bytes::from_static(b"0123456789")).unwrap();
        assert_eq!(body.len(), limit);
        assert!(body.allocated() <= limit);
    }

    #[test]
    fn peak_allocation_bounds_what_push_holds_at_once() {
        // Without a declared length the buffer doubles: charged old + new + frame first.
        let mut body = BodyCollector::new(1 << 20, None).unwrap();
        let frame = Bytes::from(std::vec![1u8; 1000]);
        let mut most = 0;
        for _ in 0..200 {
            let before = body.allocated();
            let peak = body.peak_allocation(frame.len());
            body.push(frame.clone()).unwrap();
            // Growing holds the old buffer and the new one: never more than the charge.
            assert!(before + body.allocated() <= peak || body.allocated() <= peak);
            most = most.max(peak);
        }
        assert!(most <= 2 * (1 << 20));
        // With a declared length the buffer grows once, to exactly that length.
        let declared = 1 << 20;
        let mut body = BodyCollector::new(declared, Some(declared as u64)).unwrap();
        let frame = Bytes::from(std::vec![1u8; 64 * 1024]);
        for _ in 0..16 {
            body.push(frame.clone()).unwrap();
            assert!(body.allocated() <= declared);
        }
        assert_eq!(body.allocated(), declared);
    }

    /// Pushes `frames` into a collector without a declared length, checking after each that it
    /// never occupies more than the limit and that `peak_allocation` covered what it holds.
    fn stream(limit: usize, frames: &[usize]) -> BodyCollector {
        let mut body = BodyCollector::new(limit, None).unwrap();
        let mut byte = 0u8;
        for &size in frames {
            let frame: std::vec::Vec<u8> = (0..size)
                .map(|_| {
                    byte = byte.wrapping_add(1);
                    byte
                })
                .collect();
            let before = body.allocated();
            let peak = body.peak_allocation(size);
            body.push(Bytes::from(frame)).unwrap();
            assert!(body.allocated() <= limit, "{} > {limit}", body.allocated());
            // Held at once while taking the frame: the old buffers and the frame, then what
            // is new (a copy, when the frame is not kept as it is).
            let grown = body.allocated().saturating_sub(before + size);
            assert!(
                before + size + grown <= peak && body.allocated() <= peak,
                "peak {peak} < {before} + {size} (then {})",
                body.allocated()
            );
        }
        body
    }

    fn expected(len: usize) -> std::vec::Vec<u8> {
        (1..=len).map(|i| (i % 256) as u8).collect()
    }

    #[test]
    fn a_chunked_body_past_one_segment_is_collected_in_segments_and_joined_in_order() {
        let frames = [
            1000,
            64 * 1024,
            300 * 1024,
            7,
            1 << 20,
            64 * 1024 - 3,
            200 * 1024,
        ];
        let len: usize = frames.iter().sum();
        let body = stream(8 << 20, &frames);
        match &body.state {
            Collected::Segments { buffers, capacity } => {
                // Every buffer but the first (grown before the body outgrew it) and the last is
                // a whole segment.
                for segment in &buffers[1..buffers.len() - 1] {
                    assert_eq!(segment.capacity(), SEGMENT_BYTES);
                    assert_eq!(segment.len(), SEGMENT_BYTES);
                }
                assert_eq!(
                    *capacity,
                    buffers.iter().map(BytesMut::capacity).sum::<usize>()
                );
                assert!(*capacity < len + SEGMENT_BYTES);
            }
            other => panic!("not segmented: {other:?}"),
        }
        assert_eq!(body.finish_allocation(), len);
        assert_eq!(&body.finish()[..], &expected(len)[..]);
    }

    #[test]
    fn a_chunked_body_never_allocates_past_the_limit_even_within_a_segment_of_it() {
        // A limit that is not a multiple of the segment size: the last segment is cut to it.
        let limit = 3 * SEGMENT_BYTES + 5;
        let mut frames = std::vec![64 * 1024; limit / (64 * 1024)];
        frames.push(limit % (64 * 1024));
        let body = stream(limit, &frames);
        assert_eq!(body.len(), limit);
        assert_eq!(body.allocated(), limit);
        assert_eq!(&body.finish()[..], &expected(limit)[..]);
    }

    #[test]
    fn a_large_first_pair_of_frames_is_segmented_at_once() {
        let body = stream(1 << 20, &[SEGMENT_BYTES, 10]);
        assert!(matches!(body.state, Collected::Segments { .. }));
        assert_eq!(body.allocated(), 2 * SEGMENT_BYTES);
        assert_eq!(&body.finish()[..], &expected(SEGMENT_BYTES + 10)[..]);
    }

    #[test]
    fn a_chunked_body_within_one_segment_is_not_copied_when_finished() {
        let body = stream(1 << 20, &[100, 200, 300]);
        assert_eq!(body.finish_allocation(), 0);
        assert_eq!(&body.finish()[..], &expected(600)[..]);
    }

    #[test]
    fn a_declared_length_is_never_segmented() {
        let declared = 2 * SEGMENT_BYTES;
        let mut body = BodyCollector::new(declared, Some(declared as u64)).unwrap();
        for _ in 0..8 {
            body.push(Bytes::from(std::vec![1u8; declared / 8]))
                .unwrap();
        }
        assert!(matches!(body.state, Collected::Many(_)));
        assert_eq!(body.finish_allocation(), 0);
        assert_eq!(body.finish().len(), declared);
    }

    #[test]
    fn exactly_the_limit_is_accepted_one_more_byte_is_not() {
        let mut body = BodyCollector::new(4, None).unwrap();
        body.push(Bytes::from_static(b"1234")).unwrap();
        assert!(body.push(Bytes::from_static(b"5")).is_err());
        assert!(BodyCollector::new(4, Some(4)).is_ok());
        assert!(BodyCollector::new(4, Some(5)).is_err());
        assert!(BodyCollector::new(4, Some(u64::MAX)).is_err());
    }
}
