//! [`JwtTokens`]: etcd's `jwt` token provider (`auth/jwt.go`).
//!
//! A token is a JWT with the claims `username`, `revision` (the auth store's
//! revision when it was signed) and `exp` (unix seconds, signing time + TTL),
//! signed with the configured method. Every member signs when it applies the
//! Authenticate entry (the proposer answers with its own), so tokens need no
//! registration: any member holding the key verifies any token, also after a
//! restart. A token is refused (invalid auth token) when its signature, method
//! or claims do not check or when it expired (etcd's `now <= exp` rule, no
//! leeway); a token signed before the auth store changed names an old
//! revision, which the permission checks refuse (revision of auth store is
//! old). JWTs cannot be recalled: disabling auth, deleting a user or changing
//! a password leaves them valid until they expire (as etcd).

use super::error::AuthError;
use super::jwt_keys::JwtKeys;
use super::provider::{TokenInfo, TokenProvider};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// etcd's `DefaultTTL` of JWTs (5 minutes).
pub const DEFAULT_JWT_TTL: Duration = Duration::from_secs(300);

/// The claims etcd puts in a token (JSON keys in Go's sorted order).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Expiry, unix seconds.
    pub exp: i64,
    /// The auth revision the token was signed at.
    pub revision: u64,
    /// The user.
    pub username: String,
}

/// The JWT provider of one member.
#[derive(Debug)]
pub struct JwtTokens {
    keys: Arc<JwtKeys>,
    ttl: Duration,
}

/// Unix seconds now (the wall clock: simulated in sim builds).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl JwtTokens {
    /// A provider with `keys` whose tokens are valid for `ttl`.
    pub fn new(keys: Arc<JwtKeys>, ttl: Duration) -> JwtTokens {
        JwtTokens { keys, ttl }
    }

    /// The token TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A token for `user` at auth `revision`, signed at unix second `now`.
    ///
    /// # Errors
    ///
    /// [`AuthError::VerifyOnly`] without a private key, [`AuthError::Sign`].
    pub fn sign_at(&self, user: &str, revision: u64, now: i64) -> Result<String, AuthError> {
        if self.keys.verify_only() {
            return Err(AuthError::VerifyOnly);
        }
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            exp: now.saturating_add(ttl),
            revision,
            username: user.to_string(),
        };
        self.keys.sign(&claims).map_err(AuthError::Sign)
    }

    /// The claims of `token` if it verifies and has not expired at unix
    /// second `now`.
    pub fn verify_at(&self, token: &str, now: i64) -> Option<Claims> {
        match self.keys.verify::<Claims>(token) {
            Ok(claims) if now <= claims.exp => Some(claims),
            Ok(claims) => {
                tracing::warn!(user = %claims.username, "auth: an expired JWT");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "auth: failed to parse a JWT");
                None
            }
        }
    }
}

impl TokenProvider for JwtTokens {
    fn wait_index(&self, _token: &str) -> Result<Option<u64>, AuthError> {
        Ok(None)
    }

    fn assign(
        &mut self,
        user: &str,
        _prefix: &str,
        _index: u64,
        revision: u64,
        _now: Instant,
    ) -> Result<String, AuthError> {
        self.sign_at(user, revision, unix_now())
    }

    fn info(&mut self, token: &str, _revision: u64, _now: Instant) -> Option<TokenInfo> {
        self.verify_at(token, unix_now()).map(|c| TokenInfo {
            username: c.username,
            revision: c.revision,
        })
    }

    fn invalidate_user(&mut self, _user: &str) {}

    fn clear(&mut self) {}
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
