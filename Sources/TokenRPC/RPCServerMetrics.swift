import Metrics
import Synchronization

/// The RPC server's call metrics through swift-metrics (a no-op until the process bootstraps a
/// backend): `token_rpc_calls_total{method,code}` and `token_rpc_call_duration_seconds{method}`. (Its
/// listener counts refused connections and failed TLS handshakes.)
///
/// Handles are made once per method (and per method and status code on first use), so recording
/// a call costs a dictionary lookup, not a registry lookup. Methods the server does not serve are
/// counted as `unknown`, so clients cannot grow the label set.
final class RPCServerMetrics: Sendable {
    private struct MethodMetrics: Sendable {
        let name: String
        let ok: Counter
        let duration: Metrics.Timer
    }

    private static let unknown = "unknown"
    private let methods: [String: MethodMetrics]
    private let failures = Mutex<[String: [UInt32: Counter]]>([:])
    private let factory: any MetricsFactory

    /// - Parameters:
    ///   - methodNames: the methods served.
    ///   - factory: the metrics backend (the process's unless a test passes one).
    init(methodNames: some Sequence<String>, factory: any MetricsFactory = MetricsSystem.factory) {
        var methods: [String: MethodMetrics] = [:]
        for name in Array(methodNames) + [Self.unknown] {
            methods[name] = MethodMetrics(
                name: name,
                ok: Counter(
                    label: "token_rpc_calls_total",
                    dimensions: [("method", name), ("code", "OK")],
                    factory: factory
                ),
                duration: Metrics.Timer(
                    label: "token_rpc_call_duration_seconds",
                    dimensions: [("method", name)],
                    factory: factory
                )
            )
        }
        self.methods = methods
        self.factory = factory
    }

    /// Records one finished call.
    func record(method: String, code: RPCError.Code, duration: Duration) {
        guard let metrics = methods[method] ?? methods[Self.unknown] else { return }
        let name = metrics.name
        let (seconds, attoseconds) = duration.components
        metrics.duration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if code == .ok {
            metrics.ok.increment()
            return
        }
        let counter = failures.withLock { failures in
            if let counter = failures[name]?[code.rawValue] {
                return counter
            }
            let counter = Counter(
                label: "token_rpc_calls_total",
                dimensions: [("method", name), ("code", "\(code)")],
                factory: factory
            )
            failures[name, default: [:]][code.rawValue] = counter
            return counter
        }
        counter.increment()
    }
}
