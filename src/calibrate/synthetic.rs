//! Synthetic gateway logs from a known catalog: the ground truth that calibration must recover.
//!
//! Each endpoint gets `requests_per_endpoint` requests with the same output length, interleaved in
//! time (one request per second across endpoints). Per request, from its own random stream keyed by
//! (seed, request index): one uniform decides success (`u < availability`), one TTFT draw, and for a
//! success one decode-speed draw; latency is TTFT plus output tokens over decode speed, as the
//! engine computes it without RTT. Failed requests record their TTFT as latency and no TTFT.

use rand::RngExt;

use crate::catalog::Catalog;
use crate::engine::rng::RequestRng;
use crate::trace::Trace;
use crate::trace::import::{Carried, Request, build_trace, status};

/// A recorded trace drawn from `catalog`.
pub fn synthetic_log(catalog: &Catalog, requests_per_endpoint: usize, output_tokens: u32, seed: u64) -> Trace {
    let n_endpoints = catalog.endpoints.len();
    let mut requests = Vec::with_capacity(n_endpoints * requests_per_endpoint);
    for k in 0..requests_per_endpoint {
        for (e, ep) in catalog.endpoints.iter().enumerate() {
            let index = (k * n_endpoints + e) as u64;
            let mut rng = RequestRng::new(seed, 0, index);
            let ok = rng.random::<f64>() < ep.availability;
            let ttft = ep.ttft.sample(&mut rng);
            let (latency, ttft_rec) =
                if ok { (ttft + ep.decode.decode_time(output_tokens, &mut rng), Some(ttft)) } else { (ttft, None) };
            requests.push(Request {
                timestamp_s: index as f64,
                input_tokens: 500,
                output_tokens: if ok { output_tokens } else { 0 },
                model: Some(ep.model.clone()),
                region: Some(ep.region.clone()),
                latency_s: Some(latency),
                ttft_s: ttft_rec,
                status: Some(if ok { status::OK } else { status::FAILED }.to_string()),
                ..Request::default()
            });
        }
    }
    let carried =
        Carried { model: true, region: true, latency_s: true, ttft_s: true, status: true, ..Carried::default() };
    build_trace(format!("synthetic log of {} (seed {seed})", catalog.name), requests, carried)
}
