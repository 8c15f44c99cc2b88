//! Exact quantiles (Hyndman-Fan type 7, numpy's default `linear`), by selection rather than a
//! full sort: for sorted `x[0..n)`, `pos = (n-1) q`, `k = floor(pos)`,
//! `value = x[k] + (x[k+1] - x[k]) (pos - k)`.

/// Type-7 quantiles of `values` at each of `qs` (ascending, in [0, 1]). Reorders `values`.
/// Returns `None` for an empty slice. NaNs sort last (they never occur in engine output).
pub fn type7(values: &mut [f64], qs: &[f64]) -> Option<Vec<f64>> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    debug_assert!(qs.windows(2).all(|w| w[0] <= w[1]), "quantiles must be ascending");
    let mut out = Vec::with_capacity(qs.len());
    // Everything before `done` is <= everything from `done` on, and values[done - 1] is in its
    // sorted place, so each later selection only needs the tail.
    let mut done = 0usize;
    let mut cache: Option<(usize, f64)> = None;
    let mut order_stat = |k: usize, values: &mut [f64], done: &mut usize| -> f64 {
        if let Some((ck, cv)) = cache
            && ck == k
        {
            return cv;
        }
        let v = if k < *done {
            // Already placed by an earlier, larger selection (only happens for repeated qs).
            values[k]
        } else {
            let tail = &mut values[*done..];
            let (_, v, _) = tail.select_nth_unstable_by(k - *done, |a, b| a.total_cmp(b));
            let v = *v;
            *done = k + 1;
            v
        };
        cache = Some((k, v));
        v
    };
    for &q in qs {
        let pos = (n - 1) as f64 * q;
        let k = pos.floor() as usize;
        let lo = order_stat(k, values, &mut done);
        let frac = pos - k as f64;
        let value = if k + 1 < n && frac > 0.0 {
            let hi = order_stat(k + 1, values, &mut done);
            lo + (hi - lo) * frac
        } else {
            lo
        };
        out.push(value);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_type7(xs: &[f64], q: f64) -> f64 {
        let mut s = xs.to_vec();
        s.sort_by(f64::total_cmp);
        let pos = (s.len() - 1) as f64 * q;
        let k = pos.floor() as usize;
        let hi = s[(k + 1).min(s.len() - 1)];
        s[k] + (hi - s[k]) * (pos - k as f64)
    }

    #[test]
    fn matches_numpy_on_a_small_case() {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 90, 99]) = [3.0, 7.6, 9.76]
        let mut v = vec![10.0, 1.0, 4.0, 2.0, 3.0];
        let got = type7(&mut v, &[0.5, 0.9, 0.99]).unwrap();
        for (g, e) in got.iter().zip([3.0, 7.6, 9.76]) {
            assert!((g - e).abs() < 1e-12, "got {g}, expected {e}");
        }
    }

    #[test]
    fn agrees_with_a_full_sort_on_random_data() {
        use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for n in [1usize, 2, 3, 10, 999, 10_000] {
            let xs: Vec<f64> = (0..n).map(|_| rng.random::<f64>().powi(3) * 100.0).collect();
            let qs = [0.0, 0.5, 0.9, 0.99, 0.999, 1.0];
            let mut work = xs.clone();
            let got = type7(&mut work, &qs).unwrap();
            for (g, &q) in got.iter().zip(&qs) {
                let e = sorted_type7(&xs, q);
                assert_eq!(*g, e, "n={n} q={q}: selection {g} vs sort {e}");
            }
        }
    }

    #[test]
    fn empty_has_no_quantiles() {
        assert_eq!(type7(&mut [], &[0.5]), None);
    }
}
