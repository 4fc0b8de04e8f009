//! The host clock. Every time the platform reasons about (timers, reading
//! timestamps, token and alarm times) comes from a [`Clock`], so that tests
//! can drive time forward instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// A source of the current time that can also wait for a moment to arrive.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Millis;

    /// Resolves once `now() >= at`.
    fn sleep_until(&self, at: Millis) -> futures::future::BoxFuture<'static, ()>;
}

/// Shared handle to the host's clock.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or_default()
    }

    fn sleep_until(&self, at: Millis) -> futures::future::BoxFuture<'static, ()> {
        let wait = Duration::from_millis(at.saturating_sub(self.now()).max(0) as u64);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that only moves when told to: tests advance it to fire timers and
/// age devices without waiting.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<AtomicI64>,
    ticks: watch::Sender<Millis>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Millis) -> Self {
        let (ticks, _) = watch::channel(start);
        Self {
            now: Arc::new(AtomicI64::new(start)),
            ticks,
        }
    }

    /// Moves the clock forward by `by` milliseconds and wakes every sleeper that is now due.
    pub fn advance(&self, by: Millis) -> Millis {
        let now = self.now.fetch_add(by.max(0), Ordering::SeqCst) + by.max(0);
        self.ticks.send_replace(now);
        now
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }

    fn sleep_until(&self, at: Millis) -> futures::future::BoxFuture<'static, ()> {
        let mut ticks = self.ticks.subscribe();
        Box::pin(async move {
            // An error means the clock was dropped: nothing will ever be due.
            if ticks.wait_for(|now| *now >= at).await.is_err() {
                futures::future::pending::<()>().await;
            }
        })
    }
}
