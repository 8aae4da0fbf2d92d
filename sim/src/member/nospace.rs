//! Raising NOSPACE for a write that outgrew the backend quota when it was
//! applied (etcd's `applyEntryNormal`): the applier tells the member
//! ([`crate::server::v3_state::V3Stores::nospace`]), and the member proposes a
//! NOSPACE alarm for itself unless one is active by then.

use super::v3_backend::MemberV3;
use crate::server::v3_backend::V3Backend as _;
use etcd_sdk::v3::pb::etcdserverpb::{
    AlarmRequest, AlarmType, InternalRaftRequest, alarm_request::AlarmAction,
};
use std::sync::Arc;
use tokio::sync::mpsc::UnboundedReceiver;

/// The alarm request raising NOSPACE for `member_id`.
pub fn nospace_alarm(member_id: u64) -> InternalRaftRequest {
    InternalRaftRequest {
        alarm: Some(AlarmRequest {
            action: AlarmAction::Activate as i32,
            member_id,
            alarm: AlarmType::Nospace as i32,
        }),
        ..Default::default()
    }
}

/// Proposes a NOSPACE alarm for this member each time the applier asks and
/// none is active; requests that queued meanwhile are served by one proposal.
/// Ends when the applier's side is dropped.
pub(crate) async fn raise_when_told(mut told: UnboundedReceiver<()>, v3: Arc<MemberV3>) {
    while told.recv().await.is_some() {
        while told.try_recv().is_ok() {}
        let active = {
            let stores = v3.stores.lock().unwrap_or_else(|p| p.into_inner());
            stores.alarms.has(AlarmType::Nospace)
        };
        if active {
            continue;
        }
        if let Err(e) = v3.propose_v3(nospace_alarm(v3.id)).await {
            tracing::warn!(error = %e, "quota: NOSPACE alarm not raised");
        }
    }
}
