//! Prometheus metrics of the edge: requests, errors per `__type` and latency per operation.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub operation: String,
    pub error_type: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub requests: Family<OperationLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub latency: Family<OperationLabels, Histogram, fn() -> Histogram>,
    /// User import files streaming in now (at most `upload::MAX_CONCURRENT_UPLOADS`).
    pub uploads: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("cognate");
        let requests = Family::<OperationLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let latency = Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "requests",
            "AWS-protocol requests per operation",
            requests.clone(),
        );
        registry.register(
            "errors",
            "Error responses per operation and __type",
            errors.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer per operation",
            latency.clone(),
        );
        let uploads = Gauge::default();
        registry.register(
            "import_uploads_in_progress",
            "User import files streaming in",
            uploads.clone(),
        );
        Self {
            registry: Arc::new(registry),
            requests,
            errors,
            latency,
            uploads,
        }
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
