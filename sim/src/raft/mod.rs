//! The consensus layer: raft-rs driven by ticks, persisted through a [`Disk`], talking
//! to peers over `tokio::net` (simulated by madsim in sim builds).
//!
//! - [`RaftNode`] ([`node`]): start a node, propose, read-index, change membership,
//!   watch its [`NodeStatus`]; the driver task behind it lives in `driver`.
//! - [`StateMachine`]: what the node applies committed entries to.
//! - [`disk`]: the [`Disk`] trait, [`MemDisk`] and the crash-simulating [`SimDisk`].
//! - `file_disk` (real builds): `FileDisk`, the WAL and snapshot files in a data dir.
//! - [`storage`]: raft-rs's `Storage` over a disk, and log compaction.
//! - [`transport`]: peer messages over long-lived TCP streams (one per peer), pings
//!   and removal notices; `peer_stream` dials, `peer_accept` accepts; [`frame`]: the
//!   length-prefixed frames, read as they arrive.
//! - [`peer_activity`]: which peers this node has heard from, and since when.
//! - [`membership`]: membership changes and the peer address book.
//! - [`config`]: [`RaftConfig`] with etcd's defaults.
//! - [`standalone`]: etcd's `--force-new-cluster`, done to a disk before the node starts.
//! - [`panic_scope`]: which member a thread is running, and what a panic of its task does.

pub mod config;
mod datagram;
pub mod disk;
mod driver;
pub mod error;
#[cfg(not(madsim))]
pub mod file_disk;
pub mod frame;
pub mod logger;
pub mod membership;
pub mod node;
pub mod panic_scope;
mod peer_accept;
pub mod peer_activity;
mod peer_stream;
mod pending;
pub mod standalone;
pub mod state_machine;
pub mod status;
pub mod storage;
pub mod transport;

pub use config::{PeerTransportKind, RaftConfig};
pub use disk::{Disk, DiskError, DiskOp, LogState, MemDisk, SimDisk, SimDiskStats};
pub use error::RaftError;
#[cfg(not(madsim))]
pub use file_disk::{FileDisk, FileDiskOptions};
pub use membership::{AddressBook, ChangeKind, MembershipChange, MembershipEvent};
pub use node::RaftNode;
pub use peer_activity::PeerActivity;
pub use raft::eraftpb::ConfState;
pub use state_machine::StateMachine;
pub use status::{NodeStatus, Role};
pub use storage::{Bootstrap, CompactionPolicy, DiskStorage};
