//! The generated v3 gRPC code under madsim: a generated `KvServer` on one simulated
//! node answers the generated `KvClient` on another, so the sim-mode codegen is usable.
#![cfg(madsim)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use etcd_sdk::v3::pb::etcdserverpb::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, ResponseHeader, TxnRequest, TxnResponse,
    kv_client::KvClient,
    kv_server::{Kv, KvServer},
};
use etcd_sdk::v3::pb::mvccpb::KeyValue;
use madsim::runtime::Handle;
use tonic::transport::{Endpoint, Server};
use tonic::{Request, Response, Status};

/// An in-memory map with a revision counter: answers Put and single-key Range only.
#[derive(Default)]
struct MapKv {
    state: Mutex<(i64, BTreeMap<Vec<u8>, KeyValue>)>,
}

fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        cluster_id: 1,
        member_id: 1,
        revision,
        raft_term: 1,
    })
}

#[tonic::async_trait]
impl Kv for MapKv {
    async fn range(&self, req: Request<RangeRequest>) -> Result<Response<RangeResponse>, Status> {
        let state = self.state.lock().unwrap();
        let kvs: Vec<KeyValue> = state
            .1
            .get(&req.get_ref().key)
            .cloned()
            .into_iter()
            .collect();
        Ok(Response::new(RangeResponse {
            header: header(state.0),
            count: kvs.len() as i64,
            kvs,
            more: false,
        }))
    }

    async fn put(&self, req: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        let req = req.into_inner();
        let mut state = self.state.lock().unwrap();
        state.0 += 1;
        let revision = state.0;
        let prev = state.1.get(&req.key).cloned();
        let kv = KeyValue {
            key: req.key.clone(),
            create_revision: prev.as_ref().map_or(revision, |p| p.create_revision),
            mod_revision: revision,
            version: prev.as_ref().map_or(1, |p| p.version + 1),
            value: req.value,
            lease: req.lease,
        };
        state.1.insert(req.key, kv);
        Ok(Response::new(PutResponse {
            header: header(revision),
            prev_kv: prev.filter(|_| req.prev_kv),
        }))
    }

    async fn delete_range(
        &self,
        _req: Request<DeleteRangeRequest>,
    ) -> Result<Response<DeleteRangeResponse>, Status> {
        Err(Status::unimplemented("not used by this test"))
    }

    async fn txn(&self, _req: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        Err(Status::unimplemented("not used by this test"))
    }

    async fn compact(
        &self,
        _req: Request<CompactionRequest>,
    ) -> Result<Response<CompactionResponse>, Status> {
        Err(Status::unimplemented("not used by this test"))
    }
}

#[madsim::test]
async fn generated_server_and_client_talk_in_sim() {
    let handle = Handle::current();
    let addr: SocketAddr = "10.0.0.1:2379".parse().unwrap();
    handle
        .create_node()
        .name("server")
        .ip(addr.ip())
        .init(move || async move {
            Server::builder()
                .add_service(KvServer::new(MapKv {
                    state: Mutex::new((1, BTreeMap::new())),
                }))
                .serve(addr)
                .await
                .unwrap();
        })
        .build();
    let client = handle
        .create_node()
        .name("client")
        .ip("10.0.0.2".parse().unwrap())
        .build();

    client
        .spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let channel = Endpoint::from_static("http://10.0.0.1:2379")
                .connect()
                .await
                .unwrap();
            let mut kv = KvClient::new(channel);
            for (value, revision) in [("bar", 2), ("baz", 3)] {
                let put = kv
                    .put(PutRequest {
                        key: "foo".into(),
                        value: value.into(),
                        prev_kv: true,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(put.header.unwrap().revision, revision);
                assert_eq!(put.prev_kv.is_some(), revision == 3);
            }
            let range = kv
                .range(RangeRequest {
                    key: "foo".into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(range.count, 1);
            let got = &range.kvs[0];
            assert_eq!(got.value, b"baz");
            assert_eq!(
                (got.create_revision, got.mod_revision, got.version),
                (2, 3, 2)
            );

            let err = kv.txn(TxnRequest::default()).await.unwrap_err();
            assert_eq!(err.code(), tonic::Code::Unimplemented);
        })
        .await
        .unwrap();
}
