import Metrics

/// The gate's request metrics: `token_gate_requests_total{route,outcome}` and
/// `token_gate_request_duration_seconds{route,outcome}` (from the request's arrival at the
/// responder to its answer). The handles are made once; recording one costs an array lookup.
struct GateMetrics: Sendable {
    private let handles: [(counter: Counter, timer: Timer)]

    init(factory: any MetricsFactory) {
        handles = GateOutcome.allCases.map { outcome in
            let dimensions = [("route", outcome.route), ("outcome", outcome.outcome)]
            return (
                Counter(label: "token_gate_requests_total", dimensions: dimensions, factory: factory),
                Timer(label: "token_gate_request_duration_seconds", dimensions: dimensions, factory: factory)
            )
        }
    }

    /// Counts one request and its duration.
    func record(_ outcome: GateOutcome, duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let handle = handles[outcome.rawValue]
        handle.counter.increment()
        handle.timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
