//! The per-request random stream.

use std::convert::Infallible;

use rand::TryRng;

const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finalizer: a bijection on u64 with full avalanche.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One request's random stream: a SplitMix64 sequence (Steele, Lea and Flood 2014; passes
/// BigCrush) started at a bijective mix of (seed, replicate, request index).
///
/// Keying by request index is what makes results independent of the thread count; SplitMix64 is
/// used rather than seeding a larger generator per request because seeding would cost more than
/// the handful of draws a request needs. The algorithm is fixed here, so seeds stay reproducible
/// across releases of `rand`.
#[derive(Debug, Clone)]
pub struct RequestRng {
    state: u64,
}

impl RequestRng {
    #[inline]
    pub fn new(seed: u64, replicate: u32, index: u64) -> RequestRng {
        RequestRng { state: mix64(stream_base(seed, replicate) ^ index) }
    }

    /// A stream from a precomputed [`stream_base`], for hot loops.
    #[inline]
    pub fn from_base(base: u64, index: u64) -> RequestRng {
        RequestRng { state: mix64(base ^ index) }
    }
}

/// The part of the key shared by every request of one (seed, replicate).
#[inline]
pub fn stream_base(seed: u64, replicate: u32) -> u64 {
    mix64(mix64(seed ^ 0x5157_4954_4348_5944) ^ (replicate as u64).wrapping_mul(GAMMA))
}

impl TryRng for RequestRng {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.state = self.state.wrapping_add(GAMMA);
        Ok(mix64(self.state))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_differ_by_every_key_part() {
        let draw = |s, r, i| RequestRng::new(s, r, i).random::<u64>();
        let a = draw(1, 0, 0);
        assert_ne!(a, draw(2, 0, 0));
        assert_ne!(a, draw(1, 1, 0));
        assert_ne!(a, draw(1, 0, 1));
        assert_eq!(a, draw(1, 0, 0));
    }

    #[test]
    fn uniforms_are_uniform() {
        // Mean and variance of 1e6 uniforms from 1e6 different request streams (first draw each):
        // the first draw of neighbouring streams must not be correlated.
        let n = 1_000_000u64;
        let xs: Vec<f64> = (0..n).map(|i| RequestRng::new(7, 0, i).random::<f64>()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let se_mean = (1.0f64 / 12.0 / n as f64).sqrt();
        assert!((mean - 0.5).abs() < 4.0 * se_mean, "mean {mean} vs 0.5 (4 se = {})", 4.0 * se_mean);
        assert!((var - 1.0 / 12.0).abs() < 0.002, "variance {var} vs {}", 1.0 / 12.0);
        let lag1: f64 = xs.windows(2).map(|w| (w[0] - 0.5) * (w[1] - 0.5)).sum::<f64>() / n as f64 / var;
        assert!(lag1.abs() < 4.0 / (n as f64).sqrt(), "correlation of neighbouring streams {lag1}");
    }
}
