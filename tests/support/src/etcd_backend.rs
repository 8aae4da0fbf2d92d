//! [`Backend`] for real etcd: the shared case bodies against [`EtcdCluster`].

use crate::backend::Backend;
use crate::{EtcdCluster, ports};
use async_trait::async_trait;
use std::time::Duration;

#[async_trait]
impl Backend for EtcdCluster {
    fn size(&self) -> usize {
        EtcdCluster::size(self)
    }

    fn client_urls(&self) -> Vec<String> {
        EtcdCluster::client_urls(self)
    }

    fn name(&self, i: usize) -> String {
        self.member(i).name().to_string()
    }

    fn peer_url(&self, i: usize) -> String {
        self.member(i).peer_url().to_string()
    }

    fn dead_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", ports::closed_port())
    }

    async fn leader(&self) -> Option<usize> {
        self.leader_index().await
    }

    async fn wait_for_leader(&self, not: Option<usize>, timeout: Duration) -> usize {
        EtcdCluster::wait_for_leader(self, not, timeout).await
    }

    fn pause(&self, i: usize) {
        self.member(i).pause();
    }

    fn resume(&self, i: usize) {
        self.member(i).resume();
    }

    fn kill(&self, i: usize) {
        self.member(i).kill();
    }

    async fn restart(&self, i: usize) {
        self.member(i).restart().await;
    }

    async fn wait_healthy(&self, i: usize, timeout: Duration) {
        self.member(i).wait_healthy(timeout).await;
    }

    async fn settle_for(&self, d: Duration) {
        EtcdCluster::settle_for(self, d).await;
    }
}
