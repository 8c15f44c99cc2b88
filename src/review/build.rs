//! The review's sections from typed results: the verdict, provenance, the policy diff, service
//! levels, cost, capacity, frontiers, the timeline and how far to trust it. Each section appears
//! only when its inputs were given; nothing here runs a simulation.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::capacity::Peaks;
use super::{Banner, Cell, Chart, Review, Section, Table};
use crate::calibrate::Calibration;
use crate::catalog::Catalog;
use crate::chart::{self, FrontierChart, Marker, Point, Series, TimelineChart};
use crate::compare::{self, Comparison, FigureResult, Metric, Scope, Verdict};
use crate::error::{Error, Result};
use crate::optimize::frontier::FrontierPoint;
use crate::policy::{Policy, Rule};
use crate::report::{FrontierReport, RecommendationReport, SimulateReport, t95, thousands};

/// One side of the change: its name on the page, its policy (for the diff) and its peak minutes
/// (for capacity; empty when unknown).
#[derive(Debug, Clone, Default)]
pub struct Side<'a> {
    pub name: String,
    pub policy: Option<&'a Policy>,
    pub peaks: Vec<Peaks>,
}

/// An input file: its role, its name as the user knows it, and where to read it now (the same
/// path, or the staged copy of a file this run wrote).
#[derive(Debug, Clone)]
pub struct InputFile {
    pub role: String,
    pub shown: String,
    pub path: PathBuf,
}

impl InputFile {
    pub fn new(role: impl Into<String>, path: &Path) -> InputFile {
        InputFile { role: role.into(), shown: path.display().to_string(), path: path.to_path_buf() }
    }
}

/// Where the results came from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// Input files by role ("trace", "baseline policy", ...); each is hashed.
    pub files: Vec<InputFile>,
    /// Requests and the span of the trace, seconds.
    pub requests: Option<usize>,
    pub span_s: Option<(f64, f64)>,
    pub seed: Option<u64>,
    pub replicates: Option<u32>,
    /// `replay`, or `discrete-event`.
    pub engine: Option<String>,
    /// One command that reproduces the page.
    pub command: Option<String>,
}

/// Everything the page can show; `None` and empty leave a section out.
#[derive(Debug, Clone, Default)]
pub struct Inputs<'a> {
    pub title: String,
    /// One comparison, or one per scenario (each with its `scenario`).
    pub comparisons: &'a [Comparison],
    pub baseline: Side<'a>,
    pub candidate: Side<'a>,
    pub catalog: Option<&'a Catalog>,
    pub frontiers: Vec<FrontierChart>,
    pub recommendation: Option<&'a RecommendationReport>,
    pub timeline: Option<TimelineChart>,
    /// A calibration fit (`calibrate --json`): its table goes under "how far to trust it".
    pub calibration: Option<&'a Calibration>,
    /// One saved simulate report and no comparison: its figures, each with its 95% interval.
    pub single: Option<&'a SimulateReport>,
    pub provenance: Provenance,
}

/// Seconds in the month a trace's cost is projected to (30 days).
const MONTH_S: f64 = 30.0 * 86_400.0;

/// The page.
pub fn build(inputs: &Inputs<'_>) -> Result<Review> {
    let mut sections = Vec::new();
    let banner = banner(inputs.comparisons);
    if let Some(s) = verdict_section(inputs)? {
        sections.push(s);
    }
    sections.push(provenance_section(&inputs.provenance)?);
    if let Some(r) = inputs.single {
        sections.push(single_section(r));
    }
    if let Some(s) = policy_section(inputs) {
        sections.push(s);
    }
    if let Some(s) = service_section(inputs.comparisons) {
        sections.push(s);
    }
    if let Some(s) = cost_section(inputs) {
        sections.push(s);
    }
    if let Some(s) = capacity_section(inputs) {
        sections.push(s);
    }
    if let Some(s) = frontier_section(inputs)? {
        sections.push(s);
    }
    if let Some(t) = &inputs.timeline {
        let mut s = Section::new("timeline", "Timeline of the discrete-event run");
        s.paragraphs.push("Per minute, the candidate's first replicate; incidents of the scenario shaded.".into());
        s.charts.push(Chart { caption: t.title.clone(), svg: chart::timeline_svg(t)? });
        sections.push(s);
    }
    sections.push(trust_section(inputs));
    if let Some(s) = every_figure_section(inputs.comparisons) {
        sections.push(s);
    }
    let subtitle = match (&inputs.baseline.name, &inputs.candidate.name) {
        (b, c) if !b.is_empty() && !c.is_empty() => format!("{c} (candidate) against {b} (baseline)"),
        _ => String::new(),
    };
    Ok(Review {
        title: inputs.title.clone(),
        subtitle,
        banner,
        reproduce: inputs.provenance.command.clone(),
        sections,
        generator: format!("switchyard {}", env!("CARGO_PKG_VERSION")),
    })
}

/// The banner: the combined verdict of the comparisons, and what decided each.
fn banner(comparisons: &[Comparison]) -> Option<Banner> {
    let worst = comparisons.iter().map(|c| c.verdict).max_by_key(|v| v.severity())?;
    let tone = match worst {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Marginal | Verdict::Inconclusive => "unsure",
    };
    let several = comparisons.len() > 1;
    let mut deciders = Vec::new();
    for c in comparisons {
        let prefix = match (&c.scenario, several) {
            (Some(s), true) => format!("{s}: {} ", c.verdict),
            _ => String::new(),
        };
        let decided: Vec<&FigureResult> = c.figures.iter().filter(|f| c.decided_by.contains(&f.figure)).collect();
        if decided.is_empty() && several {
            deciders.push(format!("{prefix}{}", compare::headline(c)));
        }
        deciders.extend(decided.iter().map(|f| format!("{prefix}{}", compare::sentence(f))));
    }
    let first = &comparisons[0];
    let headline = if several {
        let each: Vec<String> =
            comparisons.iter().map(|c| format!("{} {}", c.scenario.as_deref().unwrap_or("?"), c.verdict)).collect();
        format!("the verdict must hold in every scenario ({})", each.join(", "))
    } else {
        compare::headline(first)
    };
    Some(Banner {
        verdict: worst.to_string(),
        tone,
        headline,
        deciders,
        basis: format!("{}; {}", compare::score_line(first), compare::basis_line(first)),
    })
}

/// The judged figures and the comparison chart, per scenario.
fn verdict_section(inputs: &Inputs<'_>) -> Result<Option<Section>> {
    if inputs.comparisons.is_empty() {
        return Ok(None);
    }
    let mut s = Section::new("verdict", "Verdict and the figures judged");
    s.paragraphs.push(
        "Each guarded figure's change has a 95% interval; it passes when the whole interval is within the allowed \
         change, fails when the whole interval is beyond it, and is inconclusive when the interval straddles it."
            .into(),
    );
    for c in inputs.comparisons {
        let judged: Vec<Vec<Cell>> =
            c.figures.iter().filter(|f| f.judgement.is_some()).map(|f| figure_cells(f, true)).collect();
        s.tables.push(Table {
            caption: scenario_caption("Judged figures", c),
            header: header(true),
            rows: judged,
            note: Some(format!("Guard: {}.", c.guard)),
        });
        if let Some(view) = &c.requests {
            s.paragraphs.push(format!(
                "{}Per request (the same requests under both policies): {}",
                c.scenario.as_deref().map(|x| format!("{x}: ")).unwrap_or_default(),
                compare::request_lines(view).join("; ")
            ));
        }
        let chart = compare::chart(c, &inputs.baseline.name, &inputs.candidate.name);
        s.charts.push(Chart { caption: chart.title.clone(), svg: chart::compare_svg(&chart)? });
    }
    Ok(Some(s))
}

fn scenario_caption(what: &str, c: &Comparison) -> String {
    match &c.scenario {
        Some(s) => format!("{what}, scenario {s}"),
        None => what.to_string(),
    }
}

fn header(judged: bool) -> Vec<String> {
    let mut h: Vec<String> =
        ["figure", "baseline", "candidate", "change", "relative", "95% interval"].map(String::from).to_vec();
    if judged {
        h.push("allowed".into());
        h.push("result".into());
    }
    h
}

/// A figure as cells: the text `compare` prints, numbers sortable, the result coloured.
fn figure_cells(f: &FigureResult, judged: bool) -> Vec<Cell> {
    let text = compare::figure_row(f);
    let c = &f.change;
    let numbers = [c.baseline.mean, c.candidate.mean, c.difference, c.relative.unwrap_or(f64::NAN)];
    let mut cells = vec![Cell::text(&text[0])];
    for (k, v) in numbers.iter().enumerate() {
        cells.push(Cell::num(&text[k + 1], *v));
    }
    cells.push(Cell::text(&text[5]).with_class("num"));
    if judged && text.len() > 7 {
        cells.push(Cell::text(&text[6]));
        let class = match &f.judgement {
            Some(j) if j.outcome == compare::Outcome::Pass => "good",
            Some(j) if j.outcome == compare::Outcome::Fail => "bad",
            _ => "unsure",
        };
        cells.push(Cell::text(&text[7]).with_class(class));
    }
    cells
}

fn provenance_section(p: &Provenance) -> Result<Section> {
    let mut s = Section::new("provenance", "Provenance: what this was computed from");
    let mut facts = Vec::new();
    if let Some(n) = p.requests {
        facts.push(format!("{} requests", thousands(n as u64)));
    }
    if let Some((from, to)) = p.span_s {
        facts.push(format!("trace from {from:.0} s to {to:.0} s ({:.2} h)", (to - from) / 3600.0));
    }
    if let Some(seed) = p.seed {
        facts.push(format!("seed {seed}"));
    }
    if let Some(r) = p.replicates {
        facts.push(format!("{r} replicates per policy"));
    }
    if let Some(e) = &p.engine {
        facts.push(format!("engine {e}"));
    }
    facts.push(format!("switchyard {}", env!("CARGO_PKG_VERSION")));
    s.paragraphs.push(format!("{}.", facts.join(", ")));
    let mut rows = Vec::new();
    for f in &p.files {
        let (hash, bytes) = sha256(&f.path)?;
        rows.push(vec![
            Cell::text(&f.role),
            Cell::text(&f.shown),
            Cell::text(hash),
            Cell::num(thousands(bytes), bytes as f64),
        ]);
    }
    if !rows.is_empty() {
        s.tables.push(Table {
            caption: "Input files".into(),
            header: ["role", "file", "SHA-256", "bytes"].map(String::from).to_vec(),
            rows,
            note: Some(
                "Embedded inputs (the default catalog, the default guard) are named by the version above.".into(),
            ),
        });
    }
    Ok(s)
}

/// A file's SHA-256 (hex) and size, read in blocks.
fn sha256(path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(|e| Error::read(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        bytes += n as u64;
    }
    let hex: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, bytes))
}

/// A rule's targets as `a 80%, b 20%`, with each target's own fallback chain if it has one.
fn targets_text(rule: &Rule, catalog: &Catalog) -> String {
    rule.targets
        .iter()
        .map(|&(e, w)| format!("{} {}%", catalog.endpoints[e].id, trim(w * 100.0)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn fallback_text(rule: &Rule, catalog: &Catalog) -> String {
    if rule.fallbacks.is_empty() {
        return "none".into();
    }
    rule.fallbacks.iter().map(|&e| catalog.endpoints[e].id.clone()).collect::<Vec<_>>().join(" then ")
}

fn match_text(rule: &Rule) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &rule.classes {
        parts.push(format!("class {}", c.join(", ")));
    }
    if let Some(o) = &rule.origins {
        parts.push(format!("origin {}", o.join(", ")));
    }
    if parts.is_empty() { "everything else".into() } else { parts.join("; ") }
}

/// Rule by rule: what matches, the targets and weights, fallbacks, timeout and attempts, before and
/// after; changed cells marked.
fn policy_section(inputs: &Inputs<'_>) -> Option<Section> {
    let (Some(before), Some(after), Some(catalog)) = (inputs.baseline.policy, inputs.candidate.policy, inputs.catalog)
    else {
        return None;
    };
    let mut s = Section::new("policy", "Policy diff, rule by rule");
    let mut names: Vec<&str> = before.rules.iter().map(|r| r.name.as_str()).collect();
    for r in &after.rules {
        if !names.contains(&r.name.as_str()) {
            names.push(&r.name);
        }
    }
    let find = |p: &'_ Policy, name: &str| p.rules.iter().find(|r| r.name == name).cloned();
    let mut rows = Vec::new();
    let mut changed_rules = 0;
    let rows_total = names.len();
    for name in names {
        let (b, a) = (find(before, name), find(after, name));
        let describe = |r: &Option<Rule>| -> [String; 4] {
            match r {
                Some(r) => [
                    match_text(r),
                    targets_text(r, catalog),
                    fallback_text(r, catalog),
                    format!(
                        "{}; {} attempts",
                        r.timeout_s.map_or("no timeout".into(), |t| format!("timeout {} s", trim(t))),
                        r.max_attempts
                    ),
                ],
                None => ["(no such rule)".into(), String::new(), String::new(), String::new()],
            }
        };
        let (db, da) = (describe(&b), describe(&a));
        let status = match (&b, &a) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            _ if db == da => "same",
            _ => "changed",
        };
        if status != "same" {
            changed_rules += 1;
        }
        for (k, what) in ["matches", "targets (weight)", "fallback", "limits"].iter().enumerate() {
            if k > 0 && status == "same" {
                continue;
            }
            let class = if db[k] != da[k] { "changed" } else { "" };
            rows.push(vec![
                Cell::text(if k == 0 { format!("{name} ({status})") } else { String::new() }),
                Cell::text(*what),
                Cell::text(&db[k]).with_class(class),
                Cell::text(&da[k]).with_class(class),
            ]);
        }
    }
    s.paragraphs.push(format!(
        "{changed_rules} of {total} rules differ (added, removed or changed). Unchanged rules show only what they match.",
        total = rows_total
    ));
    s.tables.push(Table {
        caption: format!("{} against {}", inputs.candidate.name, inputs.baseline.name),
        header: ["rule", "", "baseline", "candidate"].map(String::from).to_vec(),
        rows,
        note: None,
    });
    Some(s)
}

fn find<'c>(c: &'c Comparison, metric: Metric, scope: &Scope) -> Option<&'c FigureResult> {
    c.figures.iter().find(|f| f.figure.metric == metric && &f.figure.scope == scope)
}

/// Per class: latency quantiles, success and (discrete-event) 429s, baseline against candidate.
fn service_section(comparisons: &[Comparison]) -> Option<Section> {
    comparisons.first()?;
    let mut s = Section::new("service", "Service levels per class");
    let metrics = [Metric::P50, Metric::P90, Metric::P99, Metric::Success, Metric::RateLimited429];
    for c in comparisons {
        let mut rows = Vec::new();
        let mut scopes = vec![Scope::Overall];
        for f in &c.figures {
            if let Scope::Class(_) = &f.figure.scope
                && !scopes.contains(&f.figure.scope)
            {
                scopes.push(f.figure.scope.clone());
            }
        }
        for scope in &scopes {
            for m in metrics {
                if let Some(f) = find(c, m, scope) {
                    rows.push(figure_cells(f, false));
                }
            }
        }
        s.tables.push(Table {
            caption: scenario_caption("Latency, success and rate limiting", c),
            header: header(false),
            rows,
            note: Some(
                "Latency of served requests; intervals are of the change (paired replicates unless the page says \
                 unpaired). 429s appear with the discrete-event engine."
                    .into(),
            ),
        });
    }
    Some(s)
}

/// Cost per provider, model, region and class, cost per 1k, and the trace's cost projected to a
/// month.
fn cost_section(inputs: &Inputs<'_>) -> Option<Section> {
    let c = inputs.comparisons.first()?;
    let span = inputs.provenance.span_s.map(|(a, b)| b - a).filter(|d| *d > 0.0);
    let month = |usd: f64| span.map(|d| usd * MONTH_S / d);
    let mut s = Section::new("cost", "Cost");
    if let (Some(f), Some(factor)) = (find(c, Metric::Cost, &Scope::Overall), span.map(|d| MONTH_S / d)) {
        s.paragraphs.push(format!(
            "Projected to a 30-day month at this trace's rate: baseline ${:.0}, candidate ${:.0} ({:+.0} a month).",
            f.change.baseline.mean * factor,
            f.change.candidate.mean * factor,
            f.change.difference * factor
        ));
    }
    let mut header = header(false);
    header.push("candidate per month".into());
    let row = |f: &FigureResult| {
        let mut cells = figure_cells(f, false);
        let m = month(f.change.candidate.mean);
        cells.push(m.map_or_else(|| Cell::text("-"), |m| Cell::num(format!("${m:.0}"), m)));
        cells
    };
    for (caption, wanted) in [("By provider", "provider"), ("By model", "model"), ("By class", "class")] {
        let rows: Vec<Vec<Cell>> = c
            .figures
            .iter()
            .filter(|f| f.figure.metric == Metric::Cost)
            .filter(|f| f.change.baseline.mean != 0.0 || f.change.candidate.mean != 0.0)
            .filter(|f| {
                matches!(
                    (&f.figure.scope, wanted),
                    (Scope::Provider(_), "provider") | (Scope::Model(_), "model") | (Scope::Class(_), "class")
                )
            })
            .map(row)
            .collect();
        if !rows.is_empty() {
            s.tables.push(Table { caption: caption.into(), header: header.clone(), rows, note: None });
        }
    }
    // Regions: the endpoints' means summed (a sum of means is the mean of the sum; intervals are not
    // additive, so none are shown).
    let mut regions: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for f in c.figures.iter().filter(|f| f.figure.metric == Metric::Cost) {
        if f.change.baseline.mean == 0.0 && f.change.candidate.mean == 0.0 {
            continue;
        }
        if let Scope::Endpoint(id) = &f.figure.scope {
            let region = id.rsplit_once('@').map_or(id.as_str(), |(_, r)| r).to_string();
            let e = regions.entry(region).or_default();
            e.0 += f.change.baseline.mean;
            e.1 += f.change.candidate.mean;
        }
    }
    if !regions.is_empty() {
        let rows = regions
            .iter()
            .map(|(r, &(b, a))| {
                vec![
                    Cell::text(r),
                    Cell::num(format!("${b:.2}"), b),
                    Cell::num(format!("${a:.2}"), a),
                    Cell::num(format!("{:+.2}", a - b), a - b),
                    month(a).map_or_else(|| Cell::text("-"), |m| Cell::num(format!("${m:.0}"), m)),
                ]
            })
            .collect();
        s.tables.push(Table {
            caption: "By serving region".into(),
            header: ["region", "baseline", "candidate", "change", "candidate per month"].map(String::from).to_vec(),
            rows,
            note: Some("Sums of the endpoints' mean costs; no intervals (they do not add).".into()),
        });
    }
    let per_1k: Vec<Vec<Cell>> = c
        .figures
        .iter()
        .filter(|f| f.figure.metric == Metric::CostPer1k && matches!(f.figure.scope, Scope::Overall | Scope::Class(_)))
        .map(|f| figure_cells(f, false))
        .collect();
    if !per_1k.is_empty() {
        s.tables.push(Table {
            caption: "Cost per 1,000 requests".into(),
            header: header[..6].to_vec(),
            rows: per_1k,
            note: None,
        });
    }
    Some(s)
}

/// Peak minutes against limits, and how much fallbacks and retries amplify traffic.
fn capacity_section(inputs: &Inputs<'_>) -> Option<Section> {
    let (b, a) = (&inputs.baseline.peaks, &inputs.candidate.peaks);
    let c = inputs.comparisons.first();
    if b.is_empty() && a.is_empty() && c.is_none() {
        return None;
    }
    let mut s = Section::new("capacity", "Capacity and amplification");
    if let Some(c) = c {
        let per_request =
            |m: Metric| find(c, m, &Scope::Overall).map(|f| (f.change.baseline.mean, f.change.candidate.mean));
        let fallback = per_request(Metric::Fallback).unwrap_or((0.0, 0.0));
        let retries = per_request(Metric::Retries);
        let (rb, rc) = retries.unwrap_or((0.0, 0.0));
        s.paragraphs.push(format!(
            "Upstream attempts per request: baseline {:.4}, candidate {:.4} (1 + fallback attempts{}).",
            1.0 + fallback.0 + rb,
            1.0 + fallback.1 + rc,
            if retries.is_some() { " + the gateway's retries" } else { "" }
        ));
    }
    let mut ids: Vec<&str> = b.iter().map(|p| p.endpoint.as_str()).collect();
    for p in a {
        if !ids.contains(&p.endpoint.as_str()) {
            ids.push(&p.endpoint);
        }
    }
    if ids.is_empty() {
        return Some(s);
    }
    let get = |v: &'_ [Peaks], id: &str| v.iter().find(|p| p.endpoint == id).cloned();
    let mut rows = Vec::new();
    for id in ids {
        let (pb, pa) = (get(b, id), get(a, id));
        let limit = pa.as_ref().or(pb.as_ref()).and_then(|p| p.rpm_limit);
        let tpm_limit = pa.as_ref().or(pb.as_ref()).and_then(|p| p.tpm_limit);
        let rpm = |p: &Option<Peaks>| p.as_ref().map_or(0, |p| p.peak_rpm);
        let tpm = |p: &Option<Peaks>| p.as_ref().map_or(0, |p| p.peak_tpm);
        let share = limit.map(|l| rpm(&pa) as f64 / l as f64);
        let class = match share {
            Some(x) if x > 1.0 => "bad",
            Some(x) if x > 0.8 => "unsure",
            _ => "",
        };
        rows.push(vec![
            Cell::text(id),
            Cell::num(thousands(rpm(&pb)), rpm(&pb) as f64),
            Cell::num(thousands(rpm(&pa)), rpm(&pa) as f64),
            limit.map_or_else(|| Cell::text("none"), |l| Cell::num(thousands(l), l as f64)),
            share.map_or_else(|| Cell::text("-"), |x| Cell::num(format!("{:.0}%", x * 100.0), x).with_class(class)),
            Cell::num(thousands(tpm(&pb)), tpm(&pb) as f64),
            Cell::num(thousands(tpm(&pa)), tpm(&pa) as f64),
            tpm_limit.map_or_else(|| Cell::text("none"), |l| Cell::num(thousands(l), l as f64)),
        ]);
    }
    s.tables.push(Table {
        caption: "Busiest minute per endpoint (first replicate), against its limits".into(),
        header: [
            "endpoint",
            "baseline peak rpm",
            "candidate peak rpm",
            "rpm limit",
            "candidate / limit",
            "baseline peak tpm",
            "candidate peak tpm",
            "tpm limit",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note: Some(
            "Requests served per clock minute from the trace's start; above 80% of a limit is marked, above 100% the \
             replay engine would be refused by the provider (run --engine des to see the 429s)."
                .into(),
        ),
    });
    Some(s)
}

fn frontier_section(inputs: &Inputs<'_>) -> Result<Option<Section>> {
    if inputs.frontiers.is_empty() && inputs.recommendation.is_none() {
        return Ok(None);
    }
    let mut s = Section::new("frontier", "Cost against latency and quality: the frontiers");
    for f in &inputs.frontiers {
        s.charts.push(Chart { caption: f.title.clone(), svg: chart::frontier_svg(f)? });
    }
    if let Some(r) = inputs.recommendation {
        if let Some(last) = r.verification.last() {
            let rows = last
                .checks
                .iter()
                .map(|c| {
                    vec![
                        Cell::text(&c.class),
                        Cell::text(&c.figure),
                        Cell::num(format!("{:.4}", c.target), c.target),
                        c.predicted.map_or_else(|| Cell::text("-"), |p| Cell::num(format!("{p:.4}"), p)),
                        Cell::num(format!("{:.4} ± {:.4}", c.simulated, c.ci95), c.simulated),
                        Cell::text(if c.met { "met" } else { "missed" }).with_class(if c.met { "good" } else { "bad" }),
                    ]
                })
                .collect();
            s.tables.push(Table {
                caption: "The recommendation's constraints, verified by simulation".into(),
                header: ["class", "figure", "target", "LP predicted", "simulated (95%)", ""].map(String::from).to_vec(),
                rows,
                note: None,
            });
        }
        if let Some(sp) = &r.shadow_prices {
            let mut rows = Vec::new();
            let mut add = |what: String, v: Option<f64>| {
                rows.push(vec![
                    Cell::text(what),
                    v.map_or_else(|| Cell::text("infeasible"), |v| Cell::num(format!("{v:+.2}"), v)),
                ]);
            };
            for (class, v) in &sp.per_100ms_tighter {
                add(format!("{class}: latency bound 100 ms tighter"), *v);
            }
            for (class, v) in &sp.per_quality_point {
                add(format!("{class}: quality target 0.01 higher"), *v);
            }
            for (endpoint, v) in &sp.per_rps_capacity {
                add(format!("{endpoint}: one more request/s of its limit"), Some(*v));
            }
            if !rows.is_empty() {
                s.tables.push(Table {
                    caption: "Shadow prices: what each binding constraint costs (USD for the trace)".into(),
                    header: ["constraint", "objective change"].map(String::from).to_vec(),
                    rows,
                    note: Some("Re-solved for the step quoted, so they hold for it, not only at the margin.".into()),
                });
            }
        }
        for c in &r.conflicts {
            s.paragraphs.push(format!("Conflict: {} [{}]", c.message, c.constraint));
        }
    }
    Ok(Some(s))
}

/// The catalog's figures' sources for the endpoints either policy uses, and what the model assumes.
fn trust_section(inputs: &Inputs<'_>) -> Section {
    let mut s = Section::new("trust", "How far to trust it");
    s.paragraphs.push(
        "The figures are simulated, not measured: each request's latency is drawn from its endpoint's modelled \
         time-to-first-token and decode-speed distributions, its success from the endpoint's availability, its cost \
         from list prices. The intervals cover replication noise only, not a wrong catalog: check the sources below \
         against your own gateway's logs (switchyard calibrate fits a catalog to them)."
            .into(),
    );
    if let Some(fit) = inputs.calibration {
        s.tables.push(calibration_table(fit));
    }
    let Some(catalog) = inputs.catalog else { return s };
    let mut used: Vec<usize> = Vec::new();
    for p in [inputs.baseline.policy, inputs.candidate.policy].into_iter().flatten() {
        for r in &p.rules {
            for e in r.targets.iter().map(|t| t.0).chain(r.fallbacks.iter().copied()) {
                if !used.contains(&e) {
                    used.push(e);
                }
            }
        }
    }
    used.sort_unstable();
    let rows: Vec<Vec<Cell>> = used
        .iter()
        .map(|&i| {
            let e = &catalog.endpoints[i];
            let sources = if e.sources.is_empty() {
                "not given".to_string()
            } else {
                e.sources.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("; ")
            };
            vec![
                Cell::text(&e.id),
                Cell::text(&e.tier),
                Cell::num(format!("{:.3}%", e.availability * 100.0), e.availability),
                Cell::num(
                    format!("${} / ${}", e.prices.input_per_mtok, e.prices.output_per_mtok),
                    e.prices.output_per_mtok,
                ),
                Cell::text(sources),
            ]
        })
        .collect();
    s.paragraphs.push(format!("Catalog: {} ({} endpoints).", catalog.name, catalog.endpoints.len()));
    if !rows.is_empty() {
        s.tables.push(Table {
            caption: "Endpoints the two policies use, and where their figures come from".into(),
            header: ["endpoint", "tier", "availability", "$ in / out per M tokens", "sources"]
                .map(String::from)
                .to_vec(),
            rows,
            note: None,
        });
    }
    s
}

/// One simulate report's figures (no comparison): each figure's mean over the report's replicates
/// and its 95% interval where the report has one.
fn single_section(r: &SimulateReport) -> Section {
    let mut s = Section::new("figures", "Simulated figures of one policy");
    s.paragraphs.push(format!(
        "{} on {}, {} replicate{}, engine {}, seed {}. No comparison: nothing is judged.",
        r.inputs.policy,
        r.inputs.trace,
        r.replicates,
        if r.replicates == 1 { "" } else { "s" },
        r.inputs.engine,
        r.inputs.seed
    ));
    let rows = compare::unpaired_inputs(r, r)
        .into_iter()
        .filter_map(|input| match input.values {
            crate::compare::Values::Unpaired { baseline: m, .. } => Some((input.figure, m)),
            crate::compare::Values::Paired { .. } => None,
        })
        .map(|(figure, m)| {
            let unit = figure.metric.unit();
            let half = m.sd.filter(|_| m.n >= 2).map(|sd| t95(m.n - 1) * sd / (m.n as f64).sqrt());
            vec![
                Cell::text(figure.to_string()),
                Cell::num(compare::value(unit, m.mean), m.mean),
                half.map_or_else(
                    || Cell::text("-"),
                    |h| {
                        Cell::text(format!(
                            "[{}, {}]",
                            compare::value(unit, m.mean - h),
                            compare::value(unit, m.mean + h)
                        ))
                    },
                ),
            ]
        })
        .collect();
    s.tables.push(Table {
        caption: "Every figure".into(),
        header: ["figure", "value", "95% interval"].map(String::from).to_vec(),
        rows,
        note: None,
    });
    s
}

/// The calibration's goodness of fit, one row per endpoint and quantity (as `calibrate` prints it).
fn calibration_table(fit: &Calibration) -> Table {
    let pct = |x: f64| Cell::num(format!("{:+.1}%", 100.0 * x), x);
    let mut rows = Vec::new();
    for e in &fit.endpoints {
        for (name, q) in [("ttft", &e.ttft), ("decode", &e.decode_tps), ("latency", &e.latency)] {
            let Some(q) = q else { continue };
            let g = q.gof(fit.method);
            let ks_class = if g.ks > 0.1 { "bad" } else { "" };
            rows.push(vec![
                Cell::text(e.id()),
                Cell::text(name),
                Cell::num(thousands(q.n_fit as u64), q.n_fit as f64),
                Cell::num(format!("{:.4}", q.lognormal_gof.ks), q.lognormal_gof.ks).with_class(ks_class),
                Cell::num(format!("{:.4}", q.empirical_gof.ks), q.empirical_gof.ks),
                pct(g.p50_error),
                pct(g.p99_error),
                Cell::num(format!("{:.4}", e.availability), e.availability),
                Cell::num(format!("{:.4}", e.rate_limit_rate), e.rate_limit_rate),
            ]);
        }
    }
    Table {
        caption: format!("Calibration fit ({:?} forms) from {}", fit.method, fit.source),
        header: [
            "endpoint",
            "quantity",
            "n",
            "KS lognormal",
            "KS empirical",
            "p50 error",
            "p99 error",
            "availability",
            "429 rate",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        note: Some(format!(
            "{}KS above 0.1 marked: the fitted form misses the recorded distribution.",
            if fit.holdout { "Errors on held-out requests. " } else { "" }
        )),
    }
}

/// Every figure of the first comparison, sortable: the reference behind the sections above.
fn every_figure_section(comparisons: &[Comparison]) -> Option<Section> {
    let c = comparisons.first()?;
    let mut s = Section::new("figures", "Every figure");
    s.paragraphs.push("Click a column header to sort.".into());
    s.tables.push(Table {
        caption: scenario_caption("All figures compared", c),
        header: header(false),
        rows: c.figures.iter().map(|f| figure_cells(f, false)).collect(),
        note: None,
    });
    Some(s)
}

/// The frontier charts of a saved `frontier.json`, with the compared policies marked where the
/// comparison measured them: cost against the headline class's latency bound (its measured p99),
/// and cost against mean quality.
pub fn frontier_charts(report: &FrontierReport, comparisons: &[Comparison]) -> Vec<FrontierChart> {
    let c = comparisons.first();
    let measured = |metric: Metric, scope: &Scope| c.and_then(|c| find(c, metric, scope)).map(|f| f.change.clone());
    let cost = measured(Metric::Cost, &Scope::Overall);
    let points = |pts: &[FrontierPoint], x: fn(&FrontierPoint) -> Option<f64>| -> Vec<Point> {
        pts.iter()
            .filter_map(|p| x(p).zip(p.cost_usd).map(|(x, y)| Point { x, y, feasible: p.feasible, label: None }))
            .collect()
    };
    let markers = |x: Option<crate::compare::Change>| -> (Option<Marker>, Option<Marker>) {
        match (x, &cost) {
            (Some(x), Some(cost)) => (
                Some(Marker { x: x.baseline.mean, y: cost.baseline.mean, label: "baseline (simulated)".into() }),
                Some(Marker { x: x.candidate.mean, y: cost.candidate.mean, label: "candidate (simulated)".into() }),
            ),
            _ => (None, None),
        }
    };
    let mut charts = Vec::new();
    if let Some(class) = &report.headline_class {
        let (current, recommended) = markers(measured(Metric::P99, &Scope::Class(class.clone())));
        let xs: Vec<f64> = report.latency.iter().filter_map(|p| p.bound_s).collect();
        let (lo, hi) = xs.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
        charts.push(FrontierChart {
            title: format!("Cheapest routing against the {class} latency bound"),
            subtitle: Some("one LP per point; every class's bound scaled together; the policies as simulated".into()),
            x_label: format!("{class} latency bound (s)"),
            y_label: "expected cost of the trace (USD)".into(),
            x_log: lo > 0.0 && hi / lo > 10.0,
            series: vec![Series {
                name: "cheapest feasible routing".into(),
                points: points(&report.latency, |p| p.bound_s),
            }],
            infeasible: Vec::new(),
            current,
            recommended,
        });
    }
    let (current, recommended) = markers(measured(Metric::Quality, &Scope::Overall));
    charts.push(FrontierChart {
        title: "Cheapest routing against mean quality".into(),
        subtitle: Some("every class's quality target shifted together; the policies as simulated".into()),
        x_label: "predicted mean quality of served requests (score 0-1)".into(),
        y_label: "expected cost of the trace (USD)".into(),
        x_log: false,
        series: vec![Series {
            name: "cheapest routing, quality targets shifted".into(),
            points: points(&report.quality, |p| p.mean_quality),
        }],
        infeasible: Vec::new(),
        current,
        recommended,
    });
    charts
}
