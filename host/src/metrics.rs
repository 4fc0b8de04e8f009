//! Prometheus metrics, served at `/metrics`: what an operator graphs to see
//! whether devices are reporting and plugins are keeping up.

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every metric the host exports.
pub struct Metrics {
    registry: Registry,
    events_handled: IntCounterVec,
    failures: IntCounterVec,
    denied: IntCounterVec,
    handler_seconds: HistogramVec,
    instantiations: IntCounterVec,
    readings: IntCounterVec,
    readings_purged: IntCounter,
    mqtt_messages: IntCounterVec,
    mqtt_connected: IntGauge,
    suspended: IntGaugeVec,
    reading_handled_seconds: HistogramVec,
    lag_seconds: GaugeVec,
    notify_messages: IntCounterVec,
    notify_deliveries: IntCounterVec,
    notify_escalations: IntCounter,
    quota_exceeded: IntCounterVec,
    log_dropped: IntCounterVec,
}

const INSTALLATION: &[&str] = &["community", "plugin", "installation"];

/// Registers `metric` and hands it back. Every name and label set is fixed
/// in this file, so an invalid or repeated one is a bug, not a condition.
fn register<M: Collector + Clone + 'static>(
    registry: &Registry,
    metric: prometheus::Result<M>,
) -> M {
    let metric = metric.expect("valid metric");
    registry
        .register(Box::new(metric.clone()))
        .expect("unique metric");
    metric
}

fn labels<'a>(extra: &'a [&'a str]) -> Vec<&'a str> {
    INSTALLATION.iter().chain(extra).copied().collect()
}

impl Metrics {
    /// A fresh set of metrics in its own registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, extra: &[&str]| {
            register(
                &registry,
                IntCounterVec::new(Opts::new(name, help), &labels(extra)),
            )
        };
        let events_handled = counter(
            "linli_events_handled_total",
            "Events a plugin handled successfully.",
            &[],
        );
        let failures = counter(
            "linli_plugin_failures_total",
            "Plugin calls that failed, by reason (trap, deadline, memory-limit, plugin-error).",
            &["reason"],
        );
        let denied = counter(
            "linli_denied_calls_total",
            "Host calls refused because the installation lacks the grant.",
            &["capability"],
        );
        let instantiations = counter(
            "linli_instantiations_total",
            "Plugin instances created.",
            &[],
        );
        let quota_exceeded = counter(
            "linli_quota_exceeded_total",
            "Host calls refused with `limit` because an installation's quota was reached, by quota.",
            &["quota"],
        );
        let log_dropped = counter(
            "linli_log_lines_dropped_total",
            "Plugin log lines dropped because the installation logged past its rate.",
            &[],
        );
        let handler_seconds = register(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    "linli_handler_duration_seconds",
                    "Time spent in one plugin call.",
                )
                .buckets(vec![
                    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 1.0,
                ]),
                &labels(&["call"]),
            ),
        );
        let readings = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "linli_readings_ingested_total",
                    "Readings received, by result (accepted, rejected).",
                ),
                &["result"],
            ),
        );
        let readings_purged = register(
            &registry,
            IntCounter::new(
                "linli_readings_purged_total",
                "Readings deleted after their community's retention.",
            ),
        );
        let mqtt_messages = register(
            &registry,
            IntCounterVec::new(
            Opts::new(
                "linli_mqtt_messages_total",
                "MQTT messages on the readings topics, by result (accepted, replayed, bad-topic, \
                 malformed, bad-token, too-large, key-reused, error).",
            ),
            &["result"],
        ),
        );
        let mqtt_connected = register(
            &registry,
            IntGauge::new(
                "linli_mqtt_connected",
                "1 while the MQTT bridge is connected and subscribed to the readings topics.",
            ),
        );
        let suspended = register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "linli_installation_suspended",
                    "1 while an installation is suspended.",
                ),
                INSTALLATION,
            ),
        );
        let reading_handled_seconds = register(
            &registry,
            HistogramVec::new(
            HistogramOpts::new(
                "linli_reading_handled_seconds",
                "Time from a reading's durable append to the commit of the plugin's handling of it.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1,
                0.25, 0.5, 1.0, 5.0, 30.0,
            ]),
            INSTALLATION,
        ),
        );
        let lag_seconds = register(
            &registry,
            GaugeVec::new(
            Opts::new(
                "linli_installation_lag_seconds",
                "How long the oldest reading an installation has yet to handle has waited (0 when caught up).",
            ),
            INSTALLATION,
        ),
        );
        let notify_messages = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "linli_notify_messages_total",
                    "Messages plugins sent, by severity.",
                ),
                &["severity"],
            ),
        );
        let notify_deliveries = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "linli_notify_deliveries_total",
                    "Delivery attempts by channel and result (delivered, retry, dead, suppressed).",
                ),
                &["channel", "result"],
            ),
        );
        let notify_escalations = register(
            &registry,
            IntCounter::new(
                "linli_notify_escalations_total",
                "Escalation steps run because nobody acknowledged a message in time.",
            ),
        );
        Self {
            registry,
            notify_messages,
            notify_deliveries,
            notify_escalations,
            reading_handled_seconds,
            lag_seconds,
            events_handled,
            failures,
            denied,
            handler_seconds,
            instantiations,
            readings,
            readings_purged,
            mqtt_messages,
            mqtt_connected,
            suspended,
            quota_exceeded,
            log_dropped,
        }
    }

    /// Metrics bound to one installation's labels.
    pub fn installation(
        &self,
        community: &str,
        plugin: &str,
        installation: &str,
    ) -> InstallationMetrics {
        let ids = [community, plugin, installation];
        InstallationMetrics {
            ids: ids.map(str::to_owned),
            events_handled: self.events_handled.with_label_values(&ids),
            failures: self.failures.clone(),
            denied: self.denied.clone(),
            handler_seconds: self.handler_seconds.clone(),
            instantiations: self.instantiations.with_label_values(&ids),
            suspended: self.suspended.clone(),
            reading_handled_seconds: self.reading_handled_seconds.with_label_values(&ids),
            lag_seconds: self.lag_seconds.with_label_values(&ids),
            quota_exceeded: self.quota_exceeded.clone(),
            log_dropped: self.log_dropped.with_label_values(&ids),
        }
    }

    /// Counts one ingested batch.
    pub fn readings_ingested(&self, accepted: usize, rejected: usize) {
        self.readings
            .with_label_values(&["accepted"])
            .inc_by(accepted as u64);
        self.readings
            .with_label_values(&["rejected"])
            .inc_by(rejected as u64);
    }

    /// Counts readings deleted after their retention.
    pub fn readings_purged(&self, readings: u64) {
        self.readings_purged.inc_by(readings);
    }

    /// Counts one MQTT message on a readings topic by what became of it.
    pub fn mqtt_message(&self, result: &str) {
        self.mqtt_messages.with_label_values(&[result]).inc();
    }

    /// Whether the MQTT bridge is connected and subscribed.
    pub fn set_mqtt_connected(&self, connected: bool) {
        self.mqtt_connected.set(i64::from(connected));
    }

    /// Counts a message sent.
    pub fn notify_message(&self, severity: &str) {
        self.notify_messages.with_label_values(&[severity]).inc();
    }

    /// Counts `count` deliveries on `channel` that came to `result`.
    pub fn notify_deliveries(&self, channel: &str, result: &str, count: u64) {
        self.notify_deliveries
            .with_label_values(&[channel, result])
            .inc_by(count);
    }

    /// Counts an escalation step run.
    pub fn notify_escalation(&self) {
        self.notify_escalations.inc();
    }

    /// What this host counted of one installation since it started, read
    /// from the registry without creating a series the installation lacks.
    pub fn installation_counts(
        &self,
        community: &str,
        plugin: &str,
        installation: &str,
    ) -> InstallationCounts {
        let ids = [community, plugin, installation];
        let ours = |metric: &prometheus::proto::Metric| {
            INSTALLATION.iter().zip(ids).all(|(name, value)| {
                metric
                    .get_label()
                    .iter()
                    .any(|l| l.name() == *name && l.value() == value)
            })
        };
        let mut counts = InstallationCounts::default();
        for family in self.registry.gather() {
            for metric in family.get_metric() {
                if !ours(metric) {
                    continue;
                }
                match family.name() {
                    "linli_events_handled_total" => {
                        counts.events_handled = metric.get_counter().get_value() as u64;
                    }
                    "linli_plugin_failures_total" => {
                        let reason = metric
                            .get_label()
                            .iter()
                            .find(|l| l.name() == "reason")
                            .map(|l| l.value().to_owned())
                            .unwrap_or_default();
                        counts
                            .failures
                            .insert(reason, metric.get_counter().get_value() as u64);
                    }
                    "linli_installation_lag_seconds" => {
                        counts.lag_seconds = metric.get_gauge().get_value();
                    }
                    _ => {}
                }
            }
        }
        counts
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding never fails");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// One installation's counts since the host started (see
/// [`Metrics::installation_counts`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct InstallationCounts {
    /// Events handled successfully.
    pub events_handled: u64,
    /// Failed calls by reason (`trap`, `deadline`, `memory-limit`, `instantiate`, `plugin-error`).
    pub failures: std::collections::BTreeMap<String, u64>,
    /// How long the oldest reading it has yet to handle has waited.
    pub lag_seconds: f64,
}

/// One installation's metrics.
#[derive(Clone)]
pub struct InstallationMetrics {
    ids: [String; 3],
    events_handled: IntCounter,
    failures: IntCounterVec,
    denied: IntCounterVec,
    handler_seconds: HistogramVec,
    instantiations: IntCounter,
    suspended: IntGaugeVec,
    reading_handled_seconds: Histogram,
    lag_seconds: Gauge,
    quota_exceeded: IntCounterVec,
    log_dropped: IntCounter,
}

impl InstallationMetrics {
    fn with<'a>(&'a self, extra: &'a str) -> [&'a str; 4] {
        [&self.ids[0], &self.ids[1], &self.ids[2], extra]
    }

    pub fn event_handled(&self) {
        self.events_handled.inc();
    }

    pub fn failed(&self, reason: &str) {
        self.failures.with_label_values(&self.with(reason)).inc();
    }

    pub fn denied(&self, capability: &str) {
        self.denied.with_label_values(&self.with(capability)).inc();
    }

    /// Counts a call refused because `quota` was reached.
    pub fn quota_exceeded(&self, quota: &str) {
        self.quota_exceeded
            .with_label_values(&self.with(quota))
            .inc();
    }

    /// Counts log lines dropped past the installation's rate.
    pub fn log_dropped(&self, lines: u64) {
        self.log_dropped.inc_by(lines);
    }

    pub fn instantiated(&self) {
        self.instantiations.inc();
    }

    /// Records how long one call (`init`, `event` or `command`) took.
    pub fn observe_call(&self, call: &str, seconds: f64) {
        self.handler_seconds
            .with_label_values(&self.with(call))
            .observe(seconds);
    }

    /// Records how long a reading waited in the log until its handling committed.
    pub fn reading_handled(&self, waited_ms: i64) {
        self.reading_handled_seconds
            .observe(waited_ms.max(0) as f64 / 1000.0);
    }

    /// Sets how long the oldest reading still to handle has waited.
    pub fn set_lag(&self, waited_ms: i64) {
        self.lag_seconds.set(waited_ms.max(0) as f64 / 1000.0);
    }

    pub fn set_suspended(&self, suspended: bool) {
        let [c, p, i] = &self.ids;
        self.suspended
            .with_label_values(&[c, p, i])
            .set(i64::from(suspended));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_installations_counts_are_its_own_and_reading_them_adds_no_series() {
        let metrics = Metrics::new();
        let ours = metrics.installation("c", "p", "i");
        ours.event_handled();
        ours.event_handled();
        ours.failed("trap");
        metrics.installation("c", "p", "other").event_handled();
        let counts = metrics.installation_counts("c", "p", "i");
        assert_eq!(counts.events_handled, 2);
        assert_eq!(counts.failures.get("trap"), Some(&1));
        let before = metrics.render();
        assert_eq!(
            metrics.installation_counts("c", "p", "nobody"),
            InstallationCounts::default()
        );
        assert_eq!(metrics.render(), before);
    }
}
