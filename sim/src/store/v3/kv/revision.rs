//! Revisions: a write's main revision (the store-wide counter clients see) and the
//! sub revision of each change inside that write.

/// One stored change: `main` is the revision of the write (shared by every op of a
/// Txn, DeleteRange or lease revoke), `sub` the position of the change inside it
/// (0, 1, 2, ...). Ordered by `main`, then `sub`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision {
    /// The write's revision.
    pub main: i64,
    /// The change's index inside the write.
    pub sub: i64,
}

/// Length of a revision's byte form: 8-byte big-endian main, `_`, 8-byte big-endian sub.
pub const REVISION_BYTES: usize = 17;

/// The byte that marks a tombstone (a deletion) after a revision's byte form.
pub const TOMBSTONE_MARK: u8 = b't';

impl Revision {
    /// The revision `main`.`sub`.
    pub fn new(main: i64, sub: i64) -> Self {
        Revision { main, sub }
    }

    /// The 17-byte form etcd uses as the backend key of a change: main (big-endian),
    /// `_`, sub (big-endian). Byte order equals revision order for non-negative values.
    pub fn to_bytes(self) -> [u8; REVISION_BYTES] {
        let mut out = [0u8; REVISION_BYTES];
        out[..8].copy_from_slice(&self.main.to_be_bytes());
        out[8] = b'_';
        out[9..].copy_from_slice(&self.sub.to_be_bytes());
        out
    }

    /// The backend key of a change: the byte form, plus [`TOMBSTONE_MARK`] for a deletion.
    pub fn backend_key(self, tombstone: bool) -> Vec<u8> {
        let mut out = self.to_bytes().to_vec();
        if tombstone {
            out.push(TOMBSTONE_MARK);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_by_main_then_sub() {
        let mut revs = vec![
            Revision::new(3, 0),
            Revision::new(2, 5),
            Revision::new(2, 0),
            Revision::new(10, 1),
        ];
        revs.sort();
        assert_eq!(
            revs,
            vec![
                Revision::new(2, 0),
                Revision::new(2, 5),
                Revision::new(3, 0),
                Revision::new(10, 1)
            ]
        );
    }

    #[test]
    fn byte_form_sorts_like_revisions() {
        let a = Revision::new(2, 300);
        let b = Revision::new(256, 0);
        assert!(a < b);
        assert!(a.to_bytes() < b.to_bytes());
        assert_eq!(
            a.to_bytes(),
            [0, 0, 0, 0, 0, 0, 0, 2, b'_', 0, 0, 0, 0, 0, 0, 1, 44]
        );
    }

    #[test]
    fn tombstone_key_has_mark() {
        let r = Revision::new(1, 2);
        assert_eq!(r.backend_key(false).len(), REVISION_BYTES);
        let t = r.backend_key(true);
        assert_eq!(t.len(), REVISION_BYTES + 1);
        assert_eq!(t[REVISION_BYTES], TOMBSTONE_MARK);
    }
}
