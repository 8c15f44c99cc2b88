//! The files each folder-writing subcommand owns in its folder: a rerun replaces them and leaves
//! everything else (`Command::io` stages the folder and removes the command's stale files).

/// The file `optimize` always writes in its folder; the gateway configs are the exporters' files.
pub const RECOMMENDATION: &str = "recommendation.json";

/// The files `optimize --out` writes: the recommendation and every export format's file.
pub fn optimize(rel: &str) -> bool {
    rel == RECOMMENDATION || switchyard::export::Format::all().iter().any(|f| f.exporter().file_name() == rel)
}

/// The files `frontier --out` writes.
pub const FRONTIER_FILES: [&str; 8] = [
    "frontier.csv",
    "frontier-quality.csv",
    "frontier-budget.csv",
    "frontier.json",
    "frontier-cost-latency.png",
    "frontier-cost-latency.svg",
    "frontier-cost-quality.png",
    "frontier-cost-quality.svg",
];

pub fn frontier(rel: &str) -> bool {
    FRONTIER_FILES.contains(&rel)
}

/// The files the demo writes at the top of its folder; `optimize/` and `frontier/` hold what
/// those commands write.
pub const DEMO_FILES: [&str; 6] =
    ["trace.parquet", "policy.yaml", "report.json", "requests.parquet", "constraints.yaml", "review.html"];

/// The files `demo --out` writes.
pub fn demo(rel: &str) -> bool {
    DEMO_FILES.contains(&rel)
        || rel.strip_prefix("optimize/").is_some_and(optimize)
        || rel.strip_prefix("frontier/").is_some_and(frontier)
}

/// The stem of the timeline `simulate --chart DIR` draws (DIR/timeline.png and .svg).
pub const TIMELINE: &str = "timeline";

/// The files `simulate --chart DIR` writes in DIR.
pub fn timeline_chart(rel: &str) -> bool {
    rel == "timeline.png" || rel == "timeline.svg"
}

/// The charts `compare --chart` draws: `compare.png` and `.svg`, or `compare-<scenario>.*`.
pub fn compare_chart(rel: &str) -> bool {
    let stem = rel.strip_suffix(".png").or_else(|| rel.strip_suffix(".svg"));
    !rel.contains('/') && stem.is_some_and(|s| s == "compare" || s.starts_with("compare-"))
}

/// The CDF charts `calibrate --chart` draws: `<endpoint>-<quantity>.png` and `.svg`.
pub fn cdf_chart(rel: &str) -> bool {
    let stem = rel.strip_suffix(".png").or_else(|| rel.strip_suffix(".svg"));
    !rel.contains('/') && stem.is_some_and(|s| ["-ttft", "-decode", "-latency"].iter().any(|q| s.ends_with(q)))
}
