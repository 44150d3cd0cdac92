//! `rate_limit`: one token bucket for the whole server (as in the toolkit); requests over the
//! limit get 429.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::RawRateLimit;

#[derive(Debug)]
pub(super) struct RateLimiter {
    /// Time to earn one token.
    interval: Duration,
    burst: u32,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date; `None` until the first request (full bucket).
    updated: Option<Instant>,
}

impl RateLimiter {
    /// `Ok(None)` when `interval` is zero or absent: the toolkit's "disabled".
    pub(super) fn from_raw(raw: RawRateLimit) -> anyhow::Result<Option<RateLimiter>> {
        let interval = raw.interval.unwrap_or_default();
        if interval.is_zero() {
            return Ok(None);
        }
        let burst = raw.burst.unwrap_or(0);
        if burst == 0 {
            bail!("burst must be at least 1 when interval is set (0 would refuse every request)");
        }
        Ok(Some(RateLimiter::new(interval, burst)))
    }

    pub(super) fn new(interval: Duration, burst: u32) -> RateLimiter {
        RateLimiter {
            interval,
            burst,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(burst),
                updated: None,
            }),
        }
    }

    /// Takes a token at `now` if one is there.
    pub(super) fn try_acquire(&self, now: Instant) -> bool {
        let mut bucket = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(updated) = bucket.updated {
            let earned =
                now.saturating_duration_since(updated).as_secs_f64() / self.interval.as_secs_f64();
            bucket.tokens = (bucket.tokens + earned).min(f64::from(self.burst));
        }
        bucket.updated = Some(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Middleware: 429 when the bucket is empty.
pub(super) async fn limit(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    if limiter.try_acquire(Instant::now()) {
        next.run(request).await
    } else {
        (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills_one_token_per_interval() {
        let limiter = RateLimiter::new(Duration::from_secs(10), 2);
        let t0 = Instant::now();
        assert!(limiter.try_acquire(t0));
        assert!(limiter.try_acquire(t0));
        assert!(!limiter.try_acquire(t0), "burst of 2 is used up");
        assert!(!limiter.try_acquire(t0 + Duration::from_secs(9)));
        assert!(limiter.try_acquire(t0 + Duration::from_secs(10)));
        assert!(!limiter.try_acquire(t0 + Duration::from_secs(10)));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(1000);
        assert!(limiter.try_acquire(later));
        assert!(limiter.try_acquire(later));
        assert!(!limiter.try_acquire(later));
    }

    #[test]
    fn zero_interval_disables_and_zero_burst_is_rejected() {
        let off = RateLimiter::from_raw(RawRateLimit {
            interval: Some(Duration::ZERO),
            burst: Some(5),
        })
        .unwrap();
        assert!(off.is_none());
        let err = RateLimiter::from_raw(RawRateLimit {
            interval: Some(Duration::from_secs(1)),
            burst: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("burst"), "{err}");
    }
}
