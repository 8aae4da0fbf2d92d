//! Test fixtures shared by the v2 auth tests here and in `server::v2_auth`.

use base64::Engine;
use etcd_sdk::wire::{Permissions, Role, RwPermission};

/// An `Authorization` header value for `user:password`.
pub(crate) fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A role granting `read` and `write` on the given key patterns.
pub(crate) fn role(name: &str, read: &[&str], write: &[&str]) -> Role {
    let list = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
    Role {
        role: name.into(),
        permissions: Permissions {
            kv: RwPermission {
                read: list(read),
                write: list(write),
            },
        },
        ..Default::default()
    }
}
