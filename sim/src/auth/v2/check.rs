//! Who is calling, and may they do it (etcd's v2http `hasRootAccess`,
//! `hasKeyPrefixAccess` and `hasGuestAccess`; spec §6.4).
//!
//! A check runs in three steps so that the bcrypt verification (tens of
//! milliseconds) does not hold the store lock: [`identify`] reads the enabled flag
//! and the claimed user from the store, [`Caller::authenticate`] verifies the
//! password without the store, and [`key_access`] / [`root_access`] decide, reading
//! the roles they need. [`require_root`] does all three on a store the caller has
//! locked. Everything here decides over data passed in; the checks of a request
//! against a member (the store locked only around the reads, bcrypt off the async
//! workers) are `crate::server::v2_auth::access`.
//!
//! Rules kept from etcd:
//! - An `Authorization` header that is present (and not empty) must be valid Basic
//!   auth for an existing user with the right password; otherwise the request is
//!   denied, with **no** fallback to the guest role.
//! - Without one, the guest role applies if it exists (a deleted guest role denies),
//!   and it is always checked with the non-recursive match.
//! - A user's roles are tried in order; a missing role is skipped; `root` allows
//!   everything. A recursive request only honours patterns ending in `*`.
//! - The key is the raw path after `/v2/keys`: `/w/` stays `/w/`, and `/v2/keys`
//!   alone is the empty key, which not even `/*` matches.
//!
//! One deliberate difference: etcd indexes the last byte of a pattern and crashes
//! the request on an empty pattern (`""` granted through the API); here an empty
//! pattern matches nothing.

use super::model::{GUEST_ROLE, has_root_role};
use super::password::check_password;
use super::store::{local_enabled, local_role, local_user};
use crate::store::v2::Store;
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use etcd_sdk::wire::{Role, User};

/// Go's `base64.StdEncoding`: padded, lenient about the unused trailing bits.
const GO_STD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Parses an `Authorization: Basic <base64(user:password)>` value as Go's
/// `Request.BasicAuth` does: the scheme is case-insensitive, the password is
/// everything after the first `:` (any bytes). `None` when malformed.
pub fn parse_basic_auth(header: &str) -> Option<(String, Vec<u8>)> {
    const PREFIX: &str = "Basic ";
    let scheme = header.get(..PREFIX.len())?;
    if !scheme.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    // Go's decoder skips CR and LF.
    let encoded: String = header[PREFIX.len()..]
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .collect();
    let decoded = GO_STD_BASE64.decode(encoded).ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

/// The caller as far as the store can tell, before the password is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Auth is disabled: everything is allowed.
    Open,
    /// No (or an empty) `Authorization` header: the guest role applies.
    Anonymous,
    /// The header names an existing user; the password is still to be verified.
    Claimed {
        /// The stored user (with its password hash).
        user: User,
        /// The password that came with the request.
        password: Vec<u8>,
    },
    /// No `Authorization` header, and a common name of the request's verified
    /// client certificate chain names this user (`--client-cert-auth`): the
    /// certificate stands for the password.
    Certified(User),
    /// A malformed header or an unknown user.
    Rejected,
}

/// The caller after authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Auth is disabled.
    Open,
    /// No credentials: the guest role.
    Anonymous,
    /// An authenticated user.
    User(User),
    /// Credentials that did not check out: deny everything.
    Rejected,
}

/// Step 1: reads the enabled flag and the claimed user from `store`.
pub fn identify(store: &mut Store, authorization: Option<&str>) -> Caller {
    identify_as(store, authorization, &[])
}

/// Step 1 for a request that also came with the common names of a verified
/// client certificate chain (`cert_names`, the client's certificate first;
/// given only under `--client-cert-auth`): without an `Authorization` header,
/// the first of them that names a user is the caller (etcd's
/// `userFromClientCertificate`); when none does, the guest role applies.
pub fn identify_as(
    store: &mut Store,
    authorization: Option<&str>,
    cert_names: &[String],
) -> Caller {
    if !local_enabled(store) {
        return Caller::Open;
    }
    let header = match authorization {
        None | Some("") => {
            return cert_names
                .iter()
                .find_map(|name| local_user(store, name).ok())
                .map_or(Caller::Anonymous, Caller::Certified);
        }
        Some(h) => h,
    };
    let Some((name, password)) = parse_basic_auth(header) else {
        tracing::warn!("auth: malformed basic auth encoding");
        return Caller::Rejected;
    };
    match local_user(store, &name) {
        Ok(user) => Caller::Claimed { user, password },
        Err(_) => Caller::Rejected,
    }
}

impl Caller {
    /// Step 2: verifies a claimed user's password (bcrypt; no store needed).
    pub fn authenticate(self) -> Identity {
        self.authenticate_with(check_password)
    }

    /// Step 2 with `verify(hash, password)` in place of bcrypt's check (the server
    /// runs it away from the store lock; tests slow it down).
    pub fn authenticate_with(self, verify: impl FnOnce(&str, &[u8]) -> bool) -> Identity {
        match self {
            Caller::Open => Identity::Open,
            Caller::Anonymous => Identity::Anonymous,
            Caller::Rejected => Identity::Rejected,
            Caller::Certified(user) => Identity::User(user),
            Caller::Claimed { user, password } => {
                let hash = user.password.as_deref().unwrap_or_default();
                if verify(hash, &password) {
                    Identity::User(user)
                } else {
                    tracing::warn!(user = %user.user, "auth: incorrect password");
                    Identity::Rejected
                }
            }
        }
    }
}

/// Whether the caller may manage auth and members: auth is disabled, or an
/// authenticated user holds the root role.
pub fn root_access(identity: &Identity) -> bool {
    match identity {
        Identity::Open => true,
        Identity::User(user) => has_root_role(user),
        Identity::Anonymous | Identity::Rejected => false,
    }
}

/// etcd's `simpleMatch`: `p*` is a prefix match, anything else must be equal.
fn simple_match(pattern: &str, key: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => key.starts_with(prefix),
        None => !pattern.is_empty() && pattern == key,
    }
}

/// etcd's `prefixMatch`: only `p*` patterns count.
fn prefix_match(pattern: &str, key: &str) -> bool {
    pattern
        .strip_suffix('*')
        .is_some_and(|prefix| key.starts_with(prefix))
}

fn patterns(role: &Role, write: bool) -> impl Iterator<Item = &String> {
    let kv = &role.permissions.kv;
    if write { &kv.write } else { &kv.read }.iter().flatten()
}

/// etcd's `Role.HasKeyAccess`: root, or a pattern that matches `key`.
pub fn role_allows(role: &Role, key: &str, write: bool) -> bool {
    role.role == super::model::ROOT_ROLE || patterns(role, write).any(|p| simple_match(p, key))
}

/// etcd's `Role.HasRecursiveAccess`: root, or a `*` pattern that matches `key`.
pub fn role_allows_recursive(role: &Role, key: &str, write: bool) -> bool {
    role.role == super::model::ROOT_ROLE || patterns(role, write).any(|p| prefix_match(p, key))
}

/// Step 3 for `/v2/keys`: whether `identity` may read (or `write`) `key`, the raw
/// path after `/v2/keys`; `recursive` is the request's `recursive` parameter.
pub fn key_access(
    store: &mut Store,
    identity: &Identity,
    key: &str,
    recursive: bool,
    write: bool,
) -> bool {
    match identity {
        Identity::Open => true,
        Identity::Rejected => false,
        Identity::Anonymous => match local_role(store, GUEST_ROLE) {
            Ok(guest) => role_allows(&guest, key, write),
            Err(_) => false,
        },
        Identity::User(user) => {
            for name in user.roles.iter().flatten() {
                let Ok(role) = local_role(store, name) else {
                    continue;
                };
                let allowed = if recursive {
                    role_allows_recursive(&role, key, write)
                } else {
                    role_allows(&role, key, write)
                };
                if allowed {
                    return true;
                }
            }
            tracing::warn!(user = %user.user, key, "auth: invalid access");
            false
        }
    }
}

/// Whether the request may do what needs root (members writes, auth management):
/// true when auth is disabled or the caller is a user with the root role. Runs
/// bcrypt with `store` locked; the server's `caller_is_root` locks only for the
/// reads.
pub fn require_root(store: &mut Store, authorization: Option<&str>) -> bool {
    root_access(&identify(store, authorization).authenticate())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::v2::fixtures::{basic, role};

    #[test]
    fn basic_auth_parses_like_go() {
        assert_eq!(
            parse_basic_auth("Basic cm9vdDpyb290cHc="),
            Some(("root".into(), b"rootpw".to_vec()))
        );
        assert_eq!(
            parse_basic_auth("bAsIc cm9vdDpyb290cHc="),
            Some(("root".into(), b"rootpw".to_vec())),
            "the scheme is case-insensitive"
        );
        assert_eq!(
            parse_basic_auth(&basic("a", "b:c")),
            Some(("a".into(), b"b:c".to_vec())),
            "the password runs from the first colon"
        );
        assert_eq!(
            parse_basic_auth(&basic("", "")),
            Some((String::new(), vec![]))
        );
        assert_eq!(
            parse_basic_auth("Basic cm9vdDpyb290cHc"),
            None,
            "padding required"
        );
        assert_eq!(parse_basic_auth("Basic !!!!"), None);
        assert_eq!(parse_basic_auth("Basic bm9jb2xvbg=="), None, "no colon");
        assert_eq!(parse_basic_auth("Bearer cm9vdDpyb290cHc="), None);
        assert_eq!(parse_basic_auth("Basic"), None);
        assert_eq!(
            parse_basic_auth("Basic YTpj"),
            Some(("a".into(), b"c".to_vec()))
        );
        assert_eq!(
            parse_basic_auth("Basic YTpi"),
            Some(("a".into(), b"b".to_vec()))
        );
        assert_eq!(
            parse_basic_auth("Basic YTpiYw=="),
            Some(("a".into(), b"bc".to_vec()))
        );
        assert_eq!(
            parse_basic_auth("Basic YTpiYx=="),
            Some(("a".into(), b"bc".to_vec())),
            "trailing bits are ignored"
        );
    }

    #[test]
    fn exact_and_prefix_patterns() {
        let r = role("w", &["/w/*", "/e"], &["/x*"]);
        assert!(role_allows(&r, "/w/x", false));
        assert!(
            role_allows(&r, "/w/", false),
            "the raw key /w/ starts with /w/"
        );
        assert!(!role_allows(&r, "/w", false));
        assert!(role_allows(&r, "/e", false));
        assert!(!role_allows(&r, "/e/x", false), "exact means exact");
        assert!(
            !role_allows(&r, "/w/x", true),
            "write patterns are separate"
        );
        assert!(role_allows(&r, "/xy", true));
        assert!(role_allows_recursive(&r, "/w/a", false));
        assert!(
            !role_allows_recursive(&r, "/e", false),
            "recursive needs a * pattern"
        );
        assert!(!role_allows_recursive(&r, "/w", false));
        let all = role("a", &["/*"], &[]);
        assert!(role_allows(&all, "/", false));
        assert!(
            !role_allows(&all, "", false),
            "/v2/keys alone is the empty key"
        );
        let star = role("s", &["*"], &[]);
        assert!(role_allows(&star, "", false));
        let empty = role("e", &[""], &[""]);
        assert!(!role_allows(&empty, "", false) && !role_allows_recursive(&empty, "", true));
        let none = Role {
            role: "n".into(),
            ..Default::default()
        };
        assert!(!role_allows(&none, "/a", false));
        let root = Role {
            role: "root".into(),
            ..Default::default()
        };
        assert!(role_allows(&root, "", true) && role_allows_recursive(&root, "", true));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    use crate::proptest_config::proptest_config as config;

    fn header(scheme: &str, user: &str, password: &[u8]) -> String {
        let mut plain = user.as_bytes().to_vec();
        plain.push(b':');
        plain.extend_from_slice(password);
        format!(
            "{scheme}{}",
            base64::engine::general_purpose::STANDARD.encode(plain)
        )
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_headers_parse_or_are_refused(header in "(?s).{0,64}", raw in prop::collection::vec(any::<u8>(), 0..64)) {
            for h in [header.clone(), format!("Basic {header}"), String::from_utf8_lossy(&raw).into_owned()] {
                if let Some((user, password)) = parse_basic_auth(&h) {
                    // The credentials come out of the base64 text: never longer.
                    prop_assert!(user.len() + password.len() < h.len());
                }
            }
        }

        #[test]
        fn credentials_round_trip(
            scheme in prop::sample::select(vec!["Basic ", "basic ", "BASIC ", "bAsIc "]),
            user in "[^:]{0,16}",
            password in prop::collection::vec(any::<u8>(), 0..24),
            breaks in prop::collection::vec(any::<usize>(), 0..3),
        ) {
            let mut h = header(scheme, &user, &password);
            // Go's decoder skips CR and LF anywhere in the base64 text.
            for b in breaks {
                let at = scheme.len() + b % (h.len() - scheme.len() + 1);
                h.insert(at, if b % 2 == 0 { '\n' } else { '\r' });
            }
            prop_assert_eq!(parse_basic_auth(&h), Some((user, password)));
        }

        #[test]
        fn bad_base64_or_no_colon_is_refused(
            junk in "[A-Za-z0-9+/]{0,12}[^A-Za-z0-9+/=\r\n]{1,3}",
            user in "[^:]{0,16}",
        ) {
            prop_assert_eq!(parse_basic_auth(&format!("Basic {junk}")), None);
            let no_colon = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(user.as_bytes())
            );
            prop_assert_eq!(parse_basic_auth(&no_colon), None);
        }
    }
}
