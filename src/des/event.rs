//! Events and the event queue, with an explicit order for events at the same instant.
//!
//! Events are ordered by `(time, kind, sequence number)`:
//!
//! 1. **time**, seconds (finite; compared through their IEEE bits mapped to an unsigned key with the
//!    same order as the numbers, negative times included; -0 is taken as 0);
//! 2. **kind**, in the order of [`EventKind`]: changes of the environment (availability processes,
//!    scripted incidents) first, so that anything else at that instant sees the new state; then
//!    attempt completions, so a slot freed at `t` is free for whatever else happens at `t`, and a
//!    response that arrives exactly at its timeout counts as in time (as in the replay engine's
//!    `duration <= timeout`); then queue timeouts; then hedges (so an attempt that timed out at
//!    that instant is not hedged); then retries after a backoff; then new arrivals,
//!    so that requests already in the system keep their place before requests that arrive at the
//!    same instant;
//! 3. **sequence number**, the order in which the events were scheduled (first scheduled, first
//!    processed), which makes the order total and independent of the heap's internals.
//!
//! Arrivals are not stored in the heap: they are read from the trace in order, and an arrival at
//! time `t` is processed when no scheduled event is earlier than `t` or at `t` (arrival is the last
//! kind; among arrivals the trace order is the sequence). Events scheduled *while* processing an
//! event at `t` for the same `t` take their place in this order among the events still pending.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The kind of an event; the declaration order is the processing order at equal times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum EventKind {
    Environment = 0,
    Completion = 1,
    QueueTimeout = 2,
    Hedge = 3,
    Retry = 4,
    Arrival = 5,
}

/// What happens. A closed set: every event the engine knows is here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Availability process `process` makes its next transition.
    Process { process: u32 },
    /// Scripted incident `incident` starts (`start`) or ends.
    Incident { incident: u32, start: bool },
    /// The attempt `token` of the request in slab slot `slot` ends (served, failed or timed out).
    Completion { slot: u32, token: u32 },
    /// The attempt `token` of the request in `slot` times out while still queued.
    QueueTimeout { slot: u32, token: u32 },
    /// An attempt abandoned while in service (its request was answered by a hedge) ends and frees
    /// its slot at `endpoint`.
    Release { endpoint: u16 },
    /// The hedge delay of the request in `slot` has passed; if attempt `token` is still running,
    /// a second attempt starts.
    Hedge { slot: u32, token: u32 },
    /// The request in `slot` has waited out its backoff and tries again.
    Retry { slot: u32 },
    /// Request `request` (trace index) arrives. Used only by tests and tools that schedule
    /// arrivals explicitly; the engine streams arrivals from the trace.
    Arrival { request: u32 },
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Process { .. } | Event::Incident { .. } => EventKind::Environment,
            Event::Completion { .. } | Event::Release { .. } => EventKind::Completion,
            Event::Hedge { .. } => EventKind::Hedge,
            Event::QueueTimeout { .. } => EventKind::QueueTimeout,
            Event::Retry { .. } => EventKind::Retry,
            Event::Arrival { .. } => EventKind::Arrival,
        }
    }
}

/// An event with its place in the order. The key packs `(time, kind, seq)` into one integer
/// (time's IEEE bits in the high 64 bits, then the kind in 3 bits, the sequence number in
/// [`SEQ_BITS`]), so each heap comparison is one 128-bit compare; the low [`SLOT_BITS`] say where
/// the event itself waits (see [`EventQueue`]). The sequence number is unique, so those bits never
/// decide the order.
#[derive(Debug, Clone, Copy)]
pub struct Scheduled {
    key: u128,
    pub event: Event,
}

/// Bits of the sequence number: 2^36 (69 billion) events per run.
const SEQ_BITS: u32 = 36;
/// Bits of the index of an event's payload: 2^25 (33 million) events pending at once.
const SLOT_BITS: u32 = 25;
const _: () = assert!(3 + SEQ_BITS + SLOT_BITS == 64);

/// A float's bits mapped so that unsigned order is numeric order for every finite value (negative
/// times occur in traces with a negative clock): flip all bits of negatives, the sign of the rest.
#[inline]
fn ordered_bits(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

#[inline]
fn from_ordered_bits(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

#[inline]
fn key_of(time: f64, kind: EventKind, seq: u64, slot: u32) -> u128 {
    ((ordered_bits(time) as u128) << 64)
        | ((kind as u128) << (SEQ_BITS + SLOT_BITS))
        | ((seq as u128) << SLOT_BITS)
        | slot as u128
}

impl Scheduled {
    /// Seconds.
    #[inline]
    pub fn time(&self) -> f64 {
        from_ordered_bits((self.key >> 64) as u64)
    }
    /// The order in which it was scheduled.
    pub fn seq(&self) -> u64 {
        ((self.key >> SLOT_BITS) as u64) & ((1 << SEQ_BITS) - 1)
    }
}

/// A heap entry: just the key, 16 bytes, so that sifting moves half of what a key beside its event
/// would (the heap's pop was the loop's largest cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key(u128);

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    /// Reversed, so that std's max-heap pops the smallest key first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.cmp(&self.0)
    }
}

/// A priority queue of events in `(time, kind, seq)` order: a binary heap of keys, and the events
/// themselves in a slab (reused through a free list) that the keys' low bits index.
#[derive(Debug)]
pub struct EventQueue {
    heap: BinaryHeap<Key>,
    events: Vec<Event>,
    free: Vec<u32>,
    next_seq: u64,
    /// Events popped so far.
    pub processed: u64,
    /// What the key's bits can number: sequence numbers per run and events pending at once.
    max_seq: u64,
    max_pending: u32,
    /// Set when a push went past those limits (the event was dropped, so the run is not valid:
    /// the engine checks this and reports an error instead of a wrong order).
    overflowed: bool,
}

impl Default for EventQueue {
    fn default() -> EventQueue {
        EventQueue {
            heap: BinaryHeap::new(),
            events: Vec::new(),
            free: Vec::new(),
            next_seq: 0,
            processed: 0,
            max_seq: MAX_EVENTS_PER_RUN,
            max_pending: MAX_PENDING_EVENTS,
            overflowed: false,
        }
    }
}

/// Events a run may schedule in all and have pending at once (the key's bit fields).
pub const MAX_EVENTS_PER_RUN: u64 = 1 << SEQ_BITS;
pub const MAX_PENDING_EVENTS: u32 = 1 << SLOT_BITS;

impl EventQueue {
    pub fn new() -> EventQueue {
        EventQueue::default()
    }

    /// A queue that takes at most `max_seq` events per run and `max_pending` at once.
    pub fn with_limits(max_seq: u64, max_pending: u32) -> EventQueue {
        let mut q = EventQueue::default();
        q.set_limits(max_seq, max_pending);
        q
    }

    /// Lower the limits (never above the key's own; smaller ones let tests reach them).
    pub fn set_limits(&mut self, max_seq: u64, max_pending: u32) {
        self.max_seq = max_seq.min(MAX_EVENTS_PER_RUN);
        self.max_pending = max_pending.min(MAX_PENDING_EVENTS);
    }

    /// Events per run and events pending at once that this queue takes.
    pub fn limits(&self) -> (u64, u32) {
        (self.max_seq, self.max_pending)
    }

    /// True once a push went past the limits (see [`EventQueue::with_limits`]).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Schedule `event` at `time` (finite: the engine only schedules such times).
    #[inline]
    pub fn push(&mut self, time: f64, event: Event) {
        debug_assert!(time.is_finite(), "event time {time}");
        // -0.0 has the sign bit set and would sort last; normalise it.
        let time = time + 0.0;
        // Past a limit a wrapped key would misorder events: the event is dropped and the run
        // flagged instead (the engine reports it as an error).
        if self.next_seq >= self.max_seq {
            self.overflowed = true;
            return;
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.events[slot as usize] = event;
                slot
            }
            None => {
                if self.events.len() >= self.max_pending as usize {
                    self.overflowed = true;
                    return;
                }
                self.events.push(event);
                (self.events.len() - 1) as u32
            }
        };
        self.heap.push(Key(key_of(time, event.kind(), self.next_seq, slot)));
        self.next_seq += 1;
    }

    /// The time of the next event, if any, without removing it.
    #[inline]
    pub fn peek_time(&self) -> Option<f64> {
        self.heap.peek().map(|k| from_ordered_bits((k.0 >> 64) as u64))
    }

    /// Remove and return the next event.
    #[inline]
    pub fn pop(&mut self) -> Option<Scheduled> {
        let Key(key) = self.heap.pop()?;
        self.processed += 1;
        let slot = (key as u32) & ((1 << SLOT_BITS) - 1);
        self.free.push(slot);
        Some(Scheduled { key, event: self.events[slot as usize] })
    }

    /// True if an arrival at `time` comes before the next scheduled event (arrival is the last
    /// kind, so only a strictly earlier arrival does).
    #[inline]
    pub fn arrival_first(&self, time: f64) -> bool {
        self.peek_time().is_none_or(|top| time < top)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut EventQueue) -> Vec<(f64, Event)> {
        std::iter::from_fn(|| q.pop().map(|s| (s.time(), s.event))).collect()
    }

    #[test]
    fn pushes_past_the_limits_are_flagged_not_misordered() {
        let mut q = EventQueue::with_limits(10, 3);
        for k in 0..3 {
            q.push(k as f64, Event::Retry { slot: k });
        }
        assert!(!q.overflowed());
        q.push(5.0, Event::Retry { slot: 3 });
        assert!(q.overflowed(), "a fourth pending event must trip a limit of 3");
        assert_eq!(q.len(), 3);
        // Freed slots are reused, but the sequence numbers still run out at 10.
        let mut q = EventQueue::with_limits(10, 3);
        for k in 0..10 {
            q.push(k as f64, Event::Retry { slot: k });
            q.pop();
        }
        assert!(!q.overflowed());
        q.push(11.0, Event::Retry { slot: 11 });
        assert!(q.overflowed(), "an eleventh event must trip a limit of 10 per run");
        assert!(q.is_empty());
    }

    #[test]
    fn same_time_events_come_out_by_kind_then_by_scheduling_order() {
        let mut q = EventQueue::new();
        // Scheduled in the reverse of the documented kind order, two of each kind.
        let at = 5.0;
        q.push(at, Event::Arrival { request: 1 });
        q.push(at, Event::Retry { slot: 1 });
        q.push(at, Event::Hedge { slot: 1, token: 0 });
        q.push(at, Event::QueueTimeout { slot: 1, token: 0 });
        q.push(at, Event::Completion { slot: 1, token: 0 });
        q.push(at, Event::Incident { incident: 1, start: true });
        q.push(at, Event::Arrival { request: 2 });
        q.push(at, Event::Retry { slot: 2 });
        q.push(at, Event::QueueTimeout { slot: 2, token: 0 });
        q.push(at, Event::Completion { slot: 2, token: 0 });
        q.push(at, Event::Process { process: 2 });
        q.push(4.5, Event::Arrival { request: 0 });
        let order: Vec<Event> = drain(&mut q).into_iter().map(|(_, e)| e).collect();
        assert_eq!(
            order,
            vec![
                Event::Arrival { request: 0 },
                Event::Incident { incident: 1, start: true },
                Event::Process { process: 2 },
                Event::Completion { slot: 1, token: 0 },
                Event::Completion { slot: 2, token: 0 },
                Event::QueueTimeout { slot: 1, token: 0 },
                Event::QueueTimeout { slot: 2, token: 0 },
                Event::Hedge { slot: 1, token: 0 },
                Event::Retry { slot: 1 },
                Event::Retry { slot: 2 },
                Event::Arrival { request: 1 },
                Event::Arrival { request: 2 },
            ]
        );
    }

    #[test]
    fn times_order_before_kinds_and_negative_zero_is_zero() {
        let mut q = EventQueue::new();
        q.push(1e-9, Event::Process { process: 0 });
        q.push(-0.0, Event::Arrival { request: 0 });
        q.push(0.0, Event::Completion { slot: 0, token: 0 });
        q.push(-2.5, Event::Retry { slot: 9 });
        let mut order: Vec<(f64, Event)> = drain(&mut q);
        assert_eq!(order.remove(0), (-2.5, Event::Retry { slot: 9 }), "negative times come first");
        assert_eq!(order[0].1, Event::Completion { slot: 0, token: 0 });
        assert_eq!(order[1].1, Event::Arrival { request: 0 });
        assert_eq!(order[2].1, Event::Process { process: 0 });
        assert_eq!(q.processed, 4);
    }

    #[test]
    fn pops_come_out_sorted_by_key_under_interleaved_pushes() {
        // A deterministic pseudo-random mix of pushes and pops, against a sorted reference.
        let mut q = EventQueue::new();
        let mut reference: Vec<(u64, u8, u64)> = Vec::new();
        let mut x: u64 = 12345;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 33
        };
        let mut popped = Vec::new();
        let mut expected = Vec::new();
        for step in 0..5000u64 {
            if next() % 3 != 0 {
                let time = (next() % 50) as f64 * 0.5 - 5.0;
                let event = match next() % 4 {
                    0 => Event::Completion { slot: step as u32, token: 0 },
                    1 => Event::Retry { slot: step as u32 },
                    2 => Event::Process { process: step as u32 },
                    _ => Event::QueueTimeout { slot: step as u32, token: 0 },
                };
                reference.push((ordered_bits(time), event.kind() as u8, q.next_seq));
                q.push(time, event);
            } else if let Some(s) = q.pop() {
                reference.sort_unstable();
                expected.push(reference.remove(0));
                popped.push((ordered_bits(s.time()), s.event.kind() as u8, s.seq()));
            }
        }
        while let Some(s) = q.pop() {
            popped.push((ordered_bits(s.time()), s.event.kind() as u8, s.seq()));
        }
        reference.sort_unstable();
        expected.extend(reference);
        assert_eq!(popped, expected);
    }

    #[test]
    fn a_streamed_arrival_goes_after_scheduled_events_at_its_time() {
        let mut q = EventQueue::new();
        q.push(2.0, Event::Retry { slot: 0 });
        assert!(q.arrival_first(1.999));
        assert!(!q.arrival_first(2.0));
        assert!(!q.arrival_first(2.5));
    }
}
