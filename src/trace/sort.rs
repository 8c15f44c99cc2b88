//! The stable sort of a trace by timestamp ([`sort_by_time`]), on all threads and independent of
//! their number: a distribution sort of the timestamps, then every column gathered through the
//! order. Used by the table reader and by the importers.

use rayon::prelude::*;

use super::Trace;

/// Stable sort by timestamp, if the rows are not already in time order (one pass checks).
///
/// The order comes from [`time_order`]; every column is then gathered through it on all threads,
/// into one spare buffer per element type that is swapped with the column it replaces (so that
/// sorting a column costs no fresh memory after the first of its type: fresh pages cost more to
/// fault in and zero than the gather itself). The result depends only on the timestamps (ties keep
/// file order), never on the thread count.
pub(crate) fn sort_by_time(trace: &mut Trace) {
    if trace.timestamp_s.par_windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
    let (ts, perm) = time_order(&trace.timestamp_s);
    trace.timestamp_s = ts;
    let mut spare_u16 = Vec::new();
    let mut spare_u32 = Vec::new();
    let mut spare_opt = Vec::new();
    // With one name every code is 0 (an invariant of `Trace`): nothing to move.
    if trace.class_names.len() > 1 {
        gather(&mut trace.class, &perm, &mut spare_u16);
    }
    if trace.origin_names.len() > 1 {
        gather(&mut trace.origin, &perm, &mut spare_u16);
    }
    gather(&mut trace.input_tokens, &perm, &mut spare_u32);
    gather(&mut trace.output_tokens, &perm, &mut spare_u32);
    if let Some(c) = &mut trace.cached_input_tokens {
        gather(c, &perm, &mut spare_u32);
    }
    let r = &mut trace.recorded;
    for text in [&mut r.request_id, &mut r.model, &mut r.region, &mut r.status].into_iter().flatten() {
        gather(&mut text.codes, &perm, &mut spare_u32);
    }
    for nums in [&mut r.latency_s, &mut r.ttft_s, &mut r.cost_usd].into_iter().flatten() {
        gather(nums, &perm, &mut spare_opt);
    }
    trace.sorted_on_load = true;
}

/// `column[k] = old column[perm[k]]`, built in `spare`, which then holds the old column.
fn gather<T: Copy + Send + Sync>(column: &mut Vec<T>, perm: &[u32], spare: &mut Vec<T>) {
    spare.clear();
    spare.par_extend(perm.par_iter().map(|&i| column[i as usize]));
    std::mem::swap(column, spare);
}

/// The timestamps in stable sorted order, and the row each came from.
///
/// A distribution sort rather than a comparison sort, because a comparison sort of a few million
/// rows took longer than parsing them: each row goes to one of up to 2^17 buckets (about eight
/// rows each; the counts stay in cache) by a monotone function of its value (`(t - min) * scale`,
/// floored: every step rounds monotonically, so a later bucket never holds a smaller value), in
/// row order, and each bucket is then sorted stably on its own (insertion sort when small). Equal
/// values share a bucket and keep row order, so the whole is a stable sort. A skewed distribution
/// only makes buckets larger (each is then sorted by the standard stable sort), never wrong.
/// Timestamps are finite (validated on read).
///
/// On all threads: the counts per row range, summed; then the buckets in groups of about equal
/// rows, one group per thread, each scanning every row in order and placing those of its buckets
/// in its own part of the output (so the output's fresh pages are also touched on all threads),
/// then sorting its buckets. The result is the stable sort whatever the thread count.
fn time_order(ts: &[f64]) -> (Vec<f64>, Vec<u32>) {
    let n = ts.len();
    assert!(n <= u32::MAX as usize, "a trace of more than 4294967295 rows");
    let threads = rayon::current_num_threads().max(1);
    let (lo, hi) = ts
        .par_iter()
        .fold(|| (f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &t| (lo.min(t), hi.max(t)))
        .reduce(|| (f64::INFINITY, f64::NEG_INFINITY), |a, b| (a.0.min(b.0), a.1.max(b.1)));
    let n_buckets = (n / 8).clamp(1, 1 << 17);
    // hi - lo may overflow to infinity: then the scale is 0 and there is one bucket.
    let scale = n_buckets as f64 / (hi - lo);
    // `as` saturates, and maps NaN (an infinite span times 0) to 0.
    let bucket = |t: f64| (((t - lo) * scale) as usize).min(n_buckets - 1);
    let counts = ts
        .par_chunks(n.div_ceil(threads).max(1))
        .map(|rows| {
            let mut counts = vec![0u32; n_buckets];
            for &t in rows {
                counts[bucket(t)] += 1;
            }
            counts
        })
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        })
        .unwrap_or_else(|| vec![0; n_buckets]);
    // Each bucket's start; groups of whole buckets with about n / threads rows each.
    let mut starts = Vec::with_capacity(n_buckets + 1);
    let mut total = 0u32;
    for &c in &counts {
        starts.push(total);
        total += c;
    }
    starts.push(total);
    let mut cuts = vec![0usize];
    for g in 1..threads {
        let want = (n * g / threads) as u32;
        let b = starts.partition_point(|&s| s < want).min(n_buckets);
        if b > *cuts.last().unwrap_or(&0) {
            cuts.push(b);
        }
    }
    cuts.push(n_buckets);
    let mut sorted = vec![0.0f64; n];
    let mut perm = vec![0u32; n];
    let mut pieces = Vec::with_capacity(cuts.len());
    let (mut rest_t, mut rest_p) = (&mut sorted[..], &mut perm[..]);
    for w in cuts.windows(2) {
        let (first, last) = (w[0], w[1]);
        let len = (starts[last] - starts[first]) as usize;
        let (piece_t, tail_t) = rest_t.split_at_mut(len);
        let (piece_p, tail_p) = rest_p.split_at_mut(len);
        pieces.push((piece_t, piece_p, first, last));
        (rest_t, rest_p) = (tail_t, tail_p);
    }
    pieces.into_par_iter().for_each(|(t_out, p_out, first, last)| {
        let base = starts[first];
        // Where the next row of each bucket goes, within this piece.
        let mut next: Vec<u32> = starts[first..last].iter().map(|&s| s - base).collect();
        for (i, &t) in ts.iter().enumerate() {
            let b = bucket(t);
            if (first..last).contains(&b) {
                let slot = &mut next[b - first];
                t_out[*slot as usize] = t;
                p_out[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        for b in first..last {
            let (start, end) = ((starts[b] - base) as usize, (starts[b + 1] - base) as usize);
            sort_bucket(&mut t_out[start..end], &mut p_out[start..end]);
        }
    });
    (sorted, perm)
}

/// Stable sort of one bucket's values, moving their row numbers along.
fn sort_bucket(t: &mut [f64], p: &mut [u32]) {
    if t.len() <= 32 {
        for i in 1..t.len() {
            let (x, r) = (t[i], p[i]);
            let mut j = i;
            while j > 0 && t[j - 1] > x {
                t[j] = t[j - 1];
                p[j] = p[j - 1];
                j -= 1;
            }
            t[j] = x;
            p[j] = r;
        }
    } else if t.windows(2).any(|w| w[0] > w[1]) {
        let mut pairs: Vec<(f64, u32)> = t.iter().copied().zip(p.iter().copied()).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (k, (v, r)) in pairs.into_iter().enumerate() {
            (t[k], p[k]) = (v, r);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small deterministic generator for the sorting tests (and the date-time tests).
    pub(crate) fn lcg(state: &mut u64) -> u64 {
        *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *state >> 33
    }

    #[test]
    fn time_order_is_the_stable_sort_at_any_thread_count() {
        let mut state = 7u64;
        let mut cases: Vec<Vec<f64>> =
            vec![vec![3.0, 1.0, 2.0, 1.0, 3.0, 0.0], vec![5.0, 5.0, 5.0, 1.0], vec![-1e300, 1e300, 0.0, -0.5, 1e300]];
        // Many ties (whole seconds), concatenated sorted copies, a dense cluster beside outliers.
        cases.push((0..5000).map(|_| (lcg(&mut state) % 300) as f64).collect());
        let copy: Vec<f64> = (0..700).map(|i| i as f64 * 0.37).collect();
        cases.push(copy.iter().cycle().take(7000).copied().collect());
        let mut skewed: Vec<f64> = (0..4000).map(|_| 1e9 + (lcg(&mut state) % 1000) as f64 * 1e-6).collect();
        skewed.extend([0.0, 2e9, 1e9]);
        cases.push(skewed);
        // More rows than the largest bucket count times eight: 60 sorted copies, as the import
        // benchmark's enlarged files are.
        let day: Vec<f64> = (0..20_000).map(|_| 1.7e9 + (lcg(&mut state) % 86_400_000) as f64 * 1e-3).collect();
        let mut day_sorted = day.clone();
        day_sorted.sort_by(f64::total_cmp);
        cases.push(day_sorted.iter().cycle().take(1_200_000).copied().collect());
        cases.push(vec![4.0]);
        for ts in cases {
            let mut want: Vec<(f64, u32)> = ts.iter().copied().zip(0..).collect();
            want.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (want_t, want_p): (Vec<f64>, Vec<u32>) = want.into_iter().unzip();
            for threads in [1, 2, 3, 8] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let (t, p) = pool.install(|| time_order(&ts));
                assert_eq!((&t, &p), (&want_t, &want_p), "{threads} threads, {} values", ts.len());
            }
        }
    }
}
