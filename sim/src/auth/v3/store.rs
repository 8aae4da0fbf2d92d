//! [`AuthStore`]: the replicated v3 auth state (etcd's `auth/store.go`): users
//! with bcrypt hashes (or `no_password`), roles with key permissions, the
//! enabled flag and the auth revision, plus each user's merged permissions
//! ([`RangePerms`]), rebuilt after every change.
//!
//! Every method runs at apply time, in log order, on every member: no clock,
//! no randomness, no hashing (hashes come in ready-made from the proposer).
//! Every successful change bumps the revision; a request checked at an older
//! revision is refused ([`AuthError::AuthOldRevision`]).
//!
//! Root rules: enabling needs user `root` holding role `root` (which need not
//! exist as a stored role); while enabled, user `root` and role `root` cannot
//! be deleted and `root` cannot lose role `root` ([`AuthError::InvalidAuthMgmt`]).
//! Role `root` passes every permission check.

use super::error::AuthError;
use super::perms::{Access, RangePerms};
use etcd_sdk::v3::pb::authpb::{Permission, Role, User, UserAddOptions};
use std::collections::BTreeMap;

/// The user name that enabling needs.
pub const ROOT_USER: &str = "root";
/// The role that passes every check.
pub const ROOT_ROLE: &str = "root";

/// The result of a store call.
pub type Result<T> = std::result::Result<T, AuthError>;

/// The v3 auth state of one member.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthStore {
    enabled: bool,
    revision: u64,
    users: BTreeMap<String, User>,
    roles: BTreeMap<String, Role>,
    /// Each user's merged permissions (etcd's `rangePermCache`).
    cache: BTreeMap<String, RangePerms>,
}

impl Default for AuthStore {
    fn default() -> Self {
        AuthStore::new()
    }
}

fn name_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn has_root_role(user: &User) -> bool {
    user.roles.iter().any(|r| r == ROOT_ROLE)
}

impl AuthStore {
    /// Disabled, no users or roles, revision 1 (etcd commits revision 1 when it
    /// creates its auth store).
    pub fn new() -> AuthStore {
        AuthStore {
            enabled: false,
            revision: 1,
            users: BTreeMap::new(),
            roles: BTreeMap::new(),
            cache: BTreeMap::new(),
        }
    }

    /// Whether auth is enabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The auth revision (bumped by every change).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// A change happened: bump the revision and rebuild the permission cache.
    fn changed(&mut self) {
        self.revision += 1;
        self.refresh_cache();
    }

    fn refresh_cache(&mut self) {
        let roles = &self.roles;
        self.cache = self
            .users
            .iter()
            .map(|(name, user)| {
                let perms = user
                    .roles
                    .iter()
                    .filter_map(|r| roles.get(r))
                    .flat_map(|r| r.key_permission.iter());
                (name.clone(), RangePerms::merge(perms))
            })
            .collect();
    }

    fn user(&self, name: &str) -> Result<&User> {
        self.users.get(name).ok_or(AuthError::UserNotFound)
    }

    /// Enables auth (a no-op when enabled).
    ///
    /// # Errors
    ///
    /// No user `root`, or `root` without role `root`.
    pub fn enable(&mut self) -> Result<()> {
        if self.enabled {
            return Ok(());
        }
        let root = self
            .users
            .get(ROOT_USER)
            .ok_or(AuthError::RootUserNotExist)?;
        if !has_root_role(root) {
            return Err(AuthError::RootRoleNotExist);
        }
        self.enabled = true;
        // etcd enables without committing a new revision.
        self.refresh_cache();
        Ok(())
    }

    /// Disables auth; returns whether it was enabled (a no-op otherwise).
    pub fn disable(&mut self) -> bool {
        if !self.enabled {
            return false;
        }
        self.enabled = false;
        self.changed();
        true
    }

    /// Adds a user with a ready bcrypt `hash` (ignored with `no_password`).
    ///
    /// # Errors
    ///
    /// Empty name, or a user of that name exists.
    pub fn user_add(&mut self, name: &str, hash: &str, no_password: bool) -> Result<()> {
        if name.is_empty() {
            return Err(AuthError::UserEmpty);
        }
        if self.users.contains_key(name) {
            return Err(AuthError::UserAlreadyExist);
        }
        let user = User {
            name: name.as_bytes().to_vec(),
            password: if no_password {
                Vec::new()
            } else {
                hash.as_bytes().to_vec()
            },
            roles: Vec::new(),
            options: Some(UserAddOptions { no_password }),
        };
        self.users.insert(name.to_string(), user);
        self.changed();
        Ok(())
    }

    /// Deletes a user.
    ///
    /// # Errors
    ///
    /// `root` while enabled; no such user.
    pub fn user_delete(&mut self, name: &str) -> Result<()> {
        if self.enabled && name == ROOT_USER {
            return Err(AuthError::InvalidAuthMgmt);
        }
        self.users.remove(name).ok_or(AuthError::UserNotFound)?;
        self.changed();
        Ok(())
    }

    /// Replaces a user's password hash.
    ///
    /// # Errors
    ///
    /// No such user.
    pub fn user_change_password(&mut self, name: &str, hash: &str) -> Result<()> {
        let user = self.users.get_mut(name).ok_or(AuthError::UserNotFound)?;
        user.password = hash.as_bytes().to_vec();
        self.changed();
        Ok(())
    }

    /// Grants `role` to `user` (a no-op when held). Role `root` need not exist.
    ///
    /// # Errors
    ///
    /// No such user; no such role.
    pub fn user_grant_role(&mut self, user: &str, role: &str) -> Result<()> {
        if !self.users.contains_key(user) {
            return Err(AuthError::UserNotFound);
        }
        if role != ROOT_ROLE && !self.roles.contains_key(role) {
            return Err(AuthError::RoleNotFound);
        }
        let u = self.users.get_mut(user).ok_or(AuthError::UserNotFound)?;
        match u.roles.binary_search_by(|r| r.as_str().cmp(role)) {
            Ok(_) => return Ok(()),
            Err(at) => u.roles.insert(at, role.to_string()),
        }
        self.changed();
        Ok(())
    }

    /// Revokes `role` from `user`.
    ///
    /// # Errors
    ///
    /// `root` from `root` while enabled; no such user; role not held.
    pub fn user_revoke_role(&mut self, user: &str, role: &str) -> Result<()> {
        if self.enabled && user == ROOT_USER && role == ROOT_ROLE {
            return Err(AuthError::InvalidAuthMgmt);
        }
        let u = self.users.get_mut(user).ok_or(AuthError::UserNotFound)?;
        let before = u.roles.len();
        u.roles.retain(|r| r != role);
        if u.roles.len() == before {
            return Err(AuthError::RoleNotGranted);
        }
        self.changed();
        Ok(())
    }

    /// A user's roles (sorted).
    ///
    /// # Errors
    ///
    /// No such user.
    pub fn user_get(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.user(name)?.roles.clone())
    }

    /// Every user name, sorted.
    pub fn user_list(&self) -> Vec<String> {
        self.users.keys().cloned().collect()
    }

    /// Adds a role.
    ///
    /// # Errors
    ///
    /// Empty name; a role of that name exists.
    pub fn role_add(&mut self, name: &str) -> Result<()> {
        if name.is_empty() {
            return Err(AuthError::RoleEmpty);
        }
        if self.roles.contains_key(name) {
            return Err(AuthError::RoleAlreadyExist);
        }
        self.roles.insert(
            name.to_string(),
            Role {
                name: name.as_bytes().to_vec(),
                key_permission: Vec::new(),
            },
        );
        self.changed();
        Ok(())
    }

    /// Deletes a role and revokes it from every user.
    ///
    /// # Errors
    ///
    /// `root` while enabled; no such role.
    pub fn role_delete(&mut self, name: &str) -> Result<()> {
        if self.enabled && name == ROOT_ROLE {
            return Err(AuthError::InvalidAuthMgmt);
        }
        self.roles.remove(name).ok_or(AuthError::RoleNotFound)?;
        for user in self.users.values_mut() {
            user.roles.retain(|r| r != name);
        }
        self.changed();
        Ok(())
    }

    /// A role's permissions, sorted by key.
    ///
    /// # Errors
    ///
    /// No such role.
    pub fn role_get(&self, name: &str) -> Result<Vec<Permission>> {
        self.roles
            .get(name)
            .map(|r| r.key_permission.clone())
            .ok_or(AuthError::RoleNotFound)
    }

    /// Every role name, sorted.
    pub fn role_list(&self) -> Vec<String> {
        self.roles.keys().cloned().collect()
    }

    /// Grants `perm` to `role`: replaces the type of a permission with the same
    /// key and range end, else adds it (kept sorted by key, as etcd does).
    ///
    /// # Errors
    ///
    /// No such role.
    pub fn role_grant_permission(&mut self, role: &str, perm: Permission) -> Result<()> {
        let r = self.roles.get_mut(role).ok_or(AuthError::RoleNotFound)?;
        let at = r.key_permission.partition_point(|p| p.key < perm.key);
        match r.key_permission.get_mut(at) {
            Some(p) if p.key == perm.key && p.range_end == perm.range_end => {
                p.perm_type = perm.perm_type;
            }
            _ => {
                r.key_permission.push(perm);
                // A stable sort by key, as Go's sort.Sort on few items keeps them.
                r.key_permission.sort_by(|a, b| a.key.cmp(&b.key));
            }
        }
        self.changed();
        Ok(())
    }

    /// Revokes the permission on exactly `key`..`range_end` from `role`.
    ///
    /// # Errors
    ///
    /// No such role; no such permission.
    pub fn role_revoke_permission(
        &mut self,
        role: &str,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<()> {
        let r = self.roles.get_mut(role).ok_or(AuthError::RoleNotFound)?;
        let before = r.key_permission.len();
        r.key_permission
            .retain(|p| p.key != key || p.range_end != range_end);
        if r.key_permission.len() == before {
            return Err(AuthError::PermissionNotGranted);
        }
        self.changed();
        Ok(())
    }

    /// The serve-time part of Authenticate (etcd's `CheckPassword`): the hash
    /// to verify the password against, and the revision it was read at.
    ///
    /// # Errors
    ///
    /// Auth off; no such user; a `no_password` user.
    pub fn password_of(&self, name: &str) -> Result<(String, u64)> {
        if !self.enabled {
            return Err(AuthError::AuthNotEnabled);
        }
        let user = self.users.get(name).ok_or(AuthError::AuthFailed)?;
        if user.options.as_ref().is_some_and(|o| o.no_password) {
            return Err(AuthError::NoPasswordUser);
        }
        Ok((name_of(&user.password), self.revision))
    }

    /// The apply-time part of Authenticate: whether a token may be minted for
    /// `name`.
    ///
    /// # Errors
    ///
    /// Auth off; no such user; a `no_password` user.
    pub fn may_authenticate(&self, name: &str) -> Result<()> {
        if !self.enabled {
            return Err(AuthError::AuthNotEnabled);
        }
        let user = self.users.get(name).ok_or(AuthError::AuthFailed)?;
        if user.options.as_ref().is_some_and(|o| o.no_password) {
            return Err(AuthError::AuthFailed);
        }
        Ok(())
    }

    /// Whether `user` (checked at auth `revision`) may have `access` to `key`
    /// (`range_end` as in requests). Always allowed while auth is off.
    ///
    /// # Errors
    ///
    /// Revision 0 (no user): [`AuthError::UserEmpty`]; an older revision:
    /// [`AuthError::AuthOldRevision`]; otherwise [`AuthError::PermissionDenied`].
    pub fn check(
        &self,
        user: &str,
        revision: u64,
        access: Access,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        if revision == 0 {
            return Err(AuthError::UserEmpty);
        }
        if revision < self.revision {
            return Err(AuthError::AuthOldRevision);
        }
        let u = self.users.get(user).ok_or(AuthError::PermissionDenied)?;
        if has_root_role(u) {
            return Ok(());
        }
        match self.cache.get(user) {
            Some(perms) if perms.allows(access, key, range_end) => Ok(()),
            _ => Err(AuthError::PermissionDenied),
        }
    }

    /// Whether `user` may call admin RPCs: auth off, or a user holding role
    /// `root` (etcd's `IsAdminPermitted`).
    ///
    /// # Errors
    ///
    /// No user; no such user; not root.
    pub fn check_admin(&self, user: &str) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        if user.is_empty() {
            return Err(AuthError::UserEmpty);
        }
        if has_root_role(self.user(user)?) {
            Ok(())
        } else {
            Err(AuthError::PermissionDenied)
        }
    }

    /// Whether `user` exists and holds `role`.
    pub fn has_role(&self, user: &str, role: &str) -> bool {
        self.users
            .get(user)
            .is_some_and(|u| u.roles.iter().any(|r| r == role))
    }

    /// Whether `user` exists.
    pub fn has_user(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// The durable state as bytes: enabled flag, revision, then the users and
    /// the roles as length-delimited `authpb` messages, each list after its
    /// count (u32, big-endian).
    pub fn to_snapshot(&self) -> Vec<u8> {
        use prost::Message as _;
        let mut out = vec![u8::from(self.enabled)];
        out.extend_from_slice(&self.revision.to_be_bytes());
        out.extend_from_slice(&(self.users.len() as u32).to_be_bytes());
        for u in self.users.values() {
            u.encode_length_delimited(&mut out)
                .unwrap_or_else(|_| unreachable!("a Vec grows"));
        }
        out.extend_from_slice(&(self.roles.len() as u32).to_be_bytes());
        for r in self.roles.values() {
            r.encode_length_delimited(&mut out)
                .unwrap_or_else(|_| unreachable!("a Vec grows"));
        }
        out
    }

    /// The state [`AuthStore::to_snapshot`] wrote.
    ///
    /// # Errors
    ///
    /// [`SnapshotError`] for bytes that are not one.
    pub fn from_snapshot(mut bytes: &[u8]) -> std::result::Result<AuthStore, SnapshotError> {
        use prost::Message as _;
        let (&enabled, rest) = bytes.split_first().ok_or(SnapshotError::Truncated)?;
        bytes = rest;
        let (rev, rest) = bytes
            .split_first_chunk::<8>()
            .ok_or(SnapshotError::Truncated)?;
        bytes = rest;
        let mut store = AuthStore::new();
        store.enabled = enabled == 1;
        store.revision = u64::from_be_bytes(*rev);
        let count = |bytes: &mut &[u8]| -> std::result::Result<u32, SnapshotError> {
            let (n, rest) = bytes
                .split_first_chunk::<4>()
                .ok_or(SnapshotError::Truncated)?;
            *bytes = rest;
            Ok(u32::from_be_bytes(*n))
        };
        for _ in 0..count(&mut bytes)? {
            let u = User::decode_length_delimited(&mut bytes).map_err(SnapshotError::Decode)?;
            store.users.insert(name_of(&u.name), u);
        }
        for _ in 0..count(&mut bytes)? {
            let r = Role::decode_length_delimited(&mut bytes).map_err(SnapshotError::Decode)?;
            store.roles.insert(name_of(&r.name), r);
        }
        if !bytes.is_empty() {
            return Err(SnapshotError::Trailing);
        }
        store.refresh_cache();
        Ok(store)
    }
}

/// Auth snapshot bytes that cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Shorter than its framing says.
    #[error("auth snapshot: truncated")]
    Truncated,
    /// Bytes after the roles.
    #[error("auth snapshot: trailing bytes")]
    Trailing,
    /// A user or role does not decode.
    #[error("auth snapshot: bad message")]
    Decode(#[source] prost::DecodeError),
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
