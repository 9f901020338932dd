//! A small circuit breaker: after N consecutive failed calls it opens and refuses calls
//! at once; after a cool-down it lets one probe through (half-open); the probe's outcome
//! closes it again or re-opens it.
//!
//! Time comes from an injected [`Clock`], so tests drive the cool-down with a
//! `ManualClock` instead of sleeping.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use inkdesk_domain::Clock;

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failed calls (after their retries) that open the breaker; at least 1.
    pub failure_threshold: u32,
    /// How long the breaker stays open before letting one probe through.
    pub cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// What the breaker is doing, for the admin status page and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed {
        /// Failed calls in a row so far.
        consecutive_failures: u32,
    },
    /// Calls fail fast with [`crate::ModelError::Unavailable`].
    Open {
        /// Time left until a probe is allowed.
        retry_in: Duration,
    },
    /// The cool-down is over: the next call (one at a time) probes the upstream.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half_open`, for labels.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Closed { .. } => "closed",
            Self::Open { .. } => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { since: DateTime<Utc> },
    HalfOpen { probing: bool },
}

/// The breaker. Share it by reference; all methods take `&self`.
#[derive(Debug)]
pub struct CircuitBreaker {
    policy: BreakerPolicy,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(policy: BreakerPolicy, clock: Arc<dyn Clock>) -> Self {
        Self {
            policy,
            clock,
            inner: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Time left in the cool-down, or `None` once it is over.
    fn remaining(&self, since: &mut DateTime<Utc>) -> Option<Duration> {
        let now = self.clock.now();
        if now < *since {
            // The wall clock went back: restart the cool-down rather than wait for it
            // to catch up.
            *since = now;
        }
        let elapsed = (now - *since).to_std().unwrap_or_default();
        self.policy
            .cool_down
            .checked_sub(elapsed)
            .filter(|left| !left.is_zero())
    }

    /// The current state (an open breaker whose cool-down is over reports half-open).
    pub fn state(&self) -> BreakerState {
        let mut inner = self.lock();
        match &mut *inner {
            Inner::Closed { failures } => BreakerState::Closed {
                consecutive_failures: *failures,
            },
            Inner::Open { since } => match self.remaining(since) {
                Some(retry_in) => BreakerState::Open { retry_in },
                None => BreakerState::HalfOpen,
            },
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call. `Err(retry_in)` means fail fast: the breaker is open, or a
    /// half-open probe is already in flight.
    pub fn try_acquire(&self) -> Result<Permit<'_>, Duration> {
        let mut inner = self.lock();
        let probe = match &mut *inner {
            Inner::Closed { .. } => false,
            Inner::Open { since } => match self.remaining(since) {
                Some(left) => return Err(left),
                None => true,
            },
            Inner::HalfOpen { probing: true } => return Err(Duration::ZERO),
            Inner::HalfOpen { probing: false } => true,
        };
        if probe {
            *inner = Inner::HalfOpen { probing: true };
        }
        Ok(Permit {
            breaker: self,
            probe,
            settled: false,
        })
    }

    fn on_success(&self) {
        *self.lock() = Inner::Closed { failures: 0 };
    }

    fn on_failure(&self) {
        let mut inner = self.lock();
        let now = self.clock.now();
        match &mut *inner {
            Inner::Closed { failures } => {
                *failures = failures.saturating_add(1);
                if *failures >= self.policy.failure_threshold.max(1) {
                    tracing::warn!(failures = *failures, "model circuit breaker opened");
                    *inner = Inner::Open { since: now };
                }
            }
            Inner::HalfOpen { .. } => {
                tracing::warn!("model circuit breaker probe failed; open again");
                *inner = Inner::Open { since: now };
            }
            // A call admitted before the breaker opened finished late: keep the cool-down.
            Inner::Open { .. } => {}
        }
    }

    fn on_abandoned_probe(&self) {
        let mut inner = self.lock();
        if matches!(*inner, Inner::HalfOpen { probing: true }) {
            *inner = Inner::HalfOpen { probing: false };
        }
    }
}

/// Leave to make one call. Report the outcome with [`Permit::success`] or
/// [`Permit::failure`]; a permit dropped unreported (a cancelled call) frees the probe slot
/// without counting either way.
#[derive(Debug)]
#[must_use = "report the call's outcome"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    probe: bool,
    settled: bool,
}

impl Permit<'_> {
    /// The upstream answered: close the breaker and reset the failure count.
    pub fn success(mut self) {
        self.settled = true;
        self.breaker.on_success();
    }

    /// The call failed for an upstream reason: count it.
    pub fn failure(mut self) {
        self.settled = true;
        self.breaker.on_failure();
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled && self.probe {
            self.breaker.on_abandoned_probe();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use inkdesk_domain::ManualClock;

    fn breaker(threshold: u32) -> (CircuitBreaker, ManualClock) {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap());
        let policy = BreakerPolicy {
            failure_threshold: threshold,
            cool_down: Duration::from_secs(30),
        };
        (CircuitBreaker::new(policy, Arc::new(clock.clone())), clock)
    }

    fn fail(b: &CircuitBreaker) {
        b.try_acquire().unwrap().failure();
    }

    #[test]
    fn opens_after_threshold_consecutive_failures_and_fails_fast() {
        let (b, _clock) = breaker(3);
        fail(&b);
        fail(&b);
        assert_eq!(
            b.state(),
            BreakerState::Closed {
                consecutive_failures: 2
            }
        );
        fail(&b);
        assert_eq!(
            b.state(),
            BreakerState::Open {
                retry_in: Duration::from_secs(30)
            }
        );
        assert_eq!(b.try_acquire().unwrap_err(), Duration::from_secs(30));
    }

    #[test]
    fn a_success_resets_the_count() {
        let (b, _clock) = breaker(2);
        fail(&b);
        b.try_acquire().unwrap().success();
        fail(&b);
        assert!(matches!(b.state(), BreakerState::Closed { .. }));
    }

    #[test]
    fn half_opens_after_cool_down_and_admits_one_probe() {
        let (b, clock) = breaker(1);
        fail(&b);
        clock.advance(chrono::Duration::seconds(10));
        assert_eq!(b.try_acquire().unwrap_err(), Duration::from_secs(20));
        clock.advance(chrono::Duration::seconds(20));
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let probe = b.try_acquire().unwrap();
        assert!(b.try_acquire().is_err(), "only one probe at a time");
        probe.success();
        assert_eq!(
            b.state(),
            BreakerState::Closed {
                consecutive_failures: 0
            }
        );
    }

    #[test]
    fn failed_probe_reopens_for_a_full_cool_down() {
        let (b, clock) = breaker(1);
        fail(&b);
        clock.advance(chrono::Duration::seconds(31));
        b.try_acquire().unwrap().failure();
        assert_eq!(
            b.state(),
            BreakerState::Open {
                retry_in: Duration::from_secs(30)
            }
        );
    }

    #[test]
    fn abandoned_probe_frees_the_slot() {
        let (b, clock) = breaker(1);
        fail(&b);
        clock.advance(chrono::Duration::seconds(30));
        drop(b.try_acquire().unwrap());
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.try_acquire().is_ok());
    }

    #[test]
    fn clock_going_back_restarts_the_cool_down_instead_of_sticking() {
        let (b, clock) = breaker(1);
        fail(&b);
        clock.advance(chrono::Duration::hours(-2));
        assert_eq!(b.try_acquire().unwrap_err(), Duration::from_secs(30));
        clock.advance(chrono::Duration::seconds(30));
        assert!(b.try_acquire().is_ok());
    }
}
