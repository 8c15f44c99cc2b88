//! Every name a user writes, resolved in one place against what it can refer to.
//!
//! Policies, constraints, scenarios and the command line name models, endpoints (`model@region`),
//! regions, request classes and origin regions. [`Names`] knows what each can refer to: the
//! catalog's models, endpoints and regions (and the classes its quality tables score), and, when a
//! trace is given, the trace's classes and origins. A trace's column names are resolved by the
//! trace reader with the same spelling rule ([`spelling`]).
//!
//! The rules (the table in docs/mistakes.md, "Names that match nothing"):
//!
//! * A model, endpoint or region the catalog does not have is an error, with the closest names.
//! * An origin is a region: one that is neither a catalog region nor `unspecified` (the origin of
//!   every request of a trace without an `origin_region` column) is an error, with or without a
//!   trace. (A trace's origins must be catalog regions too: routing needs their round-trip times.)
//! * With a trace, a class or origin that does not occur in it is
//!   - an error when it is a [near miss](spelling) of a name the trace or the catalog knows and
//!     is not itself such a name (`chta` beside `chat`): a typo, and carrying on would change the
//!     answer;
//!   - otherwise a warning naming it (a policy written for more traffic than this trace has).
//! * Without a trace, classes are not checked: nothing else lists them.
//!
//! Files record the class and origin names they use as [`Mention`]s when they are validated
//! against the catalog; [`Names::check`] then checks them against a trace. Deliberately absent: no
//! printing; warnings are returned as [`Notice`]s for the command line to print once each.

pub mod spelling;

use std::path::Path;

use crate::catalog::Catalog;
use crate::error::{Error, Notice, Place, Problem, Problems, Result, closest, one_of};
use crate::trace::{Trace, UNSPECIFIED_ORIGIN};

/// What kind of thing a trace-dependent name names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Class,
    Origin,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Class => "class",
            Kind::Origin => "origin",
        }
    }
    fn plural(self) -> &'static str {
        match self {
            Kind::Class => "classes",
            Kind::Origin => "origins",
        }
    }
}

/// A class or origin name as a file wrote it (not trimmed: rules compare names exactly), and
/// where, kept to be checked against a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub kind: Kind,
    pub name: String,
    pub place: Place,
}

impl Mention {
    pub fn class(name: &str, place: Place) -> Mention {
        Mention { kind: Kind::Class, name: name.to_string(), place }
    }
    pub fn origin(name: &str, place: Place) -> Mention {
        Mention { kind: Kind::Origin, name: name.to_string(), place }
    }
}

/// What checking names against a trace found: errors, and warnings that do not stop the run.
#[derive(Debug, Default)]
pub struct Findings {
    pub problems: Problems,
    pub warnings: Vec<Notice>,
}

impl Findings {
    /// The warnings if there was no problem; otherwise every problem as one error.
    pub fn into_result(self) -> Result<Vec<Notice>> {
        self.problems.finish()?;
        Ok(self.warnings)
    }
}

/// The trace's names, as [`Names`] sees them.
struct TraceNames<'a> {
    source: &'a str,
    classes: &'a [String],
    origins: &'a [String],
}

/// What user-written names can refer to: a catalog, and optionally a trace.
pub struct Names<'a> {
    catalog: &'a Catalog,
    /// Classes the catalog's quality tables score (their `default` key excepted), sorted.
    catalog_classes: Vec<&'a str>,
    trace: Option<TraceNames<'a>>,
}

/// At most this many of a trace's names are listed in a message.
const LISTED: usize = 12;

impl<'a> Names<'a> {
    /// Names of the catalog alone (no trace: classes are not checked).
    pub fn new(catalog: &'a Catalog) -> Names<'a> {
        let mut catalog_classes: Vec<&str> =
            catalog.endpoints.iter().flat_map(|e| e.quality.per_class.keys().map(String::as_str)).collect();
        catalog_classes.sort_unstable();
        catalog_classes.dedup();
        catalog_classes.retain(|c| *c != "default");
        Names { catalog, catalog_classes, trace: None }
    }

    /// Names of the catalog and of a trace (its classes and origins).
    pub fn with_trace(catalog: &'a Catalog, trace: &'a Trace) -> Names<'a> {
        let mut names = Names::new(catalog);
        names.trace =
            Some(TraceNames { source: &trace.source, classes: &trace.class_names, origins: &trace.origin_names });
        names
    }

    /// The catalog index of endpoint `name` (`model@region`), or a problem naming the closest.
    pub fn endpoint(&self, name: &str, place: Place, problems: &mut Problems) -> Option<usize> {
        let found = self.catalog.endpoint_index(name.trim());
        if found.is_none() {
            problems.push(
                place,
                format!("unknown endpoint `{name}`"),
                format!(
                    "use a `model@region` from the catalog; closest: {}",
                    one_of(&closest(name, self.catalog.endpoint_ids()))
                ),
            );
        }
        found
    }

    /// The catalog index of region `name`, or a problem naming the closest.
    pub fn region(&self, name: &str, place: Place, problems: &mut Problems) -> Option<usize> {
        let found = self.catalog.region_index(name.trim());
        if found.is_none() {
            problems.push(
                place,
                format!("unknown region `{name}`"),
                format!(
                    "use a region of the catalog; closest: {}",
                    one_of(&closest(name, self.catalog.regions.iter().map(String::as_str)))
                ),
            );
        }
        found
    }

    /// The catalog index of model `name`, or a problem naming the closest.
    pub fn model(&self, name: &str, place: Place, problems: &mut Problems) -> Option<usize> {
        let found = self.catalog.models.iter().position(|m| m == name.trim());
        if found.is_none() {
            problems.push(
                place,
                format!("unknown model `{name}`"),
                format!(
                    "use a model of the catalog; closest: {}",
                    one_of(&closest(name, self.catalog.models.iter().map(String::as_str)))
                ),
            );
        }
        found
    }

    /// Whether `name` can be an origin region (a catalog region, `unspecified`, or an origin of the
    /// trace); if not, a problem naming the closest regions. Call it for every origin a file names,
    /// with or without a trace.
    pub fn origin(&self, name: &str, place: Place, problems: &mut Problems) -> bool {
        if self.known_origins().any(|o| o == name) {
            return true;
        }
        let close = closest(name, self.known_origins());
        problems.push(
            place,
            format!("unknown origin region `{name}`: an origin is a region of the catalog"),
            format!(
                "use a region of the catalog (or add `{name}` to its `rtt_s:` table if requests come from there); closest: {}",
                one_of(&close)
            ),
        );
        false
    }

    /// Check classes and origins that files name against the trace: a near miss of a known name
    /// is an error, a name simply absent from the trace a warning (once per file and name).
    /// Without a trace, only origins are checked (against the catalog).
    pub fn check(&self, mentions: &[Mention]) -> Findings {
        let mut found = Findings::default();
        let mut seen: Vec<(Option<&Path>, Kind, &str)> = Vec::new();
        let mut absent: Vec<&Mention> = Vec::new();
        for m in mentions {
            let key = (m.place.file.as_deref(), m.kind, m.name.as_str());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            if m.kind == Kind::Origin && !self.origin(&m.name, m.place.clone(), &mut found.problems) {
                continue;
            }
            let Some(trace) = &self.trace else { continue };
            let in_trace = match m.kind {
                Kind::Class => trace.classes,
                Kind::Origin => trace.origins,
            };
            if in_trace.contains(&m.name) {
                continue;
            }
            let catalog_names: Vec<&str> = match m.kind {
                Kind::Class => self.catalog_classes.clone(),
                Kind::Origin => self.known_origins().collect(),
            };
            let noun = m.kind.noun();
            let known_to_catalog = catalog_names.contains(&m.name.as_str());
            // The trace's names first: they are what the user most likely meant.
            let mut misses: Vec<String> = Vec::new();
            for k in in_trace.iter().map(String::as_str).chain(catalog_names.iter().copied()) {
                if spelling::near_miss(&m.name, k) && !misses.iter().any(|x| x == k) {
                    misses.push(k.to_string());
                }
            }
            if !known_to_catalog && !misses.is_empty() {
                let in_trace_miss = misses.iter().find(|x| in_trace.contains(x));
                let beside = match in_trace_miss {
                    Some(x) => format!("but it has `{x}`"),
                    None => format!("and the catalog knows `{}`", misses[0]),
                };
                found.problems.push(
                    m.place.clone(),
                    format!("{noun} `{}` does not occur in trace {}, {beside}", m.name, trace.source),
                    format!(
                        "correct it to {}: a name this close to a known one is taken for a typo, since carrying on would change the result",
                        one_of(&misses)
                    ),
                );
                continue;
            }
            absent.push(m);
        }
        // One warning per file and kind of name, so that a trace without a class column does not
        // bring one warning for every rule.
        let Some(trace) = &self.trace else { return found };
        let mut groups: Vec<(Option<&Path>, Kind, Vec<&Mention>)> = Vec::new();
        for m in absent {
            match groups.iter_mut().find(|(f, k, _)| *f == m.place.file.as_deref() && *k == m.kind) {
                Some((_, _, list)) => list.push(m),
                None => groups.push((m.place.file.as_deref(), m.kind, vec![m])),
            }
        }
        for (file, kind, group) in groups {
            let noun = kind.noun();
            let in_trace = match kind {
                Kind::Class => trace.classes,
                Kind::Origin => trace.origins,
            };
            let listed = list(in_trace);
            let what = match (kind, in_trace) {
                (Kind::Origin, [only]) if only == UNSPECIFIED_ORIGIN => {
                    "it has no `origin_region` column, so every request's origin is `unspecified`".to_string()
                }
                (_, [_]) => format!("its only {noun} is {listed}"),
                _ => format!("its {}: {listed}", kind.plural()),
            };
            let (place, message) = match group.as_slice() {
                [m] => (
                    m.place.clone(),
                    format!(
                        "{noun} `{}` does not occur in trace {} ({what}); it applies to no request of this run",
                        m.name, trace.source
                    ),
                ),
                _ => {
                    let names: Vec<String> = group
                        .iter()
                        .map(|m| match m.place.line {
                            Some(line) => format!("`{}` (line {line})", m.name),
                            None => format!("`{}`", m.name),
                        })
                        .collect();
                    (
                        Place { file: file.map(Path::to_path_buf), ..Place::default() },
                        format!(
                            "{} {} do not occur in trace {} ({what}); they apply to no request of this run",
                            kind.plural(),
                            names.join(", "),
                            trace.source
                        ),
                    )
                }
            };
            found.warnings.push(Notice::warning(Problem::new(place, message, "")));
        }
        found
    }

    /// The code of class `name` in the trace, or an error naming the closest of its classes (for
    /// options that only make sense for a class the trace has, such as `frontier --class`).
    pub fn trace_class(&self, name: &str, place: Place) -> Result<usize> {
        let trace = self.trace.as_ref().expect("trace_class needs Names::with_trace");
        match trace.classes.iter().position(|c| c == name.trim()) {
            Some(c) => Ok(c),
            None => Err(Error::one(Problem::new(
                place,
                format!("class `{name}` does not occur in trace {}", trace.source),
                format!(
                    "name one of its classes; closest: {}",
                    one_of(&closest(name, trace.classes.iter().map(String::as_str)))
                ),
            ))),
        }
    }

    /// Every name an origin can be: the catalog's regions, `unspecified`, the trace's origins.
    fn known_origins(&self) -> impl Iterator<Item = &str> + '_ {
        let from_trace = self.trace.iter().flat_map(|t| t.origins.iter().map(String::as_str));
        self.catalog
            .regions
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(UNSPECIFIED_ORIGIN))
            .chain(from_trace.filter(move |o| *o != UNSPECIFIED_ORIGIN && !self.catalog.regions.iter().any(|r| r == o)))
    }
}

/// "`a`, `b` and 3 more" for messages.
fn list(names: &[String]) -> String {
    let shown: Vec<String> = names.iter().take(LISTED).map(|n| format!("`{n}`")).collect();
    match names.len().saturating_sub(LISTED) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Row;

    fn trace(classes: &[&str], origin: Option<&str>) -> Trace {
        let rows: Vec<Row> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| Row { timestamp_s: i as f64, class: c, origin, input_tokens: 10, output_tokens: 10 })
            .collect();
        Trace::from_rows("t.csv", &rows)
    }

    fn at(field: &str) -> Place {
        Place::file("k.yaml").line(3).field(field)
    }

    /// (errors, warnings) as text for `mentions` against `trace`.
    fn check(trace: &Trace, mentions: &[Mention]) -> (String, String) {
        let catalog = Catalog::default_catalog();
        let found = Names::with_trace(&catalog, trace).check(mentions);
        let text = |ps: Vec<String>| ps.join("\n");
        (
            text(found.problems.0.iter().map(Problem::to_string).collect()),
            text(found.warnings.iter().map(Notice::to_string).collect()),
        )
    }

    #[test]
    fn a_class_one_edit_from_a_trace_class_is_a_typo() {
        let t = trace(&["chat", "code"], Some("us-east-1"));
        let (errors, warnings) = check(&t, &[Mention::class("chta", at("classes.chta"))]);
        assert!(
            errors.contains("k.yaml:3") && errors.contains("`chta`") && errors.contains("correct it to `chat`"),
            "{errors}"
        );
        assert!(warnings.is_empty(), "{warnings}");
    }

    #[test]
    fn a_class_far_from_every_name_is_a_warning_once() {
        let t = trace(&["chat", "code"], Some("us-east-1"));
        let m = Mention::class("summarize", at("classes.summarize"));
        let (errors, warnings) = check(&t, &[m.clone(), m]);
        assert!(errors.is_empty(), "{errors}");
        assert_eq!(warnings.matches("warning: ").count(), 1, "{warnings}");
        assert!(
            warnings.contains("`summarize` does not occur in trace t.csv") && warnings.contains("`chat`, `code`"),
            "{warnings}"
        );
    }

    #[test]
    fn a_class_the_catalog_scores_is_no_typo_even_beside_a_trace_class() {
        // The default catalog's quality tables score `chat`; the trace has only `chats`.
        let t = trace(&["chats"], Some("us-east-1"));
        let (errors, warnings) = check(&t, &[Mention::class("chat", at("match.class"))]);
        assert!(errors.is_empty(), "{errors}");
        assert!(
            warnings.contains("`chat` does not occur") && warnings.contains("its only class is `chats`"),
            "{warnings}"
        );
    }

    #[test]
    fn a_class_with_another_number_is_another_class() {
        let t = trace(&["chat-v1"], Some("us-east-1"));
        let (errors, warnings) = check(&t, &[Mention::class("chat-v2", at("match.class"))]);
        assert!(errors.is_empty(), "{errors}");
        assert!(warnings.contains("`chat-v2`"), "{warnings}");
    }

    #[test]
    fn origins_are_regions_with_or_without_a_trace() {
        let catalog = Catalog::default_catalog();
        let names = Names::new(&catalog);
        let mut problems = Problems::default();
        assert!(names.origin("eu-west-1", at("residency.origin"), &mut problems));
        assert!(names.origin(UNSPECIFIED_ORIGIN, at("residency.origin"), &mut problems));
        assert!(problems.is_empty());
        assert!(!names.origin("eu-west-l", at("residency.origin"), &mut problems));
        let text = problems.0[0].to_string();
        assert!(text.contains("`eu-west-l`") && text.contains("closest: `eu-west-1`"), "{text}");
        // With a trace: a catalog region the trace has no traffic from is a warning, a typo an error.
        let t = trace(&["chat"], Some("us-east-1"));
        let (errors, warnings) = check(
            &t,
            &[Mention::origin("eu-west-1", at("match.origin")), Mention::origin("eu-west-l", at("match.origin"))],
        );
        assert!(errors.contains("`eu-west-l`") && !errors.contains("`eu-west-1` does"), "{errors}");
        assert!(
            warnings.contains("origin `eu-west-1` does not occur") && warnings.contains("`us-east-1`"),
            "{warnings}"
        );
        // A trace without origins says so.
        let t = trace(&["chat"], None);
        let (_, warnings) = check(&t, &[Mention::origin("eu-west-1", at("match.origin"))]);
        assert!(warnings.contains("no `origin_region` column"), "{warnings}");
    }

    #[test]
    fn endpoints_regions_and_models_name_the_closest() {
        let catalog = Catalog::default_catalog();
        let names = Names::new(&catalog);
        let mut problems = Problems::default();
        assert!(names.endpoint(" deepseek-v4-flash@us-east-1", at("targets"), &mut problems).is_some());
        assert!(names.endpoint("deepseek-v4-flsh@us-east-1", at("targets"), &mut problems).is_none());
        assert!(names.region("ap-southeast-2", at("regions"), &mut problems).is_none());
        assert!(names.model("glm-55", at("--alias"), &mut problems).is_none());
        let text: Vec<String> = problems.0.iter().map(Problem::to_string).collect();
        assert!(text[0].contains("closest: `deepseek-v4-flash@us-east-1`"), "{}", text[0]);
        assert!(
            text[1].contains("unknown region `ap-southeast-2`") && text[1].contains("`ap-southeast-1`"),
            "{}",
            text[1]
        );
        assert!(text[2].contains("unknown model `glm-55`") && text[2].contains("`glm-5`"), "{}", text[2]);
    }
}
