//! What a member replicates through Raft ([`Entry`]) and what applying an entry
//! gives its proposer ([`Applied`]).

use crate::api::v2::members::MembersError;
use crate::server::v2_command::V2Proposal;
use crate::store::v2::{Reply, StoreError};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// A replicated entry (JSON in the Raft log).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Entry {
    /// A v2 keys write, quorum read or expiry sweep.
    V2(V2Proposal),
    /// A member publishes its name and client URLs after it starts (etcd's
    /// `publish`): **set** `/0/members/<id>/attributes`.
    Publish {
        /// The member.
        id: u64,
        /// Its name.
        name: String,
        /// Its client URLs.
        client_urls: Vec<String>,
        /// The proposer's clock.
        now: SystemTime,
    },
    /// The leader decides the cluster version: **set** `/0/version`, unless it
    /// already holds this version.
    ClusterVersion {
        /// E.g. `3.4.0`.
        version: String,
        /// The proposer's clock.
        now: SystemTime,
    },
    /// `PUT /v2/members/<id>`: **update** `/0/members/<id>/raftAttributes` (raft-rs
    /// has no update-node configuration change).
    UpdatePeerUrls {
        /// The member.
        id: u64,
        /// Its new peer URLs.
        peer_urls: Vec<String>,
        /// The proposer's clock.
        now: SystemTime,
    },
}

impl Entry {
    /// The bytes for the log.
    pub fn encode(&self) -> Vec<u8> {
        // Plain data: encoding into memory cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes log bytes.
    ///
    /// # Errors
    ///
    /// The JSON error.
    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The result of applying an [`Entry`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A v2 entry: the reply of a write or quorum read, `None` for a sweep.
    V2(Box<Option<Result<Reply, StoreError>>>),
    /// A membership entry: done, or refused.
    Membership(Result<(), MembersError>),
    /// The entry could not be decoded (logged; nothing changed).
    Undecodable,
}
