//! The request budget for Genesys Cloud: never more than `limit` requests in any window, counted in the
//! container (every instance of the consumer gets its share of `GENESYS_REQUESTS_PER_MINUTE`).
//!
//! A sliding log rather than a token bucket: a bucket allows its capacity *plus* its refill within one
//! window, and the budget must hold over every 60 s window, as Genesys counts. The window is a second
//! longer than the one Genesys counts, so network delays between our clock and Genesys's cannot squeeze
//! two windows' worth into one. Written here rather than taken from `governor`, whose GCRA is a bucket
//! with the same burst-plus-refill property.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The window Genesys counts its per-minute limit over.
pub const GENESYS_WINDOW: Duration = Duration::from_secs(60);
/// The window this limiter counts over: Genesys's plus a margin for clock and network skew.
pub const WINDOW: Duration = Duration::from_secs(61);

/// A sliding log of request times on a logical clock (milliseconds): the decision, without time or locks,
/// so it can be tested exhaustively.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    limit: usize,
    window_ms: u64,
    sent: VecDeque<u64>,
    paused_until_ms: u64,
}

impl SlidingWindow {
    /// At most `limit` (at least 1) requests in any `window_ms`.
    pub fn new(limit: usize, window_ms: u64) -> Self {
        Self {
            limit: limit.max(1),
            window_ms,
            sent: VecDeque::with_capacity(limit.max(1)),
            paused_until_ms: 0,
        }
    }

    /// Takes a slot at `now_ms` if one is free; otherwise the time a slot frees up.
    pub fn try_take(&mut self, now_ms: u64) -> Result<(), u64> {
        let next = self.next_free(now_ms);
        if next > now_ms {
            return Err(next);
        }
        self.sent.push_back(now_ms);
        Ok(())
    }

    /// The earliest time at or after `now_ms` when a request may go.
    pub fn next_free(&mut self, now_ms: u64) -> u64 {
        while self
            .sent
            .front()
            .is_some_and(|t| t + self.window_ms <= now_ms)
        {
            self.sent.pop_front();
        }
        let by_count = if self.sent.len() < self.limit {
            now_ms
        } else {
            // The slot frees when the oldest of the last `limit` leaves the window.
            self.sent[self.sent.len() - self.limit] + self.window_ms
        };
        by_count.max(self.paused_until_ms).max(now_ms)
    }

    /// No request before `until_ms` (Genesys said so with a 429's `Retry-After`).
    pub fn pause_until(&mut self, until_ms: u64) {
        self.paused_until_ms = self.paused_until_ms.max(until_ms);
    }
}

/// The container's limiter; clones share one log.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    window: Arc<Mutex<SlidingWindow>>,
    epoch: Instant,
    limit: usize,
}

impl RateLimiter {
    /// At most `per_minute` requests in any minute (plus the skew margin).
    pub fn per_minute(per_minute: usize) -> Self {
        Self {
            window: Arc::new(Mutex::new(SlidingWindow::new(
                per_minute,
                WINDOW.as_millis() as u64,
            ))),
            epoch: Instant::now(),
            limit: per_minute.max(1),
        }
    }

    /// The requests allowed per window.
    pub fn limit(&self) -> usize {
        self.limit
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlidingWindow> {
        self.window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a slot, waiting up to `max_wait` for one; otherwise how long until one frees up.
    pub async fn acquire(&self, max_wait: Duration) -> Result<(), Duration> {
        loop {
            let now = self.now_ms();
            let next = match self.lock().try_take(now) {
                Ok(()) => return Ok(()),
                Err(next) => next,
            };
            let wait = Duration::from_millis(next - now);
            if wait > max_wait {
                return Err(wait);
            }
            // Another caller may take the slot first; then loop and wait again.
            tokio::time::sleep(wait).await;
        }
    }

    /// How long until a slot is free (zero when one is).
    pub fn wait(&self) -> Duration {
        let now = self.now_ms();
        Duration::from_millis(self.lock().next_free(now) - now)
    }

    /// No request for `d` (after a 429 with `Retry-After`).
    pub fn pause_for(&self, d: Duration) {
        let until = self.now_ms() + d.as_millis() as u64;
        self.lock().pause_until(until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_full_window_frees_when_its_oldest_request_leaves() {
        let mut w = SlidingWindow::new(3, 1000);
        assert_eq!(w.try_take(0), Ok(()));
        assert_eq!(w.try_take(10), Ok(()));
        assert_eq!(w.try_take(20), Ok(()));
        assert_eq!(w.try_take(30), Err(1000));
        assert_eq!(w.try_take(1000), Ok(()));
        assert_eq!(w.try_take(1001), Err(1010));
        w.pause_until(5000);
        assert_eq!(w.try_take(2000), Err(5000));
        assert_eq!(w.try_take(5000), Ok(()));
    }

    proptest! {
        /// The property the budget promises: whatever the arrival times, the admitted requests never
        /// number more than the limit in any window.
        #[test]
        fn never_more_than_the_limit_in_any_window(
            limit in 1usize..20,
            window in 100u64..5_000,
            gaps in proptest::collection::vec(0u64..400, 1..400),
        ) {
            let mut w = SlidingWindow::new(limit, window);
            let mut now = 0;
            let mut admitted = Vec::new();
            for gap in gaps {
                now += gap;
                match w.try_take(now) {
                    Ok(()) => admitted.push(now),
                    Err(next) => prop_assert!(next > now),
                }
            }
            for (i, start) in admitted.iter().enumerate() {
                let inside = admitted[i..].iter().take_while(|t| **t < start + window).count();
                prop_assert!(inside <= limit, "{inside} requests in [{start}, {})", start + window);
            }
        }

        /// A caller told to wait until `next` is admitted then (the limiter never starves a waiter).
        #[test]
        fn the_promised_time_is_kept(limit in 1usize..10, gaps in proptest::collection::vec(0u64..300, 1..100)) {
            let mut w = SlidingWindow::new(limit, 1_000);
            let mut now = 0;
            for gap in gaps {
                now += gap;
                if let Err(next) = w.try_take(now) {
                    now = next;
                    prop_assert_eq!(w.try_take(now), Ok(()));
                }
            }
        }
    }

    #[tokio::test]
    async fn acquire_waits_a_little_or_says_how_long() {
        let limiter = RateLimiter::per_minute(2);
        assert!(limiter.acquire(Duration::ZERO).await.is_ok());
        assert!(limiter.acquire(Duration::ZERO).await.is_ok());
        let wait = limiter
            .acquire(Duration::from_millis(10))
            .await
            .unwrap_err();
        assert!(wait > Duration::from_secs(60) && wait <= WINDOW, "{wait:?}");
        limiter.pause_for(Duration::from_secs(300));
        assert!(limiter.wait() > Duration::from_secs(299));
    }
}
