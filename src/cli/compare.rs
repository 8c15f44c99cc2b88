//! `switchyard compare`: both policies through `run::simulate` on the same trace with the same
//! seed (common random numbers), their figures paired replicate by replicate, judged by the guard.
//! The verdict is the exit code: 0 pass, 1 fail, 3 inconclusive or marginal.

use switchyard::compare::{self, Guard, Side};
use switchyard::des::Scenario;
use switchyard::policy::Policy;
use switchyard::report::{DesFigures, Figures};
use switchyard::run::{self, Engine, RunSpec};

use super::args::{CompareArgs, EngineKind};
use super::files::{check_names, emit, load_catalog, load_trace, read_options};
use super::io::Outputs;
use super::progress::{Timer, Watching};
use super::usage;

/// Run the comparison; the verdict's exit code.
pub fn compare(a: &CompareArgs, quiet: bool, mut timer: Timer, out: &Outputs) -> anyhow::Result<u8> {
    if a.engine == EngineKind::Replay && a.scenario.is_some() {
        return Err(usage("--scenario", "belongs to the discrete-event engine", "add `--engine des`"));
    }
    let trace = load_trace(&a.input.trace, &read_options(&a.input.read)?)?;
    timer.lap("read");
    let (catalog, _) = load_catalog(a.catalog.as_deref())?;
    let baseline = Policy::load(&a.baseline, &catalog)?;
    let candidate = Policy::load(&a.candidate, &catalog)?;
    let mut mentions = baseline.mentions();
    mentions.extend(candidate.mentions());
    check_names(&catalog, &trace, &mentions)?.iter().for_each(emit);
    let guard = match &a.guard {
        Some(path) => Guard::load(path, &trace.class_names)?,
        None => Guard::default_guard(),
    };
    let scenario = match (a.engine, &a.scenario) {
        (EngineKind::Des, Some(path)) => Some(Scenario::load(path, &catalog)?),
        (EngineKind::Des, None) => Some(Scenario::plain(&catalog)),
        (EngineKind::Replay, _) => None,
    };
    let spec = RunSpec {
        engine: scenario.as_ref().map_or(Engine::Replay, Engine::Des),
        ..RunSpec::replay(a.seed, a.replicates)
    };
    let ids: Vec<String> = catalog.endpoints.iter().map(|e| e.id.clone()).collect();
    let mut sides = Vec::new();
    for (name, policy) in [("baseline", &baseline), ("candidate", &candidate)] {
        let table = policy.bind(&catalog, &trace)?;
        let watch = Watching::new(trace.len() as u64 * a.replicates as u64, name, quiet, &mut timer);
        let ran = run::simulate(run::Inputs { catalog: &catalog, table: &table, trace: &trace }, &spec, &watch)?;
        drop(watch);
        let figures: Vec<Figures> = ran.summaries.iter().map(Figures::of).collect();
        let des: Vec<DesFigures> = ran.des.iter().map(|d| DesFigures::of(&d.stats, &ids, trace.len() as u64)).collect();
        sides.push((figures, des));
    }
    let [(bf, bd), (cf, cd)] = [&sides[0], &sides[1]];
    let inputs = compare::paired_inputs(Side { figures: bf, des: bd }, Side { figures: cf, des: cd });
    let comparison = compare::compare(&inputs, &guard, None)?;
    timer.lap("compare");
    say!("{}", compare::render_text(&comparison));
    if let Some(path) = &a.json {
        let mut text = serde_json::to_string_pretty(&comparison)?;
        text.push('\n');
        switchyard::output::write_bytes(&out.at(path), text.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &a.markdown {
        switchyard::output::write_bytes(&out.at(path), compare::render_markdown(&comparison).as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    Ok(u8::try_from(comparison.exit_code()).unwrap_or(1))
}
