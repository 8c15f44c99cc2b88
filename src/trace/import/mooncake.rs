//! Mooncake traces (Kimi, FAST'25), JSON Lines, described at
//! <https://github.com/kvcache-ai/Mooncake/blob/main/FAST25-release/README.md>.
//!
//! One object per line: `timestamp` (milliseconds from the start of the trace), `input_length`,
//! `output_length`, `hash_ids` (prefix-cache block ids of 512 tokens; equal ids mean a shared
//! prefix). The arXiv trace's clock is quantised (about 3 s steps), so many requests share a
//! timestamp: `--spread-ties` spreads each such run evenly over the gap to the next timestamp.
//! `hash_ids` has no canonical column; the report gives the share of blocks already seen earlier
//! in the trace (an upper bound on what a prompt cache could serve).

use std::collections::HashSet;
use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

use super::{BadRecords, Carried, FIX_ROW, ImportOptions, ImportReport, Imported, Importer, Request};
use crate::error::{Error, Result};
use crate::trace::columns;
use crate::trace::read::TraceFormat;

pub struct Mooncake;

#[derive(Deserialize)]
struct Line {
    timestamp: f64,
    input_length: u32,
    output_length: u32,
    #[serde(default)]
    hash_ids: Vec<u64>,
}

const KNOWN: [&str; 4] = ["timestamp", "input_length", "output_length", "hash_ids"];

impl Importer for Mooncake {
    fn format_url(&self) -> &'static str {
        "https://github.com/kvcache-ai/Mooncake/blob/main/FAST25-release/README.md"
    }

    fn import(&self, path: &Path, opts: &ImportOptions) -> Result<Imported> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut report = ImportReport::new(TraceFormat::Mooncake, path);
        report.map(columns::TIMESTAMP_S, "timestamp (milliseconds / 1000)");
        report.map(columns::INPUT_TOKENS, "input_length");
        report.map(columns::OUTPUT_TOKENS, "output_length");
        report.skip("hash_ids", "prefix-cache block ids: no canonical column (prefix reuse is in the notes)");
        report.missing = ["class", "origin_region", "model", "region", "latency_s", "ttft_s", "status", "cost_usd"]
            .map(String::from)
            .to_vec();

        let mut bad = BadRecords::new(path);
        let mut requests = Vec::new();
        let mut seen: HashSet<u64> = HashSet::new();
        let (mut blocks, mut reused, mut records) = (0u64, 0u64, 0usize);
        let mut extra_fields: Vec<String> = Vec::new();
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| Error::io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            records += 1;
            if records == 1
                && let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&line)
            {
                extra_fields = map.keys().filter(|k| !KNOWN.contains(&k.as_str())).cloned().collect();
            }
            let parsed: Line = match serde_json::from_str(&line) {
                Ok(v) => v,
                Err(e) => {
                    let field = KNOWN.iter().find(|k| e.to_string().contains(&format!("`{k}`"))).copied();
                    let mut place = bad.place().line(n + 1).row(records);
                    if let Some(f) = field {
                        place = place.field(f);
                    }
                    bad.bad(
                        place,
                        format!("is not a Mooncake record: {e}"),
                        format!("each line must be an object like {{\"timestamp\": 0, \"input_length\": 512, \"output_length\": 16, \"hash_ids\": [0]}}; {FIX_ROW}"),
                    );
                    continue;
                }
            };
            if !parsed.timestamp.is_finite() || parsed.timestamp < 0.0 {
                let place = bad.place().line(n + 1).row(records).field("timestamp");
                bad.bad(place, format!("`{}` is not a non-negative number of milliseconds", parsed.timestamp), FIX_ROW);
                continue;
            }
            for id in &parsed.hash_ids {
                blocks += 1;
                if !seen.insert(*id) {
                    reused += 1;
                }
            }
            requests.push(Request {
                timestamp_s: parsed.timestamp / 1000.0,
                input_tokens: parsed.input_length,
                output_tokens: parsed.output_length,
                ..Request::default()
            });
        }
        for f in extra_fields {
            report.skip(&f, "not part of the Mooncake layout");
        }
        report.records = records;
        report.skipped_bad = bad.finish(opts, records)?;
        if blocks > 0 {
            report.note(format!(
                "prefix reuse: {:.1}% of {blocks} prefix blocks (hash_ids) were already seen earlier in the trace",
                100.0 * reused as f64 / blocks as f64
            ));
        }
        let ties = requests.windows(2).filter(|w| w[0].timestamp_s == w[1].timestamp_s).count();
        if ties > 0 && !opts.spread_ties {
            report.note(format!(
                "{ties} requests share their timestamp with the one before (quantised clock); --spread-ties spreads them"
            ));
        }
        Ok(Imported { requests, carried: Carried::default(), report, ready: None })
    }
}
