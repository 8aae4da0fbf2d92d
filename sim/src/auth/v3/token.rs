//! [`SimpleTokens`]: etcd's `simple` token provider (`auth/simple_token.go`).
//!
//! A token is `<16 random letters>.<raft index>`: the proposer of an
//! Authenticate draws the letters ([`gen_prefix`]) and puts them in the log
//! entry, and every member registers the token with the entry's index when it
//! applies it, so applying stays deterministic. Tokens live in memory only (a
//! restarted member knows none), expire after the TTL (`--auth-token-ttl`,
//! 300 s), which every successful use extends, and are dropped when their user
//! is deleted or changes its password, and all at once when auth is disabled.
//! Expiry is checked when a token is looked up (etcd sweeps once a second; a
//! lookup sees the same thing).

use super::error::AuthError;
use super::provider::{TokenInfo, TokenProvider};
use rand::Rng as _;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// etcd's `simpleTokenTTLDefault`.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(300);

/// The length of a token's random part.
const PREFIX_LEN: usize = 16;

/// The letters a token's random part is drawn from.
const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A token's random part: 16 letters from rand 0.9 (madsim's seeded RNG in
/// sim builds).
pub fn gen_prefix() -> String {
    let mut rng = rand::rng();
    (0..PREFIX_LEN)
        .map(|_| char::from(LETTERS[rng.random_range(0..LETTERS.len())]))
        .collect()
}

/// The raft index a simple token names (`None` when it is not one's shape).
pub fn token_index(token: &str) -> Option<u64> {
    let (prefix, index) = token.split_once('.')?;
    if prefix.contains('.') || index.contains('.') {
        return None;
    }
    index.parse().ok()
}

/// One registered token.
#[derive(Clone, Debug)]
struct Entry {
    user: String,
    deadline: Instant,
}

/// The simple tokens one member knows.
#[derive(Clone, Debug)]
pub struct SimpleTokens {
    ttl: Duration,
    tokens: BTreeMap<String, Entry>,
}

impl Default for SimpleTokens {
    fn default() -> Self {
        SimpleTokens::new(DEFAULT_TOKEN_TTL)
    }
}

impl SimpleTokens {
    /// No tokens; each lives `ttl` after its last use (0 means etcd's default).
    pub fn new(ttl: Duration) -> SimpleTokens {
        SimpleTokens {
            ttl: if ttl.is_zero() {
                DEFAULT_TOKEN_TTL
            } else {
                ttl
            },
            tokens: BTreeMap::new(),
        }
    }

    /// The token TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Registers `<prefix>.<index>` for `user` at `now`, and returns it.
    pub fn assign(&mut self, user: &str, prefix: &str, index: u64, now: Instant) -> String {
        let token = format!("{prefix}.{index}");
        if self.tokens.contains_key(&token) {
            tracing::warn!("auth: a simple token was assigned twice");
        }
        self.tokens.insert(
            token.clone(),
            Entry {
                user: user.to_string(),
                deadline: now + self.ttl,
            },
        );
        token
    }

    /// The user of a live `token`, extending its life from `now`; an expired
    /// token is dropped.
    pub fn user(&mut self, token: &str, now: Instant) -> Option<String> {
        let entry = self.tokens.get_mut(token)?;
        if now > entry.deadline {
            self.tokens.remove(token);
            return None;
        }
        entry.deadline = now + self.ttl;
        Some(entry.user.clone())
    }

    /// Drops every token of `user`.
    pub fn invalidate_user(&mut self, user: &str) {
        self.tokens.retain(|_, e| e.user != user);
    }

    /// Drops every token.
    pub fn clear(&mut self) {
        self.tokens.clear();
    }

    /// How many tokens are registered (expired ones included until looked up).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether no token is registered.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl TokenProvider for SimpleTokens {
    fn wait_index(&self, token: &str) -> Result<Option<u64>, AuthError> {
        token_index(token)
            .map(Some)
            .ok_or(AuthError::InvalidAuthToken)
    }

    fn assign(
        &mut self,
        user: &str,
        prefix: &str,
        index: u64,
        _revision: u64,
        now: Instant,
    ) -> Result<String, AuthError> {
        Ok(SimpleTokens::assign(self, user, prefix, index, now))
    }

    fn info(&mut self, token: &str, revision: u64, now: Instant) -> Option<TokenInfo> {
        self.user(token, now)
            .map(|username| TokenInfo { username, revision })
    }

    fn invalidate_user(&mut self, user: &str) {
        SimpleTokens::invalidate_user(self, user);
    }

    fn clear(&mut self) {
        SimpleTokens::clear(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_etcds_shape() {
        let p = gen_prefix();
        assert_eq!(p.len(), 16);
        assert!(p.bytes().all(|b| b.is_ascii_alphabetic()), "{p}");
        assert_eq!(token_index("izxZGElSTUBGaupz.118"), Some(118));
        assert_eq!(token_index("abc"), None);
        assert_eq!(token_index("a.b.3"), None);
        assert_eq!(token_index("a.x"), None);
    }

    #[test]
    fn use_extends_a_token_and_expiry_drops_it() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        let mut t = SimpleTokens::new(ttl);
        let tok = t.assign("u", "abc", 7, t0);
        assert_eq!(tok, "abc.7");
        assert_eq!(
            t.user(&tok, t0 + Duration::from_secs(9)).as_deref(),
            Some("u")
        );
        // Extended from the use at 9 s: alive at 18 s, gone after 29 s idle.
        assert_eq!(
            t.user(&tok, t0 + Duration::from_secs(18)).as_deref(),
            Some("u")
        );
        assert_eq!(t.user(&tok, t0 + Duration::from_secs(29)), None);
        assert!(t.is_empty());
        assert_eq!(SimpleTokens::new(Duration::ZERO).ttl(), DEFAULT_TOKEN_TTL);
    }

    #[test]
    fn invalidation_by_user_and_all_at_once() {
        let now = Instant::now();
        let mut t = SimpleTokens::default();
        let a = t.assign("a", "p", 1, now);
        let b = t.assign("b", "q", 2, now);
        t.invalidate_user("a");
        assert_eq!(t.user(&a, now), None);
        assert_eq!(t.user(&b, now).as_deref(), Some("b"));
        t.clear();
        assert_eq!(t.len(), 0);
    }
}
