//! One cell to a value, or why not, the same way in every format: [`Cell`] is a cell as a file
//! holds it (typed, or text), the `*_cell` functions convert it by what its column holds, and
//! [`CellError`] says what is wrong. [`RowValues`] collects one CSV row's values through them before
//! the row is accepted, so that a bad row leaves no trace.

use super::builder::Chunk;
use super::columns::{Col, Kind, Layout};
use crate::trace::bytes::{parse_f64_fast, parse_u32_fast};
use crate::trace::datetime::utc_seconds;

/// Why a cell was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CellError {
    Empty,
    NotNumber,
    NotFinite,
    Negative,
    Fractional,
    TooLarge,
}

impl CellError {
    pub(super) fn describe(self, value: &str) -> String {
        match self {
            CellError::Empty => "is empty".to_string(),
            CellError::NotNumber => format!("`{value}` is not a number"),
            CellError::NotFinite => format!("`{value}` is not a finite number"),
            CellError::Negative => format!("`{value}` is negative"),
            CellError::Fractional => format!("`{value}` is not a whole number"),
            CellError::TooLarge => format!("`{value}` is larger than 4294967295"),
        }
    }
}

/// One cell as a file holds it: typed (Parquet, NDJSON) or text (CSV).
#[derive(Debug, Clone, Copy)]
pub(super) enum Cell<'a> {
    Null,
    F64(f64),
    I64(i64),
    U64(u64),
    Str(&'a str),
}

impl Cell<'_> {
    pub(super) fn display(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::F64(v) => v.to_string(),
            Cell::I64(v) => v.to_string(),
            Cell::U64(v) => v.to_string(),
            Cell::Str(s) => s.to_string(),
        }
    }
}

/// A cell's number, or why it is not one. Text is trimmed; empty text counts as null.
fn cell_number(cell: Cell<'_>) -> std::result::Result<f64, CellError> {
    match cell {
        Cell::Null => Err(CellError::Empty),
        Cell::F64(v) => Ok(v),
        Cell::I64(v) => Ok(v as f64),
        Cell::U64(v) => Ok(v as f64),
        Cell::Str(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Err(CellError::Empty);
            }
            if let Some(v) = parse_f64_fast(s.as_bytes()) {
                return Ok(v);
            }
            s.parse::<f64>().map_err(|_| CellError::NotNumber)
        }
    }
}

pub(super) fn timestamp_cell(cell: Cell<'_>) -> std::result::Result<f64, CellError> {
    let v = match cell_number(cell) {
        Err(CellError::NotNumber) => match cell {
            Cell::Str(s) => utc_seconds(s.trim()).ok_or(CellError::NotNumber)?,
            _ => return Err(CellError::NotNumber),
        },
        other => other?,
    };
    if !v.is_finite() {
        return Err(CellError::NotFinite);
    }
    // -0.0 becomes 0.0, so that sorting and the order check agree.
    Ok(v + 0.0)
}

pub(super) fn tokens_cell(cell: Cell<'_>) -> std::result::Result<u32, CellError> {
    if let Cell::Str(s) = cell
        && let Some(v) = parse_u32_fast(s.as_bytes())
    {
        return Ok(v);
    }
    match cell {
        Cell::I64(v) => {
            if v < 0 {
                Err(CellError::Negative)
            } else {
                u32::try_from(v).map_err(|_| CellError::TooLarge)
            }
        }
        Cell::U64(v) => u32::try_from(v).map_err(|_| CellError::TooLarge),
        _ => {
            // Whole numbers written as floats ("12.0", "1e3") are accepted; fractions are not.
            let v = cell_number(cell)?;
            if v.is_nan() || v.is_infinite() {
                Err(CellError::NotFinite)
            } else if v < 0.0 {
                Err(CellError::Negative)
            } else if v.fract() != 0.0 {
                Err(CellError::Fractional)
            } else if v > u32::MAX as f64 {
                Err(CellError::TooLarge)
            } else {
                Ok(v as u32)
            }
        }
    }
}

/// Cached input tokens: like tokens, but an empty cell means none were cached.
pub(super) fn cached_cell(cell: Cell<'_>) -> std::result::Result<u32, CellError> {
    match tokens_cell(cell) {
        Err(CellError::Empty) => Ok(0),
        other => other,
    }
}

/// Recorded seconds or dollars: empty is `None`; otherwise finite and non-negative.
pub(super) fn amount_cell(cell: Cell<'_>) -> std::result::Result<Option<f64>, CellError> {
    match cell_number(cell) {
        Err(CellError::Empty) => Ok(None),
        Err(e) => Err(e),
        Ok(v) if !v.is_finite() => Err(CellError::NotFinite),
        Ok(v) if v < 0.0 => Err(CellError::Negative),
        Ok(v) => Ok(Some(v + 0.0)),
    }
}

#[derive(Default)]
pub(super) struct RowValues<'b> {
    ts: f64,
    class: &'b [u8],
    origin: &'b [u8],
    input: u32,
    output: u32,
    cached: u32,
    text: [Option<String>; 4],
    nums: [Option<f64>; 3],
}

impl<'b> RowValues<'b> {
    /// The common case, straight from bytes: plain numbers in the numeric columns.
    #[inline]
    pub(super) fn set_fast(&mut self, col: Col, raw: &[u8]) -> bool {
        match col {
            Col::Timestamp => parse_f64_fast(raw).map(|v| self.ts = v + 0.0).is_some(),
            Col::Input => parse_u32_fast(raw).map(|v| self.input = v).is_some(),
            Col::Output => parse_u32_fast(raw).map(|v| self.output = v).is_some(),
            _ => false,
        }
    }

    /// Convert one cell into this row; `Err` carries the message.
    pub(super) fn set(&mut self, col: Col, cell: Cell<'_>, raw: &'b [u8]) -> std::result::Result<(), String> {
        let fail = |e: CellError| format!("{}; expected {}", e.describe(&cell.display()), col.kind().expected());
        match col.kind() {
            Kind::Timestamp => self.ts = timestamp_cell(cell).map_err(fail)?,
            Kind::Tokens => {
                let v = tokens_cell(cell).map_err(fail)?;
                if col == Col::Input {
                    self.input = v;
                } else {
                    self.output = v;
                }
            }
            Kind::CachedTokens => self.cached = cached_cell(cell).map_err(fail)?,
            Kind::Name => {
                if raw.is_empty() {
                    return Err(fail(CellError::Empty));
                }
                if col == Col::Class {
                    self.class = raw;
                } else {
                    self.origin = raw;
                }
            }
            Kind::Text => {
                self.text[col.text_slot()] = match cell {
                    Cell::Null => None,
                    Cell::Str("") => None,
                    other => Some(other.display()),
                }
            }
            Kind::Seconds | Kind::Dollars => {
                self.nums[col.num_slot()] = amount_cell(cell).map_err(fail)?;
            }
        }
        Ok(())
    }

    /// Checks across columns.
    pub(super) fn check(&self, layout: &Layout) -> std::result::Result<(), (Col, String)> {
        if layout.has(Col::Cached) && self.cached > self.input {
            return Err((
                Col::Cached,
                format!(
                    "`{}` is greater than input_tokens `{}`; expected cached input tokens <= input tokens",
                    self.cached, self.input
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn push(self, chunk: &mut Chunk, layout: &Layout) {
        chunk.ts.push(self.ts);
        if layout.has(Col::Class) {
            let code = chunk.class_dict.code(self.class);
            chunk.class.push(code);
        }
        if layout.has(Col::Origin) {
            let code = chunk.origin_dict.code(self.origin);
            chunk.origin.push(code);
        }
        chunk.input.push(self.input);
        chunk.output.push(self.output);
        if layout.has(Col::Cached) {
            chunk.cached.push(self.cached);
        }
        for (i, v) in self.text.into_iter().enumerate() {
            if layout.has([Col::RequestId, Col::Model, Col::Region, Col::Status][i]) {
                chunk.text[i].push(v);
            }
        }
        for (i, v) in self.nums.into_iter().enumerate() {
            if layout.has([Col::Latency, Col::Ttft, Col::Cost][i]) {
                chunk.nums[i].push(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_become_unix_seconds() {
        // Checked against `date -u -d ... +%s`.
        assert_eq!(utc_seconds("1970-01-01"), Some(0.0));
        assert_eq!(utc_seconds("2023-11-16 18:15:46"), Some(1_700_158_546.0));
        assert_eq!(utc_seconds("2023-11-16T18:15:46Z"), Some(1_700_158_546.0));
        assert_eq!(utc_seconds("2023-11-16T20:15:46+02:00"), Some(1_700_158_546.0));
        assert_eq!(utc_seconds("2024-02-29 00:00"), Some(1_709_164_800.0));
        let v = utc_seconds("2023-11-16 18:15:46.6805900").unwrap();
        assert!((v - 1_700_158_546.680_59).abs() < 1e-6, "{v}");
        for bad in ["2023-02-29", "2023-13-01", "2023-11-16 24:00", "2023-11-16x", "16/11/2023", "2023-11-16 18:15:46."]
        {
            assert_eq!(utc_seconds(bad), None, "{bad}");
        }
        assert_eq!(timestamp_cell(Cell::Str("1970-01-02")), Ok(86_400.0));
        assert_eq!(timestamp_cell(Cell::Str("yesterday")), Err(CellError::NotNumber));
    }

    #[test]
    fn token_cells_reject_what_they_should() {
        assert_eq!(tokens_cell(Cell::Str("12")), Ok(12));
        assert_eq!(tokens_cell(Cell::Str(" 12 ")), Ok(12));
        assert_eq!(tokens_cell(Cell::Str("12.0")), Ok(12));
        assert_eq!(tokens_cell(Cell::Str("1e3")), Ok(1000));
        assert_eq!(tokens_cell(Cell::Str("12.5")), Err(CellError::Fractional));
        assert_eq!(tokens_cell(Cell::Str("-1")), Err(CellError::Negative));
        assert_eq!(tokens_cell(Cell::Str("abc")), Err(CellError::NotNumber));
        assert_eq!(tokens_cell(Cell::Str("")), Err(CellError::Empty));
        assert_eq!(tokens_cell(Cell::Null), Err(CellError::Empty));
        assert_eq!(tokens_cell(Cell::Str("4294967296")), Err(CellError::TooLarge));
        assert_eq!(tokens_cell(Cell::Str("nan")), Err(CellError::NotFinite));
        assert_eq!(tokens_cell(Cell::I64(-3)), Err(CellError::Negative));
        assert_eq!(tokens_cell(Cell::U64(1 << 40)), Err(CellError::TooLarge));
        assert_eq!(tokens_cell(Cell::F64(7.0)), Ok(7));
        assert_eq!(cached_cell(Cell::Null), Ok(0));
        assert_eq!(timestamp_cell(Cell::Str("inf")), Err(CellError::NotFinite));
        assert_eq!(timestamp_cell(Cell::Str("-0")).map(f64::to_bits), Ok(0.0f64.to_bits()));
        assert_eq!(amount_cell(Cell::Str("")), Ok(None));
        assert_eq!(amount_cell(Cell::Str("-1")), Err(CellError::Negative));
    }
}
