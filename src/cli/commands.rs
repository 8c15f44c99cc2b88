//! One function per subcommand: load inputs, call the library, write outputs.

use std::path::Path;

use anyhow::Context;
use switchyard::catalog::Catalog;
use switchyard::error::{Error, Place, Problems};
use switchyard::names::{Mention, Names};
use switchyard::output;
use switchyard::policy::Policy;
use switchyard::report::{self, CatalogTable, RunMeta, SimulateReport};
use switchyard::run::{self, Engine, Run, RunSpec};
use switchyard::trace::write::{ColumnData, Table};
use switchyard::trace::{self, Trace};

use super::args::*;
use super::files::{check_names, emit, load_catalog, load_trace, read_options, write_json, write_per_request};
use super::io::Outputs;
use super::progress::{Timer, Watching};
use super::usage;

/// Run a command that has passed `Command::io`'s checks, writing its outputs where `outputs` says,
/// and make its output folders this run's when it succeeds; the exit code of a run that completed
/// (0, or `compare`'s verdict).
pub fn dispatch(cli: Cli, mut outputs: Outputs) -> anyhow::Result<u8> {
    let quiet = cli.quiet;
    let timer = Timer::new(cli.timing);
    let out = &mut outputs;
    let mut code = 0;
    match cli.command {
        Command::Demo(a) => super::demo::run(&a, quiet, out),
        Command::Simulate(a) => simulate(&a, quiet, timer, out),
        Command::Compare(a) => super::compare::compare(&a, quiet, timer, out).map(|c| code = c),
        Command::Report(a) => super::compare::report(&a, out),
        Command::Validate(a) => validate(&a),
        Command::Optimize(a) => super::optimize::optimize(&a, quiet, timer, out),
        Command::Frontier(a) => super::optimize::frontier(&a, quiet, timer, out),
        Command::Calibrate(a) => calibrate(&a, out),
        Command::Trace(t) => trace_command(t, timer, out),
        Command::Catalog(c) => catalog_command(c, out),
    }?;
    outputs.commit()?;
    Ok(code)
}

/// The flags of `simulate` that do not go together, as usage errors (exit code 2).
fn check_simulate_flags(a: &SimulateArgs) -> anyhow::Result<()> {
    if a.des.stream {
        if a.des.engine != EngineKind::Des {
            return Err(usage("--stream", "belongs to the discrete-event engine", "add `--engine des`"));
        }
        if a.reprice.is_some() || a.counterfactual {
            let flag = if a.reprice.is_some() { "--reprice" } else { "--counterfactual" };
            return Err(usage(flag, "reads the whole trace, which --stream does not keep", "drop --stream"));
        }
        if a.per_request.is_some() {
            return Err(usage(
                "--per-request",
                "needs every request's outcome, which --stream does not keep",
                "drop --per-request or --stream",
            ));
        }
    }
    if a.des.engine == EngineKind::Replay {
        let des_only = [
            ("--scenario", a.des.scenario.is_some()),
            ("--concurrency", a.des.concurrency.is_some()),
            ("--timeseries", !a.des.timeseries.is_empty()),
            ("--chart", a.des.chart.is_some()),
        ];
        if let Some((flag, _)) = des_only.iter().find(|(_, given)| *given) {
            return Err(usage(flag, "belongs to the discrete-event engine", "add `--engine des`"));
        }
    } else if a.counterfactual {
        return Err(usage("--counterfactual", "works with the replay engine only", "drop `--engine des`"));
    }
    if a.counterfactual && a.quantiles == QuantileMethod::Sketch {
        return Err(usage(
            "--counterfactual",
            "keeps every request's outcome (recorded or sampled) and reports exact quantiles",
            "drop `--quantiles sketch`",
        ));
    }
    Ok(())
}

fn simulate(a: &SimulateArgs, quiet: bool, mut timer: Timer, out: &Outputs) -> anyhow::Result<()> {
    check_simulate_flags(a)?;
    if a.des.stream {
        return super::des::simulate_des_stream(a, quiet, timer, out);
    }
    let read_opts = read_options(&a.input.read)?;
    // The common case of a large trace (a Parquet file, one replicate, no per-request output)
    // is replayed as it is read: first only its classes and origins.
    let fused = a.des.engine == EngineKind::Replay
        && a.replicates == 1
        && a.per_request.is_none()
        && a.reprice.is_none()
        && !a.counterfactual;
    let groups = if fused { trace::ParquetGroups::open(&a.input.trace, &read_opts)? } else { None };
    let segmented = match groups {
        Some(groups) => groups.segments(&read_opts)?.map(|segments| (groups, segments)),
        None => None,
    };
    // `groups` is kept only when `trace` is its segments (classes and origins alone).
    let (mut trace, groups) = match segmented {
        Some((groups, segments)) => (segments, Some(groups)),
        None => (load_trace(&a.input.trace, &read_opts)?, None),
    };
    trace.notices.iter().for_each(emit);
    timer.lap("read");
    if let Some(prices) = &a.reprice {
        return reprice(a, &trace, prices, out);
    }
    let (catalog, catalog_name) = load_catalog(a.catalog.as_deref())?;
    let policy_path =
        a.policy.as_deref().ok_or_else(|| usage("--policy", "is required", "name a policy YAML, or use --reprice"))?;
    let policy = Policy::load(policy_path, &catalog)?;
    let name_warnings = check_names(&catalog, &trace, &policy.mentions())?;
    let mut table = policy.bind(&catalog, &trace)?;
    timer.lap("bind");
    if a.des.engine == EngineKind::Des {
        name_warnings.iter().for_each(emit);
        return super::des::simulate_des(a, &catalog, catalog_name, &trace, &table, quiet, timer, out);
    }
    let mut replayed = None;
    if let Some(groups) = &groups {
        let watch = Watching::new(trace.len() as u64, "replaying", quiet, &mut timer);
        replayed = run::replay_as_read(&catalog, &table, &trace, groups, a.seed, a.quantiles, &watch)?;
        drop(watch);
        if replayed.is_none() {
            // A bad cell or rows out of time order: the whole-file reader reports, skips or sorts.
            trace = load_trace(&a.input.trace, &read_opts)?;
            table = policy.bind(&catalog, &trace)?;
            timer.lap("read");
        }
    }
    // After the Parquet fast path's fallback, if any: the same order of messages either way.
    name_warnings.iter().for_each(emit);
    let ran = match replayed {
        Some(summary) => Run { summaries: vec![summary], des: Vec::new(), looks: Vec::new(), first: None, kept: None },
        None => {
            let spec = RunSpec {
                engine: Engine::Replay,
                seed: a.seed,
                replicates: a.replicates,
                quantiles: a.quantiles,
                counterfactual: a.counterfactual,
                keep_first: a.per_request.is_some(),
            };
            let watch = Watching::new(trace.len() as u64 * a.replicates as u64, "replaying", quiet, &mut timer);
            run::simulate(run::Inputs { catalog: &catalog, table: &table, trace: &trace }, &spec, &watch)?
        }
    };
    let summaries = &ran.summaries;
    let meta = RunMeta {
        trace: a.input.trace.display().to_string(),
        catalog: catalog_name,
        policy: policy_path.display().to_string(),
        engine: if a.counterfactual { "replay+recorded".into() } else { "replay".into() },
        seed: a.seed,
        skipped_rows: trace.skipped_rows as u64,
        sorted_on_load: trace.sorted_on_load,
        quantiles: a.quantiles.label().into(),
    };
    let mut report = SimulateReport::new(&meta, summaries);
    say!("{}", report::render_text(&report));
    if let Some(kept) = ran.kept {
        sayln!(
            "counterfactual: {} requests kept their recorded latency and outcome (same endpoint); {} re-routed and {} without a usable record were sampled from the catalog (first replicate)",
            kept.kept,
            kept.sampled_rerouted,
            kept.sampled_unrecorded
        );
        report.counterfactual = Some(kept);
    }
    if let Some(path) = &a.json {
        output::write_bytes(&out.at(path), report.to_json().as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let (Some(path), Some(outcomes)) = (&a.per_request, &ran.first) {
        write_per_request(&out.at(path), &catalog, &table, &trace, outcomes)?;
        eprintln!("wrote {}", path.display());
    }
    timer.lap("write");
    Ok(())
}

/// `simulate --reprice`: the recorded trace's cost at other prices; no policy, no sampling.
fn reprice(a: &SimulateArgs, trace: &Trace, prices: &Path, out: &Outputs) -> anyhow::Result<()> {
    use switchyard::recorded::reprice as rp;
    let repricing = rp::load(prices)?;
    let rows = rp::reprice(trace, &repricing)?;
    say!("{}", rp::render(&rows, repricing.serve_as.as_deref()));
    if let Some(path) = &a.json {
        let report = rp::RepriceReport {
            trace: a.input.trace.display().to_string(),
            prices: prices.display().to_string(),
            serve_as: repricing.serve_as,
            models: rows,
        };
        write_json(&out.at(path), &report)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn validate(a: &ValidateArgs) -> anyhow::Result<()> {
    let mut problems = Problems::default();
    // A file with problems adds them to the list (all are reported at once); other errors stop.
    let collect = |problems: &mut Problems, e: Error| -> anyhow::Result<()> {
        match e {
            e @ Error::Invalid(_) => {
                problems.extend(e);
                Ok(())
            }
            e => Err(e.into()),
        }
    };
    let catalog = match a.catalog.as_deref() {
        Some(p) => match Catalog::load(p) {
            Ok(c) => Some(c),
            Err(e) => collect(&mut problems, e).map(|()| None)?,
        },
        None => Some(Catalog::default_catalog()),
    };
    let trace = match &a.trace {
        Some(p) => match trace::read(p, &read_options(&a.read)?) {
            Ok(t) => Some(t),
            Err(e) => collect(&mut problems, e).map(|()| None)?,
        },
        None => None,
    };
    let policy = match (&a.policy, &catalog) {
        (Some(p), Some(c)) => match Policy::load(p, c) {
            Ok(pol) => Some(pol),
            Err(e) => collect(&mut problems, e).map(|()| None)?,
        },
        _ => None,
    };
    let constraints = match (&a.constraints, &catalog) {
        (Some(p), Some(c)) => match switchyard::optimize::Constraints::load(p, c) {
            Ok(k) => Some(k),
            Err(e) => collect(&mut problems, e).map(|()| None)?,
        },
        _ => None,
    };
    let mut warnings = Vec::new();
    if let (Some(c), Some(t)) = (&catalog, &trace) {
        warnings.extend(t.notices.iter().cloned());
        let mut mentions: Vec<Mention> = policy.as_ref().map(Policy::mentions).unwrap_or_default();
        mentions.extend(constraints.iter().flat_map(|k| k.mentions.iter().cloned()));
        let found = Names::with_trace(c, t).check(&mentions);
        problems.0.extend(found.problems.0);
        warnings.extend(found.warnings);
        if let Some(p) = &policy
            && let Err(e) = p.bind(c, t)
        {
            collect(&mut problems, e)?;
        }
    }
    warnings.iter().for_each(emit);
    let checked: Vec<String> = [
        Some(
            a.catalog.as_ref().map_or("catalog (embedded default)".to_string(), |p| format!("catalog {}", p.display())),
        ),
        a.policy.as_ref().map(|p| format!("policy {}", p.display())),
        a.constraints.as_ref().map(|p| format!("constraints {}", p.display())),
        a.trace.as_ref().map(|p| format!("trace {}", p.display())),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Every problem found, in one error (exit code 2).
    problems.finish()?;
    sayln!("ok: {}", checked.join(", "));
    if let Some(c) = &catalog {
        sayln!("  {} endpoints ({} models x {} regions)", c.endpoints.len(), c.models.len(), c.regions.len());
    }
    if let Some(p) = &policy {
        sayln!("  {} rules", p.rules.len());
    }
    if let Some(k) = &constraints {
        sayln!("  {} classes with targets, {} residency rules", k.classes.len(), k.residency.len());
    }
    if let Some(t) = &trace {
        sayln!("  {} requests, {} classes, {} origins", t.len(), t.class_names.len(), t.origin_names.len());
    }
    if !warnings.is_empty() {
        sayln!("  {} warning{} (above)", warnings.len(), if warnings.len() == 1 { "" } else { "s" });
    }
    Ok(())
}

fn trace_command(t: TraceCommand, mut timer: Timer, out: &Outputs) -> anyhow::Result<()> {
    match t {
        TraceCommand::Synth { spec, seed, output, print_default_spec } => {
            if print_default_spec {
                say!("{}", trace::synth::default_spec_yaml());
                return Ok(());
            }
            let spec = match &spec {
                Some(p) => trace::synth::load_spec(p)?,
                None => trace::synth::SynthSpec::default(),
            };
            let output = output.ok_or_else(|| usage("--output", "is required", "add `-o day.parquet`"))?;
            let tr = trace::synth::synth(&spec, seed)?;
            trace::write::write(&tr, &out.at(&output), None)?;
            eprintln!("wrote {} requests to {}", tr.len(), output.display());
            Ok(())
        }
        TraceCommand::Stats { file, read, json } => {
            let tr = load_trace(&file, &read_options(&read)?)?;
            timer.lap("read");
            let stats = trace::stats::stats(&tr);
            say!("{}", stats.render_text());
            if let Some(path) = json {
                write_json(&out.at(&path), &stats)?;
            }
            timer.lap("stats");
            Ok(())
        }
        TraceCommand::Import { file, format, skip_bad_rows, spread_ties, output, json } => {
            let opts = trace::import::ImportOptions { skip_bad_rows, spread_ties };
            let (tr, import_report) = trace::import::import(&file, format, &opts)?;
            timer.lap("read");
            say!("{}", import_report.render_text());
            trace::write::write(&tr, &out.at(&output), None)?;
            timer.lap("write");
            if let Some(path) = json {
                write_json(&out.at(&path), &import_report)?;
            }
            eprintln!("wrote {} requests to {}", tr.len(), output.display());
            Ok(())
        }
        TraceCommand::Convert { file, read, output } => {
            let tr = load_trace(&file, &read_options(&read)?)?;
            timer.lap("read");
            trace::write::write(&tr, &out.at(&output), None)?;
            timer.lap("write");
            eprintln!("wrote {} requests to {}", tr.len(), output.display());
            Ok(())
        }
    }
}

fn calibrate(a: &CalibrateArgs, out: &Outputs) -> anyhow::Result<()> {
    use switchyard::calibrate::{self as cal, CalibrateOptions, FitMethod};
    let trace = load_trace(&a.input.trace, &read_options(&a.input.read)?)?;
    let method = match a.method {
        FitMethodArg::Lognormal => FitMethod::Lognormal,
        FitMethodArg::Empirical => FitMethod::Empirical,
    };
    let opts = CalibrateOptions { method, holdout: a.holdout, outage_min_run: a.outage_min_run };
    let fit = cal::calibrate(&trace, &opts)?;
    say!("{}", fit.render_table());
    for w in &fit.warnings {
        eprintln!("warning: {w}");
    }
    let yaml = switchyard::calibrate::catalog_yaml(&fit.catalog_spec())?;
    // The catalog must load as written; a failure here is a bug, reported rather than written.
    Catalog::from_yaml_str(&yaml, &a.output).context("the calibrated catalog does not validate")?;
    output::write_bytes(&out.at(&a.output), yaml.as_bytes())?;
    eprintln!("wrote {} endpoints to {}", fit.endpoints.len(), a.output.display());
    if let Some(path) = &a.json {
        write_json(&out.at(path), &fit)?;
    }
    if let Some(path) = &a.cdf {
        let (mut endpoint, mut quantity, mut value) = (Vec::new(), Vec::new(), Vec::new());
        let (mut observed, mut lognormal, mut empirical) = (Vec::new(), Vec::new(), Vec::new());
        for e in &fit.endpoints {
            for (name, q) in [("ttft", &e.ttft), ("decode_tps", &e.decode_tps), ("latency", &e.latency)] {
                for &(x, o, l, m) in q.iter().flat_map(|q| q.cdf.iter()) {
                    endpoint.push(e.id());
                    quantity.push(name.to_string());
                    value.push(x);
                    observed.push(o);
                    lognormal.push(l);
                    empirical.push(m);
                }
            }
        }
        let table = Table::new()
            .with("endpoint", ColumnData::Str(endpoint))
            .with("quantity", ColumnData::Str(quantity))
            .with("value", ColumnData::F64(value))
            .with("observed_cdf", ColumnData::F64(observed))
            .with("lognormal_cdf", ColumnData::F64(lognormal))
            .with("empirical_cdf", ColumnData::F64(empirical));
        trace::write::write_table(&table, &out.at(path))?;
    }
    if let Some(dir) = &a.chart {
        let charts = fit.cdf_charts();
        for (stem, chart) in &charts {
            switchyard::chart::render_frontier(chart, &out.at(dir).join(stem))?;
        }
        eprintln!("wrote {} CDF charts (PNG and SVG) to {}", charts.len(), dir.display());
    }
    Ok(())
}

fn catalog_command(c: CatalogCommand, out: &Outputs) -> anyhow::Result<()> {
    match c {
        CatalogCommand::ImportPrices {
            prices,
            catalog,
            alias,
            tolerance,
            fill,
            overwrite,
            output,
            checks: checks_path,
        } => {
            use switchyard::catalog::prices;
            let map = prices::load_price_map(&prices)?;
            let mut aliases = Vec::new();
            for a in &alias {
                let (m, k) = a.split_once('=').ok_or_else(|| {
                    usage("--alias", format!("`{a}` is not MODEL=KEY"), "e.g. --alias glm-5=openrouter/z-ai/glm-5")
                })?;
                aliases.push((m.trim().to_string(), k.trim().to_string()));
            }
            let (cat, _) = load_catalog(catalog.as_deref())?;
            // An alias for a model the catalog does not have would be ignored without a word.
            let mut unknown = Problems::default();
            for (model, _) in &aliases {
                Names::new(&cat).model(model, Place::default().field("--alias"), &mut unknown);
            }
            unknown.finish()?;
            let checks = prices::check(&cat, &map, &aliases, tolerance);
            say!("{}", prices::render_checks(&checks));
            if let Some(path) = &checks_path {
                let col = |f: &dyn Fn(&prices::PriceCheck) -> String| ColumnData::Str(checks.iter().map(f).collect());
                let table = Table::new()
                    .with("endpoint", col(&|c| c.endpoint.clone()))
                    .with("field", col(&|c| c.field.clone()))
                    .with("price_map_key", ColumnData::OptStr(checks.iter().map(|c| c.key.clone()).collect()))
                    .with("catalog_per_mtok", ColumnData::F64(checks.iter().map(|c| c.catalog).collect()))
                    .with("price_map_per_mtok", ColumnData::OptF64(checks.iter().map(|c| c.price_map).collect()))
                    .with(
                        "relative_difference",
                        ColumnData::OptF64(checks.iter().map(|c| c.relative_difference).collect()),
                    )
                    .with("status", col(&|c| c.status.clone()));
                trace::write::write_table(&table, &out.at(path))?;
            }
            if fill {
                let output = output.ok_or_else(|| usage("--fill", "needs an output file", "add `-o priced.yaml`"))?;
                let mut spec: switchyard::catalog::spec::CatalogSpec = match &catalog {
                    Some(p) => switchyard::yaml::read(p)?,
                    None => {
                        switchyard::yaml::from_str(switchyard::catalog::DEFAULT_CATALOG_YAML, "default.yaml".as_ref())?
                    }
                };
                for change in prices::fill(&mut spec, &map, &aliases, overwrite) {
                    eprintln!("{change}");
                }
                let yaml = switchyard::calibrate::catalog_yaml(&spec)?;
                Catalog::from_yaml_str(&yaml, &output).context("the filled catalog does not validate")?;
                output::write_bytes(&out.at(&output), yaml.as_bytes())?;
                eprintln!("wrote {}", output.display());
            }
            Ok(())
        }
        CatalogCommand::Default => {
            say!("{}", switchyard::catalog::DEFAULT_CATALOG_YAML);
            Ok(())
        }
        CatalogCommand::Show { catalog, json } => {
            let (cat, name) = load_catalog(catalog.as_deref())?;
            let table = CatalogTable::new(&cat, &name);
            match &json {
                Some(path) if path.as_os_str() == "-" => sayln!("{}", serde_json::to_string_pretty(&table)?),
                Some(path) => write_json(&out.at(path), &table)?,
                None => say!("{}", report::render_catalog(&cat, &name)),
            }
            Ok(())
        }
    }
}
