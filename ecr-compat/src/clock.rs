//! Time as the credential provider and the pull-secret refresher see it.
//!
//! Both ask a [`Clock`] for the current time and for waits, so tests run hours of token
//! lifetime in microseconds with a [`ManualClock`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use wharf_oci_core::credentials::BoxFuture;

/// A source of the current time that can also wait.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;

    /// Waits for `duration` of this clock's time.
    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()>;
}

/// The real clock: `SystemTime::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that only moves when told to; `sleep` advances it instantly.
///
/// Clones share the same time, so a test keeps one handle and gives another to the code
/// under test.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use wharf_ecr_compat::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::at(SystemTime::UNIX_EPOCH);
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<SystemTime>>,
    slept: Arc<Mutex<Vec<Duration>>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn at(start: SystemTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
            slept: Arc::default(),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().expect("clock lock");
        *now += by;
    }

    /// Sets the clock to `to` (which may be earlier).
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().expect("clock lock") = to;
    }

    /// Every duration passed to [`Clock::sleep`] so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept.lock().expect("clock lock").clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().expect("clock lock")
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'_, ()> {
        self.slept.lock().expect("clock lock").push(duration);
        self.advance(duration);
        Box::pin(std::future::ready(()))
    }
}
