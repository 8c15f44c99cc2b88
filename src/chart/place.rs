//! Where annotation labels go: pure pixel geometry, no drawing.
//!
//! Each label tries positions around its point, near ones first, and takes the cheapest: leaving the plot
//! is forbidden in effect, crossing a drawn line or covering a marker or an earlier label is expensive,
//! and distance is a mild cost. Labels placed earlier win, so the caller places the important ones first.

/// An axis-aligned box in pixels (y grows downwards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f64,
    pub y0: f64,
    pub x1: f64,
    pub y1: f64,
}

impl Rect {
    pub fn around(center: (f64, f64), half_width: f64, half_height: f64) -> Rect {
        Rect {
            x0: center.0 - half_width,
            y0: center.1 - half_height,
            x1: center.0 + half_width,
            y1: center.1 + half_height,
        }
    }

    fn inflate(self, by: f64) -> Rect {
        Rect { x0: self.x0 - by, y0: self.y0 - by, x1: self.x1 + by, y1: self.y1 + by }
    }

    fn area(&self) -> f64 {
        (self.x1 - self.x0).max(0.0) * (self.y1 - self.y0).max(0.0)
    }

    fn overlap(&self, other: &Rect) -> f64 {
        let w = self.x1.min(other.x1) - self.x0.max(other.x0);
        let h = self.y1.min(other.y1) - self.y0.max(other.y0);
        if w > 0.0 && h > 0.0 { w * h } else { 0.0 }
    }

    /// Whether the segment a-b passes through the box (Liang-Barsky clipping).
    fn crosses(&self, a: (f64, f64), b: (f64, f64)) -> bool {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        for (p, q) in [(-dx, a.0 - self.x0), (dx, self.x1 - a.0), (-dy, a.1 - self.y0), (dy, self.y1 - a.1)] {
            if p == 0.0 {
                if q < 0.0 {
                    return false;
                }
            } else {
                let t = q / p;
                if p < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
                if t0 > t1 {
                    return false;
                }
            }
        }
        true
    }

    /// The point on the box's edge nearest to `p`, where a leader line from `p` should end.
    pub fn nearest_point(&self, p: (f64, f64)) -> (f64, f64) {
        (p.0.clamp(self.x0, self.x1), p.1.clamp(self.y0, self.y1))
    }
}

/// Labels placed so far, and what they must keep clear of.
#[derive(Debug)]
pub struct Placer {
    bounds: Rect,
    segments: Vec<((f64, f64), (f64, f64))>,
    taken: Vec<Rect>,
}

/// Where a label went; `leader` when it sits far enough from its point to need a line to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub rect: Rect,
    pub leader: bool,
}

/// Gaps between a point's marker and its label, tried nearest first; beyond the first, a leader line.
const GAPS: [f64; 3] = [5.0, 26.0, 54.0];
/// Directions around the point, in order of preference: above-right reads most naturally.
const DIRECTIONS: [(f64, f64); 8] =
    [(1.0, -1.0), (-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0), (1.0, 0.0), (-1.0, 0.0), (0.0, -1.0), (0.0, 1.0)];

impl Placer {
    /// Labels stay inside `bounds` and keep off the polyline `segments`.
    pub fn new(bounds: Rect, segments: Vec<((f64, f64), (f64, f64))>) -> Placer {
        Placer { bounds, segments, taken: Vec::new() }
    }

    /// Mark a box as occupied (a marker, a fixed label).
    pub fn occupy(&mut self, rect: Rect) {
        self.taken.push(rect);
    }

    /// The best spot for a `width` x `height` label next to a marker of radius `clearance` at `anchor`;
    /// the spot is then occupied.
    pub fn place(&mut self, anchor: (f64, f64), clearance: f64, (width, height): (f64, f64)) -> Placement {
        let mut best: Option<(f64, Placement)> = None;
        for (ring, gap) in GAPS.iter().enumerate() {
            for (rank, (dx, dy)) in DIRECTIONS.iter().enumerate() {
                let center =
                    (anchor.0 + dx * (clearance + gap + width / 2.0), anchor.1 + dy * (clearance + gap + height / 2.0));
                let rect = Rect::around(center, width / 2.0, height / 2.0);
                let cost = self.cost(&rect) + 40.0 * ring as f64 + rank as f64;
                if best.is_none_or(|(best_cost, _)| cost < best_cost) {
                    best = Some((cost, Placement { rect, leader: ring > 0 }));
                }
            }
        }
        // GAPS and DIRECTIONS are non-empty, so there is always a best candidate.
        let placement = best.map_or(
            Placement { rect: Rect::around(anchor, width / 2.0, height / 2.0), leader: false },
            |(_, placement)| placement,
        );
        self.taken.push(placement.rect);
        placement
    }

    /// The cheapest of `candidates` (fixed spots, no leader line); it is then occupied.
    pub fn place_among(&mut self, candidates: impl IntoIterator<Item = Rect>) -> Rect {
        let mut best: Option<(f64, Rect)> = None;
        for rect in candidates {
            let cost = self.cost(&rect);
            if best.is_none_or(|(best_cost, _)| cost < best_cost) {
                best = Some((cost, rect));
            }
        }
        let rect = best.map_or(self.bounds, |(_, rect)| rect);
        self.taken.push(rect);
        rect
    }

    fn cost(&self, rect: &Rect) -> f64 {
        let area = rect.area().max(1.0);
        let outside = (area - rect.overlap(&self.bounds)) / area;
        let padded = rect.inflate(2.0);
        let crossings = self.segments.iter().filter(|(a, b)| padded.crosses(*a, *b)).count();
        let covered: f64 =
            self.taken.iter().map(|t| if t.overlap(&padded) > 0.0 { 1.0 + t.overlap(rect) / area } else { 0.0 }).sum();
        1e5 * outside + 300.0 * crossings as f64 + 500.0 * covered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> Rect {
        Rect { x0: 0.0, y0: 0.0, x1: 1000.0, y1: 600.0 }
    }

    #[test]
    fn a_segment_through_a_box_crosses_it_and_one_beside_it_does_not() {
        let r = Rect { x0: 10.0, y0: 10.0, x1: 20.0, y1: 20.0 };
        assert!(r.crosses((0.0, 0.0), (30.0, 30.0)));
        assert!(r.crosses((15.0, 15.0), (15.0, 16.0)), "a segment inside the box");
        assert!(!r.crosses((0.0, 25.0), (30.0, 25.0)));
        assert!(!r.crosses((0.0, 0.0), (5.0, 5.0)));
    }

    #[test]
    fn a_label_keeps_off_a_line_through_its_point() {
        // A line falling from top-left to bottom-right through the anchor: above-right and below-left are
        // clear of it, the other diagonals are not.
        let anchor = (500.0, 300.0);
        let mut placer = Placer::new(bounds(), vec![((200.0, 0.0), anchor), (anchor, (800.0, 600.0))]);
        let placement = placer.place(anchor, 6.0, (120.0, 18.0));
        let crossings = placer.segments.iter().filter(|(a, b)| placement.rect.crosses(*a, *b)).count();
        assert_eq!(crossings, 0, "label at {:?} crosses the line", placement.rect);
    }

    #[test]
    fn labels_stay_inside_and_apart() {
        // A point in the top-right corner: its label must move left or down, inside the plot.
        let mut placer = Placer::new(bounds(), Vec::new());
        let corner = placer.place((995.0, 5.0), 6.0, (150.0, 18.0));
        assert!(corner.rect.x1 <= 1000.0 && corner.rect.y0 >= 0.0, "{:?}", corner.rect);
        // Two labels for the same point do not overlap.
        let first = placer.place((400.0, 300.0), 6.0, (150.0, 18.0));
        let second = placer.place((400.0, 300.0), 6.0, (150.0, 18.0));
        assert_eq!(first.rect.overlap(&second.rect), 0.0, "{:?} and {:?} overlap", first.rect, second.rect);
    }
}
