//! YAML in and out: the only module that knows the YAML crate (serde-saphyr).
//!
//! Output ([`to_string`]) is used by the exporters for the YAML gateway formats. Parse errors become a [`Problem`] with the file, line and column and a hint; `Spanned` values keep
//! their line so that later semantic checks (an unknown endpoint, a negative weight) can name it too.

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
