//! The client's endpoint set: one lazily connected channel and one
//! [`Breaker`] per endpoint, the round-robin pick of unary attempts over the
//! closed ones, and the changes that keep the shared balanced channel equal
//! to the closed set (see [`crate::v3::Client`]'s "Endpoints" docs).
//!
//! Everything here is synchronous and runs under the client's mutex; the
//! probes' waiting and calling is in `client.rs`.

use super::breaker::{BASE_BACKOFF, Breaker, Outcome};
use super::dial::{Change, Dial, Target};
use super::error::Result;
use super::layer::{GrpcChannel, wrap};
use tokio::sync::mpsc::Sender;
use tokio::time::Instant;

/// The capacity of the balanced channel's change queue.
pub(crate) const CHANGE_CAPACITY: usize = 1024;

/// One endpoint.
struct Member {
    url: String,
    /// Tells this incarnation from a later one with the same URL (after
    /// [`EndpointSet::set`] removed and re-added it).
    generation: u64,
    channel: GrpcChannel,
    breaker: Breaker,
}

/// The endpoint an attempt was sent to.
#[derive(Clone, Debug)]
pub(crate) struct Picked {
    /// Its URL as configured.
    pub(crate) url: String,
    /// Its incarnation.
    pub(crate) generation: u64,
    /// Its own channel.
    pub(crate) channel: GrpcChannel,
}

/// What recording an outcome led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// Nothing to do.
    Nothing,
    /// The endpoint's breaker opened; its probe is due then.
    Opened(Instant),
    /// The last closed endpoint is failing: the open ones' probes were
    /// brought forward to now (at most once per [`BASE_BACKOFF`]).
    ProbeOthersNow,
}

/// The endpoint set of one client.
pub(crate) struct EndpointSet {
    members: Vec<Member>,
    next: usize,
    generations: u64,
    changes: Sender<Change>,
    /// When probes were last brought forward.
    expedited: Option<Instant>,
}

impl EndpointSet {
    /// A set of `urls` (already validated), each inserted into the balanced
    /// channel through `changes`.
    pub(crate) fn new(dial: &Dial, urls: &[String], changes: Sender<Change>) -> Result<Self> {
        let mut set = EndpointSet {
            members: Vec::new(),
            next: 0,
            generations: 0,
            changes,
            expedited: None,
        };
        set.set(dial, urls)?;
        Ok(set)
    }

    fn send(&self, change: Change) {
        if self.changes.try_send(change).is_err() {
            tracing::warn!("v3: the balanced channel's change queue is full or closed");
        }
    }

    /// The endpoints, in order.
    pub(crate) fn urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.url.clone()).collect()
    }

    /// How many endpoints there are.
    pub(crate) fn len(&self) -> usize {
        self.members.len()
    }

    /// The endpoints whose breaker is closed.
    pub(crate) fn closed(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| m.breaker.is_closed())
            .map(|m| m.url.clone())
            .collect()
    }

    /// Replaces the endpoints with `urls` (duplicates dropped): kept ones
    /// keep their channel and breaker, removed ones leave the balanced
    /// channel, new ones join it.
    pub(crate) fn set(&mut self, dial: &Dial, urls: &[String]) -> Result<()> {
        let mut wanted: Vec<&String> = Vec::new();
        for u in urls {
            if !wanted.contains(&u) {
                wanted.push(u);
            }
        }
        let mut fresh = Vec::new();
        for u in &wanted {
            if !self.members.iter().any(|m| &m.url == *u) {
                let target = dial.target(u)?;
                fresh.push((u.to_string(), target));
            }
        }
        let (kept, removed): (Vec<Member>, Vec<Member>) = std::mem::take(&mut self.members)
            .into_iter()
            .partition(|m| wanted.contains(&&m.url));
        for m in removed {
            if m.breaker.is_closed() {
                self.send(Change::Remove(m.url));
            }
        }
        self.members = kept;
        for (url, target) in fresh {
            self.generations += 1;
            self.members.push(Member {
                url: url.clone(),
                generation: self.generations,
                channel: wrap(dial.layers(), target.lazy()),
                breaker: Breaker::default(),
            });
            self.send(Change::Insert(url, target.member()));
        }
        self.members
            .sort_by_key(|m| wanted.iter().position(|u| **u == m.url));
        Ok(())
    }

    /// The endpoint for the next attempt: round robin over the closed ones.
    pub(crate) fn pick(&mut self) -> Option<Picked> {
        let n = self.members.len();
        for i in 0..n {
            let idx = (self.next + i) % n;
            let m = &self.members[idx];
            if m.breaker.is_closed() {
                self.next = (idx + 1) % n;
                return Some(Picked {
                    url: m.url.clone(),
                    generation: m.generation,
                    channel: m.channel.clone(),
                });
            }
        }
        None
    }

    /// Records an attempt's outcome. When the endpoint's breaker opens, it
    /// leaves the balanced channel. When it is the last closed one and
    /// failing, the others' probes are brought forward (the client has
    /// nowhere better to send calls until one of them answers).
    pub(crate) fn record(
        &mut self,
        url: &str,
        generation: u64,
        outcome: Outcome,
        now: Instant,
    ) -> Recorded {
        let closed = self
            .members
            .iter()
            .filter(|m| m.breaker.is_closed())
            .count();
        let Some(m) = self
            .members
            .iter_mut()
            .find(|m| m.url == url && m.generation == generation)
        else {
            return Recorded::Nothing;
        };
        let was_closed = m.breaker.is_closed();
        if !m.breaker.record(outcome, now, closed > 1) {
            if was_closed && closed == 1 && outcome != Outcome::Answered {
                return self.expedite(now);
            }
            return Recorded::Nothing;
        }
        let Some(due) = m.breaker.probe_at() else {
            return Recorded::Nothing;
        };
        tracing::info!(
            endpoint = url,
            ?outcome,
            "v3: endpoint left until it answers a probe"
        );
        self.send(Change::Remove(url.to_string()));
        Recorded::Opened(due)
    }

    fn expedite(&mut self, now: Instant) -> Recorded {
        if self.expedited.is_some_and(|t| now < t + BASE_BACKOFF) {
            return Recorded::Nothing;
        }
        let mut moved = false;
        for m in &mut self.members {
            moved |= m.breaker.expedite(now);
        }
        if !moved {
            return Recorded::Nothing;
        }
        self.expedited = Some(now);
        Recorded::ProbeOthersNow
    }

    /// When the probe of this endpoint incarnation is due (`None`: it is
    /// gone or closed).
    pub(crate) fn probe_at(&self, url: &str, generation: u64) -> Option<Instant> {
        self.members
            .iter()
            .find(|m| m.url == url && m.generation == generation)
            .and_then(|m| m.breaker.probe_at())
    }

    /// Starts the probe if due.
    pub(crate) fn start_probe(&mut self, url: &str, generation: u64, now: Instant) -> bool {
        self.members
            .iter_mut()
            .find(|m| m.url == url && m.generation == generation)
            .is_some_and(|m| m.breaker.start_probe(now))
    }

    /// Records a probe's result; on success the endpoint's channel becomes
    /// the probe's (`channel`, freshly connected) and it rejoins the
    /// balanced channel through `target`.
    pub(crate) fn probe_result(
        &mut self,
        url: &str,
        generation: u64,
        ok: Option<(GrpcChannel, Target)>,
        now: Instant,
    ) {
        let Some(m) = self
            .members
            .iter_mut()
            .find(|m| m.url == url && m.generation == generation)
        else {
            return;
        };
        m.breaker.probe_result(ok.is_some(), now);
        if let Some((channel, target)) = ok {
            m.channel = channel;
            tracing::info!(
                endpoint = url,
                "v3: endpoint answered its probe and is used again"
            );
            self.send(Change::Insert(url.to_string(), target.member()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::breaker::BASE_BACKOFF;
    use crate::v3::config::Config;
    use std::time::Duration;
    use tokio::sync::mpsc::{Receiver, channel};

    fn urls(ports: &[u16]) -> Vec<String> {
        ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect()
    }

    /// The changes sent so far, as ("+" | "-", url).
    fn drain(rx: &mut Receiver<Change>) -> Vec<(char, String)> {
        let mut out = Vec::new();
        while let Ok(c) = rx.try_recv() {
            out.push(match c {
                Change::Insert(k, _) => ('+', k),
                Change::Remove(k) => ('-', k),
            });
        }
        out
    }

    fn plain() -> Dial {
        Dial::new(&Config::new(["127.0.0.1:1"])).unwrap()
    }

    fn set_of(ports: &[u16]) -> (EndpointSet, Receiver<Change>, Vec<String>) {
        let (tx, rx) = channel(CHANGE_CAPACITY);
        let u = urls(ports);
        let dial = Dial::new(&Config::new(u.clone())).unwrap();
        let set = EndpointSet::new(&dial, &u, tx).unwrap();
        (set, rx, u)
    }

    fn picks(set: &mut EndpointSet, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| set.pick().expect("an endpoint").url)
            .collect()
    }

    #[tokio::test]
    async fn round_robin_over_closed_endpoints_and_the_balancer_follows() {
        let (mut set, mut rx, u) = set_of(&[1001, 1002, 1003]);
        assert_eq!(
            drain(&mut rx),
            u.iter().map(|x| ('+', x.clone())).collect::<Vec<_>>()
        );
        assert_eq!(
            picks(&mut set, 4),
            [&u[0], &u[1], &u[2], &u[0]].map(String::clone)
        );

        let now = Instant::now();
        let gen1 = set.pick().unwrap().generation; // u[1]
        assert_eq!(
            set.record(&u[1], gen1, Outcome::Lost, now),
            Recorded::Opened(now + BASE_BACKOFF)
        );
        assert_eq!(drain(&mut rx), vec![('-', u[1].clone())]);
        assert_eq!(set.closed(), vec![u[0].clone(), u[2].clone()]);
        assert_eq!(
            picks(&mut set, 4),
            [&u[2], &u[0], &u[2], &u[0]].map(String::clone)
        );

        // Its probe: not before the backoff; success brings it back.
        assert!(!set.start_probe(&u[1], gen1, now));
        assert!(set.start_probe(&u[1], gen1, now + BASE_BACKOFF));
        let target = plain().target(&u[1]).unwrap();
        let ch = wrap(&Default::default(), target.lazy());
        set.probe_result(&u[1], gen1, Some((ch, target)), now + BASE_BACKOFF);
        assert_eq!(drain(&mut rx), vec![('+', u[1].clone())]);
        assert_eq!(set.closed().len(), 3);
    }

    #[tokio::test]
    async fn the_last_closed_endpoint_stays() {
        let (mut set, mut rx, u) = set_of(&[1001, 1002]);
        drain(&mut rx);
        let now = Instant::now();
        let p = set.pick().unwrap();
        assert!(matches!(
            set.record(&p.url, p.generation, Outcome::Lost, now),
            Recorded::Opened(_)
        ));
        let q = set.pick().unwrap();
        assert_eq!(q.url, u[1]);
        // The last one stays, and the other's probe is brought forward, at
        // most once per base backoff.
        let soon = now + Duration::from_millis(10);
        assert_eq!(
            set.record(&q.url, q.generation, Outcome::Lost, soon),
            Recorded::ProbeOthersNow
        );
        assert_eq!(set.probe_at(&p.url, p.generation), Some(soon));
        assert!(set.start_probe(&p.url, p.generation, soon));
        set.probe_result(&p.url, p.generation, None, soon);
        let later = soon + Duration::from_millis(10);
        assert_eq!(
            set.record(&q.url, q.generation, Outcome::Refused, later),
            Recorded::Nothing
        );
        assert_eq!(
            set.record(&q.url, q.generation, Outcome::Lost, soon + BASE_BACKOFF),
            Recorded::ProbeOthersNow
        );
        assert_eq!(drain(&mut rx), vec![('-', u[0].clone())]);
        assert_eq!(picks(&mut set, 2), [&u[1], &u[1]].map(String::clone));
    }

    #[tokio::test]
    async fn set_keeps_known_endpoints_and_forgets_removed_ones() {
        let (mut set, mut rx, u) = set_of(&[1001, 1002, 1003]);
        drain(&mut rx);
        let now = Instant::now();
        let p = set.pick().unwrap(); // u[0]
        set.record(&p.url, p.generation, Outcome::Lost, now);
        drain(&mut rx);

        let next = vec![
            u[2].clone(),
            u[0].clone(),
            "http://127.0.0.1:1004".to_string(),
        ];
        set.set(&plain(), &next).unwrap();
        // u[1] (closed) leaves the balancer, u[0] (open) is not in it, the
        // new one joins; the order is the one asked for.
        assert_eq!(
            drain(&mut rx),
            vec![('-', u[1].clone()), ('+', next[2].clone())]
        );
        assert_eq!(set.urls(), next);
        assert_eq!(set.closed(), vec![next[0].clone(), next[2].clone()]);
        assert_eq!(set.probe_at(&u[0], p.generation), Some(now + BASE_BACKOFF));

        // Removed and re-added: a new incarnation; the old one's outcomes
        // and probes no longer apply.
        set.set(&plain(), &[next[0].clone(), next[2].clone()])
            .unwrap();
        set.set(&plain(), &next).unwrap();
        drain(&mut rx);
        assert_eq!(set.probe_at(&u[0], p.generation), None);
        assert_eq!(
            set.record(&u[0], p.generation, Outcome::Lost, now),
            Recorded::Nothing
        );
        assert_eq!(set.closed().len(), 3);
        assert!(set.set(&plain(), &["bad".to_string()]).is_err());
    }
}
