//! What a member replicates through Raft ([`Entry`]) and what applying an entry
//! gives its proposer ([`Applied`]).

use crate::api::v2::members::MembersError;
use crate::server::v2_command::{V2Command, V2Proposal};
use crate::server::v3_command::{V3Applied, V3ApplyError};
use crate::store::v2::{Reply, StoreError};
use etcd_sdk::v3::pb::etcdserverpb::InternalRaftRequest;
use prost::Message;
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// The first byte of a v3 entry's encoding (then etcd's `InternalRaftRequest` in
/// protobuf). The other entries are JSON, whose first byte is `{` or `"`.
const V3_TAG: u8 = 0x03;

/// Log bytes that are not an [`Entry`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A JSON entry that does not parse.
    #[error("undecodable entry")]
    Json(#[source] serde_json::Error),
    /// A v3 entry whose protobuf does not parse.
    #[error("undecodable v3 entry")]
    Protobuf(#[source] prost::DecodeError),
}

/// An [`Entry`] that cannot be encoded (serde refuses a time before 1970, for
/// one): nothing is proposed, and the proposer gets the error.
#[derive(Debug, thiserror::Error)]
#[error("the log entry cannot be encoded")]
pub struct EncodeError(#[source] serde_json::Error);

/// Bytes of JSON around an entry's strings (field names, numbers, times).
const ENCODING_OVERHEAD: usize = 256;

/// A replicated entry (JSON in the Raft log, but for [`Entry::V3`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    /// A v3 request (etcd's log entry for the v3 API), encoded as protobuf behind
    /// a tag byte, not as JSON.
    #[serde(skip)]
    V3(Box<InternalRaftRequest>),
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
    /// The primary lessor's revoke of an expired lease: applied as a LeaseRevoke
    /// only when the log holds it at the term its proposer led in. A leader that
    /// was deposed without knowing it (paused, cut off) may still find leases
    /// expired by its own clock, which the new leader keeps alive; its proposal,
    /// forwarded to the new leader or retried there, lands at a later term and is
    /// refused on every member alike.
    LeaseExpired {
        /// The term the proposer led in when it found the lease expired.
        term: u64,
        /// The lease.
        id: i64,
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
    /// The bytes for the log, in a buffer sized for them up front (a large value
    /// is written once, not regrown and copied).
    ///
    /// # Errors
    ///
    /// [`EncodeError`] when serde refuses a field (a time before 1970).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        if let Entry::V3(req) = self {
            let mut out = Vec::with_capacity(1 + req.encoded_len());
            out.push(V3_TAG);
            // Into a Vec, which grows as needed: protobuf encoding cannot fail.
            req.encode_raw(&mut out);
            return Ok(out);
        }
        let mut out = Vec::with_capacity(self.size_hint());
        serde_json::to_writer(&mut out, self).map_err(EncodeError)?;
        Ok(out)
    }

    /// About how many bytes the encoding takes (exact for strings that need no
    /// escaping, plus a little).
    fn size_hint(&self) -> usize {
        let strings = match self {
            Entry::V3(req) => req.encoded_len(),
            Entry::V2(p) => match &p.command {
                V2Command::Set { path, value, .. }
                | V2Command::Create { path, value, .. }
                | V2Command::Update { path, value, .. } => path.len() + value.len(),
                V2Command::CompareAndSwap {
                    path,
                    prev_value,
                    value,
                    ..
                } => path.len() + prev_value.len() + value.len(),
                V2Command::CompareAndDelete {
                    path, prev_value, ..
                } => path.len() + prev_value.len(),
                V2Command::Delete { path, .. } | V2Command::QuorumGet { path, .. } => path.len(),
                V2Command::Sync { .. } => 0,
            },
            Entry::Publish {
                name, client_urls, ..
            } => name.len() + client_urls.iter().map(|u| u.len() + 3).sum::<usize>(),
            Entry::ClusterVersion { version, .. } => version.len(),
            Entry::LeaseExpired { .. } => 0,
            Entry::UpdatePeerUrls { peer_urls, .. } => {
                peer_urls.iter().map(|u| u.len() + 3).sum::<usize>()
            }
        };
        strings + ENCODING_OVERHEAD
    }

    /// Decodes log bytes.
    ///
    /// # Errors
    ///
    /// [`DecodeError`]: the JSON or protobuf error.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        match bytes.split_first() {
            Some((&V3_TAG, rest)) => InternalRaftRequest::decode(rest)
                .map(|r| Entry::V3(Box::new(r)))
                .map_err(DecodeError::Protobuf),
            _ => serde_json::from_slice(bytes).map_err(DecodeError::Json),
        }
    }
}

/// The result of applying an [`Entry`].
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    /// A v3 entry: its response, or why it was refused.
    V3(Box<Result<V3Applied, V3ApplyError>>),
    /// A v2 entry: the reply of a write or quorum read, `None` for a sweep.
    V2(Box<Option<Result<Reply, StoreError>>>),
    /// A membership entry: done, or refused.
    Membership(Result<(), MembersError>),
    /// The entry could not be decoded (logged; nothing changed).
    Undecodable,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn set(value: &str, now: SystemTime) -> Entry {
        Entry::V2(V2Proposal {
            command: V2Command::Set {
                path: "/1/k".into(),
                dir: false,
                value: value.into(),
                expire: None,
                refresh: false,
            },
            now,
        })
    }

    #[test]
    fn an_unencodable_entry_is_an_error_not_empty_bytes() {
        let before_1970 = UNIX_EPOCH - Duration::from_secs(1);
        let err = set("v", before_1970).encode().unwrap_err();
        assert!(
            std::error::Error::source(&err).is_some(),
            "the cause is kept"
        );
        let version = Entry::ClusterVersion {
            version: "3.4.0".into(),
            now: before_1970,
        };
        assert!(version.encode().is_err());
    }

    #[test]
    fn entries_round_trip_in_a_buffer_sized_up_front() {
        let value = "x".repeat(100_000);
        let entry = set(&value, UNIX_EPOCH + Duration::from_secs(1));
        let bytes = entry.encode().unwrap();
        assert!(
            bytes.capacity() <= entry.size_hint(),
            "{} bytes in {}: no regrowth",
            bytes.len(),
            bytes.capacity()
        );
        assert_eq!(Entry::decode(&bytes).unwrap(), entry);
    }

    #[test]
    fn v3_entries_are_tagged_protobuf_and_round_trip() {
        use etcd_sdk::v3::pb::etcdserverpb::PutRequest;
        let entry = Entry::V3(Box::new(InternalRaftRequest {
            put: Some(PutRequest {
                key: b"k".to_vec(),
                value: vec![0xff; 1000],
                ..Default::default()
            }),
            ..Default::default()
        }));
        let bytes = entry.encode().unwrap();
        assert_eq!(bytes[0], V3_TAG);
        assert!(bytes.len() < 1100, "binary, not JSON: {}", bytes.len());
        assert_eq!(Entry::decode(&bytes).unwrap(), entry);
        assert!(matches!(
            Entry::decode(&[V3_TAG, 0x22, 0x05]),
            Err(DecodeError::Protobuf(_))
        ));
        assert!(matches!(Entry::decode(b"{"), Err(DecodeError::Json(_))));
    }

    #[test]
    fn lease_expiries_round_trip_with_their_term() {
        let entry = Entry::LeaseExpired {
            term: 7,
            id: i64::MAX,
        };
        assert_eq!(Entry::decode(&entry.encode().unwrap()).unwrap(), entry);
    }
}
