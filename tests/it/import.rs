//! Importers of public traces and gateway logs: each format on small fixtures of our own making
//! (tests/fixtures/import/), bad input named by file, line/row and field, the CLI, and, where the
//! shared data folder is present, the real public traces against the statistics published in its
//! README (../shared/data/traces/README.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use switchyard::trace::import::{ImportOptions, ImportReport, import};
use switchyard::trace::stats::stats;
use switchyard::trace::{ReadOptions, TextColumn, Trace, TraceFormat, read};

use crate::root;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/import").join(name)
}

fn imp(name: &str, format: TraceFormat) -> (Trace, ImportReport) {
    imp_with(&fixture(name), format, ImportOptions::default())
}

fn imp_with(path: &Path, format: TraceFormat, opts: ImportOptions) -> (Trace, ImportReport) {
    import(path, format, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn err(name: &str, format: TraceFormat) -> String {
    match import(&fixture(name), format, &ImportOptions::default()) {
        Ok((t, _)) => panic!("{name} imported ({} rows) but should not have", t.len()),
        Err(e) => e.to_string(),
    }
}

fn strs(col: &Option<TextColumn>) -> Vec<Option<&str>> {
    col.as_ref().expect("column present").iter().collect()
}

fn classes(t: &Trace) -> Vec<&str> {
    (0..t.len()).map(|i| t.class_name(i)).collect()
}

/// Date-times in the fixtures are exact to the microsecond; f64 Unix time holds about 0.24 µs.
const TIME_TOL: f64 = 1e-6;

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol, "{what}: got {got}, want {want} (tolerance {tol})");
}

#[test]
fn azure_2023_keeps_ticks_ties_and_the_service_class() {
    let (t, report) = imp("azure_conv_2023.csv", TraceFormat::Azure);
    assert_eq!(t.len(), 4);
    assert_eq!(t.input_tokens, [374, 396, 879, 1020]);
    assert_eq!(t.output_tokens, [44, 109, 0, 129]);
    // 2023-11-16 18:15:46.6805900 UTC.
    close(t.timestamp_s[0], 1_700_158_546.680_59, TIME_TOL, "first timestamp");
    close(t.timestamp_s[1] - t.timestamp_s[0], 4.314579, TIME_TOL, "first gap");
    assert_eq!(t.timestamp_s[1], t.timestamp_s[2], "equal ticks stay equal");
    assert_eq!(classes(&t), ["conv"; 4]);
    assert!(report.missing.contains(&"latency_s".to_string()));
}

#[test]
fn azure_2024_layout_with_offsets_and_images_is_sorted_and_reports_images() {
    let (t, report) = imp("azure_code_1week_2024.csv", TraceFormat::Azure);
    assert_eq!(t.timestamp_s, [1_715_299_200.25, 1_715_299_201.5]);
    assert_eq!(t.input_tokens, [4096, 2048]);
    assert!(t.sorted_on_load);
    assert_eq!(classes(&t), ["code", "code"]);
    assert!(report.not_mapped.iter().any(|(f, why)| f == "NumImages" && why.contains("images")), "{report:?}");
}

#[test]
fn azure_bad_rows_are_named_and_can_be_skipped() {
    let msg = err("azure_bad.csv", TraceFormat::Azure);
    let path = fixture("azure_bad.csv").display().to_string();
    for needle in [
        format!("{path}:3, row 2, `TIMESTAMP`"),
        "25:15:50".into(),
        format!("{path}:4, row 3, `ContextTokens`"),
        "`12.5` is not a whole number".into(),
        "--skip-bad-rows".into(),
    ] {
        assert!(msg.contains(&needle), "message lacks {needle:?}:\n{msg}");
    }
    let opts = ImportOptions { skip_bad_rows: true, ..ImportOptions::default() };
    let (t, report) = imp_with(&fixture("azure_bad.csv"), TraceFormat::Azure, opts);
    assert_eq!((t.len(), t.skipped_rows, report.skipped_bad), (1, 2, 2));
}

#[test]
fn a_file_of_another_format_names_the_missing_column() {
    let msg = err("burstgpt_v1.csv", TraceFormat::Azure);
    assert!(msg.contains("no `ContextTokens` column") && msg.contains("Request tokens"), "{msg}");
    assert!(msg.contains("--format"), "{msg}");
}

#[test]
fn burstgpt_keeps_failed_requests_as_failed() {
    let (t, report) = imp("burstgpt_v1.csv", TraceFormat::Burstgpt);
    assert_eq!(t.timestamp_s, [5.0, 45.0, 45.0, 118.0]);
    assert_eq!(strs(&t.recorded.status), [Some("ok"), Some("ok"), Some("failed"), Some("ok")]);
    assert_eq!(strs(&t.recorded.model), [Some("ChatGPT"), Some("ChatGPT"), Some("GPT-4"), Some("GPT-4")]);
    assert_eq!(classes(&t), ["conversation_log", "conversation_log", "conversation_log", "api_log"]);
    assert!(t.recorded.latency_s.is_none(), "the first layout has no Elapsed time");
    assert!(report.notes.iter().any(|n| n.starts_with("1 requests with 0 response tokens")), "{report:?}");
}

#[test]
fn burstgpt_later_layout_is_parsed_by_column_name() {
    let (t, report) = imp("burstgpt_v2.csv", TraceFormat::Burstgpt);
    assert_eq!(t.input_tokens, [100, 200, 300]);
    assert_eq!(t.output_tokens, [50, 0, 120]);
    assert_eq!(t.recorded.latency_s, Some(vec![Some(2.5), None, Some(7.25)]));
    assert_eq!(strs(&t.recorded.status), [Some("ok"), Some("failed"), Some("ok")]);
    assert!(report.not_mapped.iter().any(|(f, _)| f == "Session ID"), "{report:?}");
}

#[test]
fn mooncake_converts_milliseconds_reports_prefix_reuse_and_spreads_ties() {
    let (t, report) = imp("mooncake.jsonl", TraceFormat::Mooncake);
    assert_eq!(t.timestamp_s, [0.0, 0.0, 3.0, 3.0, 3.0, 6.0]);
    assert_eq!(t.input_tokens, [1024, 600, 512, 512, 100, 2048]);
    // Blocks: [0,1] [0,2] [0] [3] [4] [0,1,2,3]: 11 blocks, 6 seen before.
    let want = format!("{:.1}% of 11 prefix blocks", 600.0 / 11.0);
    assert!(report.notes.iter().any(|n| n.contains(&want)), "want {want:?} in {:?}", report.notes);
    let opts = ImportOptions { spread_ties: true, ..ImportOptions::default() };
    let (spread, _) = imp_with(&fixture("mooncake.jsonl"), TraceFormat::Mooncake, opts);
    assert_eq!(spread.timestamp_s, [0.0, 1.5, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(spread.input_tokens, t.input_tokens, "spreading keeps the order");
}

#[test]
fn otel_otlp_spans_map_model_region_status_and_ttft() {
    let (t, report) = imp("otel_otlp.json", TraceFormat::Otel);
    assert_eq!(t.len(), 2, "the HTTP span is not a request");
    assert_eq!(strs(&t.recorded.model), [Some("gpt-4o-2024-08-06"), Some("gpt-4o")]);
    assert_eq!(strs(&t.recorded.region), [Some("eu-west-1"), Some("eu-west-1")], "from cloud.region");
    assert_eq!(strs(&t.recorded.status), [Some("ok"), Some("rate_limited")]);
    assert_eq!(strs(&t.recorded.request_id), [Some("chatcmpl-1"), Some("b7ad6b7169203332")]);
    assert_eq!(t.recorded.latency_s, Some(vec![Some(1.25), Some(0.1)]));
    assert_eq!(t.recorded.ttft_s, Some(vec![Some(0.42), None]));
    assert_eq!((t.input_tokens[0], t.output_tokens[0]), (800, 300));
    assert_eq!(t.timestamp_s[0], 1_732_700_000.0);
    assert!(report.notes.iter().any(|n| n.starts_with("1 spans without gen_ai")), "{:?}", report.notes);
}

#[test]
fn otel_flat_spans_use_the_deprecated_aliases_and_server_address() {
    let (t, report) = imp("otel_flat.ndjson", TraceFormat::Otel);
    assert_eq!(strs(&t.recorded.region), [Some("us-east-1"), Some("us-east-1")]);
    assert_eq!(strs(&t.recorded.status), [Some("ok"), Some("timeout")]);
    assert_eq!((t.input_tokens[0], t.output_tokens[0]), (1200, 150), "gen_ai.usage.prompt/completion_tokens");
    assert_eq!(t.recorded.latency_s, Some(vec![Some(2.5), Some(30.0)]));
    assert!(t.recorded.ttft_s.is_none());
    assert!(report.missing.contains(&"ttft_s".to_string()));
}

#[test]
fn litellm_groups_a_failed_attempt_with_its_fallback() {
    let (t, report) = imp("litellm_spend.csv", TraceFormat::Litellm);
    assert_eq!(t.len(), 3, "four attempts, three requests");
    assert_eq!(strs(&t.recorded.request_id), [Some("t1"), Some("t2"), Some("t3")]);
    assert_eq!(strs(&t.recorded.status), [Some("ok"), Some("ok"), Some("failed")]);
    assert_eq!(
        strs(&t.recorded.model),
        [Some("azure/gpt-4o-mini"), Some("bedrock/anthropic.claude-3-haiku"), Some("azure/gpt-4o-mini")]
    );
    assert_eq!(strs(&t.recorded.region), [Some("eastus2"), Some("us-west-2"), Some("eastus2")]);
    // t2: the 429 at 12:00:05.000, the fallback ends at 12:00:08.000, first token at 12:00:06.000.
    assert_eq!(t.recorded.latency_s, Some(vec![Some(2.0), Some(3.0), Some(1.0)]));
    assert_eq!(t.recorded.ttft_s, Some(vec![Some(0.4), Some(1.0), None]));
    assert_eq!(t.recorded.cost_usd, Some(vec![Some(0.00105), Some(0.002), Some(0.0)]));
    assert_eq!(classes(&t), ["chat-small"; 3]);
    assert_eq!((t.input_tokens[1], t.output_tokens[1]), (1000, 500));
    assert!(report.notes.iter().any(|n| n.starts_with("1 retry/fallback attempts")), "{:?}", report.notes);
    let (json, _) = imp("litellm_spend.json", TraceFormat::Litellm);
    assert_eq!(Trace { source: String::new(), ..json }, Trace { source: String::new(), ..t }, "CSV and JSON agree");
}

#[test]
fn llmperf_names_provider_and_model_from_the_file_and_keeps_errors() {
    let (t, _) = imp("acme_7b.json", TraceFormat::Llmperf);
    assert_eq!(strs(&t.recorded.region), [Some("acme"); 4]);
    assert_eq!(strs(&t.recorded.model), [Some("llama-2-7b"); 4]);
    assert_eq!(strs(&t.recorded.status), [Some("ok"), Some("ok"), Some("rate_limited"), Some("failed")]);
    assert_eq!(t.recorded.ttft_s, Some(vec![Some(0.5), Some(0.25), Some(0.0), Some(0.8)]));
    assert_eq!(t.timestamp_s, [0.0, 1.0, 2.0, 3.0]);
}

#[test]
fn read_with_an_import_format_gives_the_imported_trace() {
    let path = fixture("litellm_spend.csv");
    let opts = ReadOptions { format: Some(TraceFormat::Litellm), ..ReadOptions::default() };
    let via_read = read(&path, &opts).unwrap();
    assert_eq!(via_read, imp("litellm_spend.csv", TraceFormat::Litellm).0);
    let mapped = ReadOptions { column_map: vec![("a".into(), "model".into())], ..opts };
    let msg = read(&path, &mapped).unwrap_err().to_string();
    assert!(msg.contains("--map does not apply"), "{msg}");
}

#[test]
fn cli_imports_writes_parquet_and_simulates_an_import_directly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.parquet");
    let report = dir.path().join("report.json");
    let o = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["trace", "import", "--format", "burstgpt"])
        .arg(fixture("burstgpt_v2.csv"))
        .arg("-o")
        .arg(&out)
        .arg("--json")
        .arg(&report)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Session ID"));
    let back = read(&out, &ReadOptions::default()).unwrap();
    assert_eq!(back.recorded.latency_s, Some(vec![Some(2.5), None, Some(7.25)]));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["requests"], 3);

    let o = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["simulate", "--quiet", "--format", "burstgpt", "--trace"])
        .arg(fixture("burstgpt_v2.csv"))
        .arg("--policy")
        .arg(root().join("policies/field-report.yaml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

// ---------------------------------------------------------------------------------------------
// The public traces in ../shared/data/traces, checked against the figures of its README.

/// The shared traces folder, or `None` (with the reason printed) when it is absent.
pub fn shared_traces() -> Option<PathBuf> {
    let base =
        std::env::var_os("SWITCHYARD_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| root().join("../shared/data"));
    let dir = base.join("traces");
    if dir.join("README.md").is_file() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent (set SWITCHYARD_SHARED_DATA to the shared data folder)", dir.display());
        None
    }
}

/// The README's figures are printed rounded: to one decimal for rates, two for the CV, whole
/// tokens for percentiles.
const RATE_TOL: f64 = 0.05;
const CV_TOL: f64 = 0.005;
const TOKEN_TOL: f64 = 0.5;

#[test]
fn real_azure_2023_conv_matches_the_readme() {
    let Some(dir) = shared_traces() else { return };
    let (t, _) = imp_with(
        &dir.join("azure_llm_2023/AzureLLMInferenceTrace_conv.csv"),
        TraceFormat::Azure,
        ImportOptions::default(),
    );
    let s = stats(&t);
    assert_eq!(s.rows, 19_366);
    close(s.mean_rate_per_min.unwrap(), 331.8, RATE_TOL, "mean/min");
    close(s.interarrival_cv.unwrap(), 1.09, CV_TOL, "IAT CV");
    close(s.input_tokens.p50, 1020.0, TOKEN_TOL, "in p50");
    close(s.input_tokens.p99, 4142.0, TOKEN_TOL, "in p99");
    assert_eq!((s.input_tokens.max, s.output_tokens.max), (14_050, 1000));
    close(s.output_tokens.p50, 129.0, TOKEN_TOL, "out p50");
    close(s.output_tokens.p99, 601.0, TOKEN_TOL, "out p99");
    close(s.span_s / 60.0, 58.4, RATE_TOL, "span in minutes");
}

#[test]
fn real_mooncake_matches_the_readme() {
    let Some(dir) = shared_traces() else { return };
    let (t, report) =
        imp_with(&dir.join("mooncake_fast25/synthetic_trace.jsonl"), TraceFormat::Mooncake, ImportOptions::default());
    let s = stats(&t);
    assert_eq!(s.rows, 3_993);
    close(s.mean_rate_per_min.unwrap(), 234.4, RATE_TOL, "mean/min");
    close(s.interarrival_cv.unwrap(), 1.01, CV_TOL, "IAT CV");
    close(s.input_tokens.mean, 15_325.5, 0.05, "mean input");
    close(s.input_tokens.p50, 11_587.0, TOKEN_TOL, "in p50");
    close(s.input_tokens.p99, 66_456.0, TOKEN_TOL, "in p99");
    assert_eq!((s.input_tokens.max, s.output_tokens.max), (191_378, 893));
    close(s.output_tokens.p50, 69.0, TOKEN_TOL, "out p50");
    close(s.output_tokens.p99, 768.0, TOKEN_TOL, "out p99");
    assert!(report.notes.iter().any(|n| n.contains("64.0% of")), "prefix reuse 64.0%: {:?}", report.notes);
}

#[test]
fn real_burstgpt_slice_matches_the_readme() {
    let Some(dir) = shared_traces() else { return };
    let (t, _) =
        imp_with(&dir.join("burstgpt_slices/burstgpt_slice.csv"), TraceFormat::Burstgpt, ImportOptions::default());
    let s = stats(&t);
    assert_eq!(s.rows, 400);
    close(s.mean_rate_per_min.unwrap(), 0.64, 0.005, "mean/min");
    close(s.interarrival_cv.unwrap(), 4.56, CV_TOL, "IAT CV");
    close(s.input_tokens.p50, 314.0, TOKEN_TOL, "in p50");
    close(s.output_tokens.p50, 230.0, TOKEN_TOL, "out p50");
    assert_eq!((s.input_tokens.max, s.output_tokens.max), (2_126, 2_019));
    // 14 of 320 ChatGPT rows and 3 of 78 GPT-4 conversation rows failed.
    let (model, status) = (strs(&t.recorded.model), strs(&t.recorded.status));
    let count = |m: &str, st: Option<&str>| {
        (0..t.len()).filter(|&i| model[i] == Some(m) && (st.is_none() || status[i] == st)).count()
    };
    assert_eq!((count("ChatGPT", None), count("ChatGPT", Some("failed"))), (320, 14));
    assert_eq!((count("GPT-4", None), count("GPT-4", Some("failed"))), (80, 3));
}

#[test]
fn real_llmperf_error_counts_match_the_readme() {
    let Some(dir) = shared_traces() else { return };
    let folder = dir.join("latency_profiles/llmperf_leaderboard/individual");
    let errors = |name: &str| {
        let (t, _) = imp_with(&folder.join(format!("{name}.json")), TraceFormat::Llmperf, ImportOptions::default());
        let st = strs(&t.recorded.status);
        let limited = st.iter().filter(|s| **s == Some("rate_limited")).count();
        let failed = st.iter().filter(|s| **s != Some("ok")).count();
        (t.len(), failed, limited)
    };
    for size in ["7b", "13b", "70b"] {
        assert_eq!(errors(&format!("lepton_{size}")), (150, 130, 130), "lepton {size}: 130/150 HTTP 429");
    }
    assert_eq!(errors("bedrock_13b"), (150, 97, 0));
    assert_eq!(errors("bedrock_70b"), (150, 49, 0));
    assert_eq!(errors("perplexity_70b"), (150, 2, 2));
    assert_eq!(errors("together_13b").1, 1);
}

/// Bad records in every record format are named by file, line or row, and field, with the fix.
#[test]
fn bad_records_name_file_place_and_field_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let case = |name: &str, text: &str, format: TraceFormat, needles: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let msg = match import(&path, format, &ImportOptions::default()) {
            Ok((t, _)) => panic!("{name} imported ({} rows) but should not have", t.len()),
            Err(e) => e.to_string(),
        };
        assert!(msg.contains(&path.display().to_string()), "{name}: no file in {msg}");
        assert!(msg.contains("fix:"), "{name}: no fix in {msg}");
        for n in needles {
            assert!(msg.contains(n), "{name}: message lacks {n:?}:\n{msg}");
        }
    };
    case(
        "b.csv",
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,ten,18,28,Conversation log\n",
        TraceFormat::Burstgpt,
        &[":2, row 1, `Request tokens`", "`ten` is not a number"],
    );
    case(
        "m.jsonl",
        "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n{\"timestamp\": 3, \"output_length\": 1}\n",
        TraceFormat::Mooncake,
        &[":2, row 2, `input_length`", "missing field"],
    );
    case(
        "o.ndjson",
        "{\"name\": \"chat\", \"start_time\": \"2024-11-27T10:00:00Z\", \"end_time\": \"2024-11-27T10:00:01Z\", \"attributes\": {\"gen_ai.request.model\": \"m\", \"gen_ai.usage.input_tokens\": -4}}\n",
        TraceFormat::Otel,
        &[":1, row 1, `gen_ai.usage.input_tokens`", "negative"],
    );
    case(
        "l.csv",
        "request_id,startTime,endTime,model,status\nr1,2025-03-01T12:00:05Z,2025-03-01T12:00:01Z,m,success\n",
        TraceFormat::Litellm,
        &[":2, row 1, `endTime`", "before startTime"],
    );
    case(
        "p.json",
        "[{\"ttft_s\": \"fast\", \"end_to_end_latency_s\": 1.0, \"error_code\": null}]",
        TraceFormat::Llmperf,
        &["row 1, `ttft_s`", "not a number"],
    );
}
