//! Key namespaces (Go's `clientv3/namespace`, spec §4.8): wrappers of
//! [`crate::v3::KV`], [`crate::v3::Watcher`] and [`crate::v3::Lease`] that
//! put every key under a prefix, so that several applications (or tenants)
//! can share one cluster without seeing each other's keys.
//!
//! - [`Kv`]: keys and range ends of gets, puts, deletes, transactions (their
//!   compares and ops, nested transactions included) get the prefix; every
//!   key in the responses (`kvs`, `prev_kv`, `prev_kvs`, nested txn
//!   responses) loses it.
//! - [`Watcher`]: the watched range gets the prefix, events (and their
//!   previous key-values) lose it.
//! - [`Lease`]: [`crate::v3::Lease::time_to_live`] lists only the attached
//!   keys under the prefix, without it.
//!
//! A range that is open at the top (a range end of `"\0"`: from-key, or a
//! prefix of every key) stays inside the namespace: its end becomes the
//! prefix's own end ([`prefix_interval`]). The keys are interoperable with
//! Go's package: a Go program using `namespace.NewKV(cli.KV, "app/")` and
//! this one with [`Kv::new`]`(client, "app/")` see the same keys.
//!
//! ```no_run
//! use etcd_sdk::v3::namespace;
//! use etcd_sdk::v3::{Client, GetOptions, KV, PutOptions};
//!
//! # async fn demo() -> etcd_sdk::v3::Result<()> {
//! let client = Client::connect(["127.0.0.1:2379"]).await?;
//! let app = namespace::Kv::new(client.clone(), "app/");
//! app.put("config", "v1", PutOptions::default()).await?; // writes "app/config"
//! let all = app.get("", GetOptions::prefix()).await?; // every key under "app/"
//! assert_eq!(all.kvs[0].key, b"config");
//! # Ok(()) }
//! ```
//!
//! # Differences from Go
//!
//! - The end of a prefix is computed as [`crate::v3::get_prefix_range_end`]
//!   does (the last byte below `0xff` incremented, what follows dropped). Go's
//!   `prefixInterval` keeps the trailing bytes as `0x00` after a carry (prefix
//!   `a\xff` ends at `b\x00`, which also covers the key `b`); for every prefix
//!   without a trailing `0xff` byte, and for Go's test table, both agree.
//! - An empty key is refused ([`crate::v3::EtcdError::EmptyKey`], before
//!   anything is sent) in nested transaction ops too, not only at the top
//!   level: the prefix alone is not a key of the namespace.
//! - An empty key with a prefix or from-key range means the whole
//!   namespace, as in Go 3.5 (Go 3.4's `Get`/`Delete` refuse it; its `Do`
//!   accepts it, as here).

mod kv;
mod lease;
mod watch;

pub use kv::Kv;
pub use lease::Lease;
pub use watch::Watcher;

use super::op::get_prefix_range_end;

/// The `(key, range_end)` sent for a request on `key` / `end` inside the
/// namespace `prefix` (Go's `prefixInterval`): the key gets the prefix; a
/// range end of `"\0"` (to the end of the keyspace) becomes the end of the
/// prefix's range; any other non-empty range end gets the prefix; an empty
/// one (a single key) stays empty.
///
/// ```
/// use etcd_sdk::v3::namespace::prefix_interval;
/// assert_eq!(prefix_interval(b"pfx/", b"a", b""), (b"pfx/a".to_vec(), vec![]));
/// assert_eq!(prefix_interval(b"pfx/", b"abc", b"def"), (b"pfx/abc".to_vec(), b"pfx/def".to_vec()));
/// assert_eq!(prefix_interval(b"pfx/", b"abc", b"\0"), (b"pfx/abc".to_vec(), b"pfx0".to_vec()));
/// ```
pub fn prefix_interval(prefix: &[u8], key: &[u8], end: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let pfx_key = [prefix, key].concat();
    let pfx_end = match end {
        [] => Vec::new(),
        [0] => get_prefix_range_end(prefix),
        end => [prefix, end].concat(),
    };
    (pfx_key, pfx_end)
}

/// Removes `prefix` from the front of `key` (a key the server returned for
/// a prefixed request always starts with it; any other is left as it is).
fn strip(prefix: &[u8], key: &mut Vec<u8>) {
    if key.starts_with(prefix) {
        key.drain(..prefix.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's `TestPrefixInterval` table, plus the edges of the end rule.
    #[test]
    fn prefix_interval_table() {
        // (prefix, key, end, expected key, expected end)
        type Row = (
            &'static [u8],
            &'static [u8],
            &'static [u8],
            &'static [u8],
            &'static [u8],
        );
        let table: &[Row] = &[
            // single key
            (b"pfx/", b"a", b"", b"pfx/a", b""),
            // range
            (b"pfx/", b"abc", b"def", b"pfx/abc", b"pfx/def"),
            // one-sided range
            (b"pfx/", b"abc", b"\0", b"pfx/abc", b"pfx0"),
            // one-sided range, end of keyspace
            (b"\xff\xff", b"abc", b"\0", b"\xff\xffabc", b"\0"),
            // the whole namespace (an empty key with a prefix: "\0", "\0")
            (b"pfx/", b"\0", b"\0", b"pfx/\0", b"pfx0"),
            // a trailing 0xff is carried
            (b"a\xff", b"k", b"\0", b"a\xffk", b"b"),
            // an empty prefix changes nothing
            (b"", b"k", b"\0", b"k", b"\0"),
            (b"", b"k", b"z", b"k", b"z"),
        ];
        for (i, (pfx, key, end, w_key, w_end)) in table.iter().enumerate() {
            let (k, e) = prefix_interval(pfx, key, end);
            assert_eq!((&k[..], &e[..]), (*w_key, *w_end), "#{i}");
        }
    }

    #[test]
    fn strip_removes_only_a_leading_prefix() {
        let mut k = b"pfx/a".to_vec();
        strip(b"pfx/", &mut k);
        assert_eq!(k, b"a");
        let mut other = b"other".to_vec();
        strip(b"pfx/", &mut other);
        assert_eq!(other, b"other");
    }
}
