//! Charts for design reviews, as PNG and SVG: frontiers (cost against latency or quality), timelines
//! of the discrete-event engine, and a policy comparison (baseline against candidate).
//!
//! The only module that knows plotters. It takes plain data ([`FrontierChart`]: the frontier series, the
//! x-ranges where no routing is feasible, the current and the recommended policy) and draws it; it does not
//! decide what is on the frontier or what to recommend. One drawing function, generic over the plotters
//! backend, serves both formats (`draw.rs`); axis ranges, ticks and tick labels are worked out first
//! (`scale.rs`), and annotation labels are placed clear of the line and of each other (`place.rs`).
//!
//! Text is drawn with DejaVu Sans compiled into the binary (`text.rs`, with ab_glyph), so PNG charts render
//! the same on a machine with no fonts installed; SVG text names `sans-serif` and uses the viewer's.
//! Files are rendered in memory and written through [`crate::output`], so a failed render leaves no
//! half-written chart. Bad numbers (NaN, infinities) are skipped, never a panic.

mod compare;
mod draw;
mod place;
mod scale;
mod text;
mod timeline;

pub use compare::{CompareChart, Estimate, Pair, render_compare};
pub use timeline::{Line, Panel, Shade, TimelineChart, render_timeline};

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use text::DrawResult;

use crate::error::{Error, Result};
use crate::output;

/// One frontier, drawn as a line with markers through its feasible points, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<Point>,
}

/// A point of a series. Infeasible points are drawn as hollow grey markers, off the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub feasible: bool,
    /// An annotation next to the point (e.g. "p99 <= 0.8 s").
    pub label: Option<String>,
}

/// A policy singled out on the chart (the current one, the recommended one), with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

/// Everything on a frontier chart. Axis labels carry their unit, which also sets the tick format:
/// "(USD ...)" or "$" prints dollars (`$1,250`, `$12.5k`), "(s)" seconds (`0.5 s`), anything else plain
/// numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontierChart {
    pub title: String,
    /// e.g. "reference trace, 1,000,000 requests; p99 bound swept 0.25x-2x".
    pub subtitle: Option<String>,
    /// With units, e.g. "p99 latency bound (s)".
    pub x_label: String,
    /// With units, e.g. "expected cost (USD per day)".
    pub y_label: String,
    /// Log scale on x (for ranges spanning more than about 10x); ignored when some x is not positive.
    pub x_log: bool,
    pub series: Vec<Series>,
    /// x-intervals where no routing meets the targets, shaded and labelled "infeasible". Ends may be
    /// infinite (the shading then runs to the edge of the plot).
    pub infeasible: Vec<(f64, f64)>,
    /// The user's current policy: a black X.
    pub current: Option<Marker>,
    /// The recommended point: a large orange star.
    pub recommended: Option<Marker>,
}

/// The palette every chart shares (Okabe-Ito hues: distinguishable with the common colour-vision
/// deficiencies), and the margin round the canvas.
mod palette {
    use plotters::style::RGBColor;

    pub const BLUE: RGBColor = RGBColor(0, 114, 178);
    pub const VERMILION: RGBColor = RGBColor(213, 94, 0);
    pub const GREEN: RGBColor = RGBColor(0, 158, 115);
    pub const PURPLE: RGBColor = RGBColor(204, 121, 167);
    pub const SKY: RGBColor = RGBColor(86, 180, 233);
    pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
    pub const INK: RGBColor = RGBColor(34, 34, 34);
    pub const MUTED: RGBColor = RGBColor(90, 90, 90);
    pub const AXIS: RGBColor = RGBColor(120, 120, 120);
    pub const MARGIN: i32 = 24;
}

/// Pixel size of the PNG (and of the SVG's canvas).
pub const SIZE: (u32, u32) = (1200, 750);

/// Render `chart` to `<stem>.png` and `<stem>.svg` (the extensions are appended, so `frontier.v2` gives
/// `frontier.v2.png`), returning both paths.
pub fn render_frontier(chart: &FrontierChart, stem: &Path) -> Result<(PathBuf, PathBuf)> {
    render(&draw::Plan::new(chart), stem)
}

/// The frontier chart as an SVG document, for pages that inline it.
pub fn frontier_svg(chart: &FrontierChart) -> Result<String> {
    svg_text(&draw::Plan::new(chart))
}

/// The timeline chart as an SVG document.
pub fn timeline_svg(chart: &TimelineChart) -> Result<String> {
    svg_text(chart)
}

/// The comparison chart as an SVG document.
pub fn compare_svg(chart: &CompareChart) -> Result<String> {
    svg_text(chart)
}

fn svg_text(chart: &impl Drawing) -> Result<String> {
    render_svg(chart).map_err(|message| Error::Format { path: PathBuf::from("<chart>"), message })
}

/// A chart that draws itself on any plotters backend with the given pen.
trait Drawing {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: text::Pen) -> DrawResult<(), DB>;
}

impl Drawing for draw::Plan<'_> {
    fn draw_on<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, pen: text::Pen) -> DrawResult<(), DB> {
        draw::draw(root, pen, self)
    }
}

/// Render to `<stem>.png` and `<stem>.svg`, both in memory first, then written atomically.
fn render(chart: &impl Drawing, stem: &Path) -> Result<(PathBuf, PathBuf)> {
    let png_path = with_suffix(stem, ".png");
    let svg_path = with_suffix(stem, ".svg");
    let png = render_png(chart).map_err(|message| Error::Format { path: png_path.clone(), message })?;
    let svg = render_svg(chart).map_err(|message| Error::Format { path: svg_path.clone(), message })?;
    output::write_bytes(&png_path, &png)?;
    output::write_bytes(&svg_path, svg.as_bytes())?;
    Ok((png_path, svg_path))
}

fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(stem.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn render_png(chart: &impl Drawing) -> std::result::Result<Vec<u8>, String> {
    let pen = text::Pen::new(true).ok_or(FONT_UNREADABLE)?;
    let (width, height) = SIZE;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        chart.draw_on(&root, pen).map_err(|e| format!("cannot draw the chart: {e}"))?;
        root.present().map_err(|e| format!("cannot draw the chart: {e}"))?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(|e| format!("cannot encode PNG: {e}"))?;
    writer.write_image_data(&rgb).map_err(|e| format!("cannot encode PNG: {e}"))?;
    writer.finish().map_err(|e| format!("cannot encode PNG: {e}"))?;
    Ok(png)
}

fn render_svg(chart: &impl Drawing) -> std::result::Result<String, String> {
    let pen = text::Pen::new(false).ok_or(FONT_UNREADABLE)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        chart.draw_on(&root, pen).map_err(|e| format!("cannot draw the chart: {e}"))?;
        root.present().map_err(|e| format!("cannot draw the chart: {e}"))?;
    }
    Ok(svg)
}

const FONT_UNREADABLE: &str = "the embedded DejaVu Sans font could not be read";

#[cfg(test)]
mod tests;
