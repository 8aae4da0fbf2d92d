//! Store statistics, served at `/v2/stats/store` (etcd's v2store `Stats`).
//!
//! etcd's counting is reproduced as it is, including its accidents:
//! - a failed create whose path walk hits a file (104) counts as a create failure
//!   **and** a set failure;
//! - some failures count as successes, because etcd returns those errors without
//!   recording them in the variable its deferred counter reads: a 107 (read-only
//!   root) from update, compareAndSwap or delete; update of a directory with a
//!   value (102); a failed comparison (101) in compareAndSwap; and compareAndDelete
//!   on a directory (102) or with a failed comparison (101).

use serde::{Deserialize, Serialize};

/// The counters, in etcd's JSON field order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Successful gets.
    #[serde(rename = "getsSuccess")]
    pub gets_success: u64,
    /// Failed gets.
    #[serde(rename = "getsFail")]
    pub gets_fail: u64,
    /// Successful sets.
    #[serde(rename = "setsSuccess")]
    pub sets_success: u64,
    /// Failed sets (and creates whose path walk failed).
    #[serde(rename = "setsFail")]
    pub sets_fail: u64,
    /// Successful deletes.
    #[serde(rename = "deleteSuccess")]
    pub delete_success: u64,
    /// Failed deletes.
    #[serde(rename = "deleteFail")]
    pub delete_fail: u64,
    /// Successful updates.
    #[serde(rename = "updateSuccess")]
    pub update_success: u64,
    /// Failed updates.
    #[serde(rename = "updateFail")]
    pub update_fail: u64,
    /// Successful creates.
    #[serde(rename = "createSuccess")]
    pub create_success: u64,
    /// Failed creates.
    #[serde(rename = "createFail")]
    pub create_fail: u64,
    /// Successful compareAndSwaps.
    #[serde(rename = "compareAndSwapSuccess")]
    pub compare_and_swap_success: u64,
    /// Failed compareAndSwaps.
    #[serde(rename = "compareAndSwapFail")]
    pub compare_and_swap_fail: u64,
    /// Successful compareAndDeletes.
    #[serde(rename = "compareAndDeleteSuccess")]
    pub compare_and_delete_success: u64,
    /// Failed compareAndDeletes.
    #[serde(rename = "compareAndDeleteFail")]
    pub compare_and_delete_fail: u64,
    /// Nodes removed by expiry.
    #[serde(rename = "expireCount")]
    pub expire_count: u64,
    /// Watchers registered right now.
    #[serde(rename = "watchers")]
    pub watchers: u64,
}

impl StoreStats {
    /// The JSON body of `/v2/stats/store` (Go encoding, no trailing newline).
    pub fn to_json(&self) -> Vec<u8> {
        etcd_sdk::wire::to_go_json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_field_order_matches_etcd() {
        let s = StoreStats {
            gets_success: 1,
            watchers: 2,
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(s.to_json()).unwrap(),
            "{\"getsSuccess\":1,\"getsFail\":0,\"setsSuccess\":0,\"setsFail\":0,\"deleteSuccess\":0,\
             \"deleteFail\":0,\"updateSuccess\":0,\"updateFail\":0,\"createSuccess\":0,\"createFail\":0,\
             \"compareAndSwapSuccess\":0,\"compareAndSwapFail\":0,\"compareAndDeleteSuccess\":0,\
             \"compareAndDeleteFail\":0,\"expireCount\":0,\"watchers\":2}"
        );
    }
}
