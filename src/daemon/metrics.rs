//! Prometheus metrics of the pipeline: what was polled, found, matched and delivered, and how long
//! it took. One [`Metrics`] lives for the whole process (it survives config reloads, so counters
//! never reset behind a scraper's back); stages record into it, `/metrics` encodes it.
//!
//! Label values are config names (sources, watchlists, sinks), never URLs or titles, so the
//! number of series is bounded by the config.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceOutcome {
    pub source: String,
    /// polls: ok | not_modified | error; WebSub pushes: accepted | bad_signature |
    /// unparsable | too_large | deferred | unknown_subscription (source ""); WebSub requests:
    /// sent | failed
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// extracted | entry_fallback
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WatchlistLabel {
    pub watchlist: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkOutcome {
    pub sink: String,
    /// delivered | retry | dead
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    pub sink: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// pending | delivered | dead
    pub state: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    pub polls: Family<SourceOutcome, Counter>,
    pub entries: Family<SourceLabel, Counter>,
    pub articles: Family<OutcomeLabel, Counter>,
    pub alerts: Family<WatchlistLabel, Counter>,
    pub deliveries: Family<SinkOutcome, Counter>,
    pub outbox: Family<StateLabel, Gauge>,
    /// Content pushed by WebSub hubs, by outcome (accepted, bad_signature, …).
    pub websub_pushes: Family<SourceOutcome, Counter>,
    /// WebSub subscription requests (first ones and renewals), sent or failed.
    pub websub_requests: Family<SourceOutcome, Counter>,
    pub poll_seconds: Histogram,
    pub article_seconds: Histogram,
    /// From the alert's creation (its entry committed) to the sink accepting it, for messages
    /// sent one by one (alerts of sinks without a digest, source-health messages).
    pub delivery_latency_seconds: HistogramFamily<SinkLabel>,
    /// The same for alerts sent in a digest, kept apart because it includes the window wait.
    pub digest_delivery_latency_seconds: HistogramFamily<SinkLabel>,
}

fn latency_histogram() -> Histogram {
    // 10 ms … ~5.8 h: a healthy delivery takes well under a second, a retried one hours
    Histogram::new(exponential_buckets(0.01, 3.0, 14))
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("wirewatch");
        let polls = Family::<SourceOutcome, Counter>::default();
        let entries = Family::<SourceLabel, Counter>::default();
        let articles = Family::<OutcomeLabel, Counter>::default();
        let alerts = Family::<WatchlistLabel, Counter>::default();
        let deliveries = Family::<SinkOutcome, Counter>::default();
        let outbox = Family::<StateLabel, Gauge>::default();
        let websub_pushes = Family::<SourceOutcome, Counter>::default();
        let websub_requests = Family::<SourceOutcome, Counter>::default();
        let poll_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let article_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let delivery_latency_seconds: HistogramFamily<SinkLabel> =
            Family::new_with_constructor(latency_histogram);
        let digest_delivery_latency_seconds: HistogramFamily<SinkLabel> =
            Family::new_with_constructor(latency_histogram);
        registry.register("polls", "Source polls by outcome", polls.clone());
        registry.register("entries", "New entries found", entries.clone());
        registry.register(
            "articles",
            "Articles built, extracted from their page or from the feed entry",
            articles.clone(),
        );
        registry.register("alerts", "Alerts created", alerts.clone());
        registry.register(
            "deliveries",
            "Delivery attempts by outcome",
            deliveries.clone(),
        );
        registry.register("outbox", "Outbox rows by state", outbox.clone());
        registry.register(
            "websub_pushes",
            "Content pushed by WebSub hubs, by outcome",
            websub_pushes.clone(),
        );
        registry.register(
            "websub_requests",
            "WebSub subscription requests, by outcome",
            websub_requests.clone(),
        );
        registry.register(
            "poll_duration_seconds",
            "Time of one poll of a source, its new articles included",
            poll_seconds.clone(),
        );
        registry.register(
            "article_duration_seconds",
            "Time to fetch and extract one article page",
            article_seconds.clone(),
        );
        registry.register(
            "delivery_latency_seconds",
            "From alert creation to acceptance by the sink, alerts sent one by one",
            delivery_latency_seconds.clone(),
        );
        registry.register(
            "digest_delivery_latency_seconds",
            "From alert creation to acceptance by the sink, alerts sent in a digest (window wait included)",
            digest_delivery_latency_seconds.clone(),
        );
        Metrics {
            registry,
            polls,
            entries,
            articles,
            alerts,
            deliveries,
            outbox,
            websub_pushes,
            websub_requests,
            poll_seconds,
            article_seconds,
            delivery_latency_seconds,
            digest_delivery_latency_seconds,
        }
    }

    pub fn poll(&self, source: &str, outcome: &str) {
        self.polls
            .get_or_create(&SourceOutcome {
                source: source.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn delivery(&self, sink: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&SinkOutcome {
                sink: sink.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // writing into a String cannot fail
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 17): a digest's alerts, which waited for their window, were counted in
    /// the same latency histogram as alerts sent one by one.
    #[test]
    fn digest_latency_is_read_apart_from_single_alerts() {
        let metrics = Metrics::new();
        let label = SinkLabel {
            sink: "hook".to_string(),
        };
        metrics
            .digest_delivery_latency_seconds
            .get_or_create(&label)
            .observe(3600.0);
        let text = metrics.encode();
        assert!(
            text.contains("wirewatch_digest_delivery_latency_seconds_count{sink=\"hook\"} 1"),
            "{text}"
        );
        assert!(
            !text.contains("wirewatch_delivery_latency_seconds_count{sink=\"hook\"}"),
            "{text}"
        );
    }
}
