//! Timeline charts: stacked panels of time series over a shared time axis, with incidents shaded
//! across every panel (the discrete-event engine's per-minute series).
//!
//! Plain data in ([`TimelineChart`]); the same axis scales and text pen as the frontier charts.
//! Non-finite values break a line instead of being drawn.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::scale::{Scale, Unit};
use super::text::{DrawResult, Pen, Style};
use crate::error::Result;

/// One line of a panel: `(x, y)` points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// One panel: its y-axis label (with unit, which sets the tick format) and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub y_label: String,
    pub lines: Vec<Line>,
}

/// A shaded time interval, labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct Shade {
    pub from: f64,
    pub to: f64,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineChart {
    pub title: String,
    pub subtitle: Option<String>,
    /// e.g. "time of day (h)".
    pub x_label: String,
    pub panels: Vec<Panel>,
    pub shades: Vec<Shade>,
}

use super::palette::{AXIS, BLUE, GREEN, INK, MARGIN, MUTED, ORANGE, PURPLE, VERMILION};

const COLOURS: [RGBColor; 4] = [BLUE, VERMILION, GREEN, PURPLE];
const SHADE: RGBColor = ORANGE;

/// Render to `<stem>.png` and `<stem>.svg`.
pub fn render_timeline(chart: &TimelineChart, stem: &Path) -> Result<(PathBuf, PathBuf)> {
    super::render(chart, stem)
}

impl super::Drawing for TimelineChart {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: Pen) -> DrawResult<(), DB> {
        draw(root, pen, self)
    }
}

pub(super) fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, pen: Pen, chart: &TimelineChart) -> DrawResult<(), DB> {
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
    let xs = chart.panels.iter().flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|pt| pt.0)));
    let (x_lo, x_hi) = finite_range(xs.chain(chart.shades.iter().flat_map(|s| [s.from, s.to]))).unwrap_or((0.0, 1.0));
    let x = Scale::linear(x_lo, x_hi, Unit::from_label(&chart.x_label));
    let tick = Style::new(13.0, MUTED);
    let left = MARGIN + 70;
    let right = width - MARGIN - 10;
    let bottom_all = height - MARGIN - 40;
    let n = chart.panels.len().max(1) as i32;
    let gap = 22;
    let panel_h = (bottom_all - y - gap * (n - 1)) / n;
    let px = |v: f64| left + ((x.fraction(v).clamp(-0.01, 1.01)) * f64::from(right - left)).round() as i32;
    for (k, panel) in chart.panels.iter().enumerate() {
        let top = y + k as i32 * (panel_h + gap);
        let bottom = top + panel_h - 18;
        let ys = panel.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
        let (lo, hi) = finite_range(ys).unwrap_or((0.0, 1.0));
        let ys = Scale::linear_from_tick(
            lo.min(0.0),
            if hi > lo { hi * 1.05 } else { lo + 1.0 },
            Unit::from_label(&panel.y_label),
        );
        let py = |v: f64| bottom - (ys.fraction(v).clamp(0.0, 1.0) * f64::from(bottom - top)).round() as i32;
        // Incidents first, behind everything.
        for s in &chart.shades {
            let (a, b) = (px(s.from.max(x_lo)), px(s.to.min(x_hi)));
            if b > a {
                root.draw(&Rectangle::new([(a, top), (b, bottom)], SHADE.mix(0.22).filled()))?;
                if k == 0 {
                    pen.draw(root, &s.label, (a + 3, top + 22), &Style::new(12.0, INK))?;
                }
            }
        }
        for &v in ys.major_ticks() {
            let yy = py(v);
            root.draw(&PathElement::new(vec![(left, yy), (right, yy)], BLACK.mix(0.1).stroke_width(1)))?;
            pen.draw(root, &ys.label(v), (left - 8, yy), &tick.anchor(HPos::Right, VPos::Center))?;
        }
        root.draw(&PathElement::new(vec![(left, top), (left, bottom), (right, bottom)], AXIS.stroke_width(1)))?;
        let label = Style::new(14.0, INK).bold();
        let (label_w, label_h) = pen.measure(&panel.y_label, &label);
        root.draw(&Rectangle::new(
            [(left + 6, top + 1), (left + 10 + label_w as i32, top + 3 + label_h as i32)],
            WHITE.mix(0.85).filled(),
        ))?;
        pen.draw(root, &panel.y_label, (left + 8, top + 2), &label)?;
        let mut legend_x = left + 8;
        for (i, line) in panel.lines.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let mut run: Vec<(i32, i32)> = Vec::new();
            for &(vx, vy) in &line.points {
                if vx.is_finite() && vy.is_finite() {
                    let at = (px(vx), py(vy));
                    if run.last() != Some(&at) {
                        run.push(at);
                    }
                } else {
                    polyline(root, &std::mem::take(&mut run), colour)?;
                }
            }
            polyline(root, &run, colour)?;
            let legend = Style::new(13.0, colour).bold();
            pen.draw(root, &line.name, (legend_x, bottom + 2), &legend)?;
            legend_x += pen.measure(&line.name, &legend).0 as i32 + 18;
        }
    }
    for &v in x.major_ticks() {
        let xx = px(v);
        root.draw(&PathElement::new(vec![(xx, bottom_all - 18), (xx, bottom_all - 12)], AXIS.stroke_width(1)))?;
        pen.draw(root, &x.label(v), (xx, bottom_all - 8), &tick.anchor(HPos::Center, VPos::Top))?;
    }
    pen.draw(
        root,
        &chart.x_label,
        ((left + right) / 2, height - MARGIN - 8),
        &Style::new(15.0, INK).anchor(HPos::Center, VPos::Top),
    )?;
    Ok(())
}

/// A line through `points`, one segment at a time: plotters joins the segments of a wide path with
/// mitres, which shoot far out of the plot where a noisy series reverses sharply.
fn polyline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: &[(i32, i32)],
    colour: RGBColor,
) -> DrawResult<(), DB> {
    if points.len() == 1 {
        return root.draw(&Circle::new(points[0], 1, colour.filled()));
    }
    for pair in points.windows(2) {
        root.draw(&PathElement::new(vec![pair[0], pair[1]], colour.stroke_width(2)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_with_gaps_and_an_incident_renders_both_formats() {
        let chart = TimelineChart {
            title: "t".into(),
            subtitle: Some("s".into()),
            x_label: "time of day (h)".into(),
            panels: vec![Panel {
                y_label: "latency (s)".into(),
                lines: vec![Line {
                    name: "p99".into(),
                    points: vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0), (3.0, 2.0)],
                }],
            }],
            shades: vec![Shade { from: 1.0, to: 1.5, label: "region down".into() }],
        };
        let dir = tempfile::tempdir().unwrap();
        let (png, svg) = render_timeline(&chart, &dir.path().join("timeline")).unwrap();
        let png = std::fs::read(png).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let svg = std::fs::read_to_string(svg).unwrap();
        assert!(svg.contains("region down") && svg.contains("p99"), "labels missing from the SVG");
    }
}
