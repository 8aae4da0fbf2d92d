//! Code generated from proto/ by madsim-tonic-build: one module per proto package,
//! each with its messages, a `*_client` module per service (e.g.
//! `etcdserverpb::kv_client::KvClient`) and a `*_server` module per service. In
//! real builds it is tonic over HTTP/2; in sim builds (`--cfg madsim`) madsim's
//! simulated gRPC.

/// Package `etcdserverpb`: the KV, Watch, Lease, Cluster, Maintenance and Auth services.
#[allow(missing_docs)]
pub mod etcdserverpb {
    tonic::include_proto!("etcdserverpb");
}

/// Package `mvccpb`: `KeyValue` and watch `Event`.
#[allow(missing_docs)]
pub mod mvccpb {
    tonic::include_proto!("mvccpb");
}

/// Package `authpb`: users, roles and permissions.
#[allow(missing_docs)]
pub mod authpb {
    tonic::include_proto!("authpb");
}

/// Package `v3lockpb`: the Lock service.
#[allow(missing_docs)]
pub mod v3lockpb {
    tonic::include_proto!("v3lockpb");
}

/// Package `v3electionpb`: the Election service.
#[allow(missing_docs)]
pub mod v3electionpb {
    tonic::include_proto!("v3electionpb");
}

/// Package `grpc.health.v1`: gRPC's standard health service, which etcd serves
/// on its client port (service `""` is SERVING).
#[allow(missing_docs)]
pub mod grpc_health_v1 {
    tonic::include_proto!("grpc.health.v1");
}

#[cfg(test)]
mod tests {
    use super::etcdserverpb::{Compare, LeaseGrantRequest, RangeRequest, WatchResponse, compare};
    use super::mvccpb::Event;
    use prost::Message;

    #[test]
    fn range_request_field_tags() {
        let req = RangeRequest {
            key: b"a".to_vec(),
            range_end: b"b".to_vec(),
            limit: 5,
            revision: 7,
            serializable: true,
            ..Default::default()
        };
        // tag = field number << 3 | wire type (2 = length-delimited, 0 = varint).
        assert_eq!(
            req.encode_to_vec(),
            vec![0x0a, 1, b'a', 0x12, 1, b'b', 0x18, 5, 0x20, 7, 0x38, 1]
        );
        assert_eq!(RangeRequest::decode(&req.encode_to_vec()[..]).unwrap(), req);
    }

    #[test]
    fn compare_range_end_is_field_64_and_oneof_value_is_7() {
        let cmp = Compare {
            result: compare::CompareResult::NotEqual as i32,
            target: compare::CompareTarget::Value as i32,
            key: b"k".to_vec(),
            range_end: b"z".to_vec(),
            target_union: Some(compare::TargetUnion::Value(b"v".to_vec())),
        };
        // 64 << 3 | 2 = 514, a two-byte varint 0x82 0x04; emitted in field order.
        assert_eq!(
            cmp.encode_to_vec(),
            vec![
                0x08, 3, 0x10, 3, 0x1a, 1, b'k', 0x3a, 1, b'v', 0x82, 0x04, 1, b'z'
            ]
        );
    }

    #[test]
    fn watch_events_are_field_11_and_lease_ttl_is_field_1() {
        let resp = WatchResponse {
            watch_id: 1,
            events: vec![Event::default()],
            ..Default::default()
        };
        // watch_id = 2 (varint), events = 11 (length-delimited, empty message).
        assert_eq!(resp.encode_to_vec(), vec![0x10, 1, 0x5a, 0]);

        let grant = LeaseGrantRequest { ttl: 9, id: 3 };
        assert_eq!(grant.encode_to_vec(), vec![0x08, 9, 0x10, 3]);
    }
}
