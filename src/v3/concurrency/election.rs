//! [`Election`]: leader election with Go's algorithm and key layout, so Go
//! programs, `etcdctl elect` and this SDK see the same leader.

use super::ConcurrencyClient as Client;
use super::context::Context;
use super::error::{Error, Result};
use super::key::{header_revision, wait_deletes};
use super::mutex::session_key;
use super::session::Session;
use crate::v3::compare::{Compare, CompareOp};
use crate::v3::kv::{GetResponse, OpResponse, ResponseHeader};
use crate::v3::op::{DeleteOptions, GetOptions, Op, PutOptions};
use crate::v3::pb::mvccpb::KeyValue;
use crate::v3::watch::{EventType, WatchOptions};
use futures_util::StreamExt;
use futures_util::stream::Stream;
use tokio::sync::mpsc;

/// An election on `<prefix>/` (Go's `concurrency.Election`).
///
/// A candidate puts `<prefix>/<lease in hex>` with its value; the key with
/// the lowest create revision leads, and its value is the leader's
/// proclamation. A campaign waits until every key created before its own is
/// gone.
pub struct Election<C> {
    session: Session<C>,
    prefix: String,
    leader_key: String,
    leader_rev: i64,
    /// Whether this election holds a candidacy (Go's `leaderSession != nil`).
    leading: bool,
    header: Option<ResponseHeader>,
}

impl<C> std::fmt::Debug for Election<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Election")
            .field("prefix", &self.prefix)
            .field("key", &self.leader_key)
            .field("rev", &self.leader_rev)
            .field("leading", &self.leading)
            .finish()
    }
}

impl<C: Client> Election<C> {
    /// An election on `prefix` (Go's `NewElection`): its keys live under
    /// `prefix + "/"`.
    pub fn new(session: &Session<C>, prefix: impl Into<String>) -> Election<C> {
        Election {
            session: session.clone(),
            prefix: prefix.into() + "/",
            leader_key: String::new(),
            leader_rev: 0,
            leading: false,
            header: None,
        }
    }

    /// An election already won, from its key and create revision (Go's
    /// `ResumeElection`). As in Go, `prefix` is used as given: no `/` is
    /// added.
    pub fn resume(
        session: &Session<C>,
        prefix: impl Into<String>,
        leader_key: impl Into<String>,
        leader_rev: i64,
    ) -> Election<C> {
        Election {
            session: session.clone(),
            prefix: prefix.into(),
            leader_key: leader_key.into(),
            leader_rev,
            leading: true,
            header: None,
        }
    }

    /// Puts this session's candidacy with `value` and waits until it leads
    /// (Go's `Campaign`). A candidacy of this session that already exists
    /// is kept (its value proclaimed if different). When `ctx` ends first
    /// the candidacy is resigned and `ctx`'s error returned; when the
    /// session ends first, [`Error::SessionExpired`] (the candidacy dies
    /// with the lease). Dropping the future resigns in a task of its own.
    pub async fn campaign(&mut self, ctx: &Context, value: impl Into<Vec<u8>>) -> Result<()> {
        let value = value.into();
        let client = self.session.client().clone();
        let lease = self.session.lease();
        let key = session_key(&self.prefix, lease);
        let resp = ctx
            .run(async {
                Ok(client
                    .txn()
                    .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                    .and_then([Op::put(
                        key.clone(),
                        value.clone(),
                        PutOptions {
                            lease,
                            ..Default::default()
                        },
                    )])
                    .or_else([Op::get(key.clone(), GetOptions::default())])
                    .commit()
                    .await?)
            })
            .await?;
        self.leader_key = key.clone();
        self.leader_rev = header_revision(&resp.header);
        self.leading = true;
        if !resp.succeeded {
            let existing = match resp.responses.first() {
                Some(OpResponse::Get(g)) => g.kvs.first().cloned(),
                _ => None,
            };
            let Some(kv) = existing else {
                // The key went between the compare and the get: impossible
                // in one txn, so the response is malformed.
                self.leading = false;
                return Err(Error::Client(crate::v3::Error::InvalidResponse(
                    "the campaign txn did not return the existing key".into(),
                )));
            };
            self.leader_rev = kv.create_revision;
            if kv.value != value
                && let Err(e) = self.proclaim(ctx, value).await
            {
                let _ = self.resign(&Context::background()).await;
                return Err(e);
            }
        }

        let mut guard = ResignOnDrop {
            client: Some(client.clone()),
            key: key.clone(),
            rev: self.leader_rev,
        };
        let session_done = self.session.done();
        let waited = tokio::select! {
            biased;
            e = ctx.done() => Err(e),
            _ = session_done => Err(Error::SessionExpired),
            r = wait_deletes(&client, &self.prefix, self.leader_rev - 1) => r,
        };
        guard.client = None;
        let waited = match waited {
            Ok(_) => self.confirm(&client).await,
            Err(e) => Err(e),
        };
        match waited {
            Ok(()) => {
                self.header = resp.header;
                Ok(())
            }
            Err(e) => {
                match e {
                    Error::Canceled | Error::DeadlineExceeded | Error::SessionExpired => {
                        let _ = self.resign(&Context::background()).await;
                    }
                    _ => self.leading = false,
                }
                Err(e)
            }
        }
    }

    /// Every earlier candidacy is gone: this one leads only if its key is
    /// still the one it created (the session did not expire meanwhile).
    async fn confirm(&self, client: &C) -> Result<()> {
        let mine = client
            .get(self.leader_key.clone(), GetOptions::default())
            .await?;
        match mine.kvs.first() {
            Some(kv) if kv.create_revision == self.leader_rev => Ok(()),
            _ => Err(Error::SessionExpired),
        }
    }

    /// Sets the leader's value without a new election (Go's `Proclaim`);
    /// [`Error::ElectionNotLeader`] unless this candidacy still leads.
    pub async fn proclaim(&mut self, ctx: &Context, value: impl Into<Vec<u8>>) -> Result<()> {
        if !self.leading {
            return Err(Error::ElectionNotLeader);
        }
        let value = value.into();
        let client = self.session.client();
        let lease = self.session.lease();
        let resp = ctx
            .run(async {
                Ok(client
                    .txn()
                    .when([Compare::create_revision(
                        self.leader_key.clone(),
                        CompareOp::Equal,
                        self.leader_rev,
                    )])
                    .and_then([Op::put(
                        self.leader_key.clone(),
                        value,
                        PutOptions {
                            lease,
                            ..Default::default()
                        },
                    )])
                    .commit()
                    .await?)
            })
            .await?;
        if !resp.succeeded {
            self.leader_key.clear();
            return Err(Error::ElectionNotLeader);
        }
        self.header = resp.header;
        Ok(())
    }

    /// Gives up leadership or candidacy by deleting this candidacy's key if
    /// it is still the one created (Go's `Resign`); nothing to do when not
    /// campaigning.
    pub async fn resign(&mut self, ctx: &Context) -> Result<()> {
        if !self.leading {
            return Ok(());
        }
        let client = self.session.client();
        let r = ctx
            .run(async {
                Ok(client
                    .txn()
                    .when([Compare::create_revision(
                        self.leader_key.clone(),
                        CompareOp::Equal,
                        self.leader_rev,
                    )])
                    .and_then([Op::delete(
                        self.leader_key.clone(),
                        DeleteOptions::default(),
                    )])
                    .commit()
                    .await?)
            })
            .await;
        self.leader_key.clear();
        self.leading = false;
        self.header = r?.header;
        Ok(())
    }

    /// The current leader's key-value (Go's `Leader`):
    /// [`Error::ElectionNoLeader`] when nobody campaigns.
    pub async fn leader(&self, ctx: &Context) -> Result<GetResponse> {
        let client = self.session.client();
        let resp = ctx
            .run(async {
                Ok(client
                    .get(self.prefix.clone(), GetOptions::first_create())
                    .await?)
            })
            .await?;
        if resp.kvs.is_empty() {
            return Err(Error::ElectionNoLeader);
        }
        Ok(resp)
    }

    /// The leaders and their proclamations as they change (Go's `Observe`):
    /// each item has the header and the leader's key-value (one in `kvs`).
    /// With no leader it waits for the first candidacy; when the leader's
    /// key goes it moves to the next. The stream ends after an error, or
    /// when `ctx` ends; dropping it stops observing.
    pub fn observe(
        &self,
        ctx: &Context,
    ) -> impl Stream<Item = Result<GetResponse>> + Send + 'static {
        let (tx, rx) = mpsc::channel(1);
        let client = self.session.client().clone();
        let prefix = self.prefix.clone();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let result = tokio::select! {
                biased;
                _ = tx.closed() => Ok(()),
                _ = ctx.done() => Ok(()),
                r = observe_loop(&client, &prefix, &tx) => r,
            };
            if let Err(e) = result {
                let _ = tx.send(Err(e)).await;
            }
        });
        futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }

    /// This candidacy's key (Go's `Key`); empty when not campaigning.
    pub fn key(&self) -> &str {
        &self.leader_key
    }

    /// This candidacy's create revision (Go's `Rev`).
    pub fn rev(&self) -> i64 {
        self.leader_rev
    }

    /// The header of the last campaign, proclamation or resignation (Go's
    /// `Header`).
    pub fn header(&self) -> Option<&ResponseHeader> {
        self.header.as_ref()
    }

    /// The session the election uses.
    pub fn session(&self) -> &Session<C> {
        &self.session
    }
}

/// Resigns an abandoned candidacy in a task of its own.
struct ResignOnDrop<C: Client> {
    client: Option<C>,
    key: String,
    rev: i64,
}

impl<C: Client> Drop for ResignOnDrop<C> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let key = std::mem::take(&mut self.key);
            let rev = self.rev;
            tokio::spawn(async move {
                let r = client
                    .txn()
                    .when([Compare::create_revision(key.clone(), CompareOp::Equal, rev)])
                    .and_then([Op::delete(key.clone(), DeleteOptions::default())])
                    .commit()
                    .await;
                if let Err(e) = r {
                    tracing::warn!(key, error = %e, "concurrency: resigning an abandoned campaign failed");
                }
            });
        }
    }
}

type Sender = mpsc::Sender<Result<GetResponse>>;

fn leader_response(header: Option<ResponseHeader>, kv: KeyValue) -> GetResponse {
    GetResponse {
        header,
        kvs: vec![kv],
        more: false,
        count: 1,
    }
}

/// Go's `observe`: find the leader (or wait for the first put), send it,
/// then follow its key until it is deleted; repeat. Returns `Ok` when the
/// receiver is gone.
async fn observe_loop<C: Client>(client: &C, prefix: &str, tx: &Sender) -> Result<()> {
    loop {
        let resp = client
            .get(prefix.to_string(), GetOptions::first_create())
            .await?;
        let (mut header, kv) = match resp.kvs.into_iter().next() {
            Some(kv) => (resp.header, kv),
            None => {
                let mut events = client
                    .watch(
                        prefix.to_string(),
                        WatchOptions {
                            revision: header_revision(&resp.header),
                            ..WatchOptions::prefix()
                        },
                    )
                    .await?;
                let mut found = None;
                while found.is_none() {
                    let Some(wr) = events.next().await else {
                        return Err(Error::LostWatcher);
                    };
                    let wr = wr?;
                    if let Some(ev) = wr.events.into_iter().find(|e| e.kind == EventType::Put) {
                        let mut h = wr.header.unwrap_or_default();
                        h.revision = ev.kv.mod_revision;
                        found = Some((Some(h), ev.kv));
                    }
                }
                let Some(found) = found else {
                    return Err(Error::LostWatcher);
                };
                found
            }
        };
        let key = kv.key.clone();
        let next_rev = header_revision(&header) + 1;
        if tx.send(Ok(leader_response(header, kv))).await.is_err() {
            return Ok(());
        }
        let mut events = client
            .watch(
                key,
                WatchOptions {
                    revision: next_rev,
                    ..Default::default()
                },
            )
            .await?;
        'follow: loop {
            let Some(wr) = events.next().await else {
                return Err(Error::LostWatcher);
            };
            let wr = wr?;
            for ev in wr.events {
                if ev.kind == EventType::Delete {
                    break 'follow;
                }
                header = wr.header;
                if tx.send(Ok(leader_response(header, ev.kv))).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::concurrency::fake::Fake;
    use std::time::Duration;

    #[tokio::test]
    async fn campaign_proclaim_leader_observe_resign() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let bg = Context::background();
        let mut e1 = Election::new(&s1, "el");
        let watcher = Election::new(&s2, "el");
        let e = watcher.leader(&bg).await.unwrap_err();
        assert!(matches!(e, Error::ElectionNoLeader), "{e:?}");
        let mut observed = Box::pin(watcher.observe(&bg));

        e1.campaign(&bg, "v1").await.unwrap();
        let key = format!("el/{:x}", s1.lease());
        assert_eq!(e1.key(), key);
        assert_eq!(e1.rev(), fake.kv(&key).unwrap().create_revision);
        let l = watcher.leader(&bg).await.unwrap();
        assert_eq!(
            (l.kvs[0].key.clone(), l.kvs[0].value.clone()),
            (key.clone().into_bytes(), b"v1".to_vec())
        );
        let first = observed.next().await.unwrap().unwrap();
        assert_eq!(first.kvs[0].value, b"v1");

        e1.proclaim(&bg, "v2").await.unwrap();
        let second = observed.next().await.unwrap().unwrap();
        assert_eq!(second.kvs[0].value, b"v2");

        // A second candidate waits behind the leader.
        let mut e2 = Election::new(&s2, "el");
        let campaign =
            tokio::spawn(
                async move { e2.campaign(&Context::background(), "w").await.map(|()| e2) },
            );
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!campaign.is_finished());
        e1.resign(&bg).await.unwrap();
        let e2 = campaign.await.unwrap().unwrap();
        assert_eq!(e2.key(), format!("el/{:x}", s2.lease()));
        let third = observed.next().await.unwrap().unwrap();
        assert_eq!(third.kvs[0].value, b"w");

        // Proclaiming after resigning is refused.
        let e = e1.proclaim(&bg, "v3").await.unwrap_err();
        assert!(matches!(e, Error::ElectionNotLeader), "{e:?}");

        // A resumed election may proclaim.
        let mut resumed = Election::resume(&s2, "el/", e2.key(), e2.rev());
        resumed.proclaim(&bg, "w2").await.unwrap();
        assert_eq!(watcher.leader(&bg).await.unwrap().kvs[0].value, b"w2");
        // A resumed election with a stale revision is not the leader.
        let mut stale = Election::resume(&s2, "el/", e2.key(), e2.rev() - 1);
        assert!(matches!(
            stale.proclaim(&bg, "x").await,
            Err(Error::ElectionNotLeader)
        ));
    }

    #[tokio::test]
    async fn a_cancelled_campaign_resigns_and_an_existing_one_is_reused() {
        let fake = Fake::default();
        let s1 = Session::new(fake.clone()).await.unwrap();
        let s2 = Session::new(fake.clone()).await.unwrap();
        let bg = Context::background();
        let mut e1 = Election::new(&s1, "el");
        e1.campaign(&bg, "a").await.unwrap();
        let rev = e1.rev();
        // Campaigning again with another value proclaims it, same key.
        let mut again = Election::new(&s1, "el");
        again.campaign(&bg, "b").await.unwrap();
        assert_eq!(again.rev(), rev);
        assert_eq!(fake.kv(e1.key()).unwrap().value, b"b");

        let mut e2 = Election::new(&s2, "el");
        let e = e2
            .campaign(&Context::with_timeout(Duration::from_millis(30)), "c")
            .await
            .unwrap_err();
        assert!(matches!(e, Error::DeadlineExceeded), "{e:?}");
        assert!(fake.kv(&format!("el/{:x}", s2.lease())).is_none());
        assert_eq!(e2.key(), "");
    }
}
