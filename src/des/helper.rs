//! The helper thread of a run with a core to spare: it makes the arrivals' draws ahead of the
//! event loop ([`Ahead`]) and hands finished requests to the run's sink behind it ([`BatchSink`]),
//! so that the loop does neither; results are identical to a run without it.

use super::arrivals::{Arrivals, Prepare, Prepared};
use super::sink::{Done, Sink};
use crate::trace::Trace;

/// Rows per block of draws made ahead, and how many blocks the helper keeps ready.
const AHEAD_BLOCK: usize = 2048;
const AHEAD_BLOCKS: usize = 4;

/// Draws made ahead by the helper thread (see [`with_helper`]), in blocks of [`AHEAD_BLOCK`]
/// rows in trace order.
pub(super) struct Ahead<'h> {
    rx: std::sync::mpsc::Receiver<Vec<Prepared>>,
    /// Blocks taken so far (the helper keeps [`AHEAD_BLOCKS`] ready beyond them).
    taken: &'h std::sync::atomic::AtomicUsize,
    /// Where used blocks go back.
    tx: std::sync::mpsc::SyncSender<ToHelper>,
    block: Vec<Prepared>,
    at: usize,
}

impl Arrivals for Ahead<'_> {
    #[inline]
    fn next(&mut self, _: &Prepare<'_>, _: u64, _: &Trace, _: usize) -> Prepared {
        if self.at == self.block.len() {
            let used = std::mem::take(&mut self.block);
            // The buffer goes back to be filled again (the helper lives until the loop is over).
            let _ = self.tx.send(ToHelper::Spare(used));
            self.block = self.rx.recv().expect("the helper thread stopped before the trace's end");
            self.taken.fetch_add(1, std::sync::atomic::Ordering::Release);
            self.at = 0;
        }
        self.at += 1;
        self.block[self.at - 1].clone()
    }
}

/// Finished requests per batch handed to the helper thread.
const BATCH: usize = 4096;

/// What the event loop sends its helper thread.
enum ToHelper {
    /// Finished requests, in the order they finished.
    Finished(Vec<(u64, Done)>),
    /// A block of draws used up, to be filled again.
    Spare(Vec<Prepared>),
}

/// The loop's sink under [`with_helper`]: buffers finished requests and hands them over in
/// batches.
pub(super) struct BatchSink {
    buf: Vec<(u64, Done)>,
    tx: std::sync::mpsc::SyncSender<ToHelper>,
    /// Emptied batches coming back, so that buffers are reused rather than allocated.
    spare: std::sync::mpsc::Receiver<Vec<(u64, Done)>>,
}

impl BatchSink {
    fn flush(&mut self) {
        let next = self.spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
        let full = std::mem::replace(&mut self.buf, next);
        // The helper lives until every batch is in (see `with_helper`).
        let _ = self.tx.send(ToHelper::Finished(full));
    }
}

impl Sink for BatchSink {
    #[inline]
    fn request_done(&mut self, request: u64, done: &Done) {
        self.buf.push((request, *done));
        if self.buf.len() == BATCH {
            self.flush();
        }
    }
}

/// Run `run` (the event loop over the whole of `trace`) with one helper thread beside it, which
/// makes the arrivals' draws ahead of the loop ([`Ahead`]) and hands every finished request, in
/// order, to `inner` behind it ([`BatchSink`]). `inner` sees exactly the sequence it would see
/// inline, and the draws are the ones the loop would make, so results are identical.
///
/// The helper's two jobs together are about half the loop's work, and it polls for work (yielding
/// its core between polls) rather than sleeping: a thread woken by the loop was often placed on
/// the loop's own core, and the loop then waited up to 20 ms a run for its turn (measured with
/// `/proc/thread-self/schedstat`; 1M reference, twenty interleaved runs: median 0.124 s with a
/// sleeping thread per job, 0.107 s with this one, and the slowest 0.174 s against 0.116 s).
/// Making draws comes first: the helper counts the blocks the loop has taken and keeps
/// [`AHEAD_BLOCKS`] ready at every poll, so a backlog of finished batches never starves the loop.
pub(super) fn with_helper<S: Sink + Send, R, E>(
    inner: S,
    prepare: &Prepare<'_>,
    trace: &Trace,
    run: impl FnOnce(BatchSink, Ahead<'_>) -> std::result::Result<(R, BatchSink), E>,
) -> std::result::Result<(R, S), E> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    // Bounded, so that a helper that falls behind holds the loop back rather than memory growing.
    // The helper never blocks (it polls, and its own channels are unbounded: it sends at most
    // AHEAD_BLOCKS blocks beyond those taken, and back the batches the loop sent it).
    let (tx, rx) = mpsc::sync_channel::<ToHelper>(16);
    let (blocks_tx, blocks_rx) = mpsc::channel::<Vec<Prepared>>();
    let (back_tx, back_rx) = mpsc::channel::<Vec<(u64, Done)>>();
    let taken = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let taken = &taken;
        let helper = scope.spawn(move || {
            let mut inner = inner;
            let (mut next_row, mut sent) = (0, 0);
            let mut pool: Vec<Vec<Prepared>> = Vec::new();
            let mut top_up = |pool: &mut Vec<Vec<Prepared>>| {
                while next_row < trace.len() && sent - taken.load(Ordering::Acquire) < AHEAD_BLOCKS {
                    let mut block = pool.pop().unwrap_or_else(|| Vec::with_capacity(AHEAD_BLOCK));
                    let end = (next_row + AHEAD_BLOCK).min(trace.len());
                    block.clear();
                    block.extend((next_row..end).map(|row| prepare.prepare(row as u64, trace, row)));
                    next_row = end;
                    sent += 1;
                    let _ = blocks_tx.send(block);
                }
            };
            // Until the loop is over and has dropped both of its senders; draws first at every
            // turn, so that a finished batch is handled only with the loop's blocks topped up.
            loop {
                top_up(&mut pool);
                match rx.try_recv() {
                    Ok(ToHelper::Spare(block)) => pool.push(block),
                    Ok(ToHelper::Finished(mut batch)) => {
                        for (request, done) in &batch {
                            inner.request_done(*request, done);
                        }
                        batch.clear();
                        let _ = back_tx.send(batch);
                    }
                    Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
                    Err(mpsc::TryRecvError::Disconnected) => break,
                }
            }
            inner
        });
        let ahead = Ahead { rx: blocks_rx, taken, tx: tx.clone(), block: Vec::new(), at: 0 };
        // On an error the senders are dropped with the loop, which ends the helper.
        let ran =
            run(BatchSink { buf: Vec::with_capacity(BATCH), tx, spare: back_rx }, ahead).map(|(result, mut sink)| {
                if !sink.buf.is_empty() {
                    sink.flush();
                }
                result
            });
        let inner = helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        ran.map(|result| (result, inner))
    })
}
