//! Text: measured and, for the PNG, rasterised here with ab_glyph and the embedded DejaVu Sans.
//!
//! plotters 0.3.7 can draw text through ab_glyph, but it places each glyph without its left side bearing,
//! so letters sit unevenly and a colon runs into the letter before it ("s:" at 15 px). The [`Pen`] lays
//! glyphs out properly for the PNG and hands text to the SVG backend as `<text>`, so SVG text stays
//! searchable and selectable. Both are measured with the same font, so the layout is the same.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, FontTransform};

pub type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// SVG viewers size text by the em; ab_glyph's pixel scale is the ascent-to-descent height, 0.86 em for
/// DejaVu. plotters divides SVG font sizes by 1.24. Multiplying by this makes the two agree.
const SVG_SIZE_FACTOR: f64 = 1.24 * 2048.0 / 2384.0;

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

fn fonts() -> Option<&'static Fonts> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let regular = FontRef::try_from_slice(dejavu::sans::regular()).ok()?;
            let bold = FontRef::try_from_slice(dejavu::sans::bold()).ok()?;
            Some(Fonts { regular, bold })
        })
        .as_ref()
}

/// How a piece of text looks and where it hangs from its anchor point.
#[derive(Clone, Copy)]
pub struct Style {
    pub size: f64,
    pub bold: bool,
    pub colour: RGBColor,
    pub h: HPos,
    pub v: VPos,
    /// Reads bottom to top (the y axis title).
    pub rotated: bool,
}

impl Style {
    pub fn new(size: f64, colour: RGBColor) -> Style {
        Style { size, bold: false, colour, h: HPos::Left, v: VPos::Top, rotated: false }
    }
    pub fn bold(self) -> Style {
        Style { bold: true, ..self }
    }
    pub fn anchor(self, h: HPos, v: VPos) -> Style {
        Style { h, v, ..self }
    }
    pub fn rotated(self) -> Style {
        Style { rotated: true, ..self }
    }
}

/// Draws text for one output format.
#[derive(Clone, Copy)]
pub struct Pen {
    raster: bool,
    fonts: &'static Fonts,
}

impl Pen {
    /// A pen for the PNG (`raster`) or the SVG; `None` if the embedded font cannot be read.
    pub fn new(raster: bool) -> Option<Pen> {
        fonts().map(|fonts| Pen { raster, fonts })
    }

    fn font(&self, bold: bool) -> &FontRef<'static> {
        if bold { &self.fonts.bold } else { &self.fonts.regular }
    }

    /// Width and height in pixels of `text` in `style`.
    pub fn measure(&self, text: &str, style: &Style) -> (f64, f64) {
        let font = self.font(style.bold).as_scaled(PxScale::from(style.size as f32));
        let mut width = 0.0f32;
        let mut previous = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(previous) = previous {
                width += font.kern(previous, id);
            }
            width += font.h_advance(id);
            previous = Some(id);
        }
        (f64::from(width), f64::from(font.ascent() - font.descent()))
    }

    /// Draw `text` hanging from `at` as `style` says.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        text: &str,
        at: (i32, i32),
        style: &Style,
    ) -> DrawResult<(), DB> {
        if !self.raster {
            let font_style = if style.bold { FontStyle::Bold } else { FontStyle::Normal };
            let transform = if style.rotated { FontTransform::Rotate270 } else { FontTransform::None };
            let text_style = TextStyle::from(("sans-serif", style.size * SVG_SIZE_FACTOR, font_style).into_font())
                .color(&style.colour)
                .pos(Pos::new(style.h, style.v))
                .transform(transform);
            return root.draw(&Text::new(text.to_string(), at, text_style));
        }
        let font = self.font(style.bold);
        let scaled = font.as_scaled(PxScale::from(style.size as f32));
        let (width, _) = self.measure(text, style);
        // Offsets from the anchor to the start of the baseline.
        let dx = match style.h {
            HPos::Left => 0.0,
            HPos::Center => -width as f32 / 2.0,
            HPos::Right => -width as f32,
        };
        let dy = match style.v {
            VPos::Top => scaled.ascent(),
            VPos::Center => (scaled.ascent() + scaled.descent()) / 2.0,
            VPos::Bottom => scaled.descent(),
        };
        let mut pixels: Vec<(i32, i32, f32)> = Vec::new();
        let mut caret = dx;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(previous) = previous {
                caret += scaled.kern(previous, id);
            }
            previous = Some(id);
            let glyph = id.with_scale_and_position(scaled.scale(), point(caret, dy));
            caret += scaled.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            outline.draw(|x, y, coverage| {
                let (tx, ty) = ((bounds.min.x + x as f32).round() as i32, (bounds.min.y + y as f32).round() as i32);
                let (sx, sy) = if style.rotated { (at.0 + ty, at.1 - tx) } else { (at.0 + tx, at.1 + ty) };
                if coverage > 0.01 {
                    pixels.push((sx, sy, coverage.min(1.0)));
                }
            });
        }
        for (x, y, coverage) in pixels {
            root.draw_pixel((x, y), &style.colour.mix(f64::from(coverage)))?;
        }
        Ok(())
    }
}
