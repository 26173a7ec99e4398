//! Prometheus metrics, served as text at `/metrics`: conducts by verb and outcome, step latency
//! by step kind, journal append latency, guest fuel and resolve time, HTTP requests by route
//! and status, and gauges read at scrape time (conducts running here, sandbox cache counters).

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder, exponential_buckets,
};

/// The host's metrics. One per server.
pub struct Metrics {
    registry: Registry,
    /// `baton_conducts_total{verb, outcome}`: outcome is the status a conduct left the
    /// procedure in (`completed`, `held`, `aborted`, `running` after a halt) or `refused`.
    pub conducts: IntCounterVec,
    /// `baton_step_duration_seconds{kind}`: from a step's start (its `in_flight` marker, or the
    /// previous step's outcome for a check) to its outcome, from the journal's timestamps.
    pub step_seconds: HistogramVec,
    /// `baton_journal_append_seconds`: one journal append (a step boundary), as the host waits.
    pub journal_append_seconds: Histogram,
    /// `baton_guest_fuel`: fuel one resolution burned.
    pub guest_fuel: Histogram,
    /// `baton_guest_resolve_seconds`: wall time of one resolution.
    pub resolve_seconds: Histogram,
    /// `baton_http_requests_total{method, route, status}`.
    pub http_requests: IntCounterVec,
    /// `baton_http_request_duration_seconds{route}`.
    pub http_seconds: HistogramVec,
    /// `baton_conducts_running`: conducts running in this process at scrape time.
    pub running: IntGauge,
    /// `baton_sandbox_loads{source}`: component loads since start, by where the sandbox found
    /// them (`compiled`, `disk`, `memory`, `disk_rejected`); read at scrape time.
    pub sandbox_loads: IntGaugeVec,
}

fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: Result<C, prometheus::Error>,
) -> Result<C, prometheus::Error> {
    let collector = collector?;
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let seconds = exponential_buckets(0.0005, 2.5, 16)?;
        Ok(Metrics {
            registry: registry.clone(),
            conducts: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new("baton_conducts_total", "Conduct verbs by verb and outcome"),
                    &["verb", "outcome"],
                ),
            )?,
            step_seconds: registered(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new("baton_step_duration_seconds", "Step latency by kind")
                        .buckets(seconds.clone()),
                    &["kind"],
                ),
            )?,
            journal_append_seconds: registered(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "baton_journal_append_seconds",
                        "Latency of one journal append",
                    )
                    .buckets(exponential_buckets(0.00005, 2.5, 14)?),
                ),
            )?,
            guest_fuel: registered(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new("baton_guest_fuel", "Fuel one guest resolution burned")
                        .buckets(exponential_buckets(1e4, 10.0, 7)?),
                ),
            )?,
            resolve_seconds: registered(
                &registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "baton_guest_resolve_seconds",
                        "Wall time of one guest resolution",
                    )
                    .buckets(seconds.clone()),
                ),
            )?,
            http_requests: registered(
                &registry,
                IntCounterVec::new(
                    Opts::new(
                        "baton_http_requests_total",
                        "HTTP requests by route and status",
                    ),
                    &["method", "route", "status"],
                ),
            )?,
            http_seconds: registered(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "baton_http_request_duration_seconds",
                        "HTTP request latency by route",
                    )
                    .buckets(seconds),
                    &["route"],
                ),
            )?,
            running: registered(
                &registry,
                IntGauge::new("baton_conducts_running", "Conducts running in this process"),
            )?,
            sandbox_loads: registered(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "baton_sandbox_loads",
                        "Component loads since start, by where the sandbox found them",
                    ),
                    &["source"],
                ),
            )?,
        })
    }

    /// Counts a conduct verb's end.
    pub fn conduct(&self, verb: &str, outcome: &str) {
        self.conducts.with_label_values(&[verb, outcome]).inc();
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn renders_what_was_recorded() {
        let m = Metrics::new().unwrap();
        m.conduct("try-conduct", "held");
        m.step_seconds
            .with_label_values(&["setpoint"])
            .observe(0.25);
        let text = m.render().unwrap();
        assert!(text.contains(r#"baton_conducts_total{outcome="held",verb="try-conduct"} 1"#));
        assert!(text.contains(r#"baton_step_duration_seconds_count{kind="setpoint"} 1"#));
    }
}
