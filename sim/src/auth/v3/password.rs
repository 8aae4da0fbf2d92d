//! v3 password hashing: bcrypt at `--bcrypt-cost` (etcd's bounds: 4 to 31, any
//! other cost falls back to 10 with a warning, as etcd's `NewAuthStore` does),
//! `$2a$` hashes as Go's bcrypt writes them.
//!
//! These are plain, synchronous functions: the Auth service runs them on
//! tokio's blocking pool (real builds) before proposing, never in the applier.
//! The salt is drawn separately ([`salt`]) on the calling task, from rand 0.9
//! (madsim's seeded RNG in sim builds), so a simulation replays.

use super::error::AuthError;
use rand::RngCore as _;

/// Go's `bcrypt.MinCost`.
pub const MIN_COST: u32 = 4;
/// Go's `bcrypt.MaxCost`.
pub const MAX_COST: u32 = 31;
/// Go's `bcrypt.DefaultCost`.
pub const DEFAULT_COST: u32 = 10;

/// The cost etcd uses for a `--bcrypt-cost` value.
pub fn effective_cost(cost: u32) -> u32 {
    if (MIN_COST..=MAX_COST).contains(&cost) {
        cost
    } else {
        tracing::warn!(
            given = cost,
            default = DEFAULT_COST,
            "auth: use default bcrypt cost instead of the invalid given cost"
        );
        DEFAULT_COST
    }
}

/// A fresh 16-byte salt.
pub fn salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    salt
}

/// Hashes `password` at `cost` with `salt`.
///
/// # Errors
///
/// [`AuthError::Hash`] when bcrypt refuses (a cost out of its bounds).
pub fn hash(password: &str, cost: u32, salt: [u8; 16]) -> Result<String, AuthError> {
    bcrypt::hash_with_salt(password, cost, salt)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoA))
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches `hash` (a malformed hash never matches).
pub fn verify(hash: &str, password: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_at_the_given_cost_and_verify() {
        let h = hash("pw", 4, salt()).unwrap();
        assert!(h.starts_with("$2a$04$"), "{h}");
        assert!(verify(&h, "pw"));
        assert!(!verify(&h, "pw2"));
        assert!(!verify("junk", "pw"));
        assert!(hash("pw", 3, salt()).is_err());
    }

    #[test]
    fn costs_outside_gos_bounds_fall_back_to_the_default() {
        assert_eq!(effective_cost(4), 4);
        assert_eq!(effective_cost(31), 31);
        assert_eq!(effective_cost(3), DEFAULT_COST);
        assert_eq!(effective_cost(32), DEFAULT_COST);
    }
}
