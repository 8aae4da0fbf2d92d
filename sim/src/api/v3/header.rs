//! Response headers (§2.11): etcd's `hdr.fill` sets the cluster id, member id and
//! Raft term, and the current revision when the response has none yet. Watch
//! responses keep the revision the watchable store set (0 on a compaction
//! cancel); nested Txn responses keep what the applier set (they are not filled).

use etcd_sdk::v3::pb::etcdserverpb::ResponseHeader;

/// Fills `header` from `member` (the backend's header: ids, term, current
/// revision): ids and term always, the revision only when it is 0.
pub fn fill(header: &mut Option<ResponseHeader>, member: &ResponseHeader) {
    let h = header.get_or_insert_with(ResponseHeader::default);
    stamp_ids(h, member);
    if h.revision == 0 {
        h.revision = member.revision;
    }
}

/// A full header from `member` with `revision` (a local read's revision).
pub fn at_revision(member: &ResponseHeader, revision: i64) -> Option<ResponseHeader> {
    let mut h = Some(ResponseHeader {
        revision,
        ..ResponseHeader::default()
    });
    fill(&mut h, member);
    h
}

/// Sets the ids and term of `header` from `member`; the revision stays.
pub fn stamp_ids(header: &mut ResponseHeader, member: &ResponseHeader) {
    header.cluster_id = member.cluster_id;
    header.member_id = member.member_id;
    header.raft_term = member.raft_term;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> ResponseHeader {
        ResponseHeader {
            cluster_id: 1,
            member_id: 2,
            revision: 9,
            raft_term: 3,
        }
    }

    #[test]
    fn fill_keeps_a_set_revision_and_sets_a_missing_one() {
        let mut h = Some(ResponseHeader {
            revision: 4,
            ..Default::default()
        });
        fill(&mut h, &member());
        assert_eq!(
            h,
            Some(ResponseHeader {
                cluster_id: 1,
                member_id: 2,
                revision: 4,
                raft_term: 3
            })
        );
        let mut none = None;
        fill(&mut none, &member());
        assert_eq!(none.map(|h| h.revision), Some(9));
        let mut zero = ResponseHeader::default();
        stamp_ids(&mut zero, &member());
        assert_eq!((zero.revision, zero.member_id), (0, 2));
        assert_eq!(at_revision(&member(), 5).map(|h| h.revision), Some(5));
    }
}
