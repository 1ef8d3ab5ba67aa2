//! A token bucket per sink: at most `count` deliveries in any `per`, with bursts up to `count`,
//! so a backlog drains at the pace a service accepts instead of earning 429s. Pure: the caller
//! passes the time and sleeps for the wait it is told.

use std::time::{Duration, Instant};

use crate::config::RateLimit;

#[derive(Debug)]
pub struct Bucket {
    capacity: f64,
    /// Tokens added per second.
    rate: f64,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    pub fn new(limit: RateLimit, now: Instant) -> Bucket {
        let capacity = f64::from(limit.count);
        Bucket {
            capacity,
            rate: capacity / limit.per.as_secs_f64(),
            tokens: capacity,
            updated: now,
        }
    }

    /// Takes one token if there is one; otherwise says how long until there is.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            // saturating: a rate too slow for a Duration (the config bounds it) waits "forever"
            Err(Duration::try_from_secs_f64((1.0 - self.tokens) / self.rate)
                .unwrap_or(Duration::MAX))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_paces() {
        let start = Instant::now();
        let mut bucket = Bucket::new(
            RateLimit {
                count: 5,
                per: Duration::from_secs(2),
            },
            start,
        );
        for _ in 0..5 {
            assert_eq!(bucket.take(start), Ok(()));
        }
        let wait = bucket.take(start).unwrap_err();
        assert!((wait.as_secs_f64() - 0.4).abs() < 1e-6, "{wait:?}");
        assert_eq!(bucket.take(start + Duration::from_millis(400)), Ok(()));
        assert!(bucket.take(start + Duration::from_millis(400)).is_err());
        // a long idle refills only up to the burst size
        let later = start + Duration::from_secs(60);
        for _ in 0..5 {
            assert_eq!(bucket.take(later), Ok(()));
        }
        assert!(bucket.take(later).is_err());
    }

    /// Issue 16, defect 3: a rate too slow for a `Duration` ("1/18446744073709551615s") panicked
    /// in `Duration::from_secs_f64`; the wait now saturates.
    #[test]
    fn absurd_period_does_not_panic() {
        let start = Instant::now();
        let mut bucket = Bucket::new(
            RateLimit {
                count: 1,
                per: Duration::MAX,
            },
            start,
        );
        assert_eq!(bucket.take(start), Ok(()));
        assert!(bucket.take(start).unwrap_err() > Duration::from_secs(1 << 40));
    }
}
