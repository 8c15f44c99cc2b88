//! Token buckets: the rpm and tpm rate limits of an endpoint (capacity = the per-minute limit,
//! refilled continuously at limit/60 per second), and their rescaling by an incident.

/// A token bucket: `capacity` tokens, refilled at `rate` per second.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bucket {
    pub(super) base_capacity: f64,
    pub(super) capacity: f64,
    rate: f64,
    pub(super) tokens: f64,
    last: f64,
}

impl Bucket {
    pub(super) fn per_minute(limit: u64, start: f64) -> Bucket {
        let capacity = limit as f64;
        Bucket { base_capacity: capacity, capacity, rate: capacity / 60.0, tokens: capacity, last: start }
    }
    #[inline]
    pub(super) fn refill(&mut self, now: f64) {
        if now > self.last {
            self.tokens = (self.tokens + (now - self.last) * self.rate).min(self.capacity);
            self.last = now;
        }
    }
    /// Seconds until `need` tokens are there (0 if they are; infinite if they never fit).
    #[inline]
    pub(super) fn wait_for(&self, need: f64) -> f64 {
        if need <= self.tokens {
            0.0
        } else if need > self.capacity {
            f64::INFINITY
        } else {
            (need - self.tokens) / self.rate
        }
    }
    /// Scale the limit by `x` (an incident), keeping the tokens already there up to the new capacity.
    pub(super) fn rescale(&mut self, now: f64, x: f64) {
        self.refill(now);
        self.capacity = self.base_capacity * x;
        self.rate = self.capacity / 60.0;
        self.tokens = self.tokens.min(self.capacity);
    }
}
