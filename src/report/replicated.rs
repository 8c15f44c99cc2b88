//! Replicates combined into a mean and a 95% interval, type by type: [`Combine`] for numbers
//! ([`Number`]), options, named tables ([`Named`]) and report structs (declared with the
//! [`figures!`](crate::figures) macro, which writes the struct, its interval mirror and the
//! combination from one field list).
//!
//! The rules, which the JSON layout has always followed: a figure is the mean over replicates; an
//! integer that every replicate agrees on stays an integer, any other mean is a float; the mirror
//! (`ci95`) holds `[low, high]` of the Student t interval for every figure that each replicate
//! has, and leaves out the rest (a missing group, an absent latency, a quality no one scored). The
//! first replicate's shape decides which keys a table has.

use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// A figure's value: a count (an integer) or a measurement (a float). Counts averaged over
/// replicates that disagree become floats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Number {
    Int(u64),
    Float(f64),
}

impl Number {
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(n) => n as f64,
            Number::Float(x) => x,
        }
    }
}

impl From<u64> for Number {
    fn from(n: u64) -> Number {
        Number::Int(n)
    }
}

impl From<f64> for Number {
    fn from(x: f64) -> Number {
        Number::Float(x)
    }
}

/// A 95% interval `[low, high]`.
pub type Interval = [f64; 2];

/// A value combined from replicates, with the interval mirror of its layout.
pub trait Combine: Sized + Clone {
    /// The mirror: the same layout with `[low, high]` in place of each figure.
    type Ci: Serialize + for<'de> Deserialize<'de> + Clone + fmt::Debug + PartialEq;

    /// The mean of `reps` (the first is always there; a later one is `None` where that replicate
    /// lacks this value) and its interval mirror, `None` when no figure in it has an interval.
    fn combine(reps: &[Option<&Self>]) -> (Self, Option<Self::Ci>);

    /// This value with each figure replaced by one end of its interval in `ci` (`side` 0: low, 1:
    /// high), or NaN where `ci` has none: a saved report's bounds in its own shape.
    fn bound(&self, ci: Option<&Self::Ci>, side: usize) -> Self;

    /// The mean of whole replicates.
    fn mean_of(reps: &[Self]) -> (Self, Option<Self::Ci>) {
        assert!(!reps.is_empty(), "at least one replicate");
        let refs: Vec<Option<&Self>> = reps.iter().map(Some).collect();
        Self::combine(&refs)
    }
}

/// Mean of replicate values and the half-width of its 95% Student t interval (0 for one value).
pub fn mean_ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t95(n - 1) * (var / n as f64).sqrt())
}

/// Two-sided 95% Student t quantile for `df` degrees of freedom.
pub fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        31..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

impl Combine for Number {
    type Ci = Interval;

    fn combine(reps: &[Option<&Number>]) -> (Number, Option<Interval>) {
        let first = *reps[0].expect("the first replicate is always there");
        let Some(values) = reps.iter().map(|r| r.copied()).collect::<Option<Vec<Number>>>() else {
            return (first, None);
        };
        if values.len() == 1 {
            return (first, None);
        }
        let xs: Vec<f64> = values.iter().map(|v| v.as_f64()).collect();
        let (mean, half) = mean_ci95(&xs);
        let agreed = values.iter().all(|v| matches!(v, Number::Int(_))) && xs.iter().all(|x| *x == xs[0]);
        (if agreed { first } else { Number::Float(mean) }, Some([mean - half, mean + half]))
    }

    fn bound(&self, ci: Option<&Interval>, side: usize) -> Number {
        Number::Float(ci.map_or(f64::NAN, |c| c[side]))
    }
}

impl<T: Combine> Combine for Option<T> {
    type Ci = T::Ci;

    fn combine(reps: &[Option<&Option<T>>]) -> (Option<T>, Option<T::Ci>) {
        if reps[0].is_none_or(Option::is_none) {
            return (None, None);
        }
        let inner: Vec<Option<&T>> = reps.iter().map(|r| r.and_then(Option::as_ref)).collect();
        let (mean, ci) = T::combine(&inner);
        (Some(mean), ci)
    }

    fn bound(&self, ci: Option<&T::Ci>, side: usize) -> Option<T> {
        self.as_ref().map(|v| v.bound(ci, side))
    }
}

/// A table of named groups (per class, per endpoint...), in the order the run gives them; a
/// JSON object with those keys in that order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Named<T>(pub Vec<(String, T)>);

impl<T> Named<T> {
    pub fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &T)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v))
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T> FromIterator<(String, T)> for Named<T> {
    fn from_iter<I: IntoIterator<Item = (String, T)>>(iter: I) -> Self {
        Named(iter.into_iter().collect())
    }
}

impl<T: Combine> Combine for Named<T> {
    type Ci = Named<T::Ci>;

    fn combine(reps: &[Option<&Named<T>>]) -> (Named<T>, Option<Named<T::Ci>>) {
        let first = reps[0].expect("the first replicate is always there");
        let (mut mean, mut ci) = (Vec::new(), Vec::new());
        for (name, _) in &first.0 {
            let column: Vec<Option<&T>> = reps.iter().map(|r| r.and_then(|t| t.get(name))).collect();
            let (m, c) = T::combine(&column);
            mean.push((name.clone(), m));
            if let Some(c) = c {
                ci.push((name.clone(), c));
            }
        }
        (Named(mean), (!ci.is_empty()).then_some(Named(ci)))
    }

    fn bound(&self, ci: Option<&Named<T::Ci>>, side: usize) -> Named<T> {
        Named(self.0.iter().map(|(name, v)| (name.clone(), v.bound(ci.and_then(|c| c.get(name)), side))).collect())
    }
}

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = Named<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of named groups")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Named<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Named(entries))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// Declares a report struct whose fields are figures ([`Combine`]), its interval mirror (the
/// same field names, each left out when it has no interval) and the combination of replicates
/// field by field. Field order is the JSON key order.
#[macro_export]
macro_rules! figures {
    (
        $(#[$meta:meta])*
        pub struct $name:ident / $ci:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),*
        }

        #[doc = concat!("The 95% intervals of a [`", stringify!($name), "`], field by field (`[low, high]`).")]
        #[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
        pub struct $ci {
            $(
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<<$ty as $crate::report::Combine>::Ci>
            ),*
        }

        impl $crate::report::Combine for $name {
            type Ci = $ci;

            fn combine(reps: &[Option<&Self>]) -> (Self, Option<$ci>) {
                $(
                    let $field = <$ty as $crate::report::Combine>::combine(
                        &reps.iter().map(|r| r.map(|s| &s.$field)).collect::<Vec<_>>(),
                    );
                )*
                let ci = $ci { $( $field: $field.1 ),* };
                let any = false $( || ci.$field.is_some() )*;
                ($name { $( $field: $field.0 ),* }, any.then_some(ci))
            }

            fn bound(&self, ci: Option<&$ci>, side: usize) -> Self {
                $name {
                    $( $field: <$ty as $crate::report::Combine>::bound(
                        &self.$field,
                        ci.and_then(|c| c.$field.as_ref()),
                        side,
                    ) ),*
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::figures! {
        /// A test struct.
        pub struct Pair / PairCi {
            pub n: Number,
            pub x: Option<Number>,
            pub by: Named<Number>,
        }
    }

    fn pair(n: u64, x: Option<f64>, by: &[(&str, f64)]) -> Pair {
        Pair { n: n.into(), x: x.map(Number::from), by: by.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect() }
    }

    #[test]
    fn agreed_counts_stay_integers_and_means_become_floats() {
        let (m, ci) = Pair::mean_of(&[pair(10, Some(1.0), &[("a", 1.0)]), pair(10, Some(3.0), &[("a", 5.0)])]);
        assert_eq!(m.n, Number::Int(10));
        assert_eq!(m.x, Some(Number::Float(2.0)));
        let half = 12.706 * (2.0f64 / 2.0).sqrt();
        let ci = ci.expect("two replicates have intervals");
        assert_eq!(ci.n, Some([10.0, 10.0]));
        let [lo, hi] = ci.x.unwrap();
        assert!((lo - (2.0 - half)).abs() < 1e-12 && (hi - (2.0 + half)).abs() < 1e-12, "[{lo}, {hi}] vs 2 ± {half}");
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"n":10,"x":2.0,"by":{"a":3.0}}"#);
        let (m2, _) = Pair::mean_of(&[pair(10, None, &[]), pair(12, None, &[])]);
        assert_eq!(m2.n, Number::Float(11.0));
    }

    #[test]
    fn a_figure_a_replicate_lacks_keeps_the_first_value_and_no_interval() {
        let (m, ci) = Pair::mean_of(&[pair(1, Some(1.0), &[("a", 1.0), ("b", 2.0)]), pair(1, None, &[("a", 3.0)])]);
        assert_eq!((m.x, m.by.get("b")), (Some(Number::Float(1.0)), Some(&Number::Float(2.0))));
        let ci = ci.unwrap();
        assert_eq!(ci.x, None);
        assert_eq!(ci.by.as_ref().map(|b| b.0.len()), Some(1), "only `a` has an interval: {ci:?}");
        let text = serde_json::to_string(&ci).unwrap();
        assert!(!text.contains("\"x\""), "{text}");
        let back: PairCi = serde_json::from_str(&text).unwrap();
        assert_eq!(back, ci);
    }

    #[test]
    fn bounds_take_each_figure_s_interval_end_or_nan() {
        let (m, ci) = Pair::mean_of(&[pair(1, Some(1.0), &[("a", 1.0)]), pair(3, None, &[("a", 3.0)])]);
        let low = m.bound(ci.as_ref(), 0);
        let half = 12.706 * (2.0f64 / 2.0).sqrt();
        assert_eq!(low.n, Number::Float(2.0 - half));
        assert_eq!(low.by.get("a"), Some(&Number::Float(2.0 - half)));
        // `x` had no interval (a replicate lacked it): its bound is unknown.
        assert!(matches!(low.x, Some(Number::Float(v)) if v.is_nan()), "{:?}", low.x);
    }

    #[test]
    fn one_replicate_has_no_intervals() {
        let one = pair(3, Some(0.5), &[("a", 1.0)]);
        let (m, ci) = Pair::mean_of(std::slice::from_ref(&one));
        assert_eq!((m, ci), (one, None));
    }
}
