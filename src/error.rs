//! Errors that say where the problem is and how to fix it.
//!
//! Every user-facing failure is a [`Problem`]: the place (file, YAML line or data row, field), what is
//! wrong, and the fix. Validation collects all problems it finds and returns them at once as
//! [`Error::Invalid`], so a user fixes a file in one pass instead of one error per run.
//! `anyhow` is used only at the CLI edge; the library returns [`Error`].

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a problem is: a file, and optionally a YAML line or a data row, and a field/column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    pub file: Option<PathBuf>,
    /// 1-based line in a text file (YAML).
    pub line: Option<usize>,
    /// 1-based data row (the header is not counted).
    pub row: Option<usize>,
    /// Field, key or column name.
    pub field: Option<String>,
}

impl Place {
    pub fn file(path: impl AsRef<Path>) -> Self {
        Place { file: Some(path.as_ref().to_path_buf()), ..Place::default() }
    }
    pub fn line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
    pub fn maybe_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }
    pub fn row(mut self, row: usize) -> Self {
        self.row = Some(row);
        self
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        match (&self.file, self.line) {
            (Some(file), Some(line)) => parts.push(format!("{}:{line}", file.display())),
            (Some(file), None) => parts.push(file.display().to_string()),
            (None, Some(line)) => parts.push(format!("line {line}")),
            (None, None) => {}
        }
        if let Some(row) = self.row {
            parts.push(format!("row {row}"));
        }
        if let Some(field) = &self.field {
            parts.push(format!("`{field}`"));
        }
        if parts.is_empty() {
            parts.push("input".to_string());
        }
        f.write_str(&parts.join(", "))
    }
}

/// One thing wrong with the input, with the fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub place: Place,
    pub message: String,
    pub fix: String,
}

impl Problem {
    pub fn new(place: Place, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem { place, message: message.into(), fix: fix.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.message)?;
        if !self.fix.is_empty() {
            write!(f, "\n    fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// How much a [`Notice`] matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something switchyard did for the user that they should know (a column read under a
    /// slightly different name).
    Note,
    /// Something that may make the result other than the user meant (a class absent from the
    /// trace).
    Warning,
}

/// Something about the input that does not stop the run: the command line prints it on stderr
/// (`note: ...`, `warning: ...`), once each. The library never prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub level: Level,
    pub problem: Problem,
}

impl Notice {
    pub fn note(problem: Problem) -> Notice {
        Notice { level: Level::Note, problem }
    }
    pub fn warning(problem: Problem) -> Notice {
        Notice { level: Level::Warning, problem }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Note => "note",
            Level::Warning => "warning",
        };
        write!(f, "{level}: {}", self.problem)
    }
}

/// The library's error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more problems in user input, all reported together.
    #[error("{}", render_problems(.0))]
    Invalid(Vec<Problem>),
    /// Reading or writing a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A lower-level library (polars, parquet) failed on a file.
    #[error("{}: {message}", .path.display())]
    Format { path: PathBuf, message: String },
    /// An LP solver gave up (iteration limit, numerical trouble) or cannot take the program.
    /// Infeasible and unbounded programs are not errors: see `optimize::lp::LpStatus`.
    #[error("LP `{lp}` ({solver}): {message}")]
    Solve { lp: String, solver: &'static str, message: String },
}

impl Error {
    pub fn one(problem: Problem) -> Self {
        Error::Invalid(vec![problem])
    }
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().to_path_buf(), source }
    }
    /// An error reading input `path`. Bytes the format cannot take (text that is not UTF-8, a
    /// corrupt or cut-short gzip stream) are a problem with the file, reported as bad input;
    /// anything else (a missing file, no permission, a failing disk) stays an IO error.
    pub fn read(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        use std::io::ErrorKind;
        let path = path.as_ref();
        match source.kind() {
            ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::UnexpectedEof => {
                let text = source.to_string();
                let (message, fix) = if text.contains("UTF-8") {
                    ("is not UTF-8 text".to_string(), "save the file as UTF-8")
                } else {
                    (
                        format!("is corrupt or cut short ({text})"),
                        "check that the file was copied whole (for a .gz file, `gzip -t FILE` tests it)",
                    )
                };
                Error::one(Problem::new(Place::file(path), message, fix))
            }
            _ => Error::io(path, source),
        }
    }
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Invalid(p) => p,
            _ => &[],
        }
    }
}

fn render_problems(problems: &[Problem]) -> String {
    if problems.len() == 1 {
        return problems[0].to_string();
    }
    let mut out = format!("{} problems:", problems.len());
    for (i, p) in problems.iter().enumerate() {
        out.push_str(&format!("\n  {}. {}", i + 1, p.to_string().replace('\n', "\n  ")));
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Read an input text file. Bytes that are not UTF-8 are a problem naming the line and column of
/// the first of them (`read_to_string` would say only "stream did not contain valid UTF-8").
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let line = 1 + bytes[..line_start].iter().filter(|&&b| b == b'\n').count();
        Error::one(Problem::new(
            Place::file(path).line(line),
            format!("is not UTF-8 text: byte {} of the line (0x{:02x}) is not UTF-8", at - line_start + 1, bytes[at]),
            "save the file as UTF-8",
        ))
    })
}

/// Collects problems during validation; `finish` turns them into an error if there were any.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, place: Place, message: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Problem::new(place, message, fix));
    }
    pub fn extend(&mut self, err: Error) -> Option<()> {
        match err {
            Error::Invalid(p) => {
                self.0.extend(p);
                Some(())
            }
            _ => None,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok` if nothing was found; otherwise every distinct problem, in the order found.
    pub fn finish(self) -> Result<()> {
        let mut distinct: Vec<Problem> = Vec::with_capacity(self.0.len());
        for p in self.0 {
            if !distinct.contains(&p) {
                distinct.push(p);
            }
        }
        if distinct.is_empty() { Ok(()) } else { Err(Error::Invalid(distinct)) }
    }
}

/// The names in `candidates` closest to `name` (edit distance), best first, at most three.
/// Used to suggest a fix for a misspelt endpoint, class or key.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(usize, &str)> = candidates.into_iter().map(|c| (edit_distance(name, c), c)).collect();
    scored.sort();
    let limit = (name.len() / 2).max(3);
    let close: Vec<String> = scored.iter().filter(|(d, _)| *d <= limit).take(3).map(|(_, c)| c.to_string()).collect();
    if close.is_empty() { scored.iter().take(3).map(|(_, c)| c.to_string()).collect() } else { close }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// "a, b or c" for messages.
pub fn one_of(names: &[String]) -> String {
    match names.len() {
        0 => "(none)".to_string(),
        1 => format!("`{}`", names[0]),
        _ => {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("{} or {}", quoted[..quoted.len() - 1].join(", "), quoted[quoted.len() - 1])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_a_typo() {
        let names = ["deepseek-v4-flash@us-east-1", "glm-5@us-east-1", "qwen3-32b@eu-west-1"];
        assert_eq!(closest("deepseek-v4-flsh@us-east-1", names)[0], "deepseek-v4-flash@us-east-1");
    }

    #[test]
    fn place_renders_every_part() {
        let p = Place::file("t.csv").row(17).field("input_tokens");
        assert_eq!(p.to_string(), "t.csv, row 17, `input_tokens`");
        let p = Place::file("p.yaml").line(4).field("weight");
        assert_eq!(p.to_string(), "p.yaml:4, `weight`");
    }
}
