//! Loading, writing and validating traces, through the public API, on small fixtures
//! (tests/fixtures/traces/) and on files written into a temporary folder.
//!
//! Every bad-input test checks that the message names the file, the row (and for CSV the line),
//! the column, the bad value, and carries a fix.

use std::io::Write;
use std::path::{Path, PathBuf};

use switchyard::trace::write::{ColumnData, Table, write, write_table};
use switchyard::trace::{ReadOptions, Row, TextColumn, Trace, TraceFormat, read, read::parse_column_map};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces").join(name)
}

fn load(path: &Path) -> Trace {
    read(path, &ReadOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load_err(path: &Path, opts: &ReadOptions) -> String {
    match read(path, opts) {
        Ok(t) => panic!("{} loaded ({} rows) but should not have", path.display(), t.len()),
        Err(e) => e.to_string(),
    }
}

/// Assert that `msg` mentions every one of `needles`.
fn check(msg: &str, needles: &[&str]) {
    for n in needles {
        assert!(msg.contains(n), "error message lacks {n:?}:\n{msg}");
    }
}

/// `file:line` as error messages print it.
fn at_line(path: &Path, line: usize) -> String {
    format!("{}:{line}", path.display())
}

/// The trace without its source (which names the file it came from).
fn content(mut t: Trace) -> Trace {
    t.source = String::new();
    t
}

#[test]
fn small_csv_loads_with_the_values_in_the_file() {
    let path = fixture("small.csv");
    let t = load(&path);
    assert_eq!(t.source, path.display().to_string());
    assert_eq!(t.len(), 6);
    assert_eq!(t.timestamp_s, [0.0, 0.25, 1.5, 2.000001, 2.000001, 7.125]);
    assert_eq!(t.class_names, ["chat", "classify", "code", "zh_docs"]);
    let classes: Vec<&str> = (0..t.len()).map(|i| t.class_name(i)).collect();
    assert_eq!(classes, ["chat", "code", "chat", "classify", "code", "zh_docs"]);
    assert_eq!(t.origin_names, ["ap-southeast-1", "eu-west-1", "us-east-1"]);
    assert_eq!(t.origin_name(3), "ap-southeast-1");
    assert!(t.has_origin());
    assert_eq!(t.input_tokens, [800, 1500, 10, 300, 2000, 4000]);
    assert_eq!(t.output_tokens, [300, 400, 5, 5, 1, 500]);
    assert_eq!(t.cached_input_tokens, None);
    assert!(t.recorded.present().is_empty());
    assert_eq!((t.skipped_rows, t.sorted_on_load), (0, false));
}

#[test]
fn crlf_quoted_gzip_and_ndjson_give_the_same_trace() {
    let want = content(load(&fixture("small.csv")));
    // CRLF line ends and no final newline.
    assert_eq!(content(load(&fixture("small_crlf.csv"))), want);
    // Quoted fields: read by the general (polars) CSV path.
    assert_eq!(content(load(&fixture("small_quoted.csv"))), want);
    assert_eq!(content(load(&fixture("small.ndjson"))), want);
    // gzip, by extension; and a gzip file named .csv is recognized by its magic bytes.
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("small.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    for name in ["t.csv.gz", "really_gzip.csv"] {
        let path = dir.path().join(name);
        std::fs::write(&path, &gz).unwrap();
        assert_eq!(content(load(&path)), want, "{name}");
    }
}

/// A trace that exercises every column and awkward values: full-precision floats, text with a
/// comma, a quote and a newline, nulls in recorded columns.
fn rich_trace() -> Trace {
    let rows = [
        (1e-7, "code", "eu-west-1", 1, 2),
        (0.1 + 0.2, "chat", "us-east-1", 800, 300),
        (0.1 + 0.2, "chat", "ap-southeast-1", 4_294_967_295, 0),
        (12345.678901234567, "zh docs", "us-east-1", 128_000, 7),
        (1_732_700_000.123456, "code", "eu-west-1", 5, 5),
    ];
    let rows: Vec<Row> = rows
        .iter()
        .map(|&(t, c, o, i, out)| Row {
            timestamp_s: t,
            class: c,
            origin: Some(o),
            input_tokens: i,
            output_tokens: out,
        })
        .collect();
    let mut t = Trace::from_rows("rich", &rows);
    t.cached_input_tokens = Some(vec![0, 800, 17, 0, 5]);
    let s = |v: &str| Some(v.to_string());
    t.recorded.request_id =
        Some(TextColumn::from_options([s("r1"), s("r,2"), s("say \"hi\""), s("multi\nline"), None]));
    t.recorded.model = Some(TextColumn::from_options([s("glm-5"), None, s("kimi-k2.5"), s("qwen3-8b"), s("glm-5")]));
    t.recorded.latency_s = Some(vec![Some(1.0 / 3.0), None, Some(0.0), Some(1e-12), Some(123456.789)]);
    t.recorded.status = Some(TextColumn::from_options([s("ok"), s("error"), None, s("ok"), s("ok")]));
    t.recorded.cost_usd = Some(vec![Some(2.5e-7), Some(0.1), None, Some(3.0), Some(0.30000000000000004)]);
    t
}

#[test]
fn write_then_read_round_trips_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let no_origin = Trace::from_rows(
        "plain",
        &[
            Row { timestamp_s: 0.5, class: "a", origin: None, input_tokens: 3, output_tokens: 4 },
            Row { timestamp_s: 2.25, class: "b", origin: None, input_tokens: 0, output_tokens: 9 },
        ],
    );
    for original in [rich_trace(), no_origin] {
        for name in ["t.csv", "t.csv.gz", "t.parquet", "t.ndjson"] {
            let path = dir.path().join(name);
            write(&original, &path, None).unwrap();
            let back = load(&path);
            assert_eq!(content(back), content(original.clone()), "{name} ({})", original.source);
        }
    }
    // An explicit format overrides the extension, in both directions.
    let path = dir.path().join("trace.dat");
    write(&rich_trace(), &path, Some(TraceFormat::Parquet)).unwrap();
    let opts = ReadOptions { format: Some(TraceFormat::Parquet), ..ReadOptions::default() };
    assert_eq!(content(read(&path, &opts).unwrap()), content(rich_trace()));
    // No extension, no format: an error that says how to fix it.
    let err = read(&path, &ReadOptions::default()).unwrap_err().to_string();
    check(&err, &["trace.dat", "--format"]);
}

#[test]
fn recorded_and_cached_columns_are_kept_and_extra_columns_ignored() {
    let t = load(&fixture("recorded.csv"));
    assert_eq!(t.cached_input_tokens, Some(vec![400, 0, 50]));
    let r = &t.recorded;
    assert_eq!(r.present(), ["request_id", "model", "region", "latency_s", "ttft_s", "status", "cost_usd"]);
    assert_eq!(
        r.model.as_ref().map(TextColumn::to_options),
        Some(vec![Some("glm-5".to_string()), None, Some("kimi-k2.5".to_string())])
    );
    assert_eq!(r.latency_s, Some(vec![Some(2.5), None, Some(1.25)]));
    assert_eq!(r.ttft_s, Some(vec![Some(0.4), None, Some(0.5)]));
    assert_eq!(r.cost_usd, Some(vec![Some(0.0012), None, Some(0.5)]));
    assert_eq!(r.status.as_ref().unwrap().get(1), Some("error"));
    // No origin column: every request from the unspecified origin.
    assert_eq!(t.origin_names, ["unspecified"]);
    assert!(!t.has_origin());
}

#[test]
fn map_renames_columns_before_validation() {
    let path = fixture("renamed.csv");
    let column_map = ["ts=timestamp_s", "kind=class", "tok_in=input_tokens", "tok_out=output_tokens"]
        .iter()
        .map(|s| parse_column_map(s).unwrap())
        .collect();
    let t = read(&path, &ReadOptions { column_map, ..ReadOptions::default() }).unwrap();
    assert_eq!(t.timestamp_s, [10.5, 11.0]);
    assert_eq!(t.class_names, ["chat", "code"]);
    assert_eq!(t.input_tokens, [100, 200]);
    assert_eq!(t.output_tokens, [20, 30]);
    // Without the map, the missing columns are named with the map that would fix them.
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&path.display().to_string(), "`timestamp_s`", "`tok_in`", "--map"]);
}

#[test]
fn a_map_naming_an_absent_column_lists_the_columns_found() {
    let path = fixture("renamed.csv");
    let opts = ReadOptions { column_map: vec![("tokens_in".into(), "input_tokens".into())], ..ReadOptions::default() };
    let err = load_err(&path, &opts);
    check(
        &err,
        &[
            &path.display().to_string(),
            "`tokens_in`",
            "`ts`, `kind`, `tok_in`, `tok_out`, `note`",
            "fix:",
            "--map tok_in=input_tokens",
        ],
    );
}

#[test]
fn bad_map_specs_are_rejected_with_a_fix() {
    let err = parse_column_map("input_tokens").unwrap_err().to_string();
    check(&err, &["`--map`", "`input_tokens`", "source=canonical", "fix:"]);
    let err = parse_column_map("tok=input_tokns").unwrap_err().to_string();
    check(&err, &["`input_tokns`", "did you mean `input_tokens`", "fix:"]);
    // Built by hand rather than parsed: checked when reading.
    let opts = ReadOptions { column_map: vec![("a".into(), "latency".into())], ..ReadOptions::default() };
    let err = load_err(&fixture("small.csv"), &opts);
    check(&err, &["`latency`", "latency_s", "fix:"]);
}

#[test]
fn an_unsorted_trace_is_sorted_stably() {
    let t = load(&fixture("unsorted.csv"));
    assert!(t.sorted_on_load);
    assert_eq!(t.timestamp_s, [0.0, 1.0, 1.0, 5.0, 5.0, 5.0]);
    // Equal times keep file order: b before e; a, c, f.
    let ids: Vec<&str> = t.recorded.request_id.as_ref().unwrap().iter().map(|s| s.unwrap()).collect();
    assert_eq!(ids, ["d", "b", "e", "a", "c", "f"]);
    assert_eq!(t.input_tokens, [4, 2, 5, 1, 3, 6]);
    assert_eq!(t.output_tokens, [4, 2, 5, 1, 3, 6]);
    assert_eq!(t.class_names, ["default"]);
}

#[test]
fn missing_required_column() {
    let path = fixture("missing_column.csv");
    let err = load_err(&path, &ReadOptions::default());
    check(
        &err,
        &[
            &path.display().to_string(),
            "`timestamp_s`",
            "missing",
            "columns found: `time`, `class`",
            "fix:",
            "--map time=timestamp_s",
        ],
    );
}

#[test]
fn non_numeric_tokens() {
    let path = fixture("bad_nonnumeric.csv");
    let err = load_err(&path, &ReadOptions::default());
    check(
        &err,
        &[
            &at_line(&path, 3),
            "row 2",
            "`input_tokens`",
            "`ten` is not a number",
            "whole number of tokens",
            "fix:",
            "--skip-bad-rows",
        ],
    );
}

#[test]
fn negative_tokens() {
    let path = fixture("bad_negative.csv");
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&at_line(&path, 4), "row 3", "`output_tokens`", "`-7` is negative", "fix:"]);
}

#[test]
fn fractional_tokens() {
    let path = fixture("bad_fractional.csv");
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&at_line(&path, 2), "row 1", "`input_tokens`", "`12.5` is not a whole number", "fix:"]);
}

#[test]
fn nan_timestamp() {
    let path = fixture("bad_nan_timestamp.csv");
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&at_line(&path, 3), "row 2", "`timestamp_s`", "`NaN` is not a finite number", "seconds", "fix:"]);
}

#[test]
fn cached_tokens_above_input_tokens() {
    let path = fixture("bad_cached.csv");
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&at_line(&path, 3), "row 2", "`cached_input_tokens`", "`101`", "input_tokens `100`", "fix:"]);
}

#[test]
fn header_only_and_empty_files() {
    let path = fixture("header_only.csv");
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&path.display().to_string(), "no data rows", "fix:"]);
    let path = fixture("empty.csv");
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&path.display().to_string(), "is empty", "fix:", "timestamp_s,"]);
}

#[test]
fn at_most_ten_bad_rows_are_listed_and_the_rest_counted() {
    let path = fixture("many_bad.csv");
    let err = read(&path, &ReadOptions::default()).unwrap_err();
    let problems = err.problems();
    assert_eq!(problems.len(), 11, "{err}");
    for (i, p) in problems[..10].iter().enumerate() {
        assert_eq!(p.place.row, Some(i + 1), "{err}");
        assert_eq!(p.place.line, Some(i + 2), "{err}");
        assert!(p.message.contains(&format!("`x{i}`")), "{}", p.message);
    }
    check(&problems[10].to_string(), &["5 more bad rows", "15 of 15", "--skip-bad-rows"]);
}

#[test]
fn skip_bad_rows_drops_them_and_counts_them_exactly() {
    let path = fixture("some_bad.csv");
    // Without skipping: all three bad rows, each with its own reason.
    let err = read(&path, &ReadOptions::default()).unwrap_err();
    let rows: Vec<Option<usize>> = err.problems().iter().map(|p| p.place.row).collect();
    assert_eq!(rows, [Some(2), Some(4), Some(6)], "{err}");
    check(&err.to_string(), &["`-1` is negative", "`output_tokens`: is empty", "has 5 fields, but the header has 4"]);
    let opts = ReadOptions { skip_bad_rows: true, ..ReadOptions::default() };
    let t = read(&path, &opts).unwrap();
    assert_eq!(t.skipped_rows, 3);
    assert_eq!(t.timestamp_s, [1.0, 3.0, 5.0, 7.0, 8.0]);
    // "ghost" appeared only in a bad row, so it is not a class.
    assert_eq!(t.class_names, ["chat", "code"]);
    // Nothing left: an error, not an empty trace.
    let err = load_err(&fixture("many_bad.csv"), &opts);
    check(&err, &["all 15 data rows are bad", "fix:"]);
}

#[test]
fn parquet_with_typed_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.parquet");
    let table = Table::new()
        .with("timestamp_s", ColumnData::OptF64(vec![Some(1.0), Some(2.0), Some(3.0), None, Some(f64::INFINITY)]))
        .with("input_tokens", ColumnData::F64(vec![10.0, -1.0, 2.5, 4.0, 5.0]))
        .with("output_tokens", ColumnData::U64(vec![1, 2, 3, 4, 5_000_000_000]))
        .with(
            "class",
            ColumnData::OptStr(vec![Some("a".into()), Some("b".into()), Some("c".into()), Some("d".into()), None]),
        );
    write_table(&table, &path).unwrap();
    let err = read(&path, &ReadOptions::default()).unwrap_err();
    let text = err.to_string();
    let file = path.display().to_string();
    check(
        &text,
        &[
            &format!("{file}, row 2, `input_tokens`: `-1` is negative"),
            &format!("{file}, row 3, `input_tokens`: `2.5` is not a whole number"),
            &format!("{file}, row 4, `timestamp_s`: is empty"),
            "fix:",
        ],
    );
    // Row 5 has three bad cells; the first column in canonical order is reported.
    check(&text, &[&format!("{file}, row 5, `timestamp_s`: `inf` is not a finite number")]);
    assert_eq!(err.problems().len(), 4, "{text}");
    let t = read(&path, &ReadOptions { skip_bad_rows: true, ..ReadOptions::default() }).unwrap();
    assert_eq!((t.len(), t.skipped_rows), (1, 4));
    assert_eq!(t.class_names, ["a"]);
}

#[test]
fn ndjson_with_a_string_among_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ndjson");
    std::fs::write(
        &path,
        "{\"timestamp_s\": 1, \"input_tokens\": 5, \"output_tokens\": 1}\n\
         {\"timestamp_s\": 2, \"input_tokens\": \"lots\", \"output_tokens\": 1}\n\
         {\"timestamp_s\": 3.5, \"input_tokens\": 7, \"output_tokens\": 1}\n",
    )
    .unwrap();
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&path.display().to_string(), "row 2", "`input_tokens`", "`lots` is not a number", "fix:"]);
    let t = read(&path, &ReadOptions { skip_bad_rows: true, ..ReadOptions::default() }).unwrap();
    assert_eq!(t.timestamp_s, [1.0, 3.5]);
    assert_eq!(t.input_tokens, [5, 7]);
}

#[test]
fn quoted_csv_bad_rows_are_reported_by_the_general_path_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.csv");
    std::fs::write(&path, "timestamp_s,class,input_tokens,output_tokens\n1,\"a,b\",5,1\n2,c,\"-4\",1\n").unwrap();
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&at_line(&path, 3), "row 2", "`input_tokens`", "`-4` is negative", "fix:"]);
    let t = read(&path, &ReadOptions { skip_bad_rows: true, ..ReadOptions::default() }).unwrap();
    assert_eq!(t.class_names, ["a,b"]);
    assert_eq!(t.skipped_rows, 1);
}

#[test]
fn tokens_above_u32_and_duplicate_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    std::fs::write(&path, "timestamp_s,input_tokens,output_tokens\n1,4294967296,1\n").unwrap();
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &[&at_line(&path, 2), "row 1", "`input_tokens`", "`4294967296` is larger than 4294967295", "fix:"]);
    let path = dir.path().join("dup.csv");
    std::fs::write(&path, "timestamp_s,input_tokens,input_tokens,output_tokens\n1,2,3,4\n").unwrap();
    let err = load_err(&path, &ReadOptions::default());
    check(&err, &["`input_tokens` appears more than once", "fix:"]);
}

#[test]
fn azure_style_trace_loads_with_the_suggested_maps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("azure.csv");
    std::fs::write(
        &path,
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n",
    )
    .unwrap();
    let err = load_err(&path, &ReadOptions::default());
    check(
        &err,
        &["--map TIMESTAMP=timestamp_s", "--map ContextTokens=input_tokens", "--map GeneratedTokens=output_tokens"],
    );
    let column_map = ["TIMESTAMP=timestamp_s", "ContextTokens=input_tokens", "GeneratedTokens=output_tokens"]
        .iter()
        .map(|s| parse_column_map(s).unwrap())
        .collect();
    let t = read(&path, &ReadOptions { column_map, ..ReadOptions::default() }).unwrap();
    // 2023-11-16 18:15:46 UTC is Unix second 1700158546 (`date -u -d ... +%s`).
    let want = [1_700_158_546.680_59, 1_700_158_550.995_169];
    for (got, want) in t.timestamp_s.iter().zip(want) {
        assert!((got - want).abs() < 1e-6, "timestamp {got}, want {want}");
    }
    assert_eq!(t.input_tokens, [374, 396]);
}
