//! The v2 auth data of one member, read and written through its [`V2Backend`]:
//! the part of etcd's `v2auth` that proposes. The model, the decoding of `/2` and
//! the permission decisions are in [`crate::auth::v2`], which never proposes.
//!
//! - [`AuthStore`] (here): reads (local or quorum) and writes of `/2`;
//! - [`ops`]: the operations behind `/v2/auth/*` over it;
//! - [`access`]: the checks of a request (who is calling; bcrypt off the store lock
//!   and, in real builds, off the async workers).
//!
//! As etcd's `v2auth` does through its request `doer` (spec §4.1, §6.1):
//!
//! - checks read the **local** store (etcd's `GET`); operations that modify read
//!   through **Raft** first (etcd's `QGET`, here [`V2Command::QuorumGet`]), so both
//!   count in every member's store statistics as they do in etcd;
//! - writes are Create (`prevExist=false`), Update (`prevExist=true`) and Delete,
//!   each one Raft proposal and one index;
//! - the first write makes sure `/2`, `/2/users`, `/2/roles` and `/2/enabled=false`
//!   exist (etcd's `ensureAuthDirectories`: +4 on a fresh store).
//!
//! etcd remembers per process that the directories exist and, in a new process,
//! proposes the four creates once more (each fails with 105, counted in
//! `createFail`). Here the local store is consulted instead (without counting it as
//! a get), and only missing ones are proposed: the same tree, index and history,
//! but a member that restarts does not add those four failed creates.

pub mod access;
pub mod ops;

pub use access::{caller_is_root, caller_is_root_as, key_allowed, key_allowed_as};

use crate::auth::v2::model::{AUTH_DIRS, ENABLED_KEY, ROLES_DIR, ROOT_ROLE, USERS_DIR};
use crate::auth::v2::model::{role_path, root_role, user_path};
use crate::auth::v2::store::{
    exists_uncounted, json_text, local_enabled, local_get, names_in, role_from, user_from,
};
use crate::auth::v2::{AuthError, error::Result};
use crate::server::backend::V2Backend;
use crate::server::v2_command::V2Command;
use crate::store::v2::{Reply, Store};
use etcd_sdk::wire::{Role, User};

/// The auth data of one member, read and written through its [`V2Backend`].
pub struct AuthStore<'a> {
    backend: &'a dyn V2Backend,
}

impl<'a> AuthStore<'a> {
    /// The auth data behind `backend`.
    pub fn new(backend: &'a dyn V2Backend) -> Self {
        AuthStore { backend }
    }

    /// Runs `f` on the locked local store.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let store = self.backend.v2_store();
        let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Replicates `command`; a replication failure is an internal error.
    async fn propose(&self, command: V2Command) -> Result<Reply> {
        match self.backend.propose_v2(command, self.backend.now()).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(AuthError::Store(e)),
            Err(e) => Err(AuthError::Internal(e.0)),
        }
    }

    /// A get, local or through Raft.
    async fn read(&self, path: &str, quorum: bool) -> Result<Reply> {
        if quorum {
            self.propose(V2Command::QuorumGet {
                path: path.to_string(),
                recursive: false,
            })
            .await
        } else {
            self.with_store(|s| local_get(s, path).map_err(AuthError::Store))
        }
    }

    /// User `name` (etcd's `getUser(name, quorum)`).
    pub async fn user(&self, name: &str, quorum: bool) -> Result<User> {
        user_from(name, self.read(&user_path(name), quorum).await)
    }

    /// Role `name` (etcd's `getRole(name, quorum)`); `root` is built in.
    pub async fn role(&self, name: &str, quorum: bool) -> Result<Role> {
        if name == ROOT_ROLE {
            return Ok(root_role());
        }
        role_from(name, self.read(&role_path(name), quorum).await)
    }

    /// The user names, sorted (etcd's `AllUsers`; hidden `_names` are not listed).
    pub fn user_names(&self) -> Result<Vec<String>> {
        self.with_store(|s| names_in(s, USERS_DIR))
    }

    /// The role names with `root` included, sorted (etcd's `AllRoles`).
    pub fn role_names(&self) -> Result<Vec<String>> {
        let mut names = self.with_store(|s| names_in(s, ROLES_DIR))?;
        names.push(ROOT_ROLE.to_string());
        names.sort();
        Ok(names)
    }

    /// Whether auth is enabled (a local read).
    pub fn enabled(&self) -> bool {
        self.with_store(local_enabled)
    }

    /// Creates what is missing of `/2`, `/2/users`, `/2/roles` and `/2/enabled`
    /// (`false`), in that order; one that appeared meanwhile (105) is fine.
    async fn ensure_auth_dirs(&self) -> Result<()> {
        let wanted = AUTH_DIRS
            .iter()
            .map(|p| (*p, true, ""))
            .chain(std::iter::once((ENABLED_KEY, false, "false")));
        for (path, dir, value) in wanted {
            if self.with_store(|s| exists_uncounted(s, path)) {
                continue;
            }
            let created = self
                .propose(V2Command::Create {
                    path: path.to_string(),
                    dir,
                    value: value.to_string(),
                    unique: false,
                    expire: None,
                })
                .await;
            match created {
                Ok(_) => {}
                Err(e) if e.is_node_exist() => {}
                Err(e) => {
                    tracing::warn!(path, error = %e, "auth: failed to create the auth directories");
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Creates the resource at `path` holding `value` as Go JSON (`prevExist=false`).
    pub async fn create<T: serde::Serialize>(&self, path: &str, value: &T) -> Result<Reply> {
        self.ensure_auth_dirs().await?;
        self.propose(V2Command::Create {
            path: path.to_string(),
            dir: false,
            value: json_text(value)?,
            unique: false,
            expire: None,
        })
        .await
    }

    /// Replaces the resource at `path` (`prevExist=true`).
    pub async fn update<T: serde::Serialize>(&self, path: &str, value: &T) -> Result<Reply> {
        self.ensure_auth_dirs().await?;
        self.propose(V2Command::Update {
            path: path.to_string(),
            value: json_text(value)?,
            expire: None,
            refresh: false,
        })
        .await
    }

    /// Deletes the resource at `path`.
    pub async fn delete(&self, path: &str) -> Result<Reply> {
        self.ensure_auth_dirs().await?;
        self.propose(V2Command::Delete {
            path: path.to_string(),
            dir: false,
            recursive: false,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::v2::store::local_user;
    use crate::server::testing::Local;

    #[tokio::test]
    async fn the_first_write_creates_the_auth_tree_then_each_write_adds_one() {
        let b = Local::new();
        let s = AuthStore::new(&b);
        let start = b.index();
        let role = Role {
            role: "r1".into(),
            ..Default::default()
        };
        let reply = s.create(&role_path("r1"), &role).await.unwrap();
        assert_eq!(
            reply.etcd_index,
            start + 5,
            "+4 for /2, users, roles, enabled"
        );
        assert!(!s.enabled());
        let reply = s.create(&role_path("r2"), &role).await.unwrap();
        assert_eq!(reply.etcd_index, start + 6);
        assert_eq!(s.role_names().unwrap(), ["r1", "r2", "root"]);
        assert_eq!(s.user_names().unwrap(), Vec::<String>::new());
        let stored = b.peek(&role_path("r1")).unwrap();
        assert_eq!(
            stored,
            r#"{"role":"r1","permissions":{"kv":{"read":null,"write":null}}}"#
        );
        assert_eq!(b.peek(ENABLED_KEY).as_deref(), Some("false"));
    }

    #[tokio::test]
    async fn reads_map_not_found_to_etcd_messages() {
        let b = Local::new();
        let s = AuthStore::new(&b);
        match s.user("bob", false).await {
            Err(AuthError::Auth { status, message }) => {
                assert_eq!(status, 404);
                assert_eq!(message, "auth: User bob does not exist.");
            }
            other => panic!("{other:?}"),
        }
        match s.role("w", true).await {
            Err(AuthError::Auth { message, .. }) => {
                assert_eq!(message, "auth: Role w does not exist.")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.role("root", false).await.unwrap(), root_role());
        assert_eq!(s.user_names().unwrap(), Vec::<String>::new());
        assert_eq!(s.role_names().unwrap(), ["root"]);
    }

    #[tokio::test]
    async fn the_root_user_always_reads_with_the_root_role() {
        let b = Local::new();
        let s = AuthStore::new(&b);
        let stored = User {
            user: "root".into(),
            password: Some("h".into()),
            roles: None,
            ..Default::default()
        };
        s.create(&user_path("root"), &stored).await.unwrap();
        let read = s.user("root", false).await.unwrap();
        assert_eq!(read.roles, Some(vec!["root".to_string()]));
        assert_eq!(b.with(|st| local_user(st, "root")).unwrap(), read);
    }

    #[tokio::test]
    async fn local_probes_count_as_gets_but_the_directory_check_does_not() {
        let b = Local::new();
        let before = b.with(|s| s.stats());
        assert!(!b.with(local_enabled));
        let after = b.with(|s| s.stats());
        assert_eq!(after.gets_fail, before.gets_fail + 1, "etcd's probe counts");
        let s = AuthStore::new(&b);
        s.create(&user_path("u"), &User::default()).await.unwrap();
        let stats = b.with(|s| s.stats());
        assert_eq!(stats.gets_fail, after.gets_fail, "no gets for the dirs");
        assert_eq!(stats.create_success, after.create_success + 5);
    }

    #[tokio::test]
    async fn replication_failures_are_internal_errors() {
        let b = Local::failing();
        let s = AuthStore::new(&b);
        match s.create(&role_path("r"), &Role::default()).await {
            Err(AuthError::Internal(m)) => assert_eq!(m, "etcdserver: request timed out"),
            other => panic!("{other:?}"),
        }
    }
}
