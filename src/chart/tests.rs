//! Rendering tests: both files are written, the PNG has the right size and visible text, the SVG carries
//! the words a reader needs, and degenerate input still gives a chart.

use super::*;

/// A cost frontier like the optimizer's: 50 p99 bounds from 0.3 s to 2.4 s. The tightest four are
/// infeasible, their cost that of the fastest routing, which still misses them.
pub(super) fn realistic() -> FrontierChart {
    let points = (0..50)
        .map(|i| {
            let x = 0.3 + 2.1 * f64::from(i) / 49.0;
            let frontier = 21_500.0 + 5_200.0 / (x - 0.22).powf(1.3);
            let y = if x >= 0.46 { frontier } else { 55_000.0 + 12_000.0 * (0.46 - x) };
            let label = match i {
                7 => Some("p99 ≤ 0.6 s: all on glm-5".to_string()),
                40 => Some("cheapest mix past 2 s".to_string()),
                _ => None,
            };
            Point { x, y, feasible: x >= 0.46, label }
        })
        .collect();
    FrontierChart {
        title: "Cost of meeting a p99 latency bound".to_string(),
        subtitle: Some("reference trace, 1,000,000 requests; p99 bound swept 0.25x-2x".to_string()),
        x_label: "p99 latency bound (s)".to_string(),
        y_label: "expected cost (USD per day)".to_string(),
        x_log: false,
        series: vec![Series { name: "cheapest routing for the bound".to_string(), points }],
        infeasible: vec![(0.25, 0.46)],
        current: Some(Marker { x: 1.2, y: 41_800.0, label: "current: $41.8k/day at p99 1.2 s".to_string() }),
        recommended: Some(Marker { x: 1.2, y: 26_900.0, label: "recommended: $26.9k/day (-36%)".to_string() }),
    }
}

struct Png {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

fn decode(path: &Path) -> Png {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes.as_slice())).read_info().unwrap();
    let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgb).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    Png { width: info.width, height: info.height, rgb }
}

impl Png {
    /// Pixels in the box that are clearly darker than the white background.
    fn dark_pixels(&self, x: std::ops::Range<u32>, y: std::ops::Range<u32>) -> usize {
        let mut count = 0;
        for row in y {
            for column in x.clone() {
                let i = ((row * self.width + column) * 3) as usize;
                let luminance = (u32::from(self.rgb[i]) + u32::from(self.rgb[i + 1]) + u32::from(self.rgb[i + 2])) / 3;
                count += usize::from(luminance < 128);
            }
        }
        count
    }
}

fn render(chart: &FrontierChart) -> (tempfile::TempDir, PathBuf, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let (png, svg) = render_frontier(chart, &dir.path().join("frontier")).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    (dir, png, svg, text)
}

#[test]
fn a_realistic_frontier_renders_to_png_and_svg() {
    let chart = realistic();
    let (dir, png, svg, text) = render(&chart);
    assert_eq!(png, dir.path().join("frontier.png"));
    assert_eq!(svg, dir.path().join("frontier.svg"));
    let image = decode(&png);
    assert_eq!((image.width, image.height), SIZE);
    for words in [
        chart.title.as_str(),
        "reference trace, 1,000,000 requests",
        "p99 latency bound (s)",
        "expected cost (USD per day)",
        "current: $41.8k/day at p99 1.2 s",
        "recommended: $26.9k/day (-36%)",
        "p99 ≤ 0.6 s: all on glm-5",
        "infeasible",
        "$30k",
        "1.0 s",
    ] {
        assert!(text.contains(words), "the SVG lacks {words:?}");
    }
}

#[test]
fn text_is_drawn_with_the_embedded_font() {
    // With no usable font plotters would fail or draw nothing; here the title's band must hold ink, and
    // the same band to the right of any title text must not.
    let (_dir, png, _, _) = render(&realistic());
    let image = decode(&png);
    let title = image.dark_pixels(24..400, 16..52);
    assert!(title > 1500, "only {title} dark pixels where the title should be");
    let beyond = image.dark_pixels(900..1180, 16..52);
    assert_eq!(beyond, 0, "ink to the right of the title");
}

#[test]
fn no_feasible_point_shades_the_range_and_says_so() {
    let mut chart = realistic();
    for point in &mut chart.series[0].points {
        point.feasible = false;
    }
    chart.infeasible = vec![(0.25, 2.5)];
    chart.current = None;
    chart.recommended = None;
    let (_dir, png, _, text) = render(&chart);
    assert!(text.contains("no feasible routing in this range"));
    assert_eq!((decode(&png).width, decode(&png).height), SIZE);

    // Nothing at all to plot but the interval.
    chart.series.clear();
    let (_dir, _, _, text) = render(&chart);
    assert!(text.contains("no feasible routing in this range") && text.contains("infeasible"));
}

#[test]
fn degenerate_input_still_gives_both_files() {
    let one_point = FrontierChart {
        series: vec![Series {
            name: "one".to_string(),
            points: vec![Point { x: 1.0, y: 100.0, feasible: true, label: Some("only point".to_string()) }],
        }],
        infeasible: Vec::new(),
        current: None,
        recommended: None,
        ..realistic()
    };
    let (_dir, _, _, text) = render(&one_point);
    assert!(text.contains("only point"));

    let mut bad_numbers = realistic();
    bad_numbers.series[0].points[10].y = f64::NAN;
    bad_numbers.series[0].points[11].x = f64::INFINITY;
    bad_numbers.series[0].points[12].y = f64::NEG_INFINITY;
    bad_numbers.infeasible.extend([(f64::NAN, 1.0), (f64::NEG_INFINITY, 0.3), (2.3, f64::INFINITY), (1.0, 1.0)]);
    bad_numbers.current = Some(Marker { x: f64::NAN, y: 1.0, label: "lost".to_string() });
    let (_dir, _, _, text) = render(&bad_numbers);
    let without_words = text.replace("infeasible", "");
    assert!(!text.contains("NaN") && !without_words.contains("inf"), "a bad number reached the SVG");
    assert!(!text.contains("lost"), "a marker at NaN was labelled");

    let mut nothing = realistic();
    nothing.series.clear();
    nothing.infeasible.clear();
    nothing.current = None;
    nothing.recommended = None;
    nothing.subtitle = None;
    let (_dir, png, _, text) = render(&nothing);
    assert!(text.contains(&nothing.title));
    assert_eq!(decode(&png).width, SIZE.0);
}

#[test]
fn log_x_is_honoured_and_falls_back_for_non_positive_values() {
    let mut wide = realistic();
    wide.x_log = true;
    wide.x_label = "p99 latency bound (s)".to_string();
    for (i, point) in wide.series[0].points.iter_mut().enumerate() {
        point.x = 0.1 * 1.1f64.powi(i as i32);
    }
    let (_dir, _, _, text) = render(&wide);
    let has_tick = |text: &str, tick: &str| text.contains(&format!(">\n{tick}\n</text>"));
    for tick in ["0.2 s", "1 s", "10 s"] {
        assert!(has_tick(&text, tick), "no log tick {tick}");
    }

    wide.series[0].points[0].x = 0.0;
    wide.series[0].points[1].x = -1.0;
    let (_dir, png, _, text) = render(&wide);
    assert!(has_tick(&text, "0.0 s") && !has_tick(&text, "0.2 s"), "x = 0 should give a linear axis");
    assert_eq!(decode(&png).height, SIZE.1);
}

#[test]
fn the_stem_gets_extensions_appended() {
    assert_eq!(with_suffix(Path::new("out/frontier.v2"), ".png"), PathBuf::from("out/frontier.v2.png"));
}

#[test]
fn an_unwritable_destination_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let err = render_frontier(&realistic(), &blocker.join("frontier")).unwrap_err();
    assert!(err.to_string().contains("not-a-folder"), "{err}");
}
