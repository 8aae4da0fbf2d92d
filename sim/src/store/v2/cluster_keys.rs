//! Where the server keeps cluster data in the `/0` namespace (etcd's membership
//! store keys), so bootstrap and membership changes land on the same paths and
//! indices as in etcd.
//!
//! etcd 3.4 writes, through the ordinary store operations:
//! - on each member added (bootstrap conf changes included): **create**
//!   [`raft_attributes_key`] with `{"peerURLs":[...]}`;
//! - when a member publishes itself: **set** [`attributes_key`] with
//!   `{"name":"...","clientURLs":[...]}`;
//! - when the cluster version is decided: **set** [`CLUSTER_VERSION_KEY`] to e.g. `3.4.0`;
//! - on a member update: **update** [`raft_attributes_key`];
//! - on a member removal: **delete** [`member_key`] (recursive) and **create**
//!   [`removed_member_key`] with an empty value.
//!
//! So a fresh one-member cluster sits at index 3 (create, set, set) and a
//! three-member one at 7.

use super::path::MEMBERS_NAMESPACE;

/// The directory of all members: `/0/members`.
pub const MEMBERS_KEY: &str = "/0/members";
/// The directory of removed member ids: `/0/removed_members`.
pub const REMOVED_MEMBERS_KEY: &str = "/0/removed_members";
/// The cluster version: `/0/version`.
pub const CLUSTER_VERSION_KEY: &str = "/0/version";

/// A member id as etcd prints it: lowercase hex, no padding.
pub fn member_id_string(id: u64) -> String {
    format!("{id:x}")
}

/// A member's directory: `/0/members/<hex id>`.
pub fn member_key(id: u64) -> String {
    format!("{MEMBERS_NAMESPACE}/members/{}", member_id_string(id))
}

/// A member's raft attributes (peer URLs): `/0/members/<hex id>/raftAttributes`.
pub fn raft_attributes_key(id: u64) -> String {
    format!("{}/raftAttributes", member_key(id))
}

/// A member's attributes (name, client URLs): `/0/members/<hex id>/attributes`.
pub fn attributes_key(id: u64) -> String {
    format!("{}/attributes", member_key(id))
}

/// The marker of a removed member: `/0/removed_members/<hex id>`.
pub fn removed_member_key(id: u64) -> String {
    format!("{REMOVED_MEMBERS_KEY}/{}", member_id_string(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_etcd() {
        let id = 0xf4a4_5700_8d14_41f2;
        assert_eq!(member_key(id), "/0/members/f4a457008d1441f2");
        assert_eq!(
            raft_attributes_key(id),
            "/0/members/f4a457008d1441f2/raftAttributes"
        );
        assert_eq!(attributes_key(id), "/0/members/f4a457008d1441f2/attributes");
        assert_eq!(removed_member_key(0xabc), "/0/removed_members/abc");
    }
}
