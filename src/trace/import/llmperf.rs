//! LLMPerf per-request results (the `*_individual_responses.json` files that `token_benchmark_ray.py`
//! writes; the leaderboard's `raw_data/`), described at <https://github.com/ray-project/llmperf#readme>.
//!
//! A JSON array, one object per request: `ttft_s`, `end_to_end_latency_s`, `number_input_tokens`,
//! `number_output_tokens`, `error_code` (null when the request succeeded; 429 is a rate limit) and
//! `error_msg`. The files carry no timestamps and no model or provider: requests get timestamps 0,
//! 1, 2, ... seconds in file order, and the file name `provider_size.json` (the leaderboard's
//! naming, e.g. `anyscale_13b.json`) gives the region (the provider) and the model (`llama-2-13b`);
//! other names give the file stem as the region and no model.

use std::path::Path;

use serde_json::Value;

use super::{BadRecords, Carried, FIX_ROW, ImportOptions, ImportReport, Imported, Importer, Request, status};
use crate::error::{Error, Place, Problem, Result};
use crate::trace::columns;
use crate::trace::read::TraceFormat;

pub struct LlmPerf;

impl Importer for LlmPerf {
    fn format_url(&self) -> &'static str {
        "https://github.com/ray-project/llmperf#readme"
    }

    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported> {
        let text = crate::error::read_text(path)?;
        let items = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(items)) => items,
            Ok(_) => {
                return Err(Error::one(Problem::new(
                    Place::file(path),
                    "is not a JSON array of per-request results",
                    "pass LLMPerf's individual responses file (a JSON array), not the summary",
                )));
            }
            Err(e) => {
                return Err(Error::one(Problem::new(
                    Place::file(path).line(e.line()),
                    format!("is not JSON: {e}"),
                    "pass LLMPerf's individual responses file (a JSON array)",
                )));
            }
        };
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let (region, model) = match stem.rsplit_once('_') {
            Some((provider, size))
                if size.ends_with('b') && size[..size.len() - 1].chars().all(|c| c.is_ascii_digit()) =>
            {
                (provider.to_string(), Some(format!("llama-2-{size}")))
            }
            _ => (stem.clone(), None),
        };
        let mut report = ImportReport::new(TraceFormat::Llmperf, path);
        report.records = items.len();
        let mut bad = BadRecords::new(path);
        let mut requests = Vec::new();
        let (mut errors, mut limited) = (0usize, 0usize);
        for (k, item) in items.iter().enumerate() {
            let place = |f: &str| Place::file(path).row(k + 1).field(f);
            let num = |key: &'static str| -> std::result::Result<Option<f64>, (&'static str, String)> {
                match item.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Number(n)) => match n.as_f64() {
                        Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
                        _ => Err((key, format!("`{n}` is not a finite non-negative number"))),
                    },
                    Some(other) => Err((key, format!("`{other}` is not a number"))),
                }
            };
            let parsed = (|| {
                let ttft = num("ttft_s")?;
                let e2e = num("end_to_end_latency_s")?;
                let whole = |key: &'static str| -> std::result::Result<u32, (&'static str, String)> {
                    match num(key)? {
                        None => Ok(0),
                        Some(v) if v.fract() == 0.0 && v <= u32::MAX as f64 => Ok(v as u32),
                        Some(v) => Err((key, format!("`{v}` is not a whole number of tokens"))),
                    }
                };
                Ok((ttft, e2e, whole("number_input_tokens")?, whole("number_output_tokens")?))
            })();
            let (ttft, e2e, input, output) = match parsed {
                Ok(v) => v,
                Err((field, m)) => {
                    bad.bad(place(field), m, FIX_ROW);
                    continue;
                }
            };
            let code = item.get("error_code").filter(|v| !v.is_null());
            let outcome = match code {
                None => status::OK,
                Some(c) if c == 429 || c == "429" => status::RATE_LIMITED,
                Some(_) => status::FAILED,
            };
            errors += usize::from(outcome != status::OK);
            limited += usize::from(outcome == status::RATE_LIMITED);
            requests.push(Request {
                timestamp_s: k as f64,
                input_tokens: input,
                output_tokens: output,
                model: model.clone(),
                region: Some(region.clone()),
                latency_s: e2e,
                ttft_s: ttft,
                status: Some(outcome.to_string()),
                ..Request::default()
            });
        }
        report.skipped_bad = bad.finish(opts, items.len())?;
        report.map(columns::TIMESTAMP_S, "file order (0, 1, 2, ... s: the results carry no timestamps)");
        report.map(columns::INPUT_TOKENS, "number_input_tokens");
        report.map(columns::OUTPUT_TOKENS, "number_output_tokens");
        report.map(columns::LATENCY_S, "end_to_end_latency_s");
        report.map(columns::TTFT_S, "ttft_s");
        report.map(columns::STATUS, "error_code (null: ok, 429: rate_limited, else failed)");
        report.map(columns::REGION, &format!("the file name (`{region}`)"));
        if let Some(m) = &model {
            report.map(columns::MODEL, &format!("the file name (`{m}`)"));
        }
        report.skip("inter_token_latency_s", "follows from latency, TTFT and output tokens");
        report.skip("request_output_throughput_token_per_s", "follows from latency and output tokens");
        report.skip("error_msg", "free text; error_code gives the status");
        report.missing = ["class", "origin_region", "cost_usd"].map(String::from).to_vec();
        report.note(format!("{errors} failed requests ({limited} rate-limited) kept with their status"));
        let carried = Carried {
            model: model.is_some(),
            region: true,
            latency_s: true,
            ttft_s: true,
            status: true,
            ..Carried::default()
        };
        Ok(Imported { requests, carried, report, ready: None })
    }
}
