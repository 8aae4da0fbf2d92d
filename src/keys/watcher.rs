//! The HTTP [`Watcher`]: one long poll (`wait=true`) per event (spec §8.8).

use super::request;
use super::response::decode;
use super::{GetOptions, Response, Watcher, WatcherOptions};
use crate::client::Caller;
use crate::error::{Error, Result};
use crate::wire::ErrorCode;
use async_trait::async_trait;
use std::time::Duration;
use tokio::time::Instant;

/// Go's `httpWatcher`: long-polls `path` from `wait_index`, advancing past each
/// event it returns.
pub(crate) struct HttpWatcher {
    /// The client, and the per-call bound of the handle that made the watcher
    /// (applied to each `next()` as a whole).
    caller: Caller,
    path: String,
    recursive: bool,
    /// The index the next poll waits for; 0 means "from now" (the server reads it
    /// as its current index + 1), which Go sends until the first event.
    wait_index: u64,
    /// Probe the serving member this often while a poll is outstanding.
    liveness: Option<Duration>,
}

impl HttpWatcher {
    pub(crate) fn new(
        caller: Caller,
        path: String,
        opts: WatcherOptions,
        liveness: Option<Duration>,
    ) -> Self {
        let wait_index = if opts.after_index > 0 {
            opts.after_index.saturating_add(1)
        } else {
            0
        };
        HttpWatcher {
            caller,
            path,
            recursive: opts.recursive,
            wait_index,
            liveness,
        }
    }

    /// With liveness probing, a poll may move to another member; "from now" would
    /// then mean a later index there and events in between would be lost. So the
    /// watcher first reads the current index (from a success or a key-not-found
    /// error alike) and waits from the one after it.
    async fn resolve_start_index(&mut self, deadline: Option<Instant>) -> Result<()> {
        let mut req = request::get(self.path.clone(), GetOptions::default());
        if let Some(at) = deadline {
            req = req.deadline(at);
        }
        let resp = self.caller.client.send(req).await?;
        let index = match decode(&resp) {
            Ok(r) => r.index,
            Err(Error::Api(e)) if e.code == ErrorCode::KEY_NOT_FOUND => e.index,
            Err(e) => return Err(e),
        };
        self.wait_index = index.saturating_add(1);
        Ok(())
    }
}

#[async_trait]
impl Watcher for HttpWatcher {
    async fn next(&mut self) -> Result<Response> {
        // One bound for the whole call, however many polls it takes.
        let deadline = self.caller.bound.deadline();
        if self.liveness.is_some() && self.wait_index == 0 {
            self.resolve_start_index(deadline).await?;
        }
        loop {
            let mut req = request::wait(self.path.clone(), self.recursive, self.wait_index);
            if let Some(interval) = self.liveness {
                req = req.liveness(interval);
            }
            if let Some(at) = deadline {
                req = req.deadline(at);
            }
            let resp = self.caller.client.send(req).await?;
            let event = match decode(&resp) {
                // The server ended the poll without an event (its watcher was
                // dropped): poll again from the same index.
                Err(Error::EmptyBody) => {
                    tracing::debug!(path = %self.path, wait_index = self.wait_index, "watch ended without an event; polling again");
                    continue;
                }
                other => other?,
            };
            let Some(node) = &event.node else {
                return Err(Error::InvalidResponse(format!(
                    "watch event {} has no node",
                    event.action
                )));
            };
            self.wait_index = node.modified_index.saturating_add(1);
            return Ok(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{EP, TWO, client, client_with, event, sent};
    use super::super::{KeysAPI, new_keys_api};
    use super::*;
    use crate::client::Config;
    use crate::transport::{Reply, ScriptedTransport};
    use crate::wire::Action;
    use std::sync::Arc;
    use std::time::Duration;

    fn queries(t: &ScriptedTransport) -> Vec<String> {
        t.requests()
            .iter()
            .map(|r| sent(r).query.unwrap_or_default())
            .collect()
    }

    fn watch_on(t: &Arc<ScriptedTransport>, key: &str, opts: WatcherOptions) -> Box<dyn Watcher> {
        new_keys_api(Arc::new(client(&[EP], t))).watcher(key, opts)
    }

    #[tokio::test(start_paused = true)]
    async fn wait_index_follows_the_events() {
        let t = Arc::new(ScriptedTransport::sequence([
            event("set", "/k", 5),
            event("update", "/k", 9),
        ]));
        let mut w = watch_on(&t, "/k", WatcherOptions::default());
        let first = w.next().await.unwrap();
        assert_eq!(
            (first.action, first.node.unwrap().modified_index),
            (Action::Set, 5)
        );
        assert_eq!(w.next().await.unwrap().action, Action::Update);
        // The script is exhausted: the third poll is refused but shows its index.
        assert!(w.next().await.is_err());
        assert_eq!(
            queries(&t),
            [
                "recursive=false&wait=true&waitIndex=0",
                "recursive=false&wait=true&waitIndex=6",
                "recursive=false&wait=true&waitIndex=10"
            ]
        );
        assert!(
            t.requests()
                .iter()
                .all(|r| r.method == http::Method::GET && r.url.path() == "/v2/keys/k")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn after_index_and_recursive() {
        let t = Arc::new(ScriptedTransport::sequence([event("set", "/d/x", 20)]));
        let mut w = watch_on(
            &t,
            "d",
            WatcherOptions {
                after_index: 12,
                recursive: true,
            },
        );
        assert_eq!(w.next().await.unwrap().node.unwrap().key, "/d/x");
        let _ = w.next().await;
        assert_eq!(
            queries(&t),
            [
                "recursive=true&wait=true&waitIndex=13",
                "recursive=true&wait=true&waitIndex=21"
            ]
        );

        // A huge after_index does not overflow.
        let t = Arc::new(ScriptedTransport::sequence([]));
        let _ = watch_on(
            &t,
            "d",
            WatcherOptions {
                after_index: u64::MAX,
                recursive: false,
            },
        )
        .next()
        .await;
        assert_eq!(
            queries(&t),
            [format!("recursive=false&wait=true&waitIndex={}", u64::MAX)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn empty_body_polls_again_from_the_same_index() {
        let empty = || Reply::status(200, "").header("X-Etcd-Index", "30");
        let t = Arc::new(ScriptedTransport::sequence([
            empty(),
            empty(),
            event("set", "/k", 31),
        ]));
        let mut w = watch_on(
            &t,
            "/k",
            WatcherOptions {
                after_index: 30,
                recursive: false,
            },
        );
        assert_eq!(w.next().await.unwrap().index, 31);
        assert_eq!(queries(&t), ["recursive=false&wait=true&waitIndex=31"; 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn index_cleared_is_returned_and_index_kept() {
        let cleared = Reply::json(
            400,
            r#"{"errorCode":401,"message":"The event in requested index is outdated and cleared","cause":"the requested history has been cleared [1008/7]","index":2007}"#,
        );
        let t = Arc::new(ScriptedTransport::sequence([
            cleared,
            event("set", "/k", 2008),
        ]));
        let mut w = watch_on(
            &t,
            "/k",
            WatcherOptions {
                after_index: 6,
                recursive: false,
            },
        );
        let err = w.next().await.unwrap_err();
        assert!(err.is_event_index_cleared(), "{err}");
        assert_eq!(err.api().unwrap().index, 2007);
        // Not recovered by the watcher: the caller decides; a retry asks for the same index.
        w.next().await.unwrap();
        assert_eq!(queries(&t), ["recursive=false&wait=true&waitIndex=7"; 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn bad_responses_are_returned_not_retried() {
        type Check = fn(&Error) -> bool;
        let cases: [(Reply, Check); 3] = [
            (Reply::json(200, "{\"action\":"), |e| {
                matches!(e, Error::InvalidJson { .. })
            }),
            (Reply::json(200, r#"{"action":"set"}"#), |e| {
                matches!(e, Error::InvalidResponse(_))
            }),
            (
                Reply::json(
                    404,
                    r#"{"errorCode":100,"message":"Key not found","cause":"/k","index":3}"#,
                ),
                Error::is_key_not_found,
            ),
        ];
        for (reply, check) in cases {
            let t = Arc::new(ScriptedTransport::sequence([reply]));
            let err = watch_on(&t, "/k", WatcherOptions::default())
                .next()
                .await
                .unwrap_err();
            assert!(check(&err), "{err}");
            assert_eq!(t.requests().len(), 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_fails_over_like_a_read() {
        let t = Arc::new(ScriptedTransport::sequence([
            Reply::broken(),
            event("set", "/k", 4),
        ]));
        let mut w =
            new_keys_api(Arc::new(client(&TWO, &t))).watcher("/k", WatcherOptions::default());
        assert_eq!(w.next().await.unwrap().index, 4);
        let reqs = t.requests();
        assert_eq!(reqs.len(), 2);
        assert_ne!(reqs[0].url.host_str(), reqs[1].url.host_str());
        assert_eq!(queries(&t), ["recursive=false&wait=true&waitIndex=0"; 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_ignores_header_and_request_timeouts() {
        let slow = Reply::Delay(Duration::from_millis(300), Box::new(event("set", "/k", 4)));
        let t = Arc::new(ScriptedTransport::sequence([slow]));
        let cfg = Config {
            header_timeout_per_request: Some(Duration::from_millis(50)),
            request_timeout: Some(Duration::from_millis(100)),
            ..Default::default()
        };
        let mut w = new_keys_api(Arc::new(client_with(&[EP], &t, cfg)))
            .watcher("/k", WatcherOptions::default());
        assert_eq!(w.next().await.unwrap().index, 4);
        assert_eq!(t.requests().len(), 1);
    }

    /// A member that holds the poll open but never answers (SIGSTOP): with
    /// liveness probing the watch moves to the other member, from the index read
    /// at the start, so no event in between is lost.
    #[tokio::test(start_paused = true)]
    async fn liveness_moves_a_hung_watch_to_another_member() {
        let stopped: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
        let t = Arc::new(ScriptedTransport::new(move |req| {
            let host = req.url.host_str().unwrap_or("").to_string();
            let mut stopped = stopped.lock().unwrap();
            let is_stopped = stopped.as_deref() == Some(host.as_str());
            if req.url.path() == "/version" {
                return if is_stopped {
                    Reply::Hang
                } else {
                    Reply::json(200, r#"{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}"#)
                };
            }
            if !req.url.query().unwrap_or("").contains("wait=true") {
                return Reply::json(
                    404,
                    r#"{"errorCode":100,"message":"Key not found","cause":"/k","index":10}"#,
                )
                .header("X-Etcd-Index", "10");
            }
            if stopped.is_none() {
                *stopped = Some(host);
                return Reply::Hang;
            }
            if is_stopped {
                Reply::Hang
            } else {
                event("set", "/k", 11)
            }
        }));
        let cfg = Config {
            header_timeout_per_request: Some(Duration::from_millis(100)),
            ..Default::default()
        };
        let api = new_keys_api(Arc::new(client_with(&TWO, &t, cfg)))
            .with_watch_liveness(Duration::from_millis(50));
        let mut w = api.watcher("/k", WatcherOptions::default());
        let ev = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("the watch moved on")
            .unwrap();
        assert_eq!(ev.node.unwrap().modified_index, 11);
        let waits: Vec<_> = t
            .requests()
            .into_iter()
            .filter(|r| r.url.query().unwrap_or("").contains("wait=true"))
            .collect();
        assert_eq!(waits.len(), 2, "one hung poll, one answered");
        assert_ne!(waits[0].url.host_str(), waits[1].url.host_str());
        for w in &waits {
            assert_eq!(
                w.url.query(),
                Some("recursive=false&wait=true&waitIndex=11"),
                "from the index read at the start"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn without_liveness_a_from_now_watch_sends_wait_index_zero() {
        let t = Arc::new(ScriptedTransport::sequence([event("set", "/k", 4)]));
        let mut w = watch_on(&t, "/k", WatcherOptions::default());
        w.next().await.unwrap();
        assert_eq!(queries(&t), ["recursive=false&wait=true&waitIndex=0"]);
    }
}
