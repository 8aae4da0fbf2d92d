//! Password hashing: bcrypt at etcd's default cost (10), `$2a$` hashes as Go's
//! `golang.org/x/crypto/bcrypt` writes them.
//!
//! The salt comes from rand 0.9's thread RNG (madsim's seeded RNG in sim builds), so
//! hashing never reads the OS RNG in a simulation and a seed replays. Like Go's,
//! bcrypt uses at most the first 72 bytes of a password.
//!
//! etcd keeps no cache of verified passwords, and neither does this: every request
//! with an `Authorization` header runs one bcrypt verification. Measured on the
//! 2-core build machine, one hash or verification at cost 10 takes about 73 ms in a
//! release build and in dev/test builds with the workspace's `opt-level = 3`
//! override for `bcrypt` and `blowfish` (about 180 ms without it). The work is
//! synchronous; in the simulator it takes no virtual time. The request checks
//! (`crate::server::v2_auth::access`) verify away from the store lock and, in real
//! builds, on tokio's blocking pool; hashing a new password (creating or updating a
//! user) still runs on the async worker that serves the request.

use super::error::{AuthError, Result};
use rand::RngCore;

/// etcd's `bcrypt.DefaultCost`.
pub const DEFAULT_COST: u32 = 10;

/// Hashes `password` with a fresh 16-byte salt at [`DEFAULT_COST`].
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    bcrypt::hash_with_salt(password, DEFAULT_COST, salt)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
        .map_err(|e| AuthError::Internal(format!("bcrypt: {e}")))
}

/// Whether `password` matches the stored `hash` (a malformed hash never matches).
pub fn check_password(hash: &str, password: &[u8]) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn hashes_are_go_style_and_verify() {
        let started = Instant::now();
        let hash = hash_password("rootpw").unwrap();
        let hashed = started.elapsed();
        assert!(hash.starts_with("$2a$10$"), "{hash}");
        assert_eq!(hash.len(), 60);
        let started = Instant::now();
        assert!(check_password(&hash, b"rootpw"));
        let verified = started.elapsed();
        assert!(!check_password(&hash, b"rootpw2"));
        assert!(!check_password("not a hash", b"rootpw"));
        assert_ne!(
            hash,
            hash_password("rootpw").unwrap(),
            "a fresh salt each time"
        );
        eprintln!("bcrypt cost {DEFAULT_COST}: hash {hashed:?}, verify {verified:?}");
    }

    #[test]
    fn verifies_a_hash_made_by_go() {
        // golang.org/x/crypto/bcrypt's own test vector: "allmine" at cost 10.
        let go_hash = "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";
        assert!(check_password(go_hash, b"allmine"));
        assert!(!check_password(go_hash, b"allmine2"));
    }

    #[test]
    fn only_the_first_72_bytes_count() {
        let long = "p".repeat(80);
        let hash = hash_password(&long).unwrap();
        assert!(check_password(&hash, "p".repeat(72).as_bytes()));
        assert!(!check_password(&hash, "p".repeat(71).as_bytes()));
    }
}
