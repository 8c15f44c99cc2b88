//! The catalog: endpoints (model x region) with their latency, availability, prices, quality,
//! capabilities and limits, and the round-trip times between regions.
//!
//! [`spec`] holds the YAML shapes; [`Catalog::from_spec`] validates them once (reporting every
//! problem together, with its line) into the typed [`Catalog`] that the rest of the program trusts.
//! An embedded default catalog ([`Catalog::default_catalog`]) is built from a public 2026 field
//! report; see `src/catalog/default.yaml` for the source of every figure.
//!
//! Deliberately absent: no sampling loops and no routing; limits are stored and validated here and
//! enforced by engines that model time.

pub mod dist;
pub mod prices;
pub mod spec;

use std::collections::BTreeMap;
use std::path::Path;

pub use dist::{DecodeDist, LatencyDist};
use spec::{CatalogSpec, DecodeSpec, LatencySpec, LimitsSpec, ModelSpec, PricesSpec};

use crate::error::{Place, Problems, Result, one_of};
use crate::yaml::{self, Spanned, line_of};

/// The embedded default catalog's YAML.
pub const DEFAULT_CATALOG_YAML: &str = include_str!("default.yaml");

/// Prices in dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    pub cached_input_per_mtok: f64,
}

impl Prices {
    /// Dollars for one request.
    #[inline]
    pub fn cost_usd(&self, input_tokens: u32, cached_input_tokens: u32, output_tokens: u32) -> f64 {
        let uncached = input_tokens.saturating_sub(cached_input_tokens) as f64;
        (uncached * self.input_per_mtok
            + cached_input_tokens as f64 * self.cached_input_per_mtok
            + output_tokens as f64 * self.output_per_mtok)
            / 1e6
    }
}

/// Quality per request class.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quality {
    pub per_class: BTreeMap<String, f64>,
    pub default: Option<f64>,
}

impl Quality {
    pub fn for_class(&self, class: &str) -> Option<f64> {
        self.per_class.get(class).copied().or(self.default)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Capabilities {
    pub vision: bool,
    pub audio: bool,
    pub max_context_tokens: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub max_concurrency: Option<u64>,
}

/// One model served in one region.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `model@region`.
    pub id: String,
    pub model: String,
    pub region: String,
    pub model_idx: usize,
    pub region_idx: usize,
    pub provider: String,
    pub family: String,
    pub tier: String,
    pub ttft: LatencyDist,
    pub decode: DecodeDist,
    pub availability: f64,
    pub prices: Prices,
    pub quality: Quality,
    pub capabilities: Capabilities,
    pub limits: Limits,
    /// The OpenAI-compatible base URL clients append `/chat/completions` to, without a trailing
    /// `/`; `None` when the catalog gives none (only URL-based exports need it).
    pub base_url: Option<String>,
    /// Where each figure comes from.
    pub sources: BTreeMap<String, String>,
}

/// A validated catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub name: String,
    pub models: Vec<String>,
    /// Endpoint regions first (in order of appearance), then origin-only regions from the RTT table.
    pub regions: Vec<String>,
    pub endpoints: Vec<Endpoint>,
    /// `rtt_s[a][b]`: seconds between region `a` and region `b`; `None` if not given.
    rtt_s: Vec<Vec<Option<f64>>>,
}

impl Catalog {
    /// The embedded default catalog.
    pub fn default_catalog() -> Catalog {
        Catalog::from_yaml_str(DEFAULT_CATALOG_YAML, Path::new("<embedded default catalog>"))
            .expect("the embedded default catalog is valid (tested)")
    }

    /// Read and validate a catalog file.
    pub fn load(path: &Path) -> Result<Catalog> {
        yaml::load(path, Catalog::from_spec)
    }

    pub fn from_yaml_str(text: &str, origin: &Path) -> Result<Catalog> {
        yaml::load_str(text, origin, Catalog::from_spec)
    }

    /// Validate a parsed catalog, reporting every problem at once.
    pub fn from_spec(spec: &CatalogSpec, origin: &Path) -> Result<Catalog> {
        let mut problems = Problems::default();
        let at = |line: Option<usize>, field: &str| Place::file(origin).maybe_line(line).field(field);
        if spec.version != 1 {
            problems.push(at(None, "version"), format!("unknown version {}", spec.version), "use `version: 1`");
        }
        let mut models: Vec<String> = Vec::new();
        let mut regions: Vec<String> = Vec::new();
        let mut endpoints: Vec<Endpoint> = Vec::new();
        for model in &spec.models {
            let name = model.name.value.trim().to_string();
            let model_line = line_of(&model.name);
            if name.is_empty() || name.contains('@') || name.contains(char::is_whitespace) {
                problems.push(
                    at(model_line, "name"),
                    format!("model name {:?} is not usable", model.name.value),
                    "use a non-empty name without spaces or `@` (endpoints are named model@region)",
                );
                continue;
            }
            if models.contains(&name) {
                problems.push(
                    at(model_line, "name"),
                    format!("duplicate model `{name}`"),
                    "list each model once and put its regions under `regions:`",
                );
                continue;
            }
            models.push(name.clone());
            let model_idx = models.len() - 1;
            if model.regions.0.is_empty() {
                problems.push(
                    at(model_line, "regions"),
                    format!("model `{name}` lists no regions"),
                    "add `regions: {us-east-1: {}}` (one key per region it is served in)",
                );
            }
            let mut seen_regions: Vec<String> = Vec::new();
            for (region_key, over) in &model.regions.0 {
                let region = region_key.value.trim().to_string();
                let region_line = line_of(region_key);
                if seen_regions.contains(&region) {
                    problems.push(
                        at(region_line, "regions"),
                        format!("duplicate endpoint `{name}@{region}`"),
                        "list each region of a model once",
                    );
                    continue;
                }
                seen_regions.push(region.clone());
                if !regions.contains(&region) {
                    regions.push(region.clone());
                }
                let region_idx = regions.iter().position(|r| *r == region).unwrap();
                let id = format!("{name}@{region}");
                if let Some(ep) = resolve_endpoint(
                    model,
                    over,
                    &id,
                    model_idx,
                    region_idx,
                    &region,
                    origin,
                    region_line,
                    &mut problems,
                ) {
                    endpoints.push(ep);
                }
            }
        }
        if spec.models.is_empty() {
            problems.push(at(None, "models"), "the catalog has no models", "add at least one model under `models:`");
        }
        // Regions that appear only in the RTT table (origins without endpoints).
        for (from, row) in &spec.rtt_s.0 {
            for name in std::iter::once(&from.value).chain(row.0.iter().map(|(k, _)| &k.value)) {
                if !regions.contains(name) {
                    regions.push(name.clone());
                }
            }
        }
        let n = regions.len();
        let mut rtt_s: Vec<Vec<Option<f64>>> = vec![vec![None; n]; n];
        for (i, row) in rtt_s.iter_mut().enumerate() {
            row[i] = Some(0.0);
        }
        let idx = |r: &str| regions.iter().position(|x| x == r).unwrap();
        // Explicit entries win over mirrored ones, so first mirror, then set explicit values.
        for pass in 0..2 {
            for (from, row) in &spec.rtt_s.0 {
                for (to, v) in &row.0 {
                    let (a, b) = (idx(&from.value), idx(&to.value));
                    if pass == 0 {
                        if !(v.is_finite() && *v >= 0.0) {
                            problems.push(
                                at(line_of(to), &format!("rtt_s.{}.{}", from.value, to.value)),
                                format!("round-trip time {v} is not a non-negative number of seconds"),
                                "give seconds, e.g. 0.08",
                            );
                        }
                        rtt_s[b][a] = Some(*v);
                    } else {
                        rtt_s[a][b] = Some(*v);
                    }
                }
            }
        }
        problems.finish()?;
        Ok(Catalog { name: spec.name.clone().unwrap_or_else(|| "catalog".into()), models, regions, endpoints, rtt_s })
    }

    /// Endpoint index by id (`model@region`).
    pub fn endpoint_index(&self, id: &str) -> Option<usize> {
        self.endpoints.iter().position(|e| e.id == id)
    }

    pub fn endpoint_ids(&self) -> impl Iterator<Item = &str> {
        self.endpoints.iter().map(|e| e.id.as_str())
    }

    pub fn region_index(&self, region: &str) -> Option<usize> {
        self.regions.iter().position(|r| r == region)
    }

    /// RTT in seconds from origin region `origin` to the region of endpoint `endpoint_idx`.
    /// An unspecified origin (trace without an origin column) has zero RTT everywhere.
    pub fn rtt_s(&self, origin: &str, endpoint_idx: usize) -> Option<f64> {
        if origin == crate::trace::UNSPECIFIED_ORIGIN {
            return Some(0.0);
        }
        let a = self.region_index(origin)?;
        self.rtt_s[a][self.endpoints[endpoint_idx].region_idx]
    }

    /// Check that every origin region has an RTT to every endpoint region; one problem per origin.
    pub fn check_origins<'a>(&self, origins: impl IntoIterator<Item = &'a str>, trace_name: &str) -> Result<()> {
        let mut problems = Problems::default();
        for origin in origins {
            let missing: Vec<String> = (0..self.endpoints.len())
                .filter(|&e| self.rtt_s(origin, e).is_none())
                .map(|e| self.endpoints[e].region.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if !missing.is_empty() {
                problems.push(
                    Place::file(trace_name).field("origin_region"),
                    format!("origin region `{origin}` has no round-trip time to {}", one_of(&missing)),
                    format!("add `rtt_s: {{{origin}: {{{}: 0.1}}}}` (seconds) to the catalog", missing[0]),
                );
            }
        }
        problems.finish()
    }
}

#[allow(clippy::too_many_arguments)]
fn resolve_endpoint(
    model: &ModelSpec,
    over: &spec::RegionOverride,
    id: &str,
    model_idx: usize,
    region_idx: usize,
    region: &str,
    origin: &Path,
    region_line: Option<usize>,
    problems: &mut Problems,
) -> Option<Endpoint> {
    let before = problems.0.len();
    let model_name = &model.name.value;
    // A figure set on the model is reported once under the model's name (not once per region); a
    // figure from a region override under the endpoint's id.
    let at = |line: Option<usize>, field: &str| {
        Place::file(origin).maybe_line(line.or(region_line)).field(format!("{id}: {field}"))
    };
    let at_src = |from_region: bool, line: Option<usize>, field: &str| {
        let owner = if from_region { id.to_string() } else { model_name.clone() };
        Place::file(origin).maybe_line(line.or(region_line)).field(format!("{owner}: {field}"))
    };

    let ttft_spec = over.ttft.as_ref().or(model.ttft.as_ref());
    let mut ttft = match ttft_spec {
        None => {
            problems.push(
                at(line_of(&model.name), "ttft"),
                "no time-to-first-token distribution",
                "add e.g. `ttft: {lognormal: {median_s: 0.5, p99_s: 1.5}}` to the model or this region",
            );
            None
        }
        Some(s) => latency_dist(s, &at_src(over.ttft.is_some(), line_of(s), "ttft"), problems),
    };
    if let Some(scale) = &over.ttft_scale {
        if !(scale.value.is_finite() && scale.value > 0.0) {
            problems.push(
                at(line_of(scale), "ttft_scale"),
                format!("scale {} must be > 0", scale.value),
                "e.g. `ttft_scale: 1.1`",
            );
        } else {
            ttft = ttft.map(|d| d.scaled(scale.value));
        }
    }
    let decode = match over.decode.as_ref().or(model.decode.as_ref()) {
        None => {
            problems.push(
                at(line_of(&model.name), "decode"),
                "no decode speed",
                "add e.g. `decode: {constant: 60}` (output tokens per second)",
            );
            None
        }
        Some(s) => decode_dist(s, &at_src(over.decode.is_some(), line_of(s), "decode"), problems),
    };
    let availability = match over.availability.as_ref().or(model.availability.as_ref()) {
        None => 1.0,
        Some(a) => {
            if !(a.value > 0.0 && a.value <= 1.0) {
                problems.push(
                    at_src(over.availability.is_some(), line_of(a), "availability"),
                    format!("availability {} is not a probability in (0, 1]", a.value),
                    "give the probability that one attempt succeeds, e.g. 0.999",
                );
            }
            a.value
        }
    };
    let prices = match over.prices.as_ref().or(model.prices.as_ref()) {
        None => {
            problems.push(
                at(line_of(&model.name), "prices"),
                "no prices",
                "add `prices: {input_per_mtok: 0.07, output_per_mtok: 0.25}` (dollars per million tokens)",
            );
            None
        }
        Some(p) => prices(
            p,
            over.price_scale.as_ref(),
            &at_src(over.prices.is_some() || over.price_scale.is_some(), line_of(p), "prices"),
            problems,
        ),
    };
    let mut quality = Quality::default();
    for (class, q) in &model.quality {
        if !(0.0..=1.0).contains(&q.value) {
            problems.push(
                Place::file(origin).maybe_line(line_of(q)).field(format!("{model_name}: quality.{class}")),
                format!("quality {} is outside [0, 1]", q.value),
                "give a score between 0 and 1",
            );
        }
        if class == "default" {
            quality.default = Some(q.value);
        } else {
            quality.per_class.insert(class.clone(), q.value);
        }
    }
    let limits = limits(
        over.limits.as_ref().or(model.limits.as_ref()),
        &at_src(over.limits.is_some(), None, "limits"),
        problems,
    );
    if let Some(ctx) = model.capabilities.max_context_tokens
        && ctx == 0
    {
        problems.push(
            at(line_of(&model.name), "capabilities.max_context_tokens"),
            "0 tokens of context",
            "give the model's context window, e.g. 128000",
        );
    }
    let base_url = over
        .base_url
        .as_ref()
        .or(model.base_url.as_ref())
        .and_then(|u| base_url(u, &at_src(over.base_url.is_some(), line_of(u), "base_url"), problems));
    let mut sources = model.sources.clone();
    for (k, v) in &over.sources {
        sources.insert(k.clone(), v.clone());
    }
    if problems.0.len() > before {
        return None;
    }
    Some(Endpoint {
        id: id.to_string(),
        model: model_name.clone(),
        region: region.to_string(),
        model_idx,
        region_idx,
        provider: model.provider.clone().unwrap_or_else(|| model_name.clone()),
        family: model.family.clone().or_else(|| model.provider.clone()).unwrap_or_else(|| model_name.clone()),
        tier: model.tier.clone().unwrap_or_else(|| "standard".into()),
        ttft: ttft?,
        decode: decode?,
        availability,
        prices: prices?,
        quality,
        capabilities: Capabilities {
            vision: model.capabilities.vision,
            audio: model.capabilities.audio,
            max_context_tokens: model.capabilities.max_context_tokens,
        },
        limits,
        base_url,
        sources,
    })
}

/// A base URL as clients use it: http or https with a host; no user name or password (a key
/// belongs in the client's request, never in a catalog that exports copy from); no query or
/// fragment, since clients append the API path. Returned without a trailing `/`.
fn base_url(u: &Spanned<String>, place: &Place, problems: &mut Problems) -> Option<String> {
    let text = u.value.trim();
    let example = "e.g. `base_url: https://llm.example.com/v1` (clients append /chat/completions)";
    let mut bad = |message: String, fix: &str| {
        problems.push(place.clone(), message, fix);
        None
    };
    let url = match url::Url::parse(text) {
        Ok(url) => url,
        Err(e) => return bad(format!("base_url {text:?} is not a URL ({e})"), example),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return bad(format!("base_url {text:?} is not http or https"), example);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return bad(format!("base_url {text:?} has no host"), example);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad(
            format!("base_url {text:?} carries a user name or password"),
            "write the URL without credentials; the key goes in the client's Authorization header",
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad(format!("base_url {text:?} has a query or fragment"), example);
    }
    Some(text.trim_end_matches('/').to_string())
}

fn latency_dist(s: &Spanned<LatencySpec>, place: &Place, problems: &mut Problems) -> Option<LatencyDist> {
    let bad = |problems: &mut Problems, msg: String, fix: &str| {
        problems.push(place.clone(), msg, fix);
        None
    };
    match &s.value {
        LatencySpec::Fixed(v) => {
            if v.is_finite() && *v >= 0.0 {
                Some(LatencyDist::Fixed(*v))
            } else {
                bad(problems, format!("fixed latency {v} is not a non-negative number of seconds"), "e.g. `fixed: 0.5`")
            }
        }
        LatencySpec::Lognormal(l) => match (l.median_s, l.p99_s, l.mu, l.sigma) {
            (Some(m), Some(p99), None, None) => {
                if !(m > 0.0 && p99.is_finite() && p99 >= m) {
                    bad(
                        problems,
                        format!("lognormal needs 0 < median_s <= p99_s, got median_s {m}, p99_s {p99}"),
                        "give seconds with p99_s at least the median",
                    )
                } else {
                    Some(LatencyDist::lognormal_from_median_p99(m, p99))
                }
            }
            (None, None, Some(mu), Some(sigma)) => {
                if !(mu.is_finite() && sigma.is_finite() && sigma >= 0.0) {
                    bad(
                        problems,
                        format!("lognormal needs finite mu and sigma >= 0, got mu {mu}, sigma {sigma}"),
                        "sigma is the standard deviation of ln(seconds)",
                    )
                } else {
                    Some(LatencyDist::LogNormal { mu, sigma })
                }
            }
            _ => bad(
                problems,
                "lognormal takes either `median_s` and `p99_s`, or `mu` and `sigma`".into(),
                "e.g. `lognormal: {median_s: 1.1, p99_s: 1.8}`",
            ),
        },
        LatencySpec::Empirical(points) => {
            let ok = points.len() >= 2
                && points[0][0] == 0.0
                && points[points.len() - 1][0] == 1.0
                && points.windows(2).all(|w| w[1][0] > w[0][0] && w[1][1] >= w[0][1])
                && points.iter().all(|p| p[1].is_finite() && p[1] >= 0.0);
            if ok {
                Some(LatencyDist::Empirical {
                    probs: points.iter().map(|p| p[0]).collect(),
                    values: points.iter().map(|p| p[1]).collect(),
                })
            } else {
                bad(
                    problems,
                    "empirical quantiles must be [probability, seconds] pairs from probability 0 to 1, both increasing"
                        .into(),
                    "e.g. `empirical: [[0, 0.2], [0.5, 0.6], [0.99, 2.0], [1, 4.0]]`",
                )
            }
        }
    }
}

fn decode_dist(s: &Spanned<DecodeSpec>, place: &Place, problems: &mut Problems) -> Option<DecodeDist> {
    match &s.value {
        DecodeSpec::Constant(tps) if tps.is_finite() && *tps > 0.0 => Some(DecodeDist::Constant(*tps)),
        DecodeSpec::Lognormal { median, sigma }
            if median.is_finite() && *median > 0.0 && sigma.is_finite() && *sigma >= 0.0 =>
        {
            Some(DecodeDist::LogNormal { mu: median.ln(), sigma: *sigma })
        }
        other => {
            problems.push(
                place.clone(),
                format!("decode speed {other:?} is not positive tokens per second"),
                "e.g. `decode: {constant: 60}` or `decode: {lognormal: {median: 60, sigma: 0.2}}`",
            );
            None
        }
    }
}

fn prices(
    p: &Spanned<PricesSpec>,
    scale: Option<&Spanned<f64>>,
    place: &Place,
    problems: &mut Problems,
) -> Option<Prices> {
    let k = scale.map(|s| s.value).unwrap_or(1.0);
    let v = &p.value;
    let cached = v.cached_input_per_mtok.unwrap_or(v.input_per_mtok);
    let named = [
        ("input_per_mtok", v.input_per_mtok),
        ("output_per_mtok", v.output_per_mtok),
        ("cached_input_per_mtok", cached),
        ("price_scale", k),
    ];
    let bad: Vec<String> =
        named.iter().filter(|(_, x)| !(x.is_finite() && *x >= 0.0)).map(|(n, x)| format!("{n} is {x}")).collect();
    if !bad.is_empty() {
        problems.push(
            place.clone(),
            format!("prices must be non-negative dollars per million tokens: {}", bad.join(", ")),
            "e.g. `prices: {input_per_mtok: 0.07, output_per_mtok: 0.25}`",
        );
        return None;
    }
    Some(Prices {
        input_per_mtok: v.input_per_mtok * k,
        output_per_mtok: v.output_per_mtok * k,
        cached_input_per_mtok: cached * k,
    })
}

fn limits(l: Option<&LimitsSpec>, place: &Place, problems: &mut Problems) -> Limits {
    let Some(l) = l else { return Limits::default() };
    for (name, v) in [("rpm", l.rpm), ("tpm", l.tpm), ("max_concurrency", l.max_concurrency)] {
        if v == Some(0) {
            let mut p = place.clone();
            p.field = Some(format!("{}.{name}", p.field.clone().unwrap_or_default()));
            problems.push(
                p,
                format!("limit {name} is 0, so nothing could be served"),
                "remove the limit or give a positive number",
            );
        }
    }
    Limits { rpm: l.rpm, tpm: l.tpm, max_concurrency: l.max_concurrency }
}
