import Metrics
import Prometheus

/// The Prometheus backend of a process (`tokend`, `tokengate`): bootstrapped once by the executable;
/// the libraries only record through swift-metrics.
public enum PrometheusBootstrap {
    /// Bootstraps swift-metrics with a Prometheus registry whose duration histograms have buckets
    /// from 50 µs to 5 s (calls and requests take microseconds to milliseconds; the default buckets
    /// start at 5 ms). Call it at most once per process.
    /// - Parameter valueBuckets: buckets of value histograms (recorders), by label.
    /// - Returns: the registry, whose `emitToString()` is the text of `/metrics`.
    public static func bootstrap(valueBuckets: [String: [Double]] = [:]) -> PrometheusCollectorRegistry {
        let (registry, factory) = makeFactory(valueBuckets: valueBuckets)
        MetricsSystem.bootstrap(factory)
        return registry
    }

    /// The same backend without bootstrapping it (for a benchmark that records as a process would).
    /// - Parameter valueBuckets: buckets of value histograms (recorders), by label.
    /// - Returns: the registry and a factory that records into it.
    public static func makeFactory(
        valueBuckets: [String: [Double]] = [:]
    ) -> (registry: PrometheusCollectorRegistry, factory: PrometheusMetricsFactory) {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ]
        for (label, buckets) in valueBuckets {
            factory.valueHistogramBuckets[label] = buckets
        }
        return (registry, factory)
    }
}
