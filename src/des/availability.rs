//! Availability processes at run time: an endpoint's or a region's up/degraded/down Markov
//! process ([`Process`], validated in the scenario), its state and its own random stream, keyed
//! by the process's index so that it never shares a stream with a request.

use rand::RngExt;

use super::scenario::{Process, Scope};
use crate::engine::rng::RequestRng;

/// Key mixed into the seed for the availability processes' streams, so they never share a stream
/// with a request.
pub(super) const PROCESS_STREAM_KEY: u64 = 0xA7A1_1AB1_E0F5_7A7E;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ProcState {
    Up,
    Degraded,
    Down,
}

pub(super) struct ProcessRt {
    pub(super) scope: Scope,
    pub(super) p: Process,
    pub(super) state: ProcState,
    pub(super) next: ProcState,
    pub(super) rng: RequestRng,
}

impl ProcessRt {
    fn exp(&mut self, mean: f64) -> f64 {
        let u: f64 = self.rng.random();
        -mean * (1.0 - u).ln()
    }
    /// Time to the next transition from the current state; sets `next`.
    pub(super) fn draw(&mut self) -> f64 {
        match self.state {
            ProcState::Up => {
                let to_down = self.exp(self.p.mtbf_s);
                match self.p.degraded {
                    Some((mtbf, _, _)) => {
                        let to_degraded = self.exp(mtbf);
                        if to_degraded < to_down {
                            self.next = ProcState::Degraded;
                            to_degraded
                        } else {
                            self.next = ProcState::Down;
                            to_down
                        }
                    }
                    None => {
                        self.next = ProcState::Down;
                        to_down
                    }
                }
            }
            ProcState::Down => {
                self.next = ProcState::Up;
                self.exp(self.p.mttr_s)
            }
            ProcState::Degraded => {
                self.next = ProcState::Up;
                self.exp(self.p.degraded.map_or(self.p.mttr_s, |d| d.1))
            }
        }
    }
}
