//! The one-glance chart of a policy comparison: on the left each class's p99, baseline beside
//! candidate, on the right the overall cost against the overall p99, each with its 95% interval.
//!
//! Plain data in ([`CompareChart`]); what the figures are is the caller's business. The class
//! panel switches to a log axis when the classes' p99s span more than ten times.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::scale::{Scale, Unit};
use super::text::{DrawResult, Pen, Style};
use crate::error::Result;

/// A value with its 95% interval (`low == high == mean` when there is none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

/// The same figure under both policies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub baseline: Estimate,
    pub candidate: Estimate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompareChart {
    pub title: String,
    /// e.g. "5 paired replicates of 40,000 requests; 95% intervals".
    pub subtitle: Option<String>,
    /// Legend names, e.g. the two policy files.
    pub baseline: String,
    pub candidate: String,
    /// Each class's p99 latency (seconds), in the order to draw.
    pub classes: Vec<(String, Pair)>,
    /// Overall p99 latency (seconds) and total cost (USD); `None` when either is unknown.
    pub p99: Option<Pair>,
    pub cost: Option<Pair>,
}

use super::palette::{AXIS, BLUE, INK, MARGIN, MUTED, VERMILION};

const BASELINE: RGBColor = BLUE;
const CANDIDATE: RGBColor = VERMILION;

/// Render to `<stem>.png` and `<stem>.svg`.
pub fn render_compare(chart: &CompareChart, stem: &Path) -> Result<(PathBuf, PathBuf)> {
    super::render(chart, stem)
}

impl super::Drawing for CompareChart {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: Pen) -> DrawResult<(), DB> {
        draw(root, pen, self)
    }
}

impl Estimate {
    fn is_finite(&self) -> bool {
        self.mean.is_finite() && self.low.is_finite() && self.high.is_finite()
    }
}

/// The finite range of some estimates' intervals.
fn range<'a>(estimates: impl Iterator<Item = &'a Estimate>) -> Option<(f64, f64)> {
    estimates.filter(|e| e.is_finite()).fold(None, |acc, e| match acc {
        None => Some((e.low, e.high)),
        Some((lo, hi)) => Some((lo.min(e.low), hi.max(e.high))),
    })
}

/// A rectangle of the canvas, in pixels.
#[derive(Clone, Copy)]
struct Frame {
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
}

impl Frame {
    fn x(&self, scale: &Scale, v: f64) -> i32 {
        self.left + (scale.fraction(scale.clamp(v)) * f64::from(self.right - self.left)).round() as i32
    }
    fn y(&self, scale: &Scale, v: f64) -> i32 {
        self.bottom - (scale.fraction(scale.clamp(v)) * f64::from(self.bottom - self.top)).round() as i32
    }
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, pen: Pen, chart: &CompareChart) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (width, height) = root.dim_in_pixel();
    let (width, height) = (width as i32, height as i32);
    let mut y = MARGIN - 6;
    pen.draw(root, &chart.title, (MARGIN, y), &Style::new(26.0, INK).bold())?;
    y += 34;
    if let Some(sub) = &chart.subtitle {
        pen.draw(root, sub, (MARGIN, y), &Style::new(16.0, MUTED))?;
        y += 24;
    }
    // The legend, once for both panels.
    let mut x = MARGIN;
    for (name, colour) in [(&chart.baseline, BASELINE), (&chart.candidate, CANDIDATE)] {
        root.draw(&Circle::new((x + 6, y + 9), 6, colour.filled()))?;
        let style = Style::new(15.0, colour).bold();
        pen.draw(root, name, (x + 18, y), &style)?;
        x += 18 + pen.measure(name, &style).0 as i32 + 28;
    }
    y += 34;
    let split = MARGIN + (f64::from(width - 2 * MARGIN) * 0.58) as i32;
    let bottom = height - MARGIN - 56;
    let classes = Frame { left: MARGIN + 72, top: y + 26, right: split - 24, bottom };
    let overall = Frame { left: split + 72, top: y + 26, right: width - MARGIN - 10, bottom };
    draw_classes(root, pen, chart, classes, y)?;
    draw_overall(root, pen, chart, overall, y)?;
    Ok(())
}

/// What a panel says when it has nothing to draw.
fn nothing<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, pen: Pen, frame: Frame, why: &str) -> DrawResult<(), DB> {
    pen.draw(root, why, (frame.left, frame.top + 20), &Style::new(14.0, MUTED))
}

/// A panel title above its frame.
fn panel_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pen: Pen,
    text: &str,
    at: (i32, i32),
) -> DrawResult<(), DB> {
    pen.draw(root, text, at, &Style::new(16.0, INK).bold())
}

/// Horizontal gridlines and labels of a y scale, and the frame's axes.
fn y_axis<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pen: Pen,
    frame: Frame,
    scale: &Scale,
) -> DrawResult<(), DB> {
    let tick = Style::new(13.0, MUTED).anchor(HPos::Right, VPos::Center);
    for &v in scale.minor_ticks() {
        let yy = frame.y(scale, v);
        root.draw(&PathElement::new(vec![(frame.left, yy), (frame.right, yy)], BLACK.mix(0.04).stroke_width(1)))?;
    }
    for &v in scale.major_ticks() {
        let yy = frame.y(scale, v);
        root.draw(&PathElement::new(vec![(frame.left, yy), (frame.right, yy)], BLACK.mix(0.1).stroke_width(1)))?;
        pen.draw(root, &scale.label(v), (frame.left - 8, yy), &tick)?;
    }
    root.draw(&PathElement::new(
        vec![(frame.left, frame.top), (frame.left, frame.bottom), (frame.right, frame.bottom)],
        AXIS.stroke_width(1),
    ))
}

/// A dot at the mean with a whisker over the interval, vertical (`along_y`) or horizontal.
fn whisker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    from: i32,
    to: i32,
    along_y: bool,
    colour: RGBColor,
) -> DrawResult<(), DB> {
    let (a, b, cap_a, cap_b) = if along_y {
        ((at.0, from), (at.0, to), [(at.0 - 5, from), (at.0 + 5, from)], [(at.0 - 5, to), (at.0 + 5, to)])
    } else {
        ((from, at.1), (to, at.1), [(from, at.1 - 5), (from, at.1 + 5)], [(to, at.1 - 5), (to, at.1 + 5)])
    };
    root.draw(&PathElement::new(vec![a, b], colour.stroke_width(2)))?;
    root.draw(&PathElement::new(cap_a.to_vec(), colour.stroke_width(2)))?;
    root.draw(&PathElement::new(cap_b.to_vec(), colour.stroke_width(2)))?;
    root.draw(&Circle::new(at, 5, colour.filled()))
}

fn draw_classes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pen: Pen,
    chart: &CompareChart,
    frame: Frame,
    title_y: i32,
) -> DrawResult<(), DB> {
    panel_title(root, pen, "p99 latency by class (s)", (frame.left - 64, title_y))?;
    let estimates = chart.classes.iter().flat_map(|(_, p)| [&p.baseline, &p.candidate]);
    let Some((lo, hi)) = range(estimates) else {
        return nothing(root, pen, frame, "no class has a p99 under both policies");
    };
    let scale = if lo > 0.0 && hi / lo > 10.0 {
        Scale::log(lo * 0.8, hi * 1.25, Unit::Seconds)
    } else {
        Scale::linear_from_tick(lo.min(0.0), hi * 1.08, Unit::Seconds)
    };
    y_axis(root, pen, frame, &scale)?;
    let n = chart.classes.len().max(1) as i32;
    let slot = (frame.right - frame.left) / n;
    let label = Style::new(14.0, INK).anchor(HPos::Center, VPos::Top);
    for (k, (class, pair)) in chart.classes.iter().enumerate() {
        let centre = frame.left + slot * k as i32 + slot / 2;
        let offset = (slot / 6).clamp(4, 18);
        for (estimate, colour, dx) in [(&pair.baseline, BASELINE, -offset), (&pair.candidate, CANDIDATE, offset)] {
            if estimate.is_finite() {
                let at = (centre + dx, frame.y(&scale, estimate.mean));
                whisker(root, at, frame.y(&scale, estimate.low), frame.y(&scale, estimate.high), true, colour)?;
            }
        }
        pen.draw(root, class, (centre, frame.bottom + 8), &label)?;
    }
    Ok(())
}

fn draw_overall<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    pen: Pen,
    chart: &CompareChart,
    frame: Frame,
    title_y: i32,
) -> DrawResult<(), DB> {
    panel_title(root, pen, "total cost (USD) against p99, overall", (frame.left - 64, title_y))?;
    let (Some(p99), Some(cost)) = (chart.p99, chart.cost) else {
        return nothing(root, pen, frame, "overall cost or p99 unknown");
    };
    let (Some((x_lo, x_hi)), Some((y_lo, y_hi))) =
        (range([&p99.baseline, &p99.candidate].into_iter()), range([&cost.baseline, &cost.candidate].into_iter()))
    else {
        return Ok(());
    };
    let pad = |lo: f64, hi: f64| {
        let span = (hi - lo).max(hi.abs() * 0.02).max(1e-9);
        (lo - span * 0.25, hi + span * 0.25)
    };
    let (x_lo, x_hi) = pad(x_lo, x_hi);
    let (y_lo, y_hi) = pad(y_lo, y_hi);
    let xs = Scale::linear(x_lo, x_hi, Unit::Seconds);
    let ys = Scale::linear(y_lo, y_hi, Unit::Dollars);
    y_axis(root, pen, frame, &ys)?;
    let tick = Style::new(13.0, MUTED).anchor(HPos::Center, VPos::Top);
    for &v in xs.major_ticks() {
        let xx = frame.x(&xs, v);
        root.draw(&PathElement::new(vec![(xx, frame.top), (xx, frame.bottom)], BLACK.mix(0.06).stroke_width(1)))?;
        pen.draw(root, &xs.label(v), (xx, frame.bottom + 8), &tick)?;
    }
    let axis = Style::new(14.0, INK).anchor(HPos::Center, VPos::Top);
    pen.draw(root, "p99 latency (s)", ((frame.left + frame.right) / 2, frame.bottom + 30), &axis)?;
    let at = |p: &Estimate, c: &Estimate| (frame.x(&xs, p.mean), frame.y(&ys, c.mean));
    let (from, to) = (at(&p99.baseline, &cost.baseline), at(&p99.candidate, &cost.candidate));
    if from != to {
        root.draw(&PathElement::new(vec![from, to], MUTED.mix(0.6).stroke_width(1)))?;
    }
    for (p, c, colour) in [(&p99.baseline, &cost.baseline, BASELINE), (&p99.candidate, &cost.candidate, CANDIDATE)] {
        let centre = at(p, c);
        whisker(root, centre, frame.x(&xs, p.low), frame.x(&xs, p.high), false, colour)?;
        whisker(root, centre, frame.y(&ys, c.low), frame.y(&ys, c.high), true, colour)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(mean: f64, half: f64) -> Estimate {
        Estimate { mean, low: mean - half, high: mean + half }
    }

    #[test]
    fn a_comparison_renders_both_formats_with_its_labels() {
        let chart = CompareChart {
            title: "compare".into(),
            subtitle: Some("5 paired replicates".into()),
            baseline: "policy.yaml".into(),
            candidate: "pricier.yaml".into(),
            classes: vec![
                ("chat".into(), Pair { baseline: e(2.0, 0.1), candidate: e(2.4, 0.1) }),
                ("reasoning".into(), Pair { baseline: e(60.0, 3.0), candidate: e(58.0, 3.0) }),
                ("broken".into(), Pair { baseline: e(f64::NAN, 0.0), candidate: e(1.0, 0.0) }),
            ],
            p99: Some(Pair { baseline: e(20.0, 1.0), candidate: e(21.0, 1.0) }),
            cost: Some(Pair { baseline: e(5.3, 0.1), candidate: e(7.9, 0.1) }),
        };
        let dir = tempfile::tempdir().unwrap();
        let (png, svg) = render_compare(&chart, &dir.path().join("compare")).unwrap();
        assert_eq!(&std::fs::read(png).unwrap()[1..4], b"PNG");
        let svg = std::fs::read_to_string(svg).unwrap();
        for label in ["pricier.yaml", "reasoning", "total cost (USD) against p99, overall", "p99 latency (s)"] {
            assert!(svg.contains(label), "`{label}` missing from the SVG");
        }
    }

    #[test]
    fn nothing_to_draw_is_said_not_panicked() {
        let chart = CompareChart {
            title: "compare".into(),
            subtitle: None,
            baseline: "a".into(),
            candidate: "b".into(),
            classes: Vec::new(),
            p99: None,
            cost: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let (_, svg) = render_compare(&chart, &dir.path().join("compare")).unwrap();
        let svg = std::fs::read_to_string(svg).unwrap();
        assert!(svg.contains("no class has a p99") && svg.contains("overall cost or p99 unknown"));
    }
}
