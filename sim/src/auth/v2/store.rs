//! The auth data in a v2 store (`/2`), read from a store passed in: users, roles
//! and the enabled flag as etcd's `v2auth` decodes them (etcd's `getUser`,
//! `getRole`, `detectAuth`), the JSON written back, and etcd's error texts for what
//! is missing. Nothing here proposes: writes and quorum reads go through Raft in
//! [`crate::server::v2_auth::AuthStore`].
//!
//! Local reads count as gets in the store's statistics, as etcd's auth probes do;
//! [`exists_uncounted`] is the one that does not (see `AuthStore`'s docs).

use super::error::{AuthError, Result};
use super::model::{ENABLED_KEY, ROOT_ROLE, attach_root_role};
use super::model::{role_path, root_role, user_path};
use crate::store::v2::{Reply, Store, StoreError};
use etcd_sdk::wire::{Role, User, to_go_json};
use http::StatusCode;
use std::time::SystemTime;

/// The `now` for reads of auth data: it only decides the `ttl` shown, and auth
/// nodes never have one.
const READ_TIME: SystemTime = SystemTime::UNIX_EPOCH;

/// A local get (counted in the store's statistics, as etcd's auth probes are).
pub fn local_get(store: &mut Store, path: &str) -> std::result::Result<Reply, StoreError> {
    store.get(path, false, READ_TIME)
}

/// Whether `path` exists, without counting a get (see the module docs).
pub fn exists_uncounted(store: &mut Store, path: &str) -> bool {
    let saved = store.stats;
    let found = store.get(path, false, READ_TIME).is_ok();
    store.stats = saved;
    found
}

/// The value of a file node (etcd would crash on a directory; here it is an
/// internal error).
fn value_of(reply: Reply) -> Result<String> {
    reply
        .event
        .node
        .and_then(|n| n.value)
        .ok_or_else(|| AuthError::Internal("auth data is not a file".into()))
}

fn decode<T: serde::de::DeserializeOwned>(reply: Reply) -> Result<T> {
    let value = value_of(reply)?;
    serde_json::from_str(&value).map_err(|e| AuthError::Internal(format!("auth data: {e}")))
}

/// etcd's `getUser` on a read result: 100 becomes 404 `User <name> does not exist.`
/// and the `root` user gets the root role attached.
pub fn user_from(name: &str, read: Result<Reply>) -> Result<User> {
    let reply = read.map_err(|e| {
        if e.is_not_found() {
            AuthError::auth(
                StatusCode::NOT_FOUND,
                format_args!("User {name} does not exist."),
            )
        } else {
            e
        }
    })?;
    let mut user: User = decode(reply)?;
    attach_root_role(&mut user);
    Ok(user)
}

/// etcd's `getRole` on a read result: 100 becomes 404 `Role <name> does not exist.`
pub fn role_from(name: &str, read: Result<Reply>) -> Result<Role> {
    let reply = read.map_err(|e| {
        if e.is_not_found() {
            AuthError::auth(
                StatusCode::NOT_FOUND,
                format_args!("Role {name} does not exist."),
            )
        } else {
            e
        }
    })?;
    decode(reply)
}

/// User `name` from the local store.
pub fn local_user(store: &mut Store, name: &str) -> Result<User> {
    user_from(
        name,
        local_get(store, &user_path(name)).map_err(AuthError::Store),
    )
}

/// Role `name` from the local store; `root` is built in and read from nowhere.
pub fn local_role(store: &mut Store, name: &str) -> Result<Role> {
    if name == ROOT_ROLE {
        return Ok(root_role());
    }
    role_from(
        name,
        local_get(store, &role_path(name)).map_err(AuthError::Store),
    )
}

/// Whether auth is enabled (etcd's `detectAuth`): `/2/enabled` holds JSON `true`.
/// Missing or unreadable means disabled.
pub fn local_enabled(store: &mut Store) -> bool {
    match local_get(store, ENABLED_KEY) {
        Ok(reply) => decode::<bool>(reply).unwrap_or(false),
        Err(_) => false,
    }
}

/// The names in a directory listing (the last path element of each visible child),
/// sorted; a missing directory lists nothing.
pub fn names_in(store: &mut Store, dir: &str) -> Result<Vec<String>> {
    let reply = match local_get(store, dir) {
        Ok(r) => r,
        Err(e) if e.code == etcd_sdk::wire::ErrorCode::KEY_NOT_FOUND => return Ok(Vec::new()),
        Err(e) => return Err(AuthError::Store(e)),
    };
    let mut names: Vec<String> = reply
        .event
        .node
        .map(|n| n.nodes)
        .unwrap_or_default()
        .into_iter()
        .map(|n| n.key.rsplit('/').next().unwrap_or_default().to_string())
        .collect();
    names.sort();
    Ok(names)
}

/// Go's `json.Marshal` of a stored value, as text.
pub fn json_text<T: serde::Serialize>(value: &T) -> Result<String> {
    String::from_utf8(to_go_json(value)).map_err(|e| AuthError::Internal(e.to_string()))
}
