//! `switchyard demo`: the whole pipeline on embedded inputs, needing no files.

use anyhow::Context;
use switchyard::catalog::Catalog;
use switchyard::export::Format;
use switchyard::optimize::Constraints;
use switchyard::optimize::recommend::Options;
use switchyard::policy::Policy;
use switchyard::report::{self, RunMeta};
use switchyard::trace;

use super::args::{DemoArgs, QuantileMethod};
use super::compare::{Bound, ForReview, Pair};
use super::files::{DEFAULT_CATALOG_LABEL, write_per_request};
use super::io::{Outputs, quote};
use super::optimize::{Inputs, Sweep, run_frontier, run_optimize};
use super::progress::{Timer, Watching};
use switchyard::compare::{self, Guard};
use switchyard::report::RecommendationReport;
use switchyard::review;
use switchyard::run::{self, RunSpec};

/// The demo's policy, shaped like the field report's gateway.
pub const FIELD_REPORT_POLICY: &str = include_str!("../../policies/field-report.yaml");
/// The demo's targets for the default catalog.
pub const DEFAULT_CONSTRAINTS: &str = include_str!("../../policies/constraints.yaml");
/// The demo's frontier: multipliers of every latency bound. The targets hold down to about 0.8x
/// (they leave that margin so that any day meets them); below about 0.75x the default catalog
/// cannot meet the bounds, so the chart shows the infeasible region too.
const DEMO_SWEEP: (f64, f64) = (0.6, 2.0);
/// Paired replicates of the review's comparison.
const REVIEW_REPLICATES: u32 = 3;
/// Gateway formats the demo exports the recommendation to.
const DEMO_EXPORTS: [Format; 4] = [Format::Litellm, Format::Portkey, Format::Envoy, Format::Openrouter];

pub fn run(a: &DemoArgs, quiet: bool, out: &Outputs) -> anyhow::Result<()> {
    let dest = out.dest(&a.out);
    let catalog = Catalog::default_catalog();
    let spec = trace::synth::SynthSpec::default_for(a.requests);
    let days = spec.duration_s / 86_400.0;
    let span = if days > 1.0 {
        format!(
            "{days} days (at most {} a day, what the default catalog's quotas carry)",
            trace::synth::DEFAULT_DAY_MAX_REQUESTS
        )
    } else {
        format!("{} h", spec.duration_s / 3600.0)
    };
    eprintln!("synthesizing {} requests over {span} (seed {}) ...", a.requests, a.seed);
    let tr = trace::synth::synth(&spec, a.seed)?;
    let policy_path = a.out.join("policy.yaml");
    let policy =
        Policy::from_yaml_str(FIELD_REPORT_POLICY, &policy_path, &catalog).context("the embedded demo policy")?;
    let table = policy.bind(&catalog, &tr)?;
    let spec = RunSpec { keep_first: true, ..RunSpec::replay(a.seed, 1) };
    let mut timer = Timer::new(false);
    let watch = Watching::new(tr.len() as u64, "replaying", quiet, &mut timer);
    let ran = run::simulate(run::Inputs { catalog: &catalog, table: &table, trace: &tr }, &spec, &watch)?;
    drop(watch);
    let meta = RunMeta {
        trace: if days > 1.0 {
            format!("synthetic {days} days ({} requests, seed {})", tr.len(), a.seed)
        } else {
            format!("synthetic day ({} requests, seed {})", tr.len(), a.seed)
        },
        catalog: DEFAULT_CATALOG_LABEL.into(),
        policy: policy_path.display().to_string(),
        engine: "replay".into(),
        seed: a.seed,
        skipped_rows: 0,
        sorted_on_load: false,
        quantiles: QuantileMethod::Exact.label().into(),
    };
    let report = report::SimulateReport::new(&meta, &ran.summaries);
    say!("{}", report::render_text(&report));

    let trace_path = a.out.join("trace.parquet");
    let json_path = a.out.join("report.json");
    let per_request_path = a.out.join("requests.parquet");
    trace::write::write(&tr, &dest.write("trace.parquet"), None)?;
    switchyard::output::write_bytes(&dest.write("policy.yaml"), FIELD_REPORT_POLICY.as_bytes())?;
    switchyard::output::write_bytes(&dest.write("report.json"), report.to_json().as_bytes())?;
    if let Some(outcomes) = &ran.first {
        write_per_request(&dest.write("requests.parquet"), &catalog, &table, &tr, outcomes)?;
    }
    sayln!(
        "wrote {}, {}, {} and {}",
        trace_path.display(),
        policy_path.display(),
        json_path.display(),
        per_request_path.display()
    );

    // 2. The cheapest routing that meets the targets, checked by replay, exported for gateways.
    let constraints_path = a.out.join("constraints.yaml");
    switchyard::output::write_bytes(&dest.write("constraints.yaml"), DEFAULT_CONSTRAINTS.as_bytes())?;
    let constraints = Constraints::from_yaml_str(DEFAULT_CONSTRAINTS, &constraints_path, &catalog)
        .context("the embedded demo constraints")?;
    let inputs = Inputs {
        catalog,
        catalog_name: DEFAULT_CATALOG_LABEL.into(),
        constraints,
        trace: tr,
        trace_label: trace_path.display().to_string(),
        current: Some(policy),
        current_label: Some(policy_path.display().to_string()),
    };
    let opt_dir = dest.join("optimize");
    let frontier_dir = dest.join("frontier");
    sayln!("\n== optimize: the cheapest routing meeting {} ==", constraints_path.display());
    let opts = Options {
        seed: a.seed + 1,
        replicates: 3,
        max_rounds: 2,
        verify: true,
        current: inputs.current.clone(),
        des: None,
    };
    let rec = run_optimize(&inputs, &opts, &opt_dir, &DEMO_EXPORTS, None, true, &mut Timer::new(false))?;

    // 3. What tighter or looser latency bounds would cost.
    sayln!("\n== frontier: cost against every latency bound x{} to x{} ==", DEMO_SWEEP.0, DEMO_SWEEP.1);
    let sweep = Sweep { from: DEMO_SWEEP.0, to: DEMO_SWEEP.1, points: a.points as usize, class: None };
    let frontiers = run_frontier(&inputs, &sweep, &frontier_dir, &mut Timer::new(false))?;

    // 4. The review page: the recommendation against the policy in production, paired.
    let review_path = a.out.join("review.html");
    if let (Some(recommended), Some(current)) = (&rec.policy, &inputs.current) {
        sayln!("\n== review: the recommendation against the policy in production ==");
        let recommended_path = opt_dir.shown("policy.yaml");
        let sides = [
            Bound::new(inputs.catalog.clone(), current.clone(), &inputs.trace)?,
            Bound::new(inputs.catalog.clone(), recommended.clone(), &inputs.trace)?,
        ];
        let guard = Guard::default_guard();
        let pair = Pair {
            trace: &inputs.trace,
            scenarios: &[(None, [None, None])],
            seed: a.seed,
            replicates: REVIEW_REPLICATES,
            guard: &guard,
            review: true,
        };
        let mut ran = ForReview::default();
        let comparisons = pair.run(&sides, quiet, &mut Timer::new(false), &mut ran)?;
        // The verdict and what decided it; the page has the rest.
        let text = compare::render_text(&comparisons[0]);
        say!("{}\n", text.split("\n\n").next().unwrap_or(&text));
        let recommendation = RecommendationReport::load(&opt_dir.write("recommendation.json"))?;
        let inputs = review::Inputs {
            title: "switchyard demo: the cheapest routing against the policy in production".into(),
            comparisons: &comparisons,
            baseline: review::Side {
                name: "policy.yaml".into(),
                policy: Some(&sides[0].policy),
                peaks: ran.peaks[0].clone(),
            },
            candidate: review::Side {
                name: "optimize/policy.yaml".into(),
                policy: Some(&sides[1].policy),
                peaks: ran.peaks[1].clone(),
            },
            catalog: Some(&sides[0].catalog),
            frontiers,
            recommendation: Some(&recommendation),
            provenance: review::Provenance {
                files: [
                    ("trace", "trace.parquet", &dest),
                    ("baseline policy", "policy.yaml", &dest),
                    ("candidate policy", "policy.yaml", &opt_dir),
                    ("constraints", "constraints.yaml", &dest),
                ]
                .into_iter()
                .map(|(role, name, d)| review::InputFile {
                    role: role.into(),
                    shown: d.shown(name).display().to_string(),
                    path: d.write(name),
                })
                .collect(),
                requests: ran.requests,
                span_s: ran.span_s,
                seed: Some(a.seed),
                replicates: Some(REVIEW_REPLICATES),
                engine: Some("replay".into()),
                command: Some(format!(
                    "switchyard compare --trace {} --baseline {} --candidate {} --seed {} --replicates {REVIEW_REPLICATES} --html review.html",
                    quote(&trace_path),
                    quote(&policy_path),
                    quote(&recommended_path),
                    a.seed
                )),
            },
            ..review::Inputs::default()
        };
        let html = review::build(&inputs)?.to_html(&review_path)?;
        switchyard::output::write_bytes(&dest.write("review.html"), html.as_bytes())?;
    }

    // Commands that run as printed: paths quoted for the shell where they need it.
    if rec.policy.is_some() {
        sayln!("\nthe review page: {}", review_path.display());
    }
    sayln!("\nnext:");
    sayln!("  switchyard simulate --trace {} --policy {} --replicates 5", quote(&trace_path), quote(&policy_path));
    if rec.policy.is_some() {
        sayln!(
            "  switchyard simulate --trace {} --policy {}   # the recommendation",
            quote(&trace_path),
            quote(&opt_dir.shown("policy.yaml"))
        );
    }
    sayln!(
        "  switchyard optimize --trace {} --constraints {} --current {} --out my-run --export litellm",
        quote(&trace_path),
        quote(&constraints_path),
        quote(&policy_path)
    );
    Ok(())
}
