//! The canonical columns and which column of a file feeds each: [`Col`] and what it holds
//! ([`Kind`]), the `--map` arguments (parsed and checked), and [`resolve_columns`], which matches a
//! file's header to the canonical names (exactly, or but for case, spaces or punctuation, with a
//! note), suggests the usual other names for a missing required column, and warns about an unread
//! column that looks like a misspelt one.

use std::path::Path;

use super::options::ReadOptions;
use crate::error::{Error, Notice, Place, Problem, Problems, Result, closest, one_of};
use crate::names::spelling;
use crate::trace::columns;

/// Every canonical column name, in the order of [`columns`].
pub const CANONICAL_COLUMNS: [&str; N_COLS] = [
    columns::TIMESTAMP_S,
    columns::CLASS,
    columns::ORIGIN_REGION,
    columns::INPUT_TOKENS,
    columns::OUTPUT_TOKENS,
    columns::CACHED_INPUT_TOKENS,
    columns::REQUEST_ID,
    columns::MODEL,
    columns::REGION,
    columns::LATENCY_S,
    columns::TTFT_S,
    columns::STATUS,
    columns::COST_USD,
];

/// Parse one `--map` argument, `source=canonical` (whitespace around either name is ignored).
pub fn parse_column_map(spec: &str) -> Result<(String, String)> {
    let place = Place::default().field("--map");
    let Some((source, canonical)) = spec.split_once('=') else {
        return Err(Error::one(Problem::new(
            place,
            format!("`{spec}` is not of the form source=canonical"),
            format!(
                "write the file's column name, `=`, then the canonical name, e.g. `--map tokens_in=input_tokens`; canonical names: {}",
                one_of(&canonical_names())
            ),
        )));
    };
    let (source, canonical) = (source.trim(), canonical.trim());
    if source.is_empty() || canonical.is_empty() {
        return Err(Error::one(Problem::new(
            place,
            format!("`{spec}` has an empty {} name", if source.is_empty() { "source" } else { "canonical" }),
            "write both names, e.g. `--map tokens_in=input_tokens`",
        )));
    }
    if Col::from_name(canonical).is_none() {
        return Err(Error::one(unknown_canonical(place, spec, canonical)));
    }
    Ok((source.to_string(), canonical.to_string()))
}

fn canonical_names() -> Vec<String> {
    CANONICAL_COLUMNS.iter().map(|s| s.to_string()).collect()
}

fn unknown_canonical(place: Place, spec: &str, canonical: &str) -> Problem {
    let suggestions = closest(canonical, CANONICAL_COLUMNS);
    Problem::new(
        place,
        format!("`{spec}`: `{canonical}` is not a canonical column name"),
        format!("did you mean {}? canonical names: {}", one_of(&suggestions), one_of(&canonical_names())),
    )
}

/// Checks on the map itself (names known, no name mapped twice), before the file is opened.
pub(super) fn check_map(opts: &ReadOptions) -> Result<()> {
    let mut problems = Problems::default();
    for (i, (source, canonical)) in opts.column_map.iter().enumerate() {
        let spec = format!("{source}={canonical}");
        if Col::from_name(canonical).is_none() {
            problems.0.push(unknown_canonical(Place::default().field("--map"), &spec, canonical));
        }
        if opts.column_map[..i].iter().any(|(s, _)| s == source) {
            problems.push(
                Place::default().field("--map"),
                format!("column `{source}` is mapped more than once"),
                "give each source column one --map",
            );
        }
        if opts.column_map[..i].iter().any(|(_, c)| c == canonical) {
            problems.push(
                Place::default().field("--map"),
                format!("two --map arguments name the canonical column `{canonical}`"),
                "map exactly one source column to each canonical name",
            );
        }
    }
    problems.finish()
}

pub(super) const N_COLS: usize = 13;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Col {
    Timestamp,
    Class,
    Origin,
    Input,
    Output,
    Cached,
    RequestId,
    Model,
    Region,
    Latency,
    Ttft,
    Status,
    Cost,
}

pub(super) const ALL_COLS: [Col; N_COLS] = [
    Col::Timestamp,
    Col::Class,
    Col::Origin,
    Col::Input,
    Col::Output,
    Col::Cached,
    Col::RequestId,
    Col::Model,
    Col::Region,
    Col::Latency,
    Col::Ttft,
    Col::Status,
    Col::Cost,
];

/// What a column holds, which decides how a cell is converted and what a message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Timestamp,
    Tokens,
    CachedTokens,
    Name,
    Text,
    Seconds,
    Dollars,
}

impl Col {
    pub(super) fn idx(self) -> usize {
        self as usize
    }
    pub(super) fn name(self) -> &'static str {
        CANONICAL_COLUMNS[self.idx()]
    }
    fn from_name(name: &str) -> Option<Col> {
        ALL_COLS.iter().copied().find(|c| c.name() == name)
    }
    fn required(self) -> bool {
        matches!(self, Col::Timestamp | Col::Input | Col::Output)
    }
    pub(super) fn kind(self) -> Kind {
        match self {
            Col::Timestamp => Kind::Timestamp,
            Col::Input | Col::Output => Kind::Tokens,
            Col::Cached => Kind::CachedTokens,
            Col::Class | Col::Origin => Kind::Name,
            Col::RequestId | Col::Model | Col::Region | Col::Status => Kind::Text,
            Col::Latency | Col::Ttft => Kind::Seconds,
            Col::Cost => Kind::Dollars,
        }
    }
    /// Slot in [`Chunk::text`](super::builder::Chunk::text) (recorded string columns).
    pub(super) fn text_slot(self) -> usize {
        match self {
            Col::RequestId => 0,
            Col::Model => 1,
            Col::Region => 2,
            _ => 3,
        }
    }
    /// Slot in [`Chunk::nums`](super::builder::Chunk::nums) (recorded number columns).
    pub(super) fn num_slot(self) -> usize {
        match self {
            Col::Latency => 0,
            Col::Ttft => 1,
            _ => 2,
        }
    }
}

impl Kind {
    pub(super) fn expected(self) -> &'static str {
        match self {
            Kind::Timestamp => {
                "a finite number of seconds (e.g. 12.5 or 1732700000.25) or a date-time (e.g. 2023-11-16 18:15:46.68, UTC)"
            }
            Kind::Tokens => "a whole number of tokens from 0 to 4294967295",
            Kind::CachedTokens => "a whole number of tokens from 0 to 4294967295, or empty",
            Kind::Name => "a non-empty name",
            Kind::Text => "text, or empty",
            Kind::Seconds => "a non-negative number of seconds, or empty",
            Kind::Dollars => "a non-negative amount of US dollars, or empty",
        }
    }
}

/// The recorded text columns, in the order of [`Chunk::text`](super::builder::Chunk::text).
pub(super) const TEXT_COLS: [Col; 4] = [Col::RequestId, Col::Model, Col::Region, Col::Status];
/// The recorded number columns, in the order of [`Chunk::nums`](super::builder::Chunk::nums).
pub(super) const NUM_COLS: [Col; 3] = [Col::Latency, Col::Ttft, Col::Cost];

#[derive(Clone)]
pub(super) struct Layout {
    /// For each canonical column, the index of its source column in the file.
    pub(super) index: [Option<usize>; N_COLS],
    /// The file's name for each canonical column (differs from the canonical name when mapped).
    pub(super) source: [String; N_COLS],
    /// Number of columns in the file.
    pub(super) n_fields: usize,
    /// Columns read under a name that differs from the one written (notes), and columns not
    /// read whose names look like a misspelt canonical one (warnings).
    pub(super) notices: Vec<Notice>,
}

impl Layout {
    pub(super) fn has(&self, col: Col) -> bool {
        self.index[col.idx()].is_some()
    }
    /// Canonical column of each source column (`None`: ignored).
    pub(super) fn roles(&self) -> Vec<Option<Col>> {
        let mut roles = vec![None; self.n_fields];
        for col in ALL_COLS {
            if let Some(i) = self.index[col.idx()] {
                roles[i] = Some(col);
            }
        }
        roles
    }
    pub(super) fn present(&self) -> impl Iterator<Item = (Col, usize)> + '_ {
        ALL_COLS.iter().filter_map(|&c| self.index[c.idx()].map(|i| (c, i)))
    }
}

/// Which file column feeds each canonical column. A name is taken exactly (after `--map`), or,
/// when no column has the exact name, a name that differs from it only by case, spaces or
/// punctuation (` class`, `Class`, `input-tokens`; [`spelling::fold`]) is read as it with a note;
/// two candidates for one column are an error. A `--map` source is found the same way. A column
/// left unread whose name is a near miss of a canonical column the file lacks (`clas`, `orgin`)
/// gets a warning, since whatever it holds is otherwise silently not used.
pub(super) fn resolve_columns(names: &[String], opts: &ReadOptions, path: &Path) -> Result<Layout> {
    let mut problems = Problems::default();
    let mut notices = Vec::new();
    let found = || {
        let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        if quoted.is_empty() { "(none)".to_string() } else { quoted.join(", ") }
    };
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            problems.push(
                Place::file(path).field(name.clone()),
                format!("column `{name}` appears more than once; columns found: {}", found()),
                "rename one of the two columns",
            );
        }
    }
    // The canonical name each file column is mapped to by `--map`.
    let mut mapped: Vec<Option<&str>> = vec![None; names.len()];
    for (source, canonical) in &opts.column_map {
        let loose: Vec<usize> =
            (0..names.len()).filter(|&i| spelling::fold(&names[i]) == spelling::fold(source)).collect();
        let hit = match names.iter().position(|n| n == source) {
            Some(i) => Some(i),
            None if loose.len() == 1 => {
                notices.push(Notice::note(Problem::new(
                    Place::file(path).field(names[loose[0]].clone()),
                    format!(
                        "--map {source}={canonical} applied to column `{}` (the names differ only by case, spaces or punctuation)",
                        names[loose[0]]
                    ),
                    "",
                )));
                Some(loose[0])
            }
            None => None,
        };
        match hit {
            Some(i) => mapped[i] = Some(canonical.as_str()),
            None => {
                let suggestions = closest(source, names.iter().map(|s| s.as_str()));
                let fix = match suggestions.first() {
                    Some(best) => format!(
                        "map a column the file has, e.g. `--map {}`",
                        shell_quote(&format!("{best}={canonical}"))
                    ),
                    None => "check that this is the right file".to_string(),
                };
                let which = if loose.len() > 1 {
                    let quoted: Vec<String> = loose.iter().map(|&i| names[i].clone()).collect();
                    format!(" (and {} differ from it only by case, spaces or punctuation)", one_of(&quoted))
                } else {
                    String::new()
                };
                problems.push(
                    Place::file(path).field(source.clone()),
                    format!(
                        "--map {source}={canonical} names column `{source}`, which the file does not have{which}; columns found: {}",
                        found()
                    ),
                    fix,
                );
            }
        }
    }
    let effective: Vec<&str> = names.iter().zip(&mapped).map(|(n, m)| m.unwrap_or(n.as_str())).collect();
    let is_canonical = |i: usize| Col::from_name(effective[i]).is_some();
    let mut index = [None; N_COLS];
    let mut source: [String; N_COLS] = Default::default();
    for col in ALL_COLS {
        let hits: Vec<usize> = (0..names.len()).filter(|&i| effective[i] == col.name()).collect();
        // Columns whose name is this one's but for case, spaces or punctuation (never one that
        // `--map` renames, nor one that is another canonical column exactly).
        let loose: Vec<usize> = (0..names.len())
            .filter(|&i| {
                mapped[i].is_none() && !is_canonical(i) && spelling::fold(&names[i]) == spelling::fold(col.name())
            })
            .collect();
        let quoted =
            |idx: &[usize]| idx.iter().map(|&i| format!("`{}`", names[i])).collect::<Vec<String>>().join(" and ");
        if hits.len() > 1 {
            let which: Vec<String> = hits.iter().map(|&i| names[i].clone()).collect();
            problems.push(
                Place::file(path).field(col.name()),
                format!("{} columns would become `{}`", one_of(&which), col.name()),
                "map only one column to each canonical name, or rename the other column in the file",
            );
        }
        let explicit = opts.column_map.iter().any(|(_, c)| c == col.name());
        if !explicit && !loose.is_empty() && (hits.len() == 1 || loose.len() > 1) {
            // Two columns that could each be this one: reading either would be a guess.
            let all: Vec<usize> = hits.iter().chain(&loose).copied().collect();
            problems.push(
                Place::file(path).field(col.name()),
                format!(
                    "columns {} could each be `{}` (their names differ only by case, spaces or punctuation)",
                    quoted(&all),
                    col.name()
                ),
                format!("rename or remove all but one of them, so that exactly one is named `{}`", col.name()),
            );
            continue;
        }
        let chosen = match (hits.first(), loose.as_slice()) {
            (Some(&i), _) => Some(i),
            (None, [i]) if !explicit => {
                notices.push(Notice::note(Problem::new(
                    Place::file(path).field(names[*i].clone()),
                    format!(
                        "column `{}` read as `{}` (the names differ only by case, spaces or punctuation)",
                        names[*i],
                        col.name()
                    ),
                    format!("rename the column to `{}` to silence this note", col.name()),
                )));
                Some(*i)
            }
            _ => None,
        };
        if let Some(i) = chosen {
            index[col.idx()] = Some(i);
            source[col.idx()] = names[i].clone();
        } else if col.required() {
            let unused: Vec<&str> = names
                .iter()
                .zip(&effective)
                .filter(|(_, e)| Col::from_name(e).is_none())
                .map(|(n, _)| n.as_str())
                .collect();
            let mut fix = match suggest_source(col, &unused) {
                Some(best) => format!(
                    "rename the column in the file, or pass `--map {}`",
                    shell_quote(&format!("{best}={}", col.name()))
                ),
                None => format!(
                    "add a `{}` column to the file, or pass `--map yourname={}` to use a column under another name",
                    col.name(),
                    col.name()
                ),
            };
            if names.len() == 1 && (names[0].contains(';') || names[0].contains('\t')) {
                fix.push_str("; the header looks like it uses `;` or tabs as separators: convert the file to comma-separated values");
            }
            problems.push(
                Place::file(path).field(col.name()),
                format!("required column `{}` is missing; columns found: {}", col.name(), found()),
                fix,
            );
        }
    }
    problems.finish()?;
    // Unread columns that look like a misspelt optional column the file lacks: what they hold
    // would otherwise be dropped without a word (every request's class `default`, say).
    for (i, name) in names.iter().enumerate() {
        if index.contains(&Some(i)) || mapped[i].is_some() {
            continue;
        }
        let meant: Vec<String> = ALL_COLS
            .iter()
            .filter(|c| {
                index[c.idx()].is_none()
                    && (spelling::near_miss(name, c.name()) || also_meant(**c).contains(&spelling::fold(name).as_str()))
            })
            .map(|c| c.name().to_string())
            .collect();
        if let Some(first) = meant.first() {
            notices.push(Notice::warning(Problem::new(
                Place::file(path).field(name.clone()),
                format!("column `{name}` is not read: did you mean {}, which the file lacks?", one_of(&meant)),
                format!(
                    "rename it to `{first}` or pass `--map {}`; ignore this if the column is something else",
                    shell_quote(&format!("{name}={first}"))
                ),
            )));
        }
    }
    Ok(Layout { index, source, n_fields: names.len(), notices })
}

/// Folded names that usually mean an optional column (the required ones have [`aliases`]), for
/// the warning about an unread column: `origin` is not a near miss of `origin_region`, but a
/// trace's `origin` column left unread makes every request's origin `unspecified`.
fn also_meant(col: Col) -> &'static [&'static str] {
    match col {
        Col::Origin => &["origin", "originregion", "sourceregion", "clientregion", "userregion"],
        Col::Class => &["requestclass", "category", "classname", "tasktype"],
        Col::Cached => &["cachedtokens", "cachetokens", "promptcachedtokens", "cachereadtokens"],
        Col::Cost => &["cost", "costdollars", "spend"],
        _ => &[],
    }
}

/// Names other traces use for a required column (lowercase, letters and digits only): Azure LLM
/// inference traces (`TIMESTAMP`, `ContextTokens`, `GeneratedTokens`), BurstGPT (`Timestamp`,
/// `Request tokens`, `Response tokens`), Mooncake (`timestamp`, `input_length`, `output_length`),
/// OpenAI-style usage logs (`prompt_tokens`, `completion_tokens`).
fn aliases(col: Col) -> &'static [&'static str] {
    match col {
        Col::Timestamp => &[
            "timestamp",
            "timestamps",
            "ts",
            "time",
            "times",
            "t",
            "arrivaltime",
            "arrival",
            "arrivals",
            "arrivaltimes",
            "starttime",
            "start",
            "createdat",
            "created",
            "requesttime",
            "timestamps",
        ],
        Col::Input => &[
            "inputtokens",
            "prompttokens",
            "contexttokens",
            "requesttokens",
            "inputlength",
            "inputlen",
            "promptlength",
            "promptlen",
            "tokensin",
            "intokens",
            "tokin",
            "input",
            "prompt",
            "prefilltokens",
            "numprompttokens",
            "numinputtokens",
        ],
        Col::Output => &[
            "outputtokens",
            "completiontokens",
            "generatedtokens",
            "responsetokens",
            "outputlength",
            "outputlen",
            "completionlength",
            "completionlen",
            "tokensout",
            "outtokens",
            "tokout",
            "output",
            "completion",
            "decodetokens",
            "numcompletiontokens",
            "numoutputtokens",
        ],
        _ => &[],
    }
}

/// The file's column most likely meant as `col`: a known alias, else a name with a telling part.
fn suggest_source<'n>(col: Col, unused: &[&'n str]) -> Option<&'n str> {
    let normal = |s: &str| -> String {
        s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase()
    };
    if let Some(hit) = unused.iter().find(|n| aliases(col).contains(&normal(n).as_str())) {
        return Some(hit);
    }
    let parts: &[&str] = match col {
        Col::Timestamp => &["time", "ts"],
        Col::Input => &["prompt", "input", "context", "request"],
        Col::Output => &["completion", "output", "generat", "response"],
        _ => &[],
    };
    unused.iter().find(|n| parts.iter().any(|p| normal(n).contains(p))).copied()
}

/// Quote a `--map` argument for a POSIX shell when it has anything but plain name characters.
fn shell_quote(arg: &str) -> String {
    if arg.chars().all(|c| c.is_ascii_alphanumeric() || "_-.=/:".contains(c)) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_columns_suggest_the_usual_other_names() {
        let s = |col, names: &[&'static str]| suggest_source(col, names);
        let azure = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"];
        assert_eq!(s(Col::Timestamp, &azure), Some("TIMESTAMP"));
        assert_eq!(s(Col::Input, &azure), Some("ContextTokens"));
        assert_eq!(s(Col::Output, &azure), Some("GeneratedTokens"));
        let burst = ["Timestamp", "Model", "Request tokens", "Response tokens", "Total tokens"];
        assert_eq!(s(Col::Input, &burst), Some("Request tokens"));
        assert_eq!(s(Col::Output, &burst), Some("Response tokens"));
        assert_eq!(s(Col::Input, &["ts", "kind", "tok_in", "tok_out", "note"]), Some("tok_in"));
        assert_eq!(s(Col::Input, &["a", "b"]), None);
        assert_eq!(shell_quote("Request tokens=input_tokens"), "'Request tokens=input_tokens'");
        assert_eq!(shell_quote("tok_in=input_tokens"), "tok_in=input_tokens");
    }

    /// (header, --map) -> the file column read as `class`, the notes and warnings, or the error.
    #[test]
    fn columns_differing_only_by_case_spaces_or_punctuation_are_read_with_a_note() {
        let resolve = |header: &[&str], map: &[(&str, &str)]| {
            let names: Vec<String> = header.iter().map(|s| s.to_string()).collect();
            let column_map = map.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
            let opts = ReadOptions { column_map, ..ReadOptions::default() };
            resolve_columns(&names, &opts, Path::new("t.csv"))
        };
        let base = ["timestamp_s", "input_tokens", "output_tokens"];
        let with = |extra: &[&'static str]| base.iter().copied().chain(extra.iter().copied()).collect::<Vec<&str>>();
        for (header, read_as) in [(" class", 3), ("Class", 3), ("CLASS ", 3)] {
            let layout = resolve(&with(&[header]), &[]).unwrap();
            assert_eq!(layout.index[Col::Class.idx()], Some(read_as), "{header:?}");
            let notes: Vec<String> = layout.notices.iter().map(Notice::to_string).collect();
            assert!(
                notes.len() == 1 && notes[0].starts_with("note: ") && notes[0].contains("read as `class`"),
                "{notes:?}"
            );
        }
        // `Input-Tokens` for a required column, `timestamp (s)` too.
        let layout = resolve(&["timestamp (s)", "Input-Tokens", "output_tokens"], &[]).unwrap();
        assert_eq!((layout.index[Col::Timestamp.idx()], layout.index[Col::Input.idx()]), (Some(0), Some(1)));
        assert_eq!(layout.notices.len(), 2);
        // Two candidates: an error naming both.
        let err = resolve(&with(&["class", "Class"]), &[]).err().unwrap().to_string();
        assert!(err.contains("`class` and `Class` could each be `class`"), "{err}");
        let err = resolve(&with(&[" class", "Class"]), &[]).err().unwrap().to_string();
        assert!(err.contains("` class` and `Class`"), "{err}");
        // A --map source found the same way; an explicit map settles which column is meant.
        let layout = resolve(&with(&[" kind"]), &[("kind", "class")]).unwrap();
        assert_eq!(layout.index[Col::Class.idx()], Some(3));
        assert!(layout.notices[0].to_string().contains("--map kind=class applied to column ` kind`"));
        let layout = resolve(&with(&["kind", "Class"]), &[("kind", "class")]).unwrap();
        assert_eq!(layout.index[Col::Class.idx()], Some(3));
        // An unread near miss, or a usual name, of a column the file lacks: a warning.
        let layout = resolve(&with(&["clas", "origin", "user"]), &[]).unwrap();
        let warnings: Vec<String> = layout.notices.iter().map(Notice::to_string).collect();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("`clas` is not read: did you mean `class`"), "{warnings:?}");
        assert!(warnings[1].contains("--map origin=origin_region"), "{warnings:?}");
        // Nothing to say about a clean header.
        assert!(resolve(&with(&["class", "origin_region", "user"]), &[]).unwrap().notices.is_empty());
    }

    #[test]
    fn map_spec_parsing() {
        assert_eq!(
            parse_column_map(" tok_in = input_tokens ").unwrap(),
            ("tok_in".to_string(), "input_tokens".to_string())
        );
        let err = parse_column_map("tok_in=input_tokns").unwrap_err().to_string();
        assert!(err.contains("input_tokens"), "{err}");
        assert!(parse_column_map("tok_in").is_err());
        assert!(parse_column_map("=input_tokens").is_err());
    }
}
