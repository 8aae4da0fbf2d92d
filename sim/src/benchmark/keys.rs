//! Keys and values as etcd's benchmark makes them: a key is `--key-size`
//! bytes holding the Go varint of its index in the key space (zero padded),
//! the index random or sequential.

use rand::Rng;

/// Picks the keys of a run.
#[derive(Clone, Copy, Debug)]
pub struct KeyGen {
    /// Bytes per key (at least the varint's length).
    pub size: usize,
    /// How many distinct keys (at least 1).
    pub space: u64,
    /// Key `i` is index `i mod space` instead of a random index.
    pub sequential: bool,
}

impl KeyGen {
    /// The key of request `i`.
    pub fn key(&self, i: u64) -> Vec<u8> {
        let space = self.space.max(1);
        let index = if self.sequential {
            i % space
        } else {
            rand::rng().random_range(0..space)
        };
        key_of(index, self.size)
    }
}

/// Index `index` as etcd writes it: `binary.PutVarint` into `size` zero
/// bytes (longer when the varint does not fit).
pub fn key_of(index: u64, size: usize) -> Vec<u8> {
    let mut k = vec![0u8; size];
    let varint = go_varint(index);
    if varint.len() > k.len() {
        k.resize(varint.len(), 0);
    }
    k[..varint.len()].copy_from_slice(&varint);
    k
}

/// Go's `binary.PutVarint` of a non-negative value (zig-zag, then 7 bits a
/// byte, low first).
fn go_varint(value: u64) -> Vec<u8> {
    let mut ux = value << 1;
    let mut out = Vec::new();
    while ux >= 0x80 {
        out.push((ux as u8) | 0x80);
        ux >>= 7;
    }
    out.push(ux as u8);
    out
}

/// `n` random bytes (etcd's value of a run: made once, written every time).
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::rng().fill(v.as_mut_slice());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_as_go_writes_it() {
        assert_eq!(key_of(0, 8), vec![0; 8]);
        assert_eq!(key_of(1, 4), vec![2, 0, 0, 0]);
        assert_eq!(key_of(64, 4), vec![0x80, 0x01, 0, 0]);
        assert_eq!(key_of(300, 1), vec![0xd8, 0x04]);
    }

    #[test]
    fn sequential_keys_wrap_at_the_space() {
        let g = KeyGen {
            size: 8,
            space: 3,
            sequential: true,
        };
        assert_eq!(g.key(4), key_of(1, 8));
        let r = KeyGen {
            sequential: false,
            ..g
        };
        for i in 0..20 {
            let k = r.key(i);
            assert!((0..3).any(|j| k == key_of(j, 8)));
        }
    }
}
