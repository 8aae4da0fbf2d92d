use super::*;
use crate::v3::error::Error as ClientError;
use sha2::{Digest, Sha256};

/// A fake database of `pages` 4 KiB pages, then its digest: what etcd sends.
fn snapshot_bytes(pages: usize) -> Vec<u8> {
    let db: Vec<u8> = (0..pages * 4096).map(|i| (i * 31 % 251) as u8).collect();
    let digest = Sha256::digest(&db);
    [db, digest.to_vec()].concat()
}

/// `bytes` as a stream of chunks of the given sizes (cycled).
fn chunked(bytes: &[u8], sizes: &[usize]) -> Vec<crate::v3::Result<Bytes>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        out.push(Ok(Bytes::copy_from_slice(&rest[..n])));
        rest = &rest[n..];
        i += 1;
    }
    out
}

#[test]
fn trailer_digest_holds_back_the_last_32_bytes_whatever_the_chunking() {
    let snap = snapshot_bytes(3);
    let want: [u8; 32] = Sha256::digest(&snap[..snap.len() - 32]).into();
    for sizes in [
        &[1][..],
        &[7, 32, 33],
        &[31],
        &[32],
        &[4096],
        &[snap.len()],
        &[12_000, 1, 5],
    ] {
        let mut d = TrailerDigest::new();
        for c in chunked(&snap, sizes) {
            d.update(&c.unwrap());
        }
        assert_eq!(d.len(), snap.len() as u64);
        assert_eq!(d.check().unwrap(), want, "{sizes:?}");
    }
}

#[test]
fn trailer_digest_refuses_bad_sizes_and_digests() {
    let mut snap = snapshot_bytes(1);
    let mut d = TrailerDigest::new();
    d.update(&snap[..snap.len() - 1]);
    assert!(matches!(d.check(), Err(Error::NoChecksum { size: 4127 })));
    let last = snap.len() - 1;
    snap[last] ^= 1;
    let mut d = TrailerDigest::new();
    d.update(&snap);
    let err = d.check().unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err:?}");
    assert!(TrailerDigest::new().is_empty());
    assert!(matches!(
        TrailerDigest::new().check(),
        Err(Error::NoChecksum { size: 0 })
    ));
}

#[tokio::test]
async fn save_stream_writes_the_file_atomically_and_verify_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.db");
    let snap = snapshot_bytes(4);
    let stream = futures_util::stream::iter(chunked(&snap, &[32 * 1024, 100]));
    let saved = save_stream(stream, &path).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), snap);
    assert_eq!(saved.size, snap.len() as u64);
    assert_eq!(saved.db_size(), 4 * 4096);
    assert_eq!(&saved.sha256[..], &snap[snap.len() - 32..]);
    assert_eq!(saved.sha256_hex().len(), 64);
    assert!(!dir.path().join("snap.db.part").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(verify(&path).unwrap(), saved);
}

#[tokio::test]
async fn a_failed_save_leaves_no_part_file_and_keeps_the_old_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.db");
    std::fs::write(&path, b"old").unwrap();
    let part = dir.path().join("snap.db.part");

    // The stream breaks half-way.
    let snap = snapshot_bytes(2);
    let mut items = chunked(&snap[..5000], &[1000]);
    items.push(Err(ClientError::Closed));
    let err = save_stream(futures_util::stream::iter(items), &path)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Client(ClientError::Closed)), "{err:?}");
    assert!(!part.exists());
    assert_eq!(std::fs::read(&path).unwrap(), b"old");

    // The digest does not match.
    let mut bad = snap.clone();
    bad[10] ^= 0xff;
    let err = save_stream(futures_util::stream::iter(chunked(&bad, &[4096])), &path)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err:?}");
    assert!(!part.exists());
    assert_eq!(std::fs::read(&path).unwrap(), b"old");

    // No digest at all (a cut stream that ended cleanly).
    let err = save_stream(
        futures_util::stream::iter(chunked(&snap[..4096], &[4096])),
        &path,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NoChecksum { size: 4096 }), "{err:?}");
    assert_eq!(err.to_string(), "sha256 checksum not found [bytes: 4096]");
    assert!(!part.exists());
}

#[test]
fn verify_reports_missing_and_corrupt_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = verify(dir.path().join("none.db")).unwrap_err();
    assert!(
        matches!(missing, Error::Io { op: "open", .. }),
        "{missing:?}"
    );
    let path = dir.path().join("corrupt.db");
    let mut snap = snapshot_bytes(1);
    snap[0] ^= 1;
    std::fs::write(&path, &snap).unwrap();
    assert!(matches!(verify(&path), Err(Error::ChecksumMismatch { .. })));
}
