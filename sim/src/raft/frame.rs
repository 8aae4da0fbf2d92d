//! Length-prefixed frames on a peer TCP connection: a 4-byte big-endian length, then
//! that many bytes. [`FrameDecoder`] takes bytes as they arrive and buffers only what
//! arrived, so a length claimed by a peer costs nothing until its bytes come.
//!
//! # The maximum frame
//!
//! Frames carry every peer message (and pings, removal notices). An append is bounded by
//! raft's `max_size_per_msg` (32 KiB by default) except that it always carries at
//! least one entry, and an entry is one client request (the member takes request
//! bodies up to 32 MiB). The largest legitimate frame is a snapshot message: the whole
//! v2 store plus the address book, which no protocol limit bounds. [`MAX_FRAME`] is
//! 256 MiB: eight times the largest request, and more than a store held in memory and
//! encoded whole per snapshot is meant to grow to. Since the buffer grows with the bytes
//! received, the cap is what a peer must actually send to make a member hold that much;
//! the connection limits in `transport` bound how many such buffers exist at once.
//! A frame over the cap is refused by both ends: the sender reports the peer
//! unreachable (logged), the receiver drops the connection.

use thiserror::Error;

/// Largest frame accepted (and sent) over TCP; see the module docs for why.
pub const MAX_FRAME: usize = 256 * 1024 * 1024;

/// Bytes in a frame's length prefix.
pub const HEADER_LEN: usize = 4;

/// Input that is not a frame stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FrameError {
    /// A frame's length prefix is over the maximum.
    #[error("frame of {len} bytes is over the {max}-byte maximum")]
    TooLarge {
        /// The length the prefix claims.
        len: usize,
        /// The maximum in force.
        max: usize,
    },
}

/// The length prefix for a `len`-byte body.
///
/// # Errors
///
/// [`FrameError::TooLarge`] if `len` is over [`MAX_FRAME`].
pub fn header(len: usize) -> Result<[u8; HEADER_LEN], FrameError> {
    match u32::try_from(len) {
        Ok(l) if len <= MAX_FRAME => Ok(l.to_be_bytes()),
        _ => Err(FrameError::TooLarge {
            len,
            max: MAX_FRAME,
        }),
    }
}

/// Reassembles frames from bytes as they arrive.
#[derive(Debug)]
pub struct FrameDecoder {
    max: usize,
    head: [u8; HEADER_LEN],
    head_len: usize,
    /// The claimed length of the frame being read, and what arrived of it.
    body: Option<(usize, Vec<u8>)>,
}

impl FrameDecoder {
    /// A decoder that refuses frames over `max` bytes.
    pub fn new(max: usize) -> Self {
        FrameDecoder {
            max,
            head: [0; HEADER_LEN],
            head_len: 0,
            body: None,
        }
    }

    /// Takes the next bytes of the stream; returns the frames they complete, in order.
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLarge`] if a length prefix is over the maximum; the stream
    /// cannot be read further.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut frames = Vec::new();
        while !input.is_empty() {
            let Some((len, body)) = &mut self.body else {
                let take = (HEADER_LEN - self.head_len).min(input.len());
                self.head[self.head_len..self.head_len + take].copy_from_slice(&input[..take]);
                self.head_len += take;
                input = &input[take..];
                if self.head_len == HEADER_LEN {
                    self.head_len = 0;
                    let len = u32::from_be_bytes(self.head) as usize;
                    if len > self.max {
                        return Err(FrameError::TooLarge { len, max: self.max });
                    }
                    self.body = Some((len, Vec::new()));
                    if len == 0 {
                        frames.extend(self.body.take().map(|(_, b)| b));
                    }
                }
                continue;
            };
            let take = (*len - body.len()).min(input.len());
            if body.capacity() - body.len() < take {
                // Grow by doubling, never past the claimed length: capacity stays
                // within twice what arrived.
                let want = (body.len() + take).max(body.capacity() * 2).min(*len);
                body.reserve_exact(want - body.len());
            }
            body.extend_from_slice(&input[..take]);
            input = &input[take..];
            if body.len() == *len {
                frames.extend(self.body.take().map(|(_, b)| b));
            }
        }
        Ok(frames)
    }

    /// Changes the largest frame accepted from now on (a connection may allow small
    /// frames only until its peer has said who it is).
    pub fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Whether the stream is at a frame boundary (nothing partial buffered).
    pub fn is_at_boundary(&self) -> bool {
        self.head_len == 0 && self.body.is_none()
    }

    /// Bytes of memory the partial frame holds.
    pub fn buffered_capacity(&self) -> usize {
        self.body.as_ref().map_or(0, |(_, b)| b.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(bodies: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for b in bodies {
            out.extend_from_slice(&header(b.len()).unwrap());
            out.extend_from_slice(b);
        }
        out
    }

    #[test]
    fn frames_split_anywhere_reassemble() {
        let bytes = framed(&[b"hello", b"", b"world!"]);
        for split in 0..=bytes.len() {
            let mut d = FrameDecoder::new(64);
            let mut got = d.feed(&bytes[..split]).unwrap();
            got.extend(d.feed(&bytes[split..]).unwrap());
            assert_eq!(got, vec![b"hello".to_vec(), vec![], b"world!".to_vec()]);
            assert!(d.is_at_boundary());
        }
    }

    #[test]
    fn a_huge_claimed_length_allocates_nothing_until_bytes_come() {
        let mut d = FrameDecoder::new(MAX_FRAME);
        let head = header(MAX_FRAME).unwrap();
        assert!(d.feed(&head).unwrap().is_empty());
        assert_eq!(d.buffered_capacity(), 0);
        d.feed(&[7; 1000]).unwrap();
        assert!(d.buffered_capacity() >= 1000 && d.buffered_capacity() <= 2000);
        assert!(!d.is_at_boundary());
    }

    #[test]
    fn a_length_over_the_maximum_is_an_error() {
        let mut d = FrameDecoder::new(10);
        assert_eq!(
            d.feed(&11u32.to_be_bytes()),
            Err(FrameError::TooLarge { len: 11, max: 10 })
        );
        assert!(header(MAX_FRAME + 1).is_err());
        assert!(header(usize::MAX).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    use crate::proptest_config::proptest_config as config;

    /// `bytes` cut at `cuts` (positions taken modulo its length, in order).
    fn chunks(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        at.push(0);
        at.push(bytes.len());
        at.sort_unstable();
        at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_bytes_never_buffer_more_than_twice_what_arrived(
            bytes in prop::collection::vec(any::<u8>(), 0..2048),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
            max in prop_oneof![Just(MAX_FRAME), 0usize..512],
        ) {
            let mut d = FrameDecoder::new(max);
            let mut fed = 0;
            let mut out = 0;
            for chunk in chunks(&bytes, &cuts) {
                fed += chunk.len();
                match d.feed(&chunk) {
                    Ok(frames) => {
                        out += frames.iter().map(|f| f.len() + HEADER_LEN).sum::<usize>();
                        prop_assert!(frames.iter().all(|f| f.len() <= max));
                    }
                    Err(FrameError::TooLarge { len, max: m }) => {
                        prop_assert!(len > max && m == max);
                        break;
                    }
                }
                prop_assert!(out <= fed);
                prop_assert!(d.buffered_capacity() <= 2 * (fed - out));
            }
        }

        #[test]
        fn frames_round_trip_however_the_stream_is_cut(
            bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut stream = Vec::new();
            for b in &bodies {
                stream.extend_from_slice(&header(b.len()).unwrap());
                stream.extend_from_slice(b);
            }
            let mut d = FrameDecoder::new(300);
            let mut got = Vec::new();
            for chunk in chunks(&stream, &cuts) {
                got.extend(d.feed(&chunk).unwrap());
            }
            prop_assert_eq!(got, bodies);
            prop_assert!(d.is_at_boundary());
        }

        #[test]
        fn a_claimed_length_costs_only_what_arrives(
            claim in 0u32..=u32::MAX,
            sent in 0usize..4096,
        ) {
            let mut d = FrameDecoder::new(MAX_FRAME);
            let res = d.feed(&claim.to_be_bytes());
            if claim as usize > MAX_FRAME {
                prop_assert!(res.is_err());
            } else {
                let body = vec![1u8; sent.min(claim as usize)];
                d.feed(&body).unwrap();
                prop_assert!(d.buffered_capacity() <= 2 * body.len());
            }
        }
    }
}
