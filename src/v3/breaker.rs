//! The per-endpoint circuit breaker's state machine (the idea of the `etcd3`
//! npm client): pure, time passed in. [`super::endpoints`] runs one per
//! endpoint and acts on its transitions.
//!
//! - **Closed**: calls go to the endpoint. An answer (any reply the server
//!   sent, errors included) clears the failure count. A call whose request
//!   may be stuck on the endpoint ([`Outcome::Lost`]: its deadline passed
//!   while it was in flight, the connection's keepalive ping timed out, the
//!   connection broke) opens the breaker at once; refused connections
//!   ([`Outcome::Refused`]) open it after [`FAILURE_THRESHOLD`] in a row.
//!   The last closed endpoint of a client never opens (the caller says so).
//! - **Open** until a backoff ends: no call goes to the endpoint. The
//!   backoff starts at [`BASE_BACKOFF`] and doubles after each failed probe,
//!   up to [`MAX_BACKOFF`].
//! - **Probing**: one cheap call with a short timeout is in flight; its
//!   success closes the breaker (and resets the backoff), its failure opens
//!   it again for the doubled backoff.

use std::time::Duration;
use tokio::time::Instant;

/// Refused connections in a row that open a breaker.
pub(crate) const FAILURE_THRESHOLD: u32 = 2;
/// The first backoff of an opened breaker.
pub(crate) const BASE_BACKOFF: Duration = Duration::from_secs(1);
/// The longest backoff.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What one call observed of its endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server answered (a success or one of its own errors).
    Answered,
    /// The connection could not be made; the request never left.
    Refused,
    /// The request may be stuck on the endpoint: the call's deadline passed
    /// while it was in flight, the keepalive ping timed out, or the
    /// connection broke under it.
    Lost,
}

/// Where a breaker is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Calls go to the endpoint.
    Closed,
    /// No call goes to the endpoint before `until`, when it is probed.
    Open {
        /// When the probe is due.
        until: Instant,
    },
    /// A probe is in flight.
    Probing,
}

/// One endpoint's breaker.
#[derive(Clone, Debug)]
pub(crate) struct Breaker {
    state: State,
    /// Refused connections in a row while closed.
    failures: u32,
    /// The backoff the next opening uses.
    backoff: Duration,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            state: State::Closed,
            failures: 0,
            backoff: BASE_BACKOFF,
        }
    }
}

impl Breaker {
    /// The current state.
    #[cfg(test)]
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// Whether calls may go to the endpoint.
    pub(crate) fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Records a call's outcome at `now`. `may_open` is false when this is
    /// the client's last closed endpoint. Returns true when the breaker
    /// opened. Outcomes of calls that were in flight when it opened are
    /// ignored.
    pub(crate) fn record(&mut self, outcome: Outcome, now: Instant, may_open: bool) -> bool {
        if self.state != State::Closed {
            return false;
        }
        match outcome {
            Outcome::Answered => {
                self.failures = 0;
                false
            }
            Outcome::Refused => {
                self.failures = self.failures.saturating_add(1);
                self.failures >= FAILURE_THRESHOLD && may_open && self.open(now)
            }
            Outcome::Lost => {
                self.failures = self.failures.saturating_add(1);
                may_open && self.open(now)
            }
        }
    }

    fn open(&mut self, now: Instant) -> bool {
        self.state = State::Open {
            until: now + self.backoff,
        };
        self.failures = 0;
        true
    }

    /// When the probe is due, while open.
    pub(crate) fn probe_at(&self) -> Option<Instant> {
        match self.state {
            State::Open { until } => Some(until),
            _ => None,
        }
    }

    /// Starts the probe if it is due at `now`; true when it started.
    pub(crate) fn start_probe(&mut self, now: Instant) -> bool {
        match self.state {
            State::Open { until } if now >= until => {
                self.state = State::Probing;
                true
            }
            _ => false,
        }
    }

    /// Brings a pending probe forward to `now` (the client's last closed
    /// endpoint is failing: an open one may be better by now). True when
    /// it moved.
    pub(crate) fn expedite(&mut self, now: Instant) -> bool {
        match self.state {
            State::Open { until } if until > now => {
                self.state = State::Open { until: now };
                true
            }
            _ => false,
        }
    }

    /// Records the probe's result at `now`: closed on success, open for the
    /// doubled backoff on failure.
    pub(crate) fn probe_result(&mut self, ok: bool, now: Instant) {
        if self.state != State::Probing {
            return;
        }
        if ok {
            self.state = State::Closed;
            self.failures = 0;
            self.backoff = BASE_BACKOFF;
        } else {
            self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            self.state = State::Open {
                until: now + self.backoff,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn one_lost_call_opens_refusals_open_after_the_threshold() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        assert!(!b.record(Outcome::Refused, t0, true));
        assert!(!b.record(Outcome::Answered, t0, true));
        assert!(
            !b.record(Outcome::Refused, t0, true),
            "the answer reset the count"
        );
        assert!(b.record(Outcome::Refused, t0, true));
        assert_eq!(
            b.state(),
            State::Open {
                until: t0 + BASE_BACKOFF
            }
        );

        let mut b = Breaker::default();
        assert!(b.record(Outcome::Lost, t0, true));
        assert!(!b.is_closed());
        // Calls that were in flight when it opened change nothing.
        assert!(!b.record(Outcome::Lost, t0 + secs(5), true));
        assert!(!b.record(Outcome::Answered, t0, true));
        assert_eq!(b.probe_at(), Some(t0 + BASE_BACKOFF));
    }

    #[test]
    fn the_last_closed_endpoint_never_opens() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        for _ in 0..10 {
            assert!(!b.record(Outcome::Lost, t0, false));
            assert!(!b.record(Outcome::Refused, t0, false));
        }
        assert!(b.is_closed());
        // Once others are usable again it opens at the next failure.
        assert!(b.record(Outcome::Refused, t0, true));
    }

    #[test]
    fn probes_wait_for_the_backoff_which_doubles_up_to_the_cap() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        assert!(b.record(Outcome::Lost, t0, true));
        assert!(!b.start_probe(t0 + Duration::from_millis(999)));
        let mut now = t0 + secs(1);
        let mut want = BASE_BACKOFF;
        for _ in 0..8 {
            assert!(b.start_probe(now));
            assert_eq!(b.state(), State::Probing);
            assert!(!b.start_probe(now), "one probe at a time");
            b.probe_result(false, now);
            want = (want * 2).min(MAX_BACKOFF);
            assert_eq!(b.probe_at(), Some(now + want));
            now += want;
        }
        assert_eq!(want, MAX_BACKOFF);
        assert!(b.start_probe(now));
        b.probe_result(true, now);
        assert!(b.is_closed());
        // A success resets the backoff.
        assert!(b.record(Outcome::Lost, now, true));
        assert_eq!(b.probe_at(), Some(now + BASE_BACKOFF));
    }

    #[test]
    fn expedite_moves_only_a_pending_probe() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        assert!(!b.expedite(t0), "closed: nothing to move");
        assert!(b.record(Outcome::Lost, t0, true));
        let now = t0 + Duration::from_millis(10);
        assert!(b.expedite(now));
        assert_eq!(b.probe_at(), Some(now));
        assert!(!b.expedite(now + Duration::from_millis(5)), "already due");
        assert!(b.start_probe(now));
        assert!(!b.expedite(now), "probing");
    }

    #[test]
    fn a_probe_result_without_a_probe_is_ignored() {
        let t0 = Instant::now();
        let mut b = Breaker::default();
        b.probe_result(false, t0);
        assert!(b.is_closed());
        assert!(b.record(Outcome::Lost, t0, true));
        b.probe_result(true, t0);
        assert_eq!(b.probe_at(), Some(t0 + BASE_BACKOFF));
    }
}
