//! The drawing itself, generic over the plotters backend so the PNG and the SVG are the same picture.
//!
//! [`Plan::new`] cleans the input once (drops NaN and infinite values, decides whether the log axis can
//! be honoured) and works out both axes; [`draw`] then paints, back to front: header and legend, grid and
//! axes, infeasible bands, frontier lines and markers, the current and recommended policies, and last the
//! labels ("infeasible" on the bands, the notes on points), placed around what is already there. plotters supplies the backends and the shapes; the layout
//! (plot rectangle, ticks, legend) is worked out here, because its chart builder's axes label ticks with
//! `{:?}` and its legend box sits on top of the data.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::place::{Placer, Rect};
use super::scale::{Scale, Unit};
use super::text::{DrawResult, Pen, Style};
use super::{FrontierChart, Marker, Point};

use super::palette::{AXIS, BLUE, GREEN, INK, MARGIN, MUTED, ORANGE, PURPLE, SKY, VERMILION};

const SERIES_COLOURS: [RGBColor; 4] = [BLUE, GREEN, PURPLE, SKY];
const ACCENT: RGBColor = ORANGE;
const INFEASIBLE: RGBColor = VERMILION;
const HOLLOW: RGBColor = RGBColor(140, 140, 140);
const TITLE_SIZE: f64 = 28.0;
const SUBTITLE_SIZE: f64 = 18.0;
const LEGEND_SIZE: f64 = 16.0;
const TICK_SIZE: f64 = 15.0;
const AXIS_SIZE: f64 = 17.0;
const MARKER_LABEL_SIZE: f64 = 16.0;
const POINT_LABEL_SIZE: f64 = 14.0;
const RECOMMENDED_RADIUS: f64 = 14.0;
const CURRENT_SIZE: i32 = 9;
const POINT_RADIUS: i32 = 4;

/// The chart's input, cleaned, with both axes worked out.
pub struct Plan<'a> {
    chart: &'a FrontierChart,
    x: Scale,
    y: Scale,
    /// Per series: its drawable points (finite, and positive x on a log axis), in order.
    series: Vec<Vec<&'a Point>>,
    /// Infeasible x-intervals, ordered (lo < hi), clamped to the x axis and non-empty.
    bands: Vec<(f64, f64)>,
    current: Option<&'a Marker>,
    recommended: Option<&'a Marker>,
}

impl<'a> Plan<'a> {
    pub fn new(chart: &'a FrontierChart) -> Plan<'a> {
        let finite = |x: f64, y: f64| x.is_finite() && y.is_finite();
        let all_points = || chart.series.iter().flat_map(|s| &s.points).filter(|p| finite(p.x, p.y));
        let markers = || chart.current.iter().chain(&chart.recommended).filter(|m| finite(m.x, m.y));
        let intervals: Vec<(f64, f64)> = chart
            .infeasible
            .iter()
            .filter(|(a, b)| !a.is_nan() && !b.is_nan() && a != b)
            .map(|&(a, b)| (a.min(b), a.max(b)))
            .collect();

        let mut xs: Vec<f64> = all_points().map(|p| p.x).chain(markers().map(|m| m.x)).collect();
        // The y range follows the frontier and the two policies. An infeasible point (a best-effort
        // cost that misses the target) far off it would squash the frontier, so infeasible points widen
        // the range by at most half again; the ones beyond are drawn as arrows on the edge.
        let mut ys: Vec<f64> = all_points().filter(|p| p.feasible).map(|p| p.y).chain(markers().map(|m| m.y)).collect();
        let infeasible_ys = all_points().filter(|p| !p.feasible).map(|p| p.y);
        match min_max(&ys) {
            Some((lo, hi)) => {
                let reach = (hi - lo).max(hi.abs() * 0.1) * 0.5;
                ys.extend(infeasible_ys.filter(|y| (lo - reach..=hi + reach).contains(y)));
            }
            None => ys.extend(infeasible_ys),
        }
        let log = chart.x_log && xs.iter().all(|&x| x > 0.0);
        // Interval ends widen the x range too, so an all-infeasible sweep still shows where it was.
        let usable_end = |v: f64| v.is_finite() && (!log || v > 0.0);
        xs.extend(intervals.iter().flat_map(|&(a, b)| [a, b]).filter(|&v| usable_end(v)));
        let log = log && !xs.is_empty();
        ys.retain(|y| y.is_finite());

        let x_unit = Unit::from_label(&chart.x_label);
        let x = match min_max(&xs) {
            Some((lo, hi)) if log => {
                let (l0, l1) = (lo.log10(), hi.log10());
                let pad = if l1 > l0 { (l1 - l0) * 0.04 } else { 0.1 };
                Scale::log(10f64.powf(l0 - pad), 10f64.powf(l1 + pad), x_unit)
            }
            Some((lo, hi)) => {
                let pad = (hi - lo) * 0.04;
                let start = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
                Scale::linear(start, hi + pad, x_unit)
            }
            None => Scale::linear(0.0, 1.0, x_unit),
        };
        // The y axis spans the data with a margin, not from zero: a frontier's shape is in its spread.
        // It starts at a labelled tick, so the reader sees where.
        let y_unit = Unit::from_label(&chart.y_label);
        let y = match min_max(&ys) {
            Some((lo, hi)) => {
                let pad = (hi - lo) * 0.08;
                let start = if lo >= 0.0 { (lo - pad).max(0.0) } else { lo - pad };
                Scale::linear_from_tick(start, hi + pad, y_unit)
            }
            None => Scale::linear(0.0, 1.0, y_unit),
        };

        let x_log = x.is_log();
        let drawable = move |x_value: f64, y_value: f64| finite(x_value, y_value) && (!x_log || x_value > 0.0);
        let series = chart.series.iter().map(|s| s.points.iter().filter(|p| drawable(p.x, p.y)).collect()).collect();
        let bands = intervals
            .iter()
            .map(|&(a, b)| (x.clamp(a), x.clamp(b)))
            .filter(|(a, b)| b > a && x.fraction(*b) - x.fraction(*a) > 1e-4)
            .collect();
        let marker = |m: &'a Option<Marker>| m.as_ref().filter(|m| drawable(m.x, m.y));
        let (current, recommended) = (marker(&chart.current), marker(&chart.recommended));
        Plan { chart, x, y, series, bands, current, recommended }
    }

    fn any_feasible(&self) -> bool {
        self.series.iter().flatten().any(|p| p.feasible)
    }

    fn any_infeasible_point(&self) -> bool {
        self.series.iter().flatten().any(|p| !p.feasible && !self.off_scale(p))
    }

    /// Above or below the y axis (only infeasible points can be: the axis spans the feasible ones).
    fn off_scale(&self, point: &Point) -> bool {
        !(0.0..=1.0).contains(&self.y.fraction(point.y))
    }
}

fn min_max(values: &[f64]) -> Option<(f64, f64)> {
    let lo = values.iter().copied().reduce(f64::min)?;
    let hi = values.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

/// Paint the whole chart on `root`, with `pen` for the text.
pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, pen: Pen, plan: &Plan) -> DrawResult<(), DB> {
    let canvas = Canvas { root, pen };
    root.fill(&WHITE)?;
    let header_bottom = canvas.header(plan)?;

    let (width, height) = root.dim_in_pixel();
    let tick_style = Style::new(TICK_SIZE, MUTED);
    let y_tick_width =
        plan.y.major_ticks().iter().map(|&v| pen.measure(&plan.y.label(v), &tick_style).0).fold(0.0, f64::max);
    let frame = Frame {
        plot: Rect {
            x0: (f64::from(MARGIN) + AXIS_SIZE + 18.0 + y_tick_width + 12.0).round(),
            y0: f64::from(header_bottom + 10),
            x1: f64::from(width as i32 - MARGIN - 16),
            y1: (f64::from(height as i32 - MARGIN) - AXIS_SIZE - TICK_SIZE - 28.0).round(),
        },
        x: &plan.x,
        y: &plan.y,
    };
    let plot = frame.plot;
    canvas.axes(plan, &frame)?;

    // Everything drawn from here on is a line or a marker that labels must keep clear of.
    let mut segments = Vec::new();
    let mut occupied = Vec::new();

    let bands: Vec<Rect> = plan
        .bands
        .iter()
        .map(|&(lo, hi)| Rect {
            x0: f64::from(frame.pixel(lo, 0.0).0),
            y0: plot.y0,
            x1: f64::from(frame.pixel(hi, 0.0).0),
            y1: plot.y1,
        })
        .collect();
    for band in &bands {
        canvas.band(*band)?;
    }

    for (index, points) in plan.series.iter().enumerate() {
        let colour = SERIES_COLOURS[index % SERIES_COLOURS.len()];
        // The line runs through feasible points only, and breaks where an infeasible point interrupts it.
        for run in points.split(|p| !p.feasible).filter(|run| run.len() > 1) {
            let path: Vec<(i32, i32)> = run.iter().map(|p| frame.pixel(p.x, p.y)).collect();
            for pair in path.windows(2) {
                segments.push((as_f64(pair[0]), as_f64(pair[1])));
            }
            root.draw(&PathElement::new(path, colour.stroke_width(3)))?;
        }
        for point in points {
            let at = frame.pixel(point.x, point.y);
            if plan.off_scale(point) {
                let pointing_up = plan.y.fraction(point.y) > 1.0;
                let edge = if pointing_up { plot.y0 } else { plot.y1 };
                canvas.off_scale(at.0, edge as i32, pointing_up)?;
                occupied.push(Rect::around((f64::from(at.0), edge), 7.0, 11.0));
                continue;
            }
            canvas.point(at, colour, point.feasible)?;
            occupied.push(Rect::around(as_f64(at), f64::from(POINT_RADIUS) + 1.0, f64::from(POINT_RADIUS) + 1.0));
        }
    }

    if let Some(current) = plan.current {
        let at = frame.pixel(current.x, current.y);
        canvas.current(at)?;
        occupied.push(Rect::around(as_f64(at), f64::from(CURRENT_SIZE) + 2.0, f64::from(CURRENT_SIZE) + 2.0));
    }
    if let Some(recommended) = plan.recommended {
        let at = frame.pixel(recommended.x, recommended.y);
        canvas.star(at)?;
        occupied.push(Rect::around(as_f64(at), RECOMMENDED_RADIUS, RECOMMENDED_RADIUS));
    }

    let inner = Rect { x0: plot.x0 + 4.0, y0: plot.y0 + 4.0, x1: plot.x1 - 4.0, y1: plot.y1 - 4.0 };
    let mut placer = Placer::new(inner, segments);
    for rect in occupied {
        placer.occupy(rect);
    }
    if !plan.any_feasible() {
        let center = ((plot.x0 + plot.x1) / 2.0, (plot.y0 + plot.y1) / 2.0);
        let rect = canvas.boxed_text("no feasible routing in this range", center, &Style::new(20.0, INK))?;
        placer.occupy(rect);
    }

    // "infeasible" on each band wide enough for it, at its top, bottom or middle: wherever it covers
    // no point.
    let band_style = Style::new(TICK_SIZE, INFEASIBLE).bold();
    let (width, height) = canvas.text_box("infeasible", &band_style);
    for band in bands.iter().filter(|band| band.x1 - band.x0 >= width + 4.0) {
        let x = (band.x0 + band.x1) / 2.0;
        let heights = [band.y0 + 18.0 + height / 2.0, band.y1 - 8.0 - height / 2.0, (band.y0 + band.y1) / 2.0];
        let spot = placer.place_among(heights.map(|y| Rect::around((x, y), width / 2.0, height / 2.0)));
        canvas.text_in("infeasible", spot, &band_style)?;
    }

    // The two policies first, so they get the best spots; then the per-point annotations.
    let mut annotations: Vec<(&Marker, f64, Style)> = Vec::new();
    annotations.extend(plan.recommended.map(|m| (m, RECOMMENDED_RADIUS, Style::new(MARKER_LABEL_SIZE, INK).bold())));
    annotations.extend(plan.current.map(|m| (m, f64::from(CURRENT_SIZE), Style::new(MARKER_LABEL_SIZE, INK))));
    for (marker, clearance, style) in annotations {
        let at = as_f64(frame.pixel(marker.x, marker.y));
        canvas.label(&mut placer, &marker.label, at, clearance, &style)?;
    }
    for point in plan.series.iter().flatten() {
        if let Some(label) = point.label.as_deref().filter(|l| !l.is_empty() && !plan.off_scale(point)) {
            let at = frame.pixel(point.x, point.y);
            let style = Style::new(POINT_LABEL_SIZE, MUTED);
            canvas.label(&mut placer, label, as_f64(at), f64::from(POINT_RADIUS), &style)?;
        }
    }
    Ok(())
}

fn as_f64((x, y): (i32, i32)) -> (f64, f64) {
    (f64::from(x), f64::from(y))
}

/// The plot rectangle and the two axes: data values to pixels.
struct Frame<'a> {
    plot: Rect,
    x: &'a Scale,
    y: &'a Scale,
}

impl Frame<'_> {
    fn pixel(&self, x: f64, y: f64) -> (i32, i32) {
        // Clamped so a value far off the axis still lands at a sane pixel (only infeasible points can).
        let fx = self.x.fraction(x).clamp(-4.0, 5.0);
        let fy = self.y.fraction(y).clamp(-4.0, 5.0);
        let px = self.plot.x0 + fx * (self.plot.x1 - self.plot.x0);
        let py = self.plot.y1 - fy * (self.plot.y1 - self.plot.y0);
        (px.round() as i32, py.round() as i32)
    }
}

#[derive(Clone, Copy)]
enum LegendGlyph {
    Line(RGBColor),
    Hollow,
    OffScale,
    Current,
    Recommended,
    Band,
}

/// The drawing area and the pen: every painting helper needs both.
struct Canvas<'a, DB: DrawingBackend> {
    root: &'a DrawingArea<DB, Shift>,
    pen: Pen,
}

impl<DB: DrawingBackend> Canvas<'_, DB> {
    fn text(&self, text: &str, at: (i32, i32), style: &Style) -> DrawResult<(), DB> {
        self.pen.draw(self.root, text, at, style)
    }

    fn line(&self, from: (i32, i32), to: (i32, i32), style: ShapeStyle) -> DrawResult<(), DB> {
        self.root.draw(&PathElement::new(vec![from, to], style))
    }

    /// Title, subtitle and legend across the top; returns where they end.
    fn header(&self, plan: &Plan) -> DrawResult<i32, DB> {
        let (width, _) = self.root.dim_in_pixel();
        let line_width = f64::from(width as i32 - 2 * MARGIN);
        let mut y = MARGIN - 6;
        self.text(
            &plan.chart.title,
            (MARGIN, y),
            &self.fit(&plan.chart.title, Style::new(TITLE_SIZE, INK).bold(), line_width),
        )?;
        y += TITLE_SIZE as i32 + 8;
        if let Some(subtitle) = plan.chart.subtitle.as_deref().filter(|s| !s.is_empty()) {
            self.text(subtitle, (MARGIN, y), &self.fit(subtitle, Style::new(SUBTITLE_SIZE, MUTED), line_width))?;
            y += SUBTITLE_SIZE as i32 + 8;
        }

        let mut entries: Vec<(LegendGlyph, &str)> = Vec::new();
        for (index, (series, points)) in plan.chart.series.iter().zip(&plan.series).enumerate() {
            if points.iter().any(|p| p.feasible) {
                entries.push((LegendGlyph::Line(SERIES_COLOURS[index % SERIES_COLOURS.len()]), series.name.as_str()));
            }
        }
        if plan.any_infeasible_point() {
            entries.push((LegendGlyph::Hollow, "infeasible point"));
        }
        if plan.series.iter().flatten().any(|p| plan.off_scale(p)) {
            entries.push((LegendGlyph::OffScale, "infeasible, off the scale"));
        }
        if plan.current.is_some() {
            entries.push((LegendGlyph::Current, "current policy"));
        }
        if plan.recommended.is_some() {
            entries.push((LegendGlyph::Recommended, "recommended"));
        }
        if !plan.bands.is_empty() {
            entries.push((LegendGlyph::Band, "no routing meets the targets"));
        }

        let style = Style::new(LEGEND_SIZE, INK).anchor(HPos::Left, VPos::Center);
        let row_height = 28;
        let mut x = MARGIN;
        let mut row_center = y + row_height / 2;
        for (glyph, text) in entries {
            let entry_width = 34 + self.pen.measure(text, &style).0.ceil() as i32;
            if x > MARGIN && x + entry_width > width as i32 - MARGIN {
                x = MARGIN;
                row_center += row_height;
            }
            self.legend_glyph(glyph, (x + 14, row_center))?;
            self.text(text, (x + 34, row_center), &style)?;
            x += entry_width + 28;
        }
        Ok(row_center + row_height / 2)
    }

    /// `style`, made smaller if need be (down to 60%) so `text` fits in `width` pixels.
    fn fit(&self, text: &str, style: Style, width: f64) -> Style {
        let natural = self.pen.measure(text, &style).0;
        if natural <= width {
            return style;
        }
        Style { size: (style.size * width / natural).max(style.size * 0.6).floor(), ..style }
    }

    fn legend_glyph(&self, glyph: LegendGlyph, (x, y): (i32, i32)) -> DrawResult<(), DB> {
        match glyph {
            LegendGlyph::Line(colour) => {
                self.line((x - 14, y), (x + 14, y), colour.stroke_width(3))?;
                self.point((x, y), colour, true)
            }
            LegendGlyph::Hollow => self.point((x, y), HOLLOW, false),
            LegendGlyph::OffScale => self.off_scale(x, y - 6, true),
            LegendGlyph::Current => self.current((x, y)),
            LegendGlyph::Recommended => self.star((x, y)),
            LegendGlyph::Band => {
                let swatch =
                    Rect { x0: f64::from(x - 13), y0: f64::from(y - 9), x1: f64::from(x + 13), y1: f64::from(y + 9) };
                self.hatched(swatch)?;
                self.root.draw(&Rectangle::new([(x - 13, y - 9), (x + 13, y + 9)], INFEASIBLE.mix(0.5).stroke_width(1)))
            }
        }
    }

    /// Gridlines, axis lines, ticks, tick labels and the axis titles.
    fn axes(&self, plan: &Plan, frame: &Frame) -> DrawResult<(), DB> {
        let plot = frame.plot;
        let (left, top, right, bottom) = (plot.x0 as i32, plot.y0 as i32, plot.x1 as i32, plot.y1 as i32);
        let (light, bold, axis) =
            (BLACK.mix(0.05).stroke_width(1), BLACK.mix(0.13).stroke_width(1), AXIS.stroke_width(1));
        let tick_style = Style::new(TICK_SIZE, MUTED);
        for &v in plan.x.minor_ticks() {
            let x = frame.pixel(v, 0.0).0;
            self.line((x, top), (x, bottom), light)?;
        }
        for &v in plan.x.major_ticks() {
            let x = frame.pixel(v, 0.0).0;
            self.line((x, top), (x, bottom), bold)?;
            self.line((x, bottom), (x, bottom + 6), axis)?;
            self.text(&plan.x.label(v), (x, bottom + 10), &tick_style.anchor(HPos::Center, VPos::Top))?;
        }
        for &v in plan.y.major_ticks() {
            let y = frame.pixel(0.0, v).1;
            self.line((left, y), (right, y), bold)?;
            self.line((left - 6, y), (left, y), axis)?;
            self.text(&plan.y.label(v), (left - 10, y), &tick_style.anchor(HPos::Right, VPos::Center))?;
        }
        self.line((left, bottom), (right, bottom), axis)?;
        self.line((left, top), (left, bottom), axis)?;
        let title = Style::new(AXIS_SIZE, INK).anchor(HPos::Center, VPos::Top);
        let x_title = self.fit(&plan.chart.x_label, title, plot.x1 - plot.x0);
        self.text(&plan.chart.x_label, ((left + right) / 2, bottom + 14 + TICK_SIZE as i32 + 12), &x_title)?;
        let y_title = self.fit(&plan.chart.y_label, title, plot.y1 - plot.y0);
        self.text(&plan.chart.y_label, (MARGIN - 4, (top + bottom) / 2), &y_title.rotated())
    }

    fn point(&self, at: (i32, i32), colour: RGBColor, feasible: bool) -> DrawResult<(), DB> {
        if feasible {
            self.root.draw(&Circle::new(at, POINT_RADIUS, colour.filled()))
        } else {
            self.root.draw(&Circle::new(at, POINT_RADIUS + 1, WHITE.filled()))?;
            self.root.draw(&Circle::new(at, POINT_RADIUS, HOLLOW.stroke_width(2)))
        }
    }

    /// A point beyond the top or bottom of the plot: a hollow triangle on that edge, pointing out.
    fn off_scale(&self, x: i32, edge: i32, pointing_up: bool) -> DrawResult<(), DB> {
        let base = if pointing_up { edge + 10 } else { edge - 10 };
        let outline = vec![(x, edge), (x + 6, base), (x - 6, base), (x, edge)];
        self.root.draw(&Polygon::new(outline.clone(), WHITE.filled()))?;
        self.root.draw(&PathElement::new(outline, HOLLOW.stroke_width(2)))
    }

    /// The current policy: a black X on a white halo, visible over lines and shading.
    fn current(&self, at: (i32, i32)) -> DrawResult<(), DB> {
        self.root.draw(&Cross::new(at, CURRENT_SIZE, WHITE.stroke_width(7)))?;
        self.root.draw(&Cross::new(at, CURRENT_SIZE, BLACK.stroke_width(3)))
    }

    /// The recommended point: a five-pointed star in the accent colour with a dark outline.
    fn star(&self, (x, y): (i32, i32)) -> DrawResult<(), DB> {
        let corners: Vec<(i32, i32)> = (0..10)
            .map(|i| {
                let radius = if i % 2 == 0 { RECOMMENDED_RADIUS } else { RECOMMENDED_RADIUS * 0.45 };
                let angle = -std::f64::consts::FRAC_PI_2 + f64::from(i) * std::f64::consts::PI / 5.0;
                (x + (radius * angle.cos()).round() as i32, y + (radius * angle.sin()).round() as i32)
            })
            .collect();
        self.root.draw(&Polygon::new(corners.clone(), ACCENT.filled()))?;
        let mut outline = corners;
        outline.push(outline[0]);
        self.root.draw(&PathElement::new(outline, BLACK.stroke_width(2)))
    }

    /// An infeasible band: light fill, diagonal hatching and its edges.
    fn band(&self, band: Rect) -> DrawResult<(), DB> {
        self.hatched(band)?;
        for x in [band.x0, band.x1] {
            let x = x.round() as i32;
            self.line((x, band.y0 as i32), (x, band.y1 as i32), INFEASIBLE.mix(0.45).stroke_width(1))?;
        }
        Ok(())
    }

    fn hatched(&self, area: Rect) -> DrawResult<(), DB> {
        let (x0, y0, x1, y1) =
            (area.x0.round() as i32, area.y0.round() as i32, area.x1.round() as i32, area.y1.round() as i32);
        self.root.draw(&Rectangle::new([(x0, y0), (x1, y1)], INFEASIBLE.mix(0.08).filled()))?;
        // 45-degree lines every 12 px, each clipped to the area: the line starting at (x0 + offset, y1)
        // runs up and to the right until it meets an edge.
        let hatch = INFEASIBLE.mix(0.3).stroke_width(1);
        let height = y1 - y0;
        for offset in (-height..(x1 - x0)).step_by(12) {
            let start = (-offset).max(0);
            let end = (x1 - x0 - offset).min(height);
            if end > start {
                self.line((x0 + offset + start, y1 - start), (x0 + offset + end, y1 - end), hatch)?;
            }
        }
        Ok(())
    }

    /// The box a label needs: the text's extent plus a little padding.
    fn text_box(&self, text: &str, style: &Style) -> (f64, f64) {
        let (width, height) = self.pen.measure(text, style);
        (width + 8.0, height + 4.0)
    }

    /// Text on a white box, so gridlines and hatching do not run through it.
    fn text_in(&self, text: &str, rect: Rect, style: &Style) -> DrawResult<(), DB> {
        let (x0, y0, x1, y1) =
            (rect.x0.round() as i32, rect.y0.round() as i32, rect.x1.round() as i32, rect.y1.round() as i32);
        self.root.draw(&Rectangle::new([(x0, y0), (x1, y1)], WHITE.mix(0.88).filled()))?;
        self.text(text, ((x0 + x1) / 2, (y0 + y1) / 2), &style.anchor(HPos::Center, VPos::Center))
    }

    /// Boxed text centred on `center`; returns the box.
    fn boxed_text(&self, text: &str, center: (f64, f64), style: &Style) -> DrawResult<Rect, DB> {
        let (width, height) = self.text_box(text, style);
        let rect = Rect::around(center, width / 2.0, height / 2.0);
        self.text_in(text, rect, style)?;
        Ok(rect)
    }

    /// Place a label for the marker at `anchor` and draw it, with a leader line when it sits away from
    /// the marker.
    fn label(
        &self,
        placer: &mut Placer,
        text: &str,
        anchor: (f64, f64),
        clearance: f64,
        style: &Style,
    ) -> DrawResult<(), DB> {
        let placement = placer.place(anchor, clearance, self.text_box(text, style));
        if placement.leader {
            let end = placement.rect.nearest_point(anchor);
            let (dx, dy) = (end.0 - anchor.0, end.1 - anchor.1);
            let length = (dx * dx + dy * dy).sqrt().max(1.0);
            let start = (anchor.0 + dx / length * (clearance + 2.0), anchor.1 + dy / length * (clearance + 2.0));
            let round = |(x, y): (f64, f64)| (x.round() as i32, y.round() as i32);
            self.line(round(start), round(end), INK.mix(0.5).stroke_width(1))?;
        }
        self.text_in(text, placement.rect, style)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Series;

    fn chart(points: &[(f64, f64, bool)]) -> FrontierChart {
        let points = points.iter().map(|&(x, y, feasible)| Point { x, y, feasible, label: None }).collect();
        FrontierChart {
            title: "t".to_string(),
            subtitle: None,
            x_label: "p99 latency bound (s)".to_string(),
            y_label: "expected cost (USD per day)".to_string(),
            x_log: true,
            series: vec![Series { name: "s".to_string(), points }],
            infeasible: Vec::new(),
            current: None,
            recommended: None,
        }
    }

    #[test]
    fn a_log_axis_needs_positive_x() {
        let positive = chart(&[(0.1, 5.0, true), (10.0, 1.0, true)]);
        assert!(Plan::new(&positive).x.is_log());
        let with_zero = chart(&[(0.0, 5.0, true), (10.0, 1.0, true)]);
        let plan = Plan::new(&with_zero);
        assert!(!plan.x.is_log());
        assert_eq!(plan.series[0].len(), 2, "the point at x = 0 is still drawn on the linear axis");
    }

    #[test]
    fn bad_numbers_are_dropped_before_anything_is_drawn() {
        let mut input = chart(&[(0.5, 3.0, true), (f64::NAN, 2.0, true), (1.0, f64::INFINITY, true), (2.0, 1.0, true)]);
        input.infeasible = vec![(f64::NAN, 1.0), (0.1, 0.4), (f64::NEG_INFINITY, 0.2)];
        input.current = Some(Marker { x: 1.0, y: f64::NAN, label: "lost".to_string() });
        let plan = Plan::new(&input);
        let kept: Vec<(f64, f64)> = plan.series[0].iter().map(|p| (p.x, p.y)).collect();
        assert_eq!(kept, [(0.5, 3.0), (2.0, 1.0)]);
        assert!(plan.current.is_none());
        // The infinite end is clamped to the axis; the NaN interval is gone.
        let (axis_start, _) = plan.x.ends();
        assert_eq!(plan.bands.len(), 2, "{:?}", plan.bands);
        assert_eq!(plan.bands[1].0, axis_start);
    }

    #[test]
    fn far_off_infeasible_points_do_not_squash_the_frontier() {
        let input = chart(&[
            (0.1, 900_000.0, false),
            (0.2, 33_000.0, false),
            (0.5, 30_000.0, true),
            (1.0, 22_000.0, true),
            (2.0, 20_000.0, true),
        ]);
        let plan = Plan::new(&input);
        let (bottom, top) = plan.y.ends();
        assert!(top < 40_000.0 && bottom > 10_000.0, "y axis {bottom}..{top}");
        assert!(plan.off_scale(plan.series[0][0]), "900k is far off a 20k-30k frontier");
        assert!(!plan.series[0][1..].iter().any(|p| plan.off_scale(p)), "33k is near enough to show");

        // With nothing feasible, every point counts.
        let all_infeasible = chart(&[(0.2, 900_000.0, false), (0.5, 30_000.0, false)]);
        let plan = Plan::new(&all_infeasible);
        assert!(plan.y.ends().1 >= 900_000.0);
    }
}
