//! A single-member stand-in for tests: every proposal is applied at once.

use crate::server::backend::{RaftStatus, ReplicationError, V2Backend};
use crate::server::v2_command::{V2Command, V2Proposal, apply};
use crate::store::v2::{Reply, Store, StoreError};
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One member that applies every command at once (or fails them all).
pub(crate) struct Local {
    store: Arc<Mutex<Store>>,
    /// When set, every proposal fails with it.
    pub(crate) fail: Option<ReplicationError>,
}

impl Local {
    /// A fresh store.
    pub(crate) fn new() -> Self {
        Local {
            store: Arc::new(Mutex::new(Store::new())),
            fail: None,
        }
    }

    /// A member whose proposals all time out.
    pub(crate) fn failing() -> Self {
        Local {
            fail: Some(ReplicationError::timed_out()),
            ..Local::new()
        }
    }

    /// Runs `f` on the store.
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        f(&mut self.store.lock().unwrap())
    }

    /// The store index.
    pub(crate) fn index(&self) -> u64 {
        self.with(|s| s.index())
    }

    /// The value at an internal path.
    pub(crate) fn peek(&self, path: &str) -> Option<String> {
        self.with(|s| s.get(path, false, UNIX_EPOCH).ok())
            .and_then(|r| r.event.node)
            .and_then(|n| n.value)
    }
}

#[async_trait]
impl V2Backend for Local {
    async fn propose_v2(
        &self,
        command: V2Command,
        now: SystemTime,
    ) -> Result<Result<Reply, StoreError>, ReplicationError> {
        if let Some(e) = &self.fail {
            return Err(e.clone());
        }
        let mut store = self.store.lock().unwrap();
        Ok(apply(&mut store, V2Proposal { command, now }).expect("not a sync"))
    }

    fn v2_store(&self) -> Arc<Mutex<Store>> {
        self.store.clone()
    }

    fn cluster_id(&self) -> u64 {
        0xcdf818194e3a8c32
    }

    fn raft_status(&self) -> RaftStatus {
        RaftStatus {
            commit_index: 9,
            term: 2,
        }
    }

    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_215_679)
    }
}
