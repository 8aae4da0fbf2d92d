//! [`TokenProvider`]: what a member's token provider does (etcd's
//! `TokenProvider` in `auth/store.go`), implemented by [`SimpleTokens`] and
//! [`JwtTokens`], and [`TokenKind`], which one `--auth-token` asks for.

use super::error::AuthError;
use super::jwt::JwtTokens;
use super::jwt_keys::JwtKeys;
use super::token::SimpleTokens;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The user a token names and the auth revision it is judged at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The user name.
    pub username: String,
    /// Simple tokens: the auth store's revision now; JWTs: the revision they
    /// were signed at.
    pub revision: u64,
}

/// A member's token provider.
pub trait TokenProvider: Send + std::fmt::Debug {
    /// The raft index a member must have applied before judging `token`
    /// (`Ok(None)`: no wait).
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidAuthToken`] when `token` is not of this provider's shape.
    fn wait_index(&self, token: &str) -> Result<Option<u64>, AuthError>;

    /// A token for `user`, minted by the Authenticate entry at raft `index`
    /// with the proposer's random `prefix`, while the auth store is at
    /// `revision`.
    ///
    /// # Errors
    ///
    /// [`AuthError::VerifyOnly`] or [`AuthError::Sign`] (JWT).
    fn assign(
        &mut self,
        user: &str,
        prefix: &str,
        index: u64,
        revision: u64,
        now: Instant,
    ) -> Result<String, AuthError>;

    /// Who `token` names, judged at `now` with the auth store at `revision`;
    /// `None` for an unknown, expired or forged token.
    fn info(&mut self, token: &str, revision: u64, now: Instant) -> Option<TokenInfo>;

    /// Forgets the tokens of `user` (simple tokens; JWTs cannot be recalled).
    fn invalidate_user(&mut self, user: &str);

    /// Forgets every token (simple tokens; JWTs cannot be recalled).
    fn clear(&mut self);
}

/// The provider `--auth-token` names.
#[derive(Clone, Debug, Default)]
pub enum TokenKind {
    /// `simple` (its TTL is `--auth-token-ttl`).
    #[default]
    Simple,
    /// `jwt,...`: the keys and the token TTL (`ttl=`, 5 minutes by default).
    Jwt {
        /// The keys.
        keys: Arc<JwtKeys>,
        /// How long a token is valid after it is signed.
        ttl: Duration,
    },
}

impl PartialEq for TokenKind {
    /// JWT kinds are equal when they share their keys.
    fn eq(&self, other: &TokenKind) -> bool {
        match (self, other) {
            (TokenKind::Simple, TokenKind::Simple) => true,
            (TokenKind::Jwt { keys: a, ttl: x }, TokenKind::Jwt { keys: b, ttl: y }) => {
                Arc::ptr_eq(a, b) && x == y
            }
            _ => false,
        }
    }
}

impl Eq for TokenKind {}

impl TokenKind {
    /// A fresh provider of this kind; `simple_ttl` is `--auth-token-ttl`.
    pub fn provider(&self, simple_ttl: Duration) -> Box<dyn TokenProvider> {
        match self {
            TokenKind::Simple => Box::new(SimpleTokens::new(simple_ttl)),
            TokenKind::Jwt { keys, ttl } => Box::new(JwtTokens::new(keys.clone(), *ttl)),
        }
    }
}
