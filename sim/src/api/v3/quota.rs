//! The backend quota check before a write is proposed (etcd's `quotaKVServer`
//! and `quotaLeaseServer`): a Put, a Txn with puts or a LeaseGrant that would
//! take the member's db size to the quota raises a NOSPACE alarm for this
//! member through Raft and is refused with "database space exceeded".

use super::error::etcd_status;
use crate::server::v3_backend::V3Backend;
use crate::server::v3_quota::{Costed, fits};
use etcd_sdk::v3::EtcdError;
use etcd_sdk::v3::pb::etcdserverpb::{
    AlarmRequest, AlarmType, InternalRaftRequest, alarm_request::AlarmAction,
};
use etcd_sdk::v3::tonic::Status;

/// Checks `write` against the quota; when it does not fit, raises NOSPACE (the
/// proposal's own outcome is not waited on for the answer, as etcd ignores it)
/// and refuses.
///
/// # Errors
///
/// ResourceExhausted "etcdserver: mvcc: database space exceeded".
pub async fn check_quota(backend: &dyn V3Backend, write: Costed<'_>) -> Result<(), Status> {
    let quota = backend.limits().quota_backend_bytes;
    let cost = write.cost();
    if quota.is_none() || cost == 0 {
        return Ok(());
    }
    let db_size = {
        let stores = backend.v3_stores();
        let mut stores = stores.lock().unwrap_or_else(|p| p.into_inner());
        stores.db_size()
    };
    if fits(quota, db_size, cost) {
        return Ok(());
    }
    let alarm = InternalRaftRequest {
        alarm: Some(AlarmRequest {
            action: AlarmAction::Activate as i32,
            member_id: backend.header().member_id,
            alarm: AlarmType::Nospace as i32,
        }),
        ..Default::default()
    };
    if let Err(e) = backend.propose_v3(alarm).await {
        tracing::warn!(error = %e, "quota: NOSPACE alarm not raised");
    }
    Err(etcd_status(EtcdError::NoSpace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::v3_backend::V3Limits;
    use crate::server::v3_testing::LocalV3;
    use etcd_sdk::v3::pb::etcdserverpb::PutRequest;
    use etcd_sdk::v3::tonic::Code;

    #[tokio::test]
    async fn a_write_over_the_quota_raises_nospace_and_is_refused() {
        let b = LocalV3::with_limits(V3Limits {
            quota_backend_bytes: Some(30_000),
            ..V3Limits::default()
        });
        let small = PutRequest {
            key: b"k".to_vec(),
            value: vec![0; 100],
            ..Default::default()
        };
        check_quota(&b, Costed::Put(&small)).await.unwrap();
        check_quota(&b, Costed::Txn(&Default::default()))
            .await
            .unwrap();
        let big = PutRequest {
            value: vec![0; 10_000],
            ..small
        };
        let e = check_quota(&b, Costed::Put(&big)).await.unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (
                Code::ResourceExhausted,
                "etcdserver: mvcc: database space exceeded"
            )
        );
        let stores = b.v3_stores();
        let stores = stores.lock().unwrap();
        assert!(stores.alarms.has(AlarmType::Nospace));
        assert_eq!(
            stores.alarms.get(0)[0].member_id,
            crate::server::v3_testing::MEMBER_ID
        );
    }
}
