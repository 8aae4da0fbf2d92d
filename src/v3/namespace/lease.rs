//! [`Lease`]: a [`crate::v3::Lease`] that shows only a namespace's keys
//! (Go's `namespace.NewLease`).

use crate::v3::error::Result;
use crate::v3::lease::{
    KeepAliveStream, Lease as LeaseApi, LeaseGrantResponse, LeaseId, LeaseKeepAliveResponse,
    LeaseLeasesResponse, LeaseRevokeResponse, LeaseTimeToLiveResponse, TimeToLiveOptions,
};
use async_trait::async_trait;

/// A [`crate::v3::Lease`] whose [`crate::v3::Lease::time_to_live`] lists
/// only the attached keys under `prefix`, without it. Leases themselves are
/// the cluster's (a lease can hold keys of several namespaces), so every
/// other call passes through.
#[derive(Clone, Debug)]
pub struct Lease<L> {
    inner: L,
    prefix: Vec<u8>,
}

impl<L: LeaseApi> Lease<L> {
    /// `inner`'s leases, seen from the namespace `prefix`.
    pub fn new(inner: L, prefix: impl Into<Vec<u8>>) -> Self {
        Lease {
            inner,
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The wrapped lease API.
    pub fn inner(&self) -> &L {
        &self.inner
    }
}

#[async_trait]
impl<L: LeaseApi> LeaseApi for Lease<L> {
    async fn grant(&self, ttl: i64) -> Result<LeaseGrantResponse> {
        self.inner.grant(ttl).await
    }

    async fn revoke(&self, id: LeaseId) -> Result<LeaseRevokeResponse> {
        self.inner.revoke(id).await
    }

    async fn time_to_live(
        &self,
        id: LeaseId,
        opts: TimeToLiveOptions,
    ) -> Result<LeaseTimeToLiveResponse> {
        let mut resp = self.inner.time_to_live(id, opts).await?;
        let pfx = &self.prefix[..];
        resp.keys = std::mem::take(&mut resp.keys)
            .into_iter()
            .filter_map(|k| k.strip_prefix(pfx).map(<[u8]>::to_vec))
            .collect();
        Ok(resp)
    }

    async fn leases(&self) -> Result<LeaseLeasesResponse> {
        self.inner.leases().await
    }

    async fn keep_alive(&self, id: LeaseId) -> Result<KeepAliveStream> {
        self.inner.keep_alive(id).await
    }

    async fn keep_alive_once(&self, id: LeaseId) -> Result<LeaseKeepAliveResponse> {
        self.inner.keep_alive_once(id).await
    }

    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::error::Error;

    /// A lease API whose time-to-live lists fixed keys.
    struct Fixed(Vec<Vec<u8>>);

    #[async_trait]
    impl LeaseApi for Fixed {
        async fn grant(&self, ttl: i64) -> Result<LeaseGrantResponse> {
            Ok(LeaseGrantResponse {
                id: 1,
                ttl,
                ..Default::default()
            })
        }
        async fn revoke(&self, _: LeaseId) -> Result<LeaseRevokeResponse> {
            Ok(LeaseRevokeResponse::default())
        }
        async fn time_to_live(
            &self,
            id: LeaseId,
            _: TimeToLiveOptions,
        ) -> Result<LeaseTimeToLiveResponse> {
            Ok(LeaseTimeToLiveResponse {
                id,
                ttl: 5,
                granted_ttl: 10,
                keys: self.0.clone(),
                ..Default::default()
            })
        }
        async fn leases(&self) -> Result<LeaseLeasesResponse> {
            Ok(LeaseLeasesResponse::default())
        }
        async fn keep_alive(&self, _: LeaseId) -> Result<KeepAliveStream> {
            Err(Error::Closed)
        }
        async fn keep_alive_once(&self, id: LeaseId) -> Result<LeaseKeepAliveResponse> {
            Ok(LeaseKeepAliveResponse {
                id,
                ttl: 10,
                ..Default::default()
            })
        }
        async fn close(&self) -> Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn time_to_live_keeps_only_the_namespace_keys_without_prefix() {
        let keys = [&b"app/a"[..], b"other/b", b"ap", b"app/", b"app/c/d"];
        let l = Lease::new(Fixed(keys.iter().map(|k| k.to_vec()).collect()), "app/");
        let r = l
            .time_to_live(7, TimeToLiveOptions::with_keys())
            .await
            .unwrap();
        assert_eq!(r.keys, vec![b"a".to_vec(), b"".to_vec(), b"c/d".to_vec()]);
        assert_eq!((r.id, r.ttl, r.granted_ttl), (7, 5, 10));
        assert_eq!(l.grant(3).await.unwrap().ttl, 3);
        assert_eq!(l.keep_alive_once(7).await.unwrap().id, 7);
    }
}
