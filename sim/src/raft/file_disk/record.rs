//! Record framing shared by WAL segments and snapshot files.
//!
//! A record is a 12-byte header followed by its payload:
//!
//! ```text
//! | len: u32 LE | crc32c(len bytes): u32 LE | crc32c(payload): u32 LE | payload (len bytes) |
//! ```
//!
//! The length has its own checksum so that a damaged length is never mistaken for a
//! record that runs past the end of the file (which is what a torn write looks like).

use super::crc::crc32c;

/// Bytes before each payload.
pub(crate) const HEADER_LEN: usize = 12;

/// Appends one record holding `payload` to `out`.
pub(crate) fn encode(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&header(payload));
    out.extend_from_slice(payload);
}

/// The header of the record holding `payload` (for writing the payload from where
/// it lies, without copying it behind the header).
pub(crate) fn header(payload: &[u8]) -> [u8; HEADER_LEN] {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let len_bytes = len.to_le_bytes();
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&len_bytes);
    h[4..8].copy_from_slice(&crc32c(&len_bytes).to_le_bytes());
    h[8..].copy_from_slice(&crc32c(payload).to_le_bytes());
    h
}

/// The largest payload [`encode`] frames faithfully.
pub(crate) const MAX_PAYLOAD: usize = u32::MAX as usize;

/// What lies at an offset of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next<'a> {
    /// A whole, intact record; the next one starts at `end`.
    Record {
        /// The payload.
        payload: &'a [u8],
        /// Offset just past the record.
        end: usize,
    },
    /// The end of the buffer, exactly at a record boundary.
    End,
    /// A damaged record that nothing but zeros follows: what a write cut short by a
    /// crash leaves at the end of a file.
    Torn(&'static str),
    /// A damaged record followed by other data.
    Bad(&'static str),
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

fn all_zero(buf: &[u8]) -> bool {
    buf.iter().all(|&b| b == 0)
}

/// Reads the record starting at `at` in `buf`.
pub(crate) fn next(buf: &[u8], at: usize) -> Next<'_> {
    let rest = buf.get(at..).unwrap_or_default();
    if rest.is_empty() {
        return Next::End;
    }
    if rest.len() < HEADER_LEN {
        return Next::Torn("incomplete record header");
    }
    let len = u32_at(rest, 0);
    if crc32c(&rest[..4]) != u32_at(rest, 4) {
        return if all_zero(&rest[HEADER_LEN..]) {
            Next::Torn("damaged record header at the end of the file")
        } else {
            Next::Bad("record header checksum mismatch")
        };
    }
    let len = len as usize;
    if len == 0 {
        return Next::Bad("empty record");
    }
    let Some(payload) = rest.get(HEADER_LEN..HEADER_LEN + len) else {
        return Next::Torn("incomplete record payload");
    };
    if crc32c(payload) != u32_at(rest, 8) {
        return if all_zero(&rest[HEADER_LEN + len..]) {
            Next::Torn("record checksum mismatch at the end of the file")
        } else {
            Next::Bad("record checksum mismatch")
        };
    }
    Next::Record {
        payload,
        end: at + HEADER_LEN + len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_records() -> Vec<u8> {
        let mut buf = Vec::new();
        encode(b"first", &mut buf);
        encode(b"second record", &mut buf);
        buf
    }

    #[test]
    fn records_read_back_in_order() {
        let buf = two_records();
        let Next::Record { payload, end } = next(&buf, 0) else {
            panic!("first record");
        };
        assert_eq!(payload, b"first");
        let Next::Record { payload, end } = next(&buf, end) else {
            panic!("second record");
        };
        assert_eq!(payload, b"second record");
        assert_eq!(end, buf.len());
        assert_eq!(next(&buf, end), Next::End);
    }

    #[test]
    fn every_cut_of_the_last_record_is_torn() {
        let buf = two_records();
        let start = HEADER_LEN + 5;
        for cut in start + 1..buf.len() {
            assert!(
                matches!(next(&buf[..cut], start), Next::Torn(_)),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn zero_tails_are_torn_but_damage_before_data_is_bad() {
        let mut buf = two_records();
        buf.extend_from_slice(&[0u8; 40]);
        let end = buf.len() - 40;
        assert!(matches!(next(&buf, end), Next::Torn(_)));
        // A flipped payload byte in the first record, with the second after it.
        let mut bad = two_records();
        bad[HEADER_LEN + 1] ^= 0x40;
        assert!(matches!(next(&bad, 0), Next::Bad(_)));
        // The same flip in the last record is a torn tail.
        let mut torn = two_records();
        let last = torn.len() - 1;
        torn[last] ^= 0x40;
        assert!(matches!(next(&torn, HEADER_LEN + 5), Next::Torn(_)));
        // A damaged length cannot pass for a record running past the end.
        let mut len_flip = two_records();
        len_flip[1] ^= 0x01;
        assert!(matches!(next(&len_flip, 0), Next::Bad(_)));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    use crate::proptest_config::proptest_config as config;

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_bytes_at_any_offset_never_panic(
            buf in prop::collection::vec(any::<u8>(), 0..256),
            at in 0usize..300,
        ) {
            if let Next::Record { payload, end } = next(&buf, at) {
                prop_assert!(!payload.is_empty());
                prop_assert_eq!(end, at + HEADER_LEN + payload.len());
                prop_assert!(end <= buf.len());
            }
        }

        #[test]
        fn records_round_trip(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..200), 0..6),
        ) {
            let mut buf = Vec::new();
            for p in &payloads {
                encode(p, &mut buf);
            }
            let mut at = 0;
            for p in &payloads {
                let Next::Record { payload, end } = next(&buf, at) else {
                    return Err(TestCaseError::fail(format!("no record at {at}")));
                };
                prop_assert_eq!(payload, &p[..]);
                at = end;
            }
            prop_assert_eq!(next(&buf, at), Next::End);
        }

        #[test]
        fn any_flipped_bit_or_cut_is_caught(
            payload in prop::collection::vec(any::<u8>(), 1..200),
            bit in any::<usize>(),
            cut in any::<usize>(),
        ) {
            let mut buf = Vec::new();
            encode(&payload, &mut buf);
            let mut flipped = buf.clone();
            let bit = bit % (buf.len() * 8);
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(matches!(next(&flipped, 0), Next::Torn(_) | Next::Bad(_)));
            let cut = cut % buf.len();
            prop_assert!(matches!(next(&buf[..cut], 0), Next::Torn(_) | Next::End));
        }
    }
}
