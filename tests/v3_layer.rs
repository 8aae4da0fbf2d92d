//! The user's `tower` layers over the v3 client's gRPC channels
//! ([`etcd_sdk::v3::Config::layer`]) against real etcd 3.4: a layer sees
//! every call the client sends, and the headers it adds reach the server
//! (it carries the auth token of a client that has no credentials).
#![cfg(not(madsim))]

use etcd_sdk::v3::layer::{BoxError, GrpcRequest, GrpcResponse, GrpcService};
use etcd_sdk::v3::{
    Auth, Client, Config, DeleteOptions, EtcdError, GetOptions, KV, PutOptions, UserAddOptions,
    WatchOptions, Watcher,
};
use etcd_test_support::EtcdCluster;
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

/// A layer that records each request's gRPC method and adds the header
/// `token: <token>` to it.
fn token_layer(
    seen: Arc<Mutex<Vec<String>>>,
    token: http::HeaderValue,
) -> tower::util::MapRequestLayer<impl Fn(GrpcRequest) -> GrpcRequest + Clone> {
    tower::util::MapRequestLayer::new(move |mut req: GrpcRequest| {
        seen.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(req.uri().path().to_string());
        req.headers_mut().insert("token", token.clone());
        req
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_sees_every_call_and_its_headers_reach_the_server() {
    let c = EtcdCluster::start(1).await;
    let urls = c.client_urls();
    let admin = Client::connect(urls.clone()).await.unwrap();
    admin
        .user_add("root", "pw", UserAddOptions::default())
        .await
        .unwrap();
    admin.user_grant_role("root", "root").await.unwrap();
    admin.auth_enable().await.unwrap();
    let token = admin.authenticate("root", "pw").await.unwrap().token;

    // Without credentials, etcd refuses the client...
    let plain = Client::connect(urls.clone()).await.unwrap();
    let err = plain.get("k", GetOptions::default()).await.unwrap_err();
    assert_eq!(err.etcd(), Some(EtcdError::UserEmpty), "{err:?}");

    // ...and serves the same client whose layer adds the token.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = Config {
        request_timeout: Some(Duration::from_secs(10)),
        ..Config::new(urls.clone())
    }
    .layer(token_layer(seen.clone(), token.parse().unwrap()));
    let client = Client::new(config).await.unwrap();
    let mut w = client.watch("k", WatchOptions::default()).await.unwrap();
    client.put("k", "v", PutOptions::default()).await.unwrap();
    let got = client.get("k", GetOptions::default()).await.unwrap();
    assert_eq!(got.kvs[0].value, b"v");
    let ev = tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .expect("the event in time")
        .expect("the watch goes on")
        .unwrap();
    assert_eq!(ev.events[0].kv.value, b"v");
    client.delete("k", DeleteOptions::default()).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "/etcdserverpb.Watch/Watch",
            "/etcdserverpb.KV/Put",
            "/etcdserverpb.KV/Range",
            "/etcdserverpb.KV/DeleteRange",
        ],
        "the layer saw each call once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_that_refuses_a_call_fails_it_and_layers_stack_in_order() {
    let c = EtcdCluster::start(1).await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let note = |name: &'static str| {
        let order = order.clone();
        tower::util::MapRequestLayer::new(move |req: GrpcRequest| {
            order.lock().unwrap_or_else(|p| p.into_inner()).push(name);
            req
        })
    };
    // A layer that refuses every Range itself and passes the rest on.
    let refuse_ranges = tower::layer::layer_fn(|inner: GrpcService| {
        tower::service_fn(move |req: GrpcRequest| {
            let inner = inner.clone();
            async move {
                if req.uri().path().ends_with("/Range") {
                    return Err::<GrpcResponse, BoxError>("reads are off here".into());
                }
                inner.oneshot(req).await.map_err(BoxError::from)
            }
        })
    });
    let config = Config {
        request_timeout: Some(Duration::from_secs(10)),
        ..Config::new(c.client_urls())
    }
    .layer(note("outer"))
    .layer(note("inner"))
    .layer(refuse_ranges);
    let client = Client::new(config).await.unwrap();
    client.put("a", "1", PutOptions::default()).await.unwrap();
    assert_eq!(*order.lock().unwrap(), ["outer", "inner"]);
    let err = client.get("a", GetOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("reads are off here"), "{err:?}");
}
