//! Our server's v3 Auth, measured with the case bodies written against etcd
//! 3.4.23 (`tests/real_v3_auth.rs`): the same bodies against the `etcd-sim`
//! binary and, in sim builds, the simulated cluster.

#[cfg(not(madsim))]
mod real {
    use etcd_test_support::EtcdCluster;
    use etcd_test_support::cases::{v3_auth, v3_auth_matrix};
    use std::path::Path;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn users_roles_permissions_and_tokens() {
        let c = EtcdCluster::start_with(Path::new(BIN), 1).await;
        v3_auth::users_roles_permissions_and_tokens(&c).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kv_txn_watch_lease_matrix() {
        let c = EtcdCluster::start_with(Path::new(BIN), 1).await;
        v3_auth_matrix::kv_txn_watch_lease_matrix(c.client_urls()).await;
    }

    /// `--auth-token-ttl` takes effect: an idle simple token expires, and the
    /// client re-authenticates transparently.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn simple_tokens_expire_after_the_ttl() {
        use etcd_sdk::v3::pb::etcdserverpb::RangeRequest;
        use etcd_sdk::v3::pb::etcdserverpb::kv_client::KvClient;
        use etcd_sdk::v3::{Auth, Client, Config, EtcdError, GetOptions, KV, UserAddOptions};
        use std::time::Duration;

        let c = EtcdCluster::start_bin_with_flags(Path::new(BIN), 1, &["--auth-token-ttl=2"]).await;
        let urls = c.client_urls();
        let admin = Client::connect(urls.clone()).await.unwrap();
        admin
            .user_add("root", "pw", UserAddOptions::default())
            .await
            .unwrap();
        admin.user_grant_role("root", "root").await.unwrap();
        admin.auth_enable().await.unwrap();
        let root = Client::new(Config {
            username: Some("root".into()),
            password: Some("pw".into()),
            ..Config::new(urls.clone())
        })
        .await
        .unwrap();
        let token = root.authenticate("root", "pw").await.unwrap().token;

        let channel = etcd_sdk::v3::tonic::transport::Endpoint::from_shared(urls[0].clone())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut kv = KvClient::new(channel);
        let ask = |token: &str| {
            let mut r = etcd_sdk::v3::tonic::Request::new(RangeRequest {
                key: b"a".to_vec(),
                ..Default::default()
            });
            r.metadata_mut().insert("token", token.parse().unwrap());
            r
        };
        // Used within the TTL, the token lives on.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            kv.range(ask(&token)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(3000)).await;
        let e = kv.range(ask(&token)).await.unwrap_err();
        assert_eq!(
            (e.code(), e.message()),
            (
                EtcdError::InvalidAuthToken.code(),
                EtcdError::InvalidAuthToken.message()
            )
        );
        root.get("a", GetOptions::default()).await.unwrap();
    }

    /// `--auth-token=jwt,...`: the body `tests/real_v3_auth.rs` runs against
    /// etcd 3.4.23, with the same kinds of keys.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jwt_tokens() {
        etcd_test_support::cases::v3_auth_jwt::jwt_method_families(Path::new(BIN)).await;
    }
}

#[cfg(madsim)]
etcd_test_support::on_sim_cluster!(v3_auth: users_roles_permissions_and_tokens(1));

#[cfg(madsim)]
etcd_test_support::against_sim!(v3_auth_matrix: kv_txn_watch_lease_matrix);
