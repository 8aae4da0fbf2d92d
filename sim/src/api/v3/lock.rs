//! The `v3lockpb.Lock` service (etcd 3.4's `v3lock/lock.go`): a lock is the
//! SDK's [`Mutex`] on the request's name, over a session on the caller's
//! lease, driven by a client of the member's own v3 API ([`super::own_client`]).
//!
//! - Lock(name, lease): waits until `<name>/<lease hex>` is the oldest key under
//!   `<name>/` and answers that key and the header. The session does not keep
//!   the lease alive and never revokes it (etcd orphans it at once); lease 0
//!   makes a new 60 s lease, as etcd does. A lease that does not exist:
//!   Unknown "etcdserver: requested lease not found". When the caller goes
//!   away (or its `grpc-timeout` passes) while it waits, its key is deleted.
//! - Unlock(key): deletes the key, whoever holds it.
//!
//! Every failure is code Unknown with the inner text, as live etcd answers
//! ([`concurrency_status`]). A learner refuses both.

use super::learner::{Rpc, check_learner};
use super::own_client::{CallerLease, OwnClient, concurrency_status, request_context, text};
use crate::server::v3_backend::V3Backend;
use etcd_sdk::v3::concurrency::{Mutex, Session, SessionOptions};
use etcd_sdk::v3::pb::v3lockpb::lock_server::Lock;
use etcd_sdk::v3::pb::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse};
use etcd_sdk::v3::tonic::{self, Request, Response, Status};
use etcd_sdk::v3::{DeleteOptions, KV};
use std::sync::Arc;

/// The Lock service of one member.
#[derive(Clone)]
pub struct LockService {
    backend: Arc<dyn V3Backend>,
    client: OwnClient,
}

impl LockService {
    /// The service of the member behind `backend`, calling its v3 API with
    /// `client`.
    pub fn new(backend: Arc<dyn V3Backend>, client: OwnClient) -> LockService {
        LockService { backend, client }
    }
}

#[tonic::async_trait]
impl Lock for LockService {
    async fn lock(&self, request: Request<LockRequest>) -> Result<Response<LockResponse>, Status> {
        check_learner(&*self.backend, Rpc::Other)?;
        let ctx = request_context(request.metadata());
        let client = CallerLease(self.client.for_caller(request.metadata()).await?);
        let req = request.into_inner();
        let session = Session::with_options(
            client,
            SessionOptions::new()
                .with_lease(req.lease)
                .with_context(ctx.clone()),
        )
        .await
        .map_err(|e| concurrency_status(&e))?;
        let mut mutex = Mutex::new(&session, text(&req.name));
        mutex.lock(&ctx).await.map_err(|e| concurrency_status(&e))?;
        Ok(Response::new(LockResponse {
            header: mutex.header().cloned(),
            key: mutex.key().as_bytes().to_vec(),
        }))
    }

    async fn unlock(
        &self,
        request: Request<UnlockRequest>,
    ) -> Result<Response<UnlockResponse>, Status> {
        check_learner(&*self.backend, Rpc::Other)?;
        let ctx = request_context(request.metadata());
        let client = self.client.for_caller(request.metadata()).await?;
        let req = request.into_inner();
        let resp = ctx
            .run(async { Ok(client.delete(req.key, DeleteOptions::default()).await?) })
            .await
            .map_err(|e| concurrency_status(&e))?;
        Ok(Response::new(UnlockResponse {
            header: resp.header,
        }))
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::super::own_client::serve_local;
    use crate::server::v3_testing::LocalV3;
    use etcd_sdk::v3::pb::v3lockpb::lock_client::LockClient;
    use etcd_sdk::v3::pb::v3lockpb::{LockRequest, UnlockRequest};
    use etcd_sdk::v3::tonic::Code;
    use etcd_sdk::v3::tonic::transport::Channel;
    use etcd_sdk::v3::{Client, Lease};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    async fn lock(lc: &LockClient<Channel>, name: &str, lease: i64) -> Vec<u8> {
        let req = LockRequest {
            name: name.into(),
            lease,
        };
        lc.clone().lock(req).await.unwrap().into_inner().key
    }

    #[tokio::test]
    async fn a_second_locker_waits_for_the_unlock() {
        let url = serve_local(Arc::new(LocalV3::new())).await;
        let client = Client::connect([url.clone()]).await.unwrap();
        let lc = LockClient::connect(url).await.unwrap();
        let (a, b) = (
            client.grant(60).await.unwrap().id,
            client.grant(60).await.unwrap().id,
        );
        let ka = lock(&lc, "l", a).await;
        assert_eq!(ka, format!("l/{a:x}").into_bytes());
        let second = tokio::spawn({
            let lc = lc.clone();
            async move { lock(&lc, "l", b).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!second.is_finished());
        lc.clone().unlock(UnlockRequest { key: ka }).await.unwrap();
        let kb = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kb, format!("l/{b:x}").into_bytes());
        let e = lc
            .clone()
            .lock(LockRequest {
                name: "l".into(),
                lease: 0x77,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unknown);
        assert_eq!(e.message(), "etcdserver: requested lease not found");
    }

    #[tokio::test]
    async fn a_learner_refuses_lock_and_unlock() {
        let backend = Arc::new(LocalV3::new());
        let url = serve_local(backend.clone()).await;
        backend.learner.store(true, Ordering::SeqCst);
        let mut lc = LockClient::connect(url).await.unwrap();
        let e = lc.lock(LockRequest::default()).await.unwrap_err();
        assert_eq!(e.code(), Code::Unavailable);
        assert_eq!(e.message(), "etcdserver: rpc not supported for learner");
        let e = lc.unlock(UnlockRequest::default()).await.unwrap_err();
        assert_eq!(e.message(), "etcdserver: rpc not supported for learner");
    }

    #[tokio::test]
    async fn without_its_own_address_the_service_is_unavailable() {
        use super::super::own_client::OwnClient;
        use super::{Lock, LockService};
        let service = LockService::new(Arc::new(LocalV3::new()), OwnClient::new(None));
        let e = service
            .lock(etcd_sdk::v3::tonic::Request::new(LockRequest::default()))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::Unavailable);
    }
}
