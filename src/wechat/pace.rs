//! The pace of every upstream call: `[wechat] rate_limit` (requests per second) and
//! `[wechat] concurrency` (requests in flight), shared by every client of one process and
//! changed in place by a reload.
//!
//! The rate is a GCRA limiter with a small burst: tokio's timer wakes waiters on whole
//! milliseconds, so a limiter without burst at 1000/s (a call every millisecond or so) loses a
//! turn at almost every wake-up and delivers well under its rate. A burst of 10 ms' worth of
//! calls absorbs that, and the spacing is widened to pay for it, so that no window of one second
//! plus [`JITTER`] ever holds more than the rate.
//!
//! The in-flight bound is a window of permits. Unless `concurrency` is set, it is sized to the
//! rate and the measured answer time (Little's law with headroom): a fixed number either starves
//! the limiter when WeChat is slow or lets a burst of slow calls pile up when it is fast.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

/// The upstream request rate of a whole exporter (`[wechat] rate_limit`).
pub type RateLimiter = governor::DefaultDirectRateLimiter;

/// What the spacing leaves to spare: any window of `1 s + JITTER` holds at most `rate` calls
/// as they are sent, so any one second holds at most `rate` of them as they arrive, even when
/// the network delays one call up to this much more than a later one.
pub const JITTER: Duration = Duration::from_millis(25);

/// The limiter's burst: this long's worth of calls.
const BURST_SPAN: Duration = Duration::from_millis(10);

/// Requests in flight with no `concurrency` set and no rate to size it from, and the least the
/// automatic window ever is.
pub const DEFAULT_IN_FLIGHT: usize = 4;

/// The most requests in flight, set or sized.
pub const MAX_IN_FLIGHT: usize = 256;

/// The automatic window is this many times the rate times the answer time: calls wait their
/// turn in the limiter while holding a permit.
const HEADROOM: f64 = 2.0;

/// A limiter of at most `per_second` requests in any window of `1 s + JITTER`; `None` for 0
/// (no limit).
pub fn rate_limiter(per_second: u32) -> Option<Arc<RateLimiter>> {
    Some(Arc::new(governor::RateLimiter::direct(quota(
        NonZeroU32::new(per_second)?,
    ))))
}

/// The limiter's quota at `rate`: `burst` calls at once, then one per period. `burst + k` calls
/// span `k` periods, so `rate` calls span `rate - burst` periods, which must be at least
/// `1 s + JITTER`.
fn quota(rate: NonZeroU32) -> governor::Quota {
    let burst = burst(rate.get());
    governor::Quota::with_period(period(rate.get()))
        .expect("the period of a rate of at most u32::MAX is above zero")
        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

/// The spacing after the burst at `rate` (above 0) per second.
fn period(rate: u32) -> Duration {
    (Duration::from_secs(1) + JITTER) / (rate - burst(rate) + 1)
}

/// The burst at `rate` per second: [`BURST_SPAN`]'s worth, at least 1.
fn burst(rate: u32) -> u32 {
    ((f64::from(rate) * BURST_SPAN.as_secs_f64()) as u32).clamp(1, rate.max(1))
}

/// The share of `rate` the limiter delivers when calls are always waiting (for docs and tests).
pub fn delivered_share(rate: u32) -> f64 {
    if rate == 0 {
        return 1.0;
    }
    1.0 / period(rate).as_secs_f64() / f64::from(rate)
}

/// `[wechat] concurrency`: a fixed number of requests in flight, or sized automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Concurrency {
    /// Sized to the rate and the answer time (the default).
    #[default]
    Auto,
    /// At most this many (1 to [`MAX_IN_FLIGHT`]).
    Fixed(usize),
}

/// The one pace of every upstream call an exporter (or a backfill) makes: handed to the HTTP
/// client every datacube client and token source is built with, so each call waits its turn
/// whichever command or task sends it. Clones share it; a reload changes it in place. The
/// default (a client not paced yet) has no rate and up to [`MAX_IN_FLIGHT`] in flight.
#[derive(Clone, Default)]
pub struct Pace(Arc<Shared>);

#[derive(Default)]
struct Shared {
    rate: RwLock<(u32, Option<Arc<RateLimiter>>)>,
    concurrency: RwLock<Concurrency>,
    window: Window,
    /// Seconds an answer takes, smoothed (`None` before the first).
    answer_seconds: Mutex<Option<f64>>,
}

/// A turn to send one request: hold it until the answer is read.
pub struct Turn<'a> {
    _permit: WindowPermit<'a>,
    pace: &'a Pace,
    started: std::time::Instant,
}

impl Turn<'_> {
    /// The answer arrived: its time sizes the automatic window.
    pub fn answered(self) {
        self.pace.observe(self.started.elapsed());
    }
}

impl Pace {
    /// `per_second` requests a second (0: no limit), `concurrency` in flight.
    pub fn new(per_second: u32, concurrency: Concurrency) -> Self {
        let pace = Self::default();
        pace.set(per_second, concurrency);
        pace
    }

    /// Changes the rate and concurrency of every client that shares this pace (a reload); the
    /// same rate keeps the limiter and its schedule.
    pub fn set(&self, per_second: u32, concurrency: Concurrency) {
        {
            let mut rate = self.0.rate.write().unwrap_or_else(|p| p.into_inner());
            if rate.0 != per_second {
                *rate = (per_second, rate_limiter(per_second));
            }
        }
        *self
            .0
            .concurrency
            .write()
            .unwrap_or_else(|p| p.into_inner()) = concurrency;
        self.resize();
    }

    /// The rate in force (0: no limit).
    pub fn per_second(&self) -> u32 {
        self.0.rate.read().unwrap_or_else(|p| p.into_inner()).0
    }

    /// Requests allowed in flight now.
    pub fn in_flight_limit(&self) -> usize {
        self.0.window.size()
    }

    /// The in-flight window for the settings and the answer time measured so far.
    fn wanted(&self) -> usize {
        let concurrency = *self.0.concurrency.read().unwrap_or_else(|p| p.into_inner());
        match concurrency {
            Concurrency::Fixed(n) => n.clamp(1, MAX_IN_FLIGHT),
            Concurrency::Auto => {
                let rate = self.per_second();
                let answer = *self
                    .0
                    .answer_seconds
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                match (rate, answer) {
                    (0, _) | (_, None) => DEFAULT_IN_FLIGHT,
                    (rate, Some(seconds)) => {
                        let sized = (f64::from(rate) * seconds * HEADROOM).ceil() as usize
                            + burst(rate) as usize;
                        sized.clamp(DEFAULT_IN_FLIGHT, MAX_IN_FLIGHT)
                    }
                }
            }
        }
    }

    fn resize(&self) {
        self.0.window.resize(self.wanted());
    }

    /// An answer took `took`: smoothed into the answer time (weight 1/8, as TCP smooths its
    /// round-trip time), which resizes the automatic window.
    fn observe(&self, took: Duration) {
        {
            let mut answer = self
                .0
                .answer_seconds
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let took = took.as_secs_f64();
            *answer = Some(answer.map_or(took, |a| a + (took - a) / 8.0));
        }
        self.resize();
    }

    /// Waits until one more request may go out: a place in the window, then the limiter.
    pub async fn turn(&self) -> Turn<'_> {
        // In this order: a call that waited for a place must still wait its turn in the rate.
        let permit = self.0.window.acquire().await;
        let limiter = self
            .0
            .rate
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone();
        if let Some(limiter) = limiter {
            limiter.until_ready().await;
        }
        Turn {
            _permit: permit,
            pace: self,
            started: std::time::Instant::now(),
        }
    }
}

/// A semaphore whose size can change while permits are out: shrinking forgets free permits at
/// once and the rest as they come back.
struct Window {
    semaphore: Semaphore,
    sizes: Mutex<WindowSize>,
}

#[derive(Clone, Copy)]
struct WindowSize {
    /// Permits the window holds, out or free.
    size: usize,
    /// Permits to forget as they come back (a shrink that found them taken).
    owed: usize,
}

/// Unsized, as in `Pace::default()` (a client not paced yet): the most there may ever be.
impl Default for Window {
    fn default() -> Self {
        Self {
            semaphore: Semaphore::new(MAX_IN_FLIGHT),
            sizes: Mutex::new(WindowSize {
                size: MAX_IN_FLIGHT,
                owed: 0,
            }),
        }
    }
}

struct WindowPermit<'a> {
    permit: Option<SemaphorePermit<'a>>,
    window: &'a Window,
}

impl Drop for WindowPermit<'_> {
    fn drop(&mut self) {
        let mut sizes = self.window.sizes();
        if sizes.owed > 0
            && let Some(permit) = self.permit.take()
        {
            sizes.owed -= 1;
            permit.forget();
        }
    }
}

impl Window {
    fn sizes(&self) -> std::sync::MutexGuard<'_, WindowSize> {
        self.sizes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn size(&self) -> usize {
        self.sizes().size
    }

    async fn acquire(&self) -> WindowPermit<'_> {
        // The semaphore is never closed, so acquire cannot fail.
        let permit = self.semaphore.acquire().await.expect("window open");
        WindowPermit {
            permit: Some(permit),
            window: self,
        }
    }

    fn resize(&self, to: usize) {
        let mut sizes = self.sizes();
        if to > sizes.size {
            // Debts are cancelled first: those permits simply stay.
            let grow = to - sizes.size;
            let cancelled = sizes.owed.min(grow);
            sizes.owed -= cancelled;
            self.semaphore.add_permits(grow - cancelled);
        } else if to < sizes.size {
            let shrink = sizes.size - to;
            sizes.owed += shrink - self.semaphore.forget_permits(shrink);
        }
        sizes.size = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every clone shares the rate, and a reload's `set` changes it for all of them: after the
    /// burst, calls are spaced by the period.
    #[tokio::test]
    async fn a_pace_is_shared_and_changed_in_place() {
        let pace = Pace::new(0, Concurrency::Auto);
        let clone = pace.clone();
        pace.set(5, Concurrency::Auto);
        assert_eq!(clone.per_second(), 5);
        let start = std::time::Instant::now();
        for _ in 0..5 {
            clone.turn().await;
        }
        // Burst 1 at 5/s: five calls span four periods of 1.025 s / 5.
        let spacing = (Duration::from_secs(1) + JITTER) / 5;
        // (10 ms less for the limiter's own clock, which is not `Instant`.)
        assert!(
            start.elapsed() >= spacing * 4 - Duration::from_millis(10),
            "{:?}",
            start.elapsed()
        );
        pace.set(0, Concurrency::Auto);
        assert_eq!(clone.per_second(), 0);
    }

    /// The limiter's guarantee, by counting its decisions on its own clock: no window of
    /// `1 s + JITTER` holds more than the rate, and over a long run it delivers at least 90%.
    #[test]
    fn no_window_holds_more_than_the_rate_and_the_rate_is_nearly_reached() {
        use governor::clock::FakeRelativeClock;
        for rate in [1u32, 3, 10, 49, 50, 100, 1000, 5000] {
            let b = burst(rate);
            let clock = FakeRelativeClock::default();
            let limiter = governor::RateLimiter::direct_with_clock(
                quota(NonZeroU32::new(rate).unwrap()),
                clock.clone(),
            );
            // Ask every 100 us for 3 s (0.1 ms is below every period tested).
            let mut sent: Vec<Duration> = Vec::new();
            let step = Duration::from_micros(100);
            let mut now = Duration::ZERO;
            while now < Duration::from_secs(3) {
                while limiter.check().is_ok() {
                    sent.push(now);
                }
                clock.advance(step);
                now += step;
            }
            let window = Duration::from_secs(1) + JITTER;
            let busiest = (0..sent.len())
                .map(|i| {
                    sent[i..]
                        .iter()
                        .take_while(|t| **t < sent[i] + window)
                        .count()
                })
                .max()
                .unwrap();
            assert!(
                busiest <= rate as usize,
                "rate {rate}: {busiest} in a window"
            );
            let share = delivered_share(rate);
            assert!(share >= 0.9 || rate < 10, "rate {rate}: {share}");
            // What was sent over 3 s matches the share (within the burst and one call).
            let expected = 3.0 * f64::from(rate) * share + f64::from(b);
            assert!(
                (sent.len() as f64 - expected).abs() <= f64::from(b) + 1.0,
                "rate {rate}: {} sent, {expected:.1} expected",
                sent.len()
            );
        }
    }

    #[tokio::test]
    async fn the_window_follows_the_rate_and_the_answer_time_unless_set() {
        let pace = Pace::new(1000, Concurrency::Auto);
        assert_eq!(
            pace.in_flight_limit(),
            DEFAULT_IN_FLIGHT,
            "nothing measured yet"
        );
        // 40 ms answers at 1000/s: 40 in flight on average, twice that plus the burst.
        pace.observe(Duration::from_millis(40));
        assert_eq!(pace.in_flight_limit(), 80 + 10);
        // Slower answers widen it, up to the cap.
        for _ in 0..100 {
            pace.observe(Duration::from_secs(1));
        }
        assert_eq!(pace.in_flight_limit(), MAX_IN_FLIGHT);
        // A set number wins; no rate means the default.
        pace.set(1000, Concurrency::Fixed(7));
        assert_eq!(pace.in_flight_limit(), 7);
        pace.set(0, Concurrency::Auto);
        assert_eq!(pace.in_flight_limit(), DEFAULT_IN_FLIGHT);
    }

    #[tokio::test]
    async fn a_shrunk_window_holds_once_its_permits_come_back() {
        let pace = Pace::new(0, Concurrency::Fixed(3));
        let (a, b, c) = (pace.turn().await, pace.turn().await, pace.turn().await);
        pace.set(0, Concurrency::Fixed(1));
        drop((a, b));
        // Two of the three permits were forgotten as they came back: one more turn blocks.
        let held = c;
        let blocked = tokio::time::timeout(Duration::from_millis(50), pace.turn()).await;
        assert!(blocked.is_err(), "a second turn while one is out");
        drop(held);
        let one = tokio::time::timeout(Duration::from_millis(50), pace.turn()).await;
        assert!(one.is_ok(), "the one permit is free again");
        drop(one);
        // Growing gives them back.
        pace.set(0, Concurrency::Fixed(2));
        let x = pace.turn().await;
        let y = tokio::time::timeout(Duration::from_millis(50), pace.turn()).await;
        assert!(y.is_ok());
        drop((x, y));
    }
}
