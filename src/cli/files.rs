//! What several subcommands share: reading their inputs (trace, catalog, name checks, notices
//! printed once) and writing their common outputs (JSON, per-request tables).

use std::path::Path;

use switchyard::catalog::Catalog;
use switchyard::engine::{NOT_SERVED, Outcomes};
use switchyard::error::Notice;
use switchyard::names::{Mention, Names};
use switchyard::output;
use switchyard::policy::RoutingTable;
use switchyard::trace::write::{ColumnData, Table};
use switchyard::trace::{self, ReadOptions, Trace};

use super::args::ReadFlags;

pub fn read_options(flags: &ReadFlags) -> anyhow::Result<ReadOptions> {
    let mut column_map = Vec::new();
    for spec in &flags.map {
        column_map.push(trace::read::parse_column_map(spec)?);
    }
    Ok(ReadOptions {
        format: flags.format,
        column_map,
        skip_bad_rows: flags.skip_bad_rows,
        spread_ties: flags.spread_ties,
    })
}

/// How reports name the embedded default catalog.
pub const DEFAULT_CATALOG_LABEL: &str = "embedded default (field report 2026)";

pub fn load_catalog(path: Option<&Path>) -> anyhow::Result<(Catalog, String)> {
    match path {
        Some(p) => Ok((Catalog::load(p)?, p.display().to_string())),
        None => Ok((Catalog::default_catalog(), DEFAULT_CATALOG_LABEL.into())),
    }
}

/// Print a notice (`note: ...`, `warning: ...`) on stderr, unless this run printed it already: a
/// trace read twice (the Parquet fast path falling back to the whole-file reader) or a file
/// checked by two steps says each thing once.
pub fn emit(notice: &Notice) {
    static PRINTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let text = notice.to_string();
    let mut printed = PRINTED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !printed.contains(&text) {
        eprintln!("{text}");
        printed.push(text);
    }
}

/// Check the classes and origins that the loaded files name against the trace
/// ([`Names::check`]): every problem at once as an error (exit code 2), else the warnings, for
/// the caller to [`emit`] once its trace is read (so that they come after the reader's notices
/// and warnings, whichever way the trace was read).
pub fn check_names(catalog: &Catalog, trace: &Trace, mentions: &[Mention]) -> anyhow::Result<Vec<Notice>> {
    Ok(Names::with_trace(catalog, trace).check(mentions).into_result()?)
}

pub fn load_trace(path: &Path, opts: &ReadOptions) -> anyhow::Result<Trace> {
    let trace = trace::read(path, opts)?;
    trace.notices.iter().for_each(emit);
    if trace.sorted_on_load {
        eprintln!("warning: {} is not in time order; sorted it by timestamp_s (stable) before replay", path.display());
    }
    if trace.skipped_rows > 0 {
        eprintln!("warning: skipped {} malformed rows of {} (--skip-bad-rows)", trace.skipped_rows, path.display());
    }
    Ok(trace)
}

pub fn write_json<T: serde::Serialize>(path: &Path, report: &T) -> anyhow::Result<()> {
    output::write_bytes(path, switchyard::report::json_text(report).as_bytes())?;
    Ok(())
}

/// Each request's route and outcome as a table.
pub fn write_per_request(
    path: &Path,
    catalog: &Catalog,
    table: &RoutingTable,
    trace: &Trace,
    o: &Outcomes,
) -> anyhow::Result<()> {
    let n = trace.len();
    let ep = |e: u16| catalog.endpoints[e as usize].id.clone();
    let route: Vec<String> = (0..n)
        .map(|i| {
            let rule = &table.rules
                [table.segment_rule[trace.class[i] as usize * table.n_origins + trace.origin[i] as usize] as usize];
            let mut hops = vec![ep(o.primary[i])];
            let target = rule.targets.iter().position(|&t| t == o.primary[i]).unwrap_or(0);
            hops.extend(rule.fallbacks[target].iter().take(o.attempts[i] as usize - 1).map(|&e| ep(e)));
            hops.join(" > ")
        })
        .collect();
    let t = Table {
        columns: vec![
            ("request_index".into(), ColumnData::U64((0..n as u64).collect())),
            ("timestamp_s".into(), ColumnData::F64(trace.timestamp_s.clone())),
            ("class".into(), ColumnData::Str((0..n).map(|i| trace.class_name(i).to_string()).collect())),
            ("origin_region".into(), ColumnData::Str((0..n).map(|i| trace.origin_name(i).to_string()).collect())),
            ("input_tokens".into(), ColumnData::U32(trace.input_tokens.clone())),
            ("output_tokens".into(), ColumnData::U32(trace.output_tokens.clone())),
            ("primary".into(), ColumnData::Str(o.primary.iter().map(|&e| ep(e)).collect())),
            (
                "served_by".into(),
                ColumnData::OptStr(o.served.iter().map(|&e| (e != NOT_SERVED).then(|| ep(e))).collect()),
            ),
            ("route".into(), ColumnData::Str(route)),
            ("attempts".into(), ColumnData::U8(o.attempts.clone())),
            ("status".into(), ColumnData::Str(o.status.iter().map(|s| s.as_str().to_string()).collect())),
            ("latency_s".into(), ColumnData::F64(o.latency_s.clone())),
            ("cost_usd".into(), ColumnData::F64(o.costs_usd(catalog, trace))),
        ],
    };
    trace::write::write_table(&t, path)?;
    Ok(())
}
