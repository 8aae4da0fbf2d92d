//! The database image a Maintenance.Snapshot stream carries and `etcdctl
//! snapshot save` writes: where etcd sends its bbolt file, we send a
//! [`V3Stores::snapshot`] blob framed as a file of whole 4 KiB pages (as a
//! bbolt file is), followed on the stream (and so in the saved file) by the
//! SHA-256 of the image, as etcd appends it.
//!
//! Image layout: the magic [`MAGIC`] (8 bytes), the blob's length (u64,
//! big-endian), the blob, zero padding up to a multiple of [`PAGE`].

use super::v3_state::V3Stores;
use sha2::{Digest as _, Sha256};

/// The first bytes of an image.
pub const MAGIC: &[u8; 8] = b"ETCDSIM3";
/// The image's page size (a saved file is pages plus the 32-byte digest).
pub const PAGE: usize = 4096;
/// The digest's size.
pub const DIGEST_BYTES: usize = 32;

/// A file or image that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The saved file's trailer is not the SHA-256 of its image (etcdctl's words).
    #[error("expected sha256 {}, got {}", go_bytes(expected), go_bytes(got))]
    Digest {
        /// The trailer.
        expected: Vec<u8>,
        /// The image's digest.
        got: Vec<u8>,
    },
    /// The file has no trailer (its length is not pages plus 32 bytes).
    #[error("snapshot missing hash but --skip-hash-check=false")]
    NoDigest,
    /// The image is not ours.
    #[error("not an etcd-sim database image: {0}")]
    Framing(&'static str),
}

/// Bytes as Go's `%v` prints a byte slice: `[1 2 3]`.
fn go_bytes(b: &[u8]) -> String {
    let items: Vec<String> = b.iter().map(u8::to_string).collect();
    format!("[{}]", items.join(" "))
}

/// The image of `stores`' durable state.
pub fn image(stores: &V3Stores) -> Vec<u8> {
    let blob = stores.snapshot();
    let mut out = Vec::with_capacity(16 + blob.len() + PAGE);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(blob.len() as u64).to_be_bytes());
    out.extend_from_slice(&blob);
    let padded = out.len().div_ceil(PAGE) * PAGE;
    out.resize(padded, 0);
    out
}

/// The SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; DIGEST_BYTES] {
    Sha256::digest(data).into()
}

/// The blob inside an image.
///
/// # Errors
///
/// [`ImageError::Framing`] when `image` is not one.
pub fn blob_of(image: &[u8]) -> Result<&[u8], ImageError> {
    let rest = image
        .strip_prefix(MAGIC.as_slice())
        .ok_or(ImageError::Framing("magic"))?;
    let (len, rest) = rest
        .split_first_chunk::<8>()
        .ok_or(ImageError::Framing("truncated"))?;
    let len =
        usize::try_from(u64::from_be_bytes(*len)).map_err(|_| ImageError::Framing("length"))?;
    rest.get(..len).ok_or(ImageError::Framing("truncated"))
}

/// The image of a saved snapshot file, its trailer checked (etcdctl's restore
/// check: a file of n·512 + 32 bytes ends with the SHA-256 of the rest).
///
/// # Errors
///
/// [`ImageError`] when the trailer is missing or does not match.
pub fn verified_image(file: &[u8]) -> Result<&[u8], ImageError> {
    if file.len() % 512 != DIGEST_BYTES {
        return Err(ImageError::NoDigest);
    }
    let (image, trailer) = file.split_at(file.len() - DIGEST_BYTES);
    let got = sha256(image);
    if got.as_slice() != trailer {
        return Err(ImageError::Digest {
            expected: trailer.to_vec(),
            got: got.to_vec(),
        });
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::v3::lease::LessorConfig;
    use crate::store::v3::watch::WatchConfig;

    #[test]
    fn images_are_whole_pages_and_read_back() {
        let s = V3Stores::new(LessorConfig::default(), WatchConfig::new(1 << 20));
        let img = image(&s);
        assert_eq!(img.len() % PAGE, 0);
        assert_eq!(blob_of(&img).unwrap(), s.snapshot().as_slice());
        let mut file = img.clone();
        file.extend_from_slice(&sha256(&img));
        assert_eq!(verified_image(&file).unwrap(), img.as_slice());
        let last = file.len() - 1;
        file[last] ^= 1;
        let e = verified_image(&file).unwrap_err();
        assert!(e.to_string().starts_with("expected sha256 ["), "{e}");
        let text = e.to_string();
        let list = &text[text.find('[').unwrap()..text.find(']').unwrap()];
        assert!(!list.contains(','), "Go's byte slices: {e}");
        assert_eq!(verified_image(&img), Err(ImageError::NoDigest));
        assert!(blob_of(b"bbolt").is_err());
    }

    #[test]
    fn sha256_check_value() {
        let d = sha256(b"abc");
        assert_eq!(d[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}
