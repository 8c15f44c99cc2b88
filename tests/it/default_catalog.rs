//! The embedded default catalog (`src/catalog/default.yaml`).
//!
//! It must parse and validate; every figure must name its source (a citation of the 2026 field
//! report, or a labelled ASSUMPTION); it must reproduce the field-report figures it keeps within
//! [`FIELD_REPORT_TOL`] (closed form and by sampling with a fixed seed); its quality scores must
//! keep the report's ordering claims; and it must carry the trade-offs that make the optimizer's
//! cost-vs-p99 frontier a curve rather than a cliff (premium tiers, batch tiers, cheaper far
//! regions, better-but-slower-and-dearer models, cheap-but-bursty small models).

use std::collections::BTreeSet;
use std::path::Path;

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use switchyard::catalog::spec::CatalogSpec;
use switchyard::catalog::{Catalog, DEFAULT_CATALOG_YAML, Endpoint, LatencyDist};

/// Relative tolerance for reproducing a field-report figure.
const FIELD_REPORT_TOL: f64 = 0.05;
/// Prices are written exactly; only float rounding may differ.
const PRICE_TOL: f64 = 1e-12;
/// The region the report's figures are read as coming from.
const REFERENCE_REGION: &str = "us-east-1";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];
const CLASSES: [&str; 6] = ["code", "chat", "classify", "reasoning", "vision", "zh_docs"];
/// Every model carries these source keys (so every endpoint does).
const REQUIRED_SOURCES: [&str; 7] = ["ttft", "decode", "prices", "availability", "quality", "capabilities", "limits"];
const FIELD_REPORT_CITATION: &str = "field report 2026:";
const ASSUMPTION_LABEL: &str = "ASSUMPTION";

/// Output prices, dollars per million tokens, from the field report (Kimi K2.5: "3.00, up to 3.50").
const FIELD_REPORT_OUTPUT_PRICES: [(&str, f64); 14] = [
    ("deepseek-v4-flash", 0.25),
    ("deepseek-v3.2", 0.38),
    ("deepseek-v4-pro", 0.78),
    ("deepseek-r1", 2.50),
    ("deepseek-coder", 0.25),
    ("qwen3-8b", 0.01),
    ("qwen3-32b", 0.28),
    ("qwen3-coder-30b", 0.35),
    ("qwen3-vl-32b", 0.52),
    ("qwen3-omni-30b", 0.52),
    ("qwen3.5-397b", 2.34),
    ("kimi-k2.5", 3.00),
    ("glm-4-9b", 0.01),
    ("glm-5", 1.92),
];
const KIMI_MAX_OUTPUT_PRICE: f64 = 3.50;

/// p50 / p99 "latency of a typical 500-token completion", read as time to first token in us-east-1.
const FIELD_REPORT_TTFT: [(&str, f64, f64); 4] =
    [("deepseek-v4-flash", 1.1, 1.8), ("qwen3-32b", 1.3, 2.1), ("kimi-k2.5", 2.4, 4.2), ("glm-5", 1.5, 2.4)];

const FLASH_DECODE_TOKENS_PER_S: f64 = 60.0;
const KIMI_DECODE_RANGE: (f64, f64) = (30.0, 35.0);
const DEEPSEEK_AVAILABILITY: f64 = 0.999;
const MIN_CONTEXT_TOKENS: u64 = 128_000;
const VISION_MODELS: [&str; 3] = ["qwen3-vl-32b", "qwen3-omni-30b", "glm-4.6v"];
const AUDIO_MODELS: [&str; 1] = ["qwen3-omni-30b"];

const SAMPLE_SEED: u64 = 7;
const N_SAMPLES: usize = 200_000;

/// A day of ~1M requests peaks at ~17.4 req/s (1M / 86400 s x 1.5 at the diurnal peak).
const PEAK_REQUESTS_PER_S: f64 = 17.4;
/// Mean tokens per request in the reference workload's class mix (lognormal means).
const MEAN_INPUT_TOKENS: f64 = 1921.0;
const MEAN_OUTPUT_TOKENS: f64 = 544.0;
/// "Fits comfortably": every limit at least this multiple of the whole day's peak demand.
const LIMIT_HEADROOM: f64 = 1.5;
const MAIN_MODELS: [&str; 4] = ["deepseek-v4-flash", "qwen3-32b", "glm-5", "kimi-k2.5"];

fn catalog() -> Catalog {
    Catalog::from_yaml_str(DEFAULT_CATALOG_YAML, Path::new("src/catalog/default.yaml"))
        .unwrap_or_else(|e| panic!("the default catalog does not validate:\n{e}"))
}

fn endpoint<'a>(catalog: &'a Catalog, model: &str, region: &str) -> &'a Endpoint {
    catalog
        .endpoints
        .iter()
        .find(|e| e.model == model && e.region == region)
        .unwrap_or_else(|| panic!("no endpoint {model}@{region} in the default catalog"))
}

fn endpoints_of<'a>(catalog: &'a Catalog, model: &'a str) -> impl Iterator<Item = &'a Endpoint> + 'a {
    catalog.endpoints.iter().filter(move |e| e.model == model)
}

/// One endpoint per model, in the reference region (every model is served there).
fn reference_endpoints(catalog: &Catalog) -> Vec<&Endpoint> {
    catalog.models.iter().map(|m| endpoint(catalog, m, REFERENCE_REGION)).collect()
}

fn quality(e: &Endpoint, class: &str) -> f64 {
    e.quality.for_class(class).unwrap_or_else(|| panic!("{} has no quality for class {class}", e.id))
}

fn assert_close(what: &str, catalog_value: f64, report_value: f64, tol: f64) {
    let rel = (catalog_value - report_value).abs() / report_value.abs();
    assert!(
        rel <= tol,
        "{what}: catalog {catalog_value}, field report {report_value}, relative error {rel:.5} > {tol}"
    );
}

/// Nearest-rank empirical quantile of sorted values.
fn empirical_quantile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[test]
fn parses_validates_and_matches_the_embedded_constructor() {
    let catalog = catalog();
    assert_eq!(catalog, Catalog::default_catalog());
    assert!(!catalog.endpoints.is_empty());
    for region in REGIONS {
        let n = catalog.endpoints.iter().filter(|e| e.region == region).count();
        assert!(n > 0, "no endpoint in {region}");
    }
    // Every model is served in the reference region, where its figures are given.
    for model in &catalog.models {
        endpoint(&catalog, model, REFERENCE_REGION);
    }
    // DeepSeek, Qwen, Kimi and GLM are each served in all three regions.
    for family in ["deepseek", "qwen", "kimi", "glm"] {
        let regions: BTreeSet<&str> =
            catalog.endpoints.iter().filter(|e| e.family == family).map(|e| e.region.as_str()).collect();
        assert_eq!(regions, REGIONS.into_iter().collect(), "family {family} regions");
    }
}

#[test]
fn the_description_states_the_reading_and_rtts_are_sourced() {
    let spec: CatalogSpec =
        switchyard::yaml::from_str(DEFAULT_CATALOG_YAML, Path::new("default.yaml")).unwrap_or_else(|e| panic!("{e}"));
    let description = spec.description.expect("the default catalog has a description");
    assert!(description.contains("time to first token"), "description: {description}");
    assert!(description.contains("ASSUMPTION"), "description: {description}");
    let rtt_source = spec.rtt_source.expect("the default catalog has an rtt_source");
    assert!(rtt_source.starts_with(ASSUMPTION_LABEL), "rtt_source: {rtt_source}");

    let catalog = catalog();
    let expected = [
        ("us-east-1", "eu-west-1", 0.08),
        ("us-east-1", "ap-southeast-1", 0.20),
        ("eu-west-1", "ap-southeast-1", 0.16),
    ];
    let any_endpoint_in = |region: &str| catalog.endpoints.iter().position(|e| e.region == region).unwrap();
    for (a, b, rtt) in expected {
        assert_eq!(catalog.rtt_s(a, any_endpoint_in(b)), Some(rtt), "rtt {a} -> {b}");
        assert_eq!(catalog.rtt_s(b, any_endpoint_in(a)), Some(rtt), "rtt {b} -> {a}");
    }
    for region in REGIONS {
        assert_eq!(catalog.rtt_s(region, any_endpoint_in(region)), Some(0.0), "rtt within {region}");
    }
}

#[test]
fn every_figure_names_its_source() {
    let catalog = catalog();
    for e in &catalog.endpoints {
        for key in REQUIRED_SOURCES {
            assert!(e.sources.contains_key(key), "{} has no source for `{key}`", e.id);
        }
        for (key, source) in &e.sources {
            assert!(
                source.starts_with(FIELD_REPORT_CITATION) || source.starts_with(ASSUMPTION_LABEL),
                "{} source `{key}` neither cites the field report nor is labelled an assumption: {source}",
                e.id
            );
        }
    }
}

#[test]
fn output_prices_are_the_field_reports_in_the_reference_region() {
    let catalog = catalog();
    for (model, price) in FIELD_REPORT_OUTPUT_PRICES {
        let e = endpoint(&catalog, model, REFERENCE_REGION);
        let got = e.prices.output_per_mtok;
        assert!((got - price).abs() <= PRICE_TOL, "{}: output price catalog {got}, field report {price}", e.id);
    }
    // "$3.00 (up to $3.50)": every Kimi endpoint stays in that range.
    for e in endpoints_of(&catalog, "kimi-k2.5") {
        let got = e.prices.output_per_mtok;
        assert!(
            (3.00 - PRICE_TOL..=KIMI_MAX_OUTPUT_PRICE + PRICE_TOL).contains(&got),
            "{}: output price {got} outside the field report's 3.00-3.50",
            e.id
        );
    }
}

#[test]
fn input_and_cached_prices_follow_the_stated_assumption() {
    // ASSUMPTION in the catalog: input = 1/4 of output, cached input = 1/10 of input, everywhere.
    let catalog = catalog();
    for e in &catalog.endpoints {
        let p = e.prices;
        assert!(
            (p.input_per_mtok - p.output_per_mtok / 4.0).abs() <= PRICE_TOL,
            "{}: input {} is not 1/4 of output {}",
            e.id,
            p.input_per_mtok,
            p.output_per_mtok
        );
        assert!(
            (p.cached_input_per_mtok - p.input_per_mtok / 10.0).abs() <= PRICE_TOL,
            "{}: cached input {} is not 1/10 of input {}",
            e.id,
            p.cached_input_per_mtok,
            p.input_per_mtok
        );
    }
}

#[test]
fn ttft_reproduces_the_field_report_in_closed_form() {
    let catalog = catalog();
    for (model, p50, p99) in FIELD_REPORT_TTFT {
        let e = endpoint(&catalog, model, REFERENCE_REGION);
        assert_close(&format!("{} TTFT p50", e.id), e.ttft.quantile(0.5), p50, FIELD_REPORT_TOL);
        assert_close(&format!("{} TTFT p99", e.id), e.ttft.quantile(0.99), p99, FIELD_REPORT_TOL);
    }
}

#[test]
fn ttft_reproduces_the_field_report_by_sampling() {
    let catalog = catalog();
    for (model, p50, p99) in FIELD_REPORT_TTFT {
        let e = endpoint(&catalog, model, REFERENCE_REGION);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SAMPLE_SEED);
        let mut draws: Vec<f64> = (0..N_SAMPLES).map(|_| e.ttft.sample(&mut rng)).collect();
        draws.sort_by(f64::total_cmp);
        let what = |q: &str| format!("{} sampled TTFT {q} ({N_SAMPLES} draws, seed {SAMPLE_SEED})", e.id);
        assert_close(&what("p50"), empirical_quantile(&draws, 0.5), p50, FIELD_REPORT_TOL);
        assert_close(&what("p99"), empirical_quantile(&draws, 0.99), p99, FIELD_REPORT_TOL);
    }
}

#[test]
fn decode_speeds_are_the_field_reports() {
    let catalog = catalog();
    for e in endpoints_of(&catalog, "deepseek-v4-flash") {
        let median = e.decode.median_tokens_per_s();
        assert_close(&format!("{} decode median tokens/s", e.id), median, FLASH_DECODE_TOKENS_PER_S, FIELD_REPORT_TOL);
    }
    for e in endpoints_of(&catalog, "kimi-k2.5") {
        let median = e.decode.median_tokens_per_s();
        let (lo, hi) = KIMI_DECODE_RANGE;
        assert!(
            (lo..=hi).contains(&median),
            "{}: decode median {median} tokens/s outside the field report's {lo}-{hi}",
            e.id
        );
    }
}

#[test]
fn deepseek_availability_is_the_field_reports() {
    let catalog = catalog();
    let deepseek: Vec<&Endpoint> = catalog.endpoints.iter().filter(|e| e.family == "deepseek").collect();
    assert!(!deepseek.is_empty());
    for e in &deepseek {
        match e.region.as_str() {
            "us-east-1" | "eu-west-1" => {
                assert_eq!(e.availability, DEEPSEEK_AVAILABILITY, "{}", e.id)
            }
            // "One brief brownout in ap-southeast-1": slightly lower there, still within a tenth of a point.
            "ap-southeast-1" => assert!(
                e.availability < DEEPSEEK_AVAILABILITY && e.availability >= DEEPSEEK_AVAILABILITY - 0.001,
                "{}: availability {} is not slightly below {DEEPSEEK_AVAILABILITY}",
                e.id,
                e.availability
            ),
            other => panic!("unexpected region {other}"),
        }
    }
}

#[test]
fn capabilities_are_the_field_reports() {
    let catalog = catalog();
    for e in &catalog.endpoints {
        assert_eq!(e.capabilities.vision, VISION_MODELS.contains(&e.model.as_str()), "{} vision", e.id);
        assert_eq!(e.capabilities.audio, AUDIO_MODELS.contains(&e.model.as_str()), "{} audio", e.id);
        if e.family == "deepseek" || e.family == "kimi" {
            assert!(!e.capabilities.vision, "{}: the field report says no vision in DeepSeek or Kimi", e.id);
        }
        let ctx = e.capabilities.max_context_tokens;
        assert!(ctx.is_some_and(|c| c >= MIN_CONTEXT_TOKENS), "{}: max_context_tokens {ctx:?} < 128K", e.id);
    }
    for model in VISION_MODELS {
        assert!(endpoints_of(&catalog, model).next().is_some(), "vision model {model} is missing");
    }
}

#[test]
fn every_model_scores_every_class() {
    let catalog = catalog();
    for e in &catalog.endpoints {
        assert!(e.quality.default.is_some(), "{} has no default quality", e.id);
        for class in CLASSES {
            let q = e.quality.per_class.get(class).copied();
            assert!(q.is_some_and(|q| (0.0..=1.0).contains(&q)), "{}: quality for {class} is {q:?}", e.id);
        }
        // A model that cannot see the image cannot answer a vision request.
        if !e.capabilities.vision {
            assert_eq!(quality(e, "vision"), 0.0, "{}: no vision capability but a vision score", e.id);
        }
    }
}

/// The report's ordering claims, as asserted here:
/// * DeepSeek V4 Flash's code score is the maximum (ties allowed) among standard-tier models other
///   than Kimi K2.5 ("top tier on code"; V4 Pro ties it);
/// * Kimi K2.5's reasoning score is the strict maximum over all other models;
/// * GLM-5 and GLM-4.6V have the two highest zh_docs scores, strictly above every other model;
/// * every GLM model's code score is below every DeepSeek model's ("GLM weakest on code");
/// * Qwen3-32B's chat score is below V4 Flash's ("a notch below DeepSeek in English").
#[test]
fn quality_scores_keep_the_field_reports_ordering() {
    let catalog = catalog();
    let reference = reference_endpoints(&catalog);
    let flash = endpoint(&catalog, "deepseek-v4-flash", REFERENCE_REGION);
    let kimi = endpoint(&catalog, "kimi-k2.5", REFERENCE_REGION);

    for e in reference.iter().filter(|e| e.tier == "standard" && e.model != "kimi-k2.5") {
        assert!(
            quality(flash, "code") >= quality(e, "code"),
            "V4 Flash code {} < {} code {}",
            quality(flash, "code"),
            e.model,
            quality(e, "code")
        );
    }
    for e in reference.iter().filter(|e| e.model != kimi.model) {
        assert!(
            quality(kimi, "reasoning") > quality(e, "reasoning"),
            "Kimi K2.5 reasoning {} <= {} reasoning {}",
            quality(kimi, "reasoning"),
            e.model,
            quality(e, "reasoning")
        );
    }
    let zh_leaders = ["glm-5", "glm-4.6v"];
    for leader in zh_leaders {
        let l = endpoint(&catalog, leader, REFERENCE_REGION);
        for e in reference.iter().filter(|e| !zh_leaders.contains(&e.model.as_str())) {
            assert!(
                quality(l, "zh_docs") > quality(e, "zh_docs"),
                "{leader} zh_docs {} <= {} zh_docs {}",
                quality(l, "zh_docs"),
                e.model,
                quality(e, "zh_docs")
            );
        }
    }
    let family_code = |family: &str| -> Vec<(&str, f64)> {
        reference.iter().filter(|e| e.family == family).map(|e| (e.model.as_str(), quality(e, "code"))).collect()
    };
    let (glm, deepseek) = (family_code("glm"), family_code("deepseek"));
    assert!(!glm.is_empty() && !deepseek.is_empty());
    for (g, gq) in &glm {
        for (d, dq) in &deepseek {
            assert!(gq < dq, "GLM {g} code {gq} >= DeepSeek {d} code {dq}");
        }
    }
    let qwen = endpoint(&catalog, "qwen3-32b", REFERENCE_REGION);
    assert!(
        quality(qwen, "chat") < quality(flash, "chat"),
        "Qwen3-32B chat {} >= V4 Flash chat {}",
        quality(qwen, "chat"),
        quality(flash, "chat")
    );
}

#[test]
fn limits_take_a_million_request_day_on_the_main_endpoints() {
    let catalog = catalog();
    for e in &catalog.endpoints {
        let l = e.limits;
        assert!(l.rpm.is_some() && l.tpm.is_some() && l.max_concurrency.is_some(), "{}: limits {l:?}", e.id);
    }
    let peak_rpm = PEAK_REQUESTS_PER_S * 60.0;
    let peak_tpm = peak_rpm * (MEAN_INPUT_TOKENS + MEAN_OUTPUT_TOKENS);
    for model in MAIN_MODELS {
        for e in endpoints_of(&catalog, model) {
            // Little's law: requests in flight = arrival rate x mean time in service.
            let service_s = e.ttft.mean() + MEAN_OUTPUT_TOKENS / e.decode.median_tokens_per_s();
            let in_flight = PEAK_REQUESTS_PER_S * service_s;
            let (rpm, tpm, conc) = (e.limits.rpm.unwrap(), e.limits.tpm.unwrap(), e.limits.max_concurrency.unwrap());
            assert!(rpm as f64 >= LIMIT_HEADROOM * peak_rpm, "{}: rpm {rpm} vs peak {peak_rpm:.0}/min", e.id);
            assert!(tpm as f64 >= LIMIT_HEADROOM * peak_tpm, "{}: tpm {tpm} vs peak {peak_tpm:.0}/min", e.id);
            assert!(
                conc as f64 >= LIMIT_HEADROOM * in_flight,
                "{}: max_concurrency {conc} vs {in_flight:.0} in flight",
                e.id
            );
        }
    }
}

#[test]
fn premium_tiers_are_faster_and_dearer_than_their_standard() {
    let catalog = catalog();
    let mut pairs = 0;
    for premium in catalog.endpoints.iter().filter(|e| e.tier == "premium") {
        let base_model =
            premium.model.strip_suffix("-priority").or_else(|| premium.model.strip_suffix("-turbo")).unwrap_or_else(
                || panic!("premium model {} is not named <model>-priority or <model>-turbo", premium.model),
            );
        let base = endpoint(&catalog, base_model, &premium.region);
        assert_eq!(premium.family, base.family);
        assert!(
            premium.ttft.quantile(0.5) < base.ttft.quantile(0.5),
            "{} TTFT median not below {}",
            premium.id,
            base.id
        );
        assert!(
            premium.ttft.quantile(0.99) < base.ttft.quantile(0.99),
            "{} TTFT p99 not below {}",
            premium.id,
            base.id
        );
        assert!(
            premium.decode.median_tokens_per_s() > base.decode.median_tokens_per_s(),
            "{} decode not faster than {}",
            premium.id,
            base.id
        );
        assert!(
            premium.prices.output_per_mtok > base.prices.output_per_mtok,
            "{} output price {} not above {}'s {}",
            premium.id,
            premium.prices.output_per_mtok,
            base.id,
            base.prices.output_per_mtok
        );
        pairs += 1;
    }
    assert!(pairs >= 2, "expected premium tiers of at least two models, found {pairs} premium endpoints");
}

#[test]
fn within_a_family_faster_is_sometimes_dearer() {
    let catalog = catalog();
    let found = catalog.endpoints.iter().any(|fast| {
        catalog.endpoints.iter().any(|slow| {
            fast.family == slow.family
                && fast.region == slow.region
                && fast.ttft.quantile(0.5) < slow.ttft.quantile(0.5)
                && fast.prices.output_per_mtok > slow.prices.output_per_mtok
        })
    });
    assert!(found, "no same-family, same-region pair where the faster endpoint is dearer");
}

#[test]
fn batch_tiers_are_cheaper_and_slower_than_their_standard() {
    let catalog = catalog();
    let batch: Vec<&Endpoint> = catalog.endpoints.iter().filter(|e| e.tier == "batch").collect();
    assert!(!batch.is_empty(), "no batch tier");
    for b in batch {
        let base_model = b.model.strip_suffix("-batch").expect("batch models are named <model>-batch");
        let base = endpoint(&catalog, base_model, &b.region);
        assert_eq!(base.tier, "standard");
        assert!(b.prices.output_per_mtok < base.prices.output_per_mtok, "{} not cheaper than {}", b.id, base.id);
        assert!(b.prices.input_per_mtok < base.prices.input_per_mtok, "{} input not cheaper than {}", b.id, base.id);
        assert!(b.ttft.quantile(0.5) > base.ttft.quantile(0.5), "{} TTFT median not above {}", b.id, base.id);
        assert!(b.ttft.quantile(0.99) > base.ttft.quantile(0.99), "{} TTFT p99 not above {}", b.id, base.id);
    }
}

#[test]
fn some_regions_are_cheaper_but_farther_and_slower() {
    let catalog = catalog();
    let mut cheaper = Vec::new();
    for e in catalog.endpoints.iter().filter(|e| e.region != REFERENCE_REGION) {
        let reference = endpoint(&catalog, &e.model, REFERENCE_REGION);
        if e.prices.output_per_mtok < reference.prices.output_per_mtok {
            // A price_scale < 1: every price component scaled alike.
            let k = e.prices.output_per_mtok / reference.prices.output_per_mtok;
            assert!((e.prices.input_per_mtok - k * reference.prices.input_per_mtok).abs() <= PRICE_TOL, "{}", e.id);
            // Slower there, and farther from a us-east-1 user.
            assert!(e.ttft.quantile(0.5) > reference.ttft.quantile(0.5), "{} cheaper but not slower", e.id);
            let idx = catalog.endpoint_index(&e.id).unwrap();
            assert!(catalog.rtt_s(REFERENCE_REGION, idx).unwrap() > 0.0, "{}", e.id);
            cheaper.push(e.id.clone());
        }
    }
    assert!(cheaper.iter().any(|id| id.starts_with("deepseek-v4-flash@")), "cheaper endpoints: {cheaper:?}");
}

#[test]
fn better_models_are_slower_and_dearer_than_flash() {
    let catalog = catalog();
    let flash = endpoint(&catalog, "deepseek-v4-flash", REFERENCE_REGION);
    for model in ["kimi-k2.5", "glm-5", "qwen3.5-397b"] {
        let e = endpoint(&catalog, model, REFERENCE_REGION);
        let better_at: Vec<&str> = CLASSES.into_iter().filter(|c| quality(e, c) > quality(flash, c)).collect();
        assert!(!better_at.is_empty(), "{model} is better than V4 Flash at no class");
        assert!(e.prices.output_per_mtok > flash.prices.output_per_mtok, "{model} not dearer than V4 Flash");
        assert!(e.ttft.quantile(0.5) > flash.ttft.quantile(0.5), "{model} TTFT median not above V4 Flash's");
        assert!(e.decode.median_tokens_per_s() < flash.decode.median_tokens_per_s(), "{model} decode not slower");
    }
}

#[test]
fn cheap_small_models_have_bursty_tails() {
    let catalog = catalog();
    let flash = endpoint(&catalog, "deepseek-v4-flash", REFERENCE_REGION);
    for model in ["qwen3-8b", "glm-4-9b"] {
        let e = endpoint(&catalog, model, REFERENCE_REGION);
        assert!(e.prices.output_per_mtok < flash.prices.output_per_mtok);
        let LatencyDist::LogNormal { sigma, .. } = e.ttft else { panic!("{}: TTFT is not lognormal", e.id) };
        assert!((0.55..=0.65).contains(&sigma), "{}: TTFT sigma {sigma}, expected about 0.6", e.id);
        assert!(
            e.ttft.quantile(0.99) > flash.ttft.quantile(0.99),
            "{}: p99 {} not above V4 Flash's {}",
            e.id,
            e.ttft.quantile(0.99),
            flash.ttft.quantile(0.99)
        );
    }
}
