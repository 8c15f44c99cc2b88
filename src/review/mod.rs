//! The review page: one self-contained HTML file that SRE, FinOps and platform leads read
//! together before a routing change ships (`switchyard report`, `compare --html`, the demo).
//!
//! The only module that knows askama. [`Review`] is plain, already formatted data (tables of
//! text cells, charts as inline SVG); `build.rs` makes it from typed results (a [`Comparison`],
//! two policies, a catalog, a frontier and a recommendation, a discrete-event timeline), and
//! `review.html` lays it out. The page loads nothing: styles, the sort script and the charts are
//! inline, so it opens from a mail attachment with no network. Text is escaped by the template;
//! only the charts' SVG (drawn by [`crate::chart`] from escaped labels) is inserted as markup.
//!
//! [`Comparison`]: crate::compare::Comparison

mod build;
mod capacity;

use askama::Template;

use crate::error::{Error, Result};

pub use build::{InputFile, Inputs, Provenance, Side, build, frontier_charts};
pub use capacity::{Peaks, peaks};

/// One table cell: its text, a CSS class (`num`, `good`, `bad`, `changed`; empty for none) and,
/// for numbers, the value the sort script orders by.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub class: &'static str,
    pub sort: Option<f64>,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        Cell { text: text.into(), class: "", sort: None }
    }
    pub fn num(text: impl Into<String>, value: f64) -> Cell {
        Cell { text: text.into(), class: "num", sort: value.is_finite().then_some(value) }
    }
    pub fn with_class(self, class: &'static str) -> Cell {
        Cell { class, ..self }
    }
    /// The `data-sort` attribute's value, or empty.
    pub fn sort_key(&self) -> String {
        self.sort.map(|v| format!("{v}")).unwrap_or_default()
    }
}

/// A table with a caption; sortable by clicking a header.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// A sentence under the table (what it leaves out, how to read it).
    pub note: Option<String>,
}

/// A chart as inline SVG, with a caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub caption: String,
    /// The SVG document drawn by [`crate::chart`].
    pub svg: String,
}

/// A titled part of the page: paragraphs, then tables, then charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The `id` for the contents' links.
    pub id: &'static str,
    pub title: String,
    pub paragraphs: Vec<String>,
    pub tables: Vec<Table>,
    pub charts: Vec<Chart>,
}

impl Section {
    pub fn new(id: &'static str, title: impl Into<String>) -> Section {
        Section { id, title: title.into(), paragraphs: Vec::new(), tables: Vec::new(), charts: Vec::new() }
    }
}

/// The verdict banner.
#[derive(Debug, Clone, PartialEq)]
pub struct Banner {
    /// `PASS`, `FAIL`, ...
    pub verdict: String,
    /// `pass`, `fail` or `unsure`: the banner's colour.
    pub tone: &'static str,
    pub headline: String,
    /// The figures that decided it, one sentence each.
    pub deciders: Vec<String>,
    /// Score, thresholds and the basis of the intervals.
    pub basis: String,
}

/// The whole page.
#[derive(Debug, Clone, PartialEq, Template)]
#[template(path = "review.html", escape = "html")]
pub struct Review {
    pub title: String,
    pub subtitle: String,
    pub banner: Option<Banner>,
    /// One command that reproduces the page.
    pub reproduce: Option<String>,
    pub sections: Vec<Section>,
    /// `switchyard 0.1.0`.
    pub generator: String,
}

impl Review {
    /// The HTML document; `path` names it in an error.
    pub fn to_html(&self, path: &std::path::Path) -> Result<String> {
        self.render().map_err(|e| Error::Format {
            path: path.to_path_buf(),
            message: format!("cannot render the review page: {e}"),
        })
    }
}

#[cfg(test)]
mod tests;
