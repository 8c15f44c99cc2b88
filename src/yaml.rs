//! YAML in and out: the only module that knows the YAML crate (serde-saphyr).
//!
//! Every input file that is validated into a typed value (catalog, policy, constraints, scenario,
//! guard) is read by [`load`] (or [`load_str`] for text in memory): read the file, parse it into
//! its file shape, validate that. Parse errors become a [`Problem`] with the file, line and column
//! and a hint; `Spanned` values keep their line so that the validation (an unknown endpoint, a
//! negative weight) can name it too. Output ([`to_string`]) is used by the exporters for the YAML
//! gateway formats.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Place, Problem, Result};

pub use serde_saphyr::Spanned;

/// 1-based line of a spanned value, if the parser knew it.
pub fn line_of<T>(s: &Spanned<T>) -> Option<usize> {
    let line = s.referenced.line();
    (line > 0).then_some(line as usize)
}

/// Parse YAML text; `origin` names the file in error messages.
pub fn from_str<T: DeserializeOwned>(text: &str, origin: &Path) -> Result<T> {
    serde_saphyr::from_str::<T>(text).map_err(|err| {
        let line = err.location().map(|l| l.line() as usize).filter(|l| *l > 0);
        let message = first_line(&err.to_string());
        let fix = if message.contains("unknown field") {
            "remove or rename the key; the message lists the keys this section accepts"
        } else if message.contains("missing field") {
            "add the key named in the message"
        } else {
            "check the YAML at that line against the format in README.md"
        };
        Error::one(Problem::new(Place::file(origin).maybe_line(line), message, fix))
    })
}

/// Read and parse a YAML file.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = crate::error::read_text(path)?;
    from_str(&text, path)
}

/// Read a YAML file, parse it into its file shape `S` and validate that into the typed value the
/// program uses. `validate` gets the shape and `path` (to name in its problems) and reports every
/// problem at once, as the `from_spec` functions do.
pub fn load<S: DeserializeOwned, T>(path: &Path, validate: impl FnOnce(&S, &Path) -> Result<T>) -> Result<T> {
    let text = crate::error::read_text(path)?;
    load_str(&text, path, validate)
}

/// [`load`] for YAML text already in memory (an embedded file, a test); `origin` names it in
/// error messages.
pub fn load_str<S: DeserializeOwned, T>(
    text: &str,
    origin: &Path,
    validate: impl FnOnce(&S, &Path) -> Result<T>,
) -> Result<T> {
    let spec: S = from_str(text, origin)?;
    validate(&spec, origin)
}

/// Serialize to YAML text (block style; floats in their shortest round-trip form). `what` names the
/// document in an error message.
pub fn to_string<T: serde::Serialize>(value: &T, what: &str) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::Format { path: what.into(), message: e.to_string() })
}

/// A spanned value with no location, for documents built in code (exported policies).
pub fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned::new(value, serde_saphyr::Location::UNKNOWN, serde_saphyr::Location::UNKNOWN)
}

fn first_line(s: &str) -> String {
    // serde-saphyr renders a code snippet after the message; the first lines carry the meaning.
    // Its own "error: line L column C:" prefix repeats what the Place already says.
    let line = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let line = line.strip_prefix("error:").map(str::trim).unwrap_or(line);
    match line.strip_prefix("line ").and_then(|rest| rest.split_once(": ")) {
        Some((position, message)) if position.contains("column") => message.to_string(),
        _ => line.to_string(),
    }
}

/// A YAML mapping that keeps its keys in file order (the order matters for routing weights and for
/// endpoint numbering), with each key's line. Duplicate keys are kept so validation can report them.
#[derive(Debug, Clone)]
pub struct OrderedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, V: serde::Deserialize<'de>> serde::Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: serde::Deserialize<'de>> serde::de::Visitor<'de> for Visitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Spanned<String>, V>()? {
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        deserializer.deserialize_map(Visitor(std::marker::PhantomData))
    }
}

impl<V: serde::Serialize> serde::Serialize for OrderedMap<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(&k.value, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Shape {
        weight: f64,
    }

    /// What a validated loader gives for `text` in a file named `shape.yaml`: the weight doubled,
    /// or every problem as `place: message | fix`.
    fn load_text(text: &[u8]) -> std::result::Result<f64, Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shape.yaml");
        std::fs::write(&path, text).unwrap();
        let validate = |s: &Shape, origin: &Path| -> Result<f64> {
            if s.weight < 0.0 {
                let place = Place::file(origin).field("weight");
                return Err(Error::one(Problem::new(place, "negative", "give a weight >= 0")));
            }
            Ok(2.0 * s.weight)
        };
        let dir_name = |p: &Problem| p.to_string().replace(&format!("{}/", dir.path().display()), "");
        load(&path, validate)
            .map_err(|e| e.problems().iter().map(|p| dir_name(p).replace("\n    fix: ", " | ")).collect())
    }

    #[test]
    fn load_parses_then_validates_naming_the_file() {
        assert_eq!(load_text(b"weight: 1.5\n"), Ok(3.0));
        assert_eq!(load_text(b"weight: -1\n"), Err(vec!["shape.yaml, `weight`: negative | give a weight >= 0".into()]));
    }

    #[test]
    fn load_reports_a_parse_error_with_its_line_and_fix() {
        let err = load_text(b"weight: 1\nwieght: 2\n").unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(err[0].starts_with("shape.yaml:2: unknown field `wieght`"), "{err:?}");
        assert!(
            err[0].ends_with("| remove or rename the key; the message lists the keys this section accepts"),
            "{err:?}"
        );
    }

    #[test]
    fn load_names_the_line_of_bytes_that_are_not_utf8() {
        let err = load_text(b"# ok\nweight: 1 # \xff\n").unwrap_err();
        assert_eq!(
            err,
            vec!["shape.yaml:2: is not UTF-8 text: byte 13 of the line (0xff) is not UTF-8 | save the file as UTF-8"]
        );
    }
}
