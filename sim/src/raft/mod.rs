//! The consensus layer: raft-rs driven by ticks, persisted through a [`Disk`].
//!
//! - [`disk`]: the [`Disk`] trait, [`MemDisk`] and the crash-simulating [`SimDisk`].
//! - [`storage`]: raft-rs's `Storage` over a disk, and log compaction.

pub mod disk;
pub mod storage;

pub use disk::{Disk, DiskError, DiskOp, LogState, MemDisk, SimDisk, SimDiskStats};
pub use storage::{CompactionPolicy, DiskStorage};
