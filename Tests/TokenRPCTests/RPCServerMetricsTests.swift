import MetricsTestKit
import Testing

@testable import TokenRPC

/// The RPC server's metrics, recorded into a test backend (nothing is bootstrapped).
@Suite struct RPCServerMetricsTests {
    static let issue = "/token.v1.TokenService/Issue"

    @Test func callsAreCountedByMethodAndCodeWithTheirDurations() throws {
        let backend = TestMetrics()
        let metrics = RPCServerMetrics(methodNames: [Self.issue], factory: backend)
        metrics.record(method: Self.issue, code: .ok, duration: .microseconds(250))
        metrics.record(method: Self.issue, code: .ok, duration: .milliseconds(2))
        metrics.record(method: Self.issue, code: .unauthenticated, duration: .microseconds(10))

        let ok = try backend.expectCounter("token_rpc_calls_total", [("method", Self.issue), ("code", "OK")])
        #expect(ok.totalValue == 2)
        let refused = try backend.expectCounter(
            "token_rpc_calls_total",
            [("method", Self.issue), ("code", "UNAUTHENTICATED")]
        )
        #expect(refused.totalValue == 1)
        let durations = try backend.expectTimer("token_rpc_call_duration_seconds", [("method", Self.issue)])
        #expect(durations.values == [250_000, 2_000_000, 10_000])
    }

    @Test func methodsTheServerDoesNotServeShareOneLabel() throws {
        let backend = TestMetrics()
        let metrics = RPCServerMetrics(methodNames: [Self.issue], factory: backend)
        for index in 0..<100 {
            metrics.record(method: "/made.Up/Method\(index)", code: .unimplemented, duration: .zero)
        }
        let unknown = try backend.expectCounter(
            "token_rpc_calls_total",
            [("method", "unknown"), ("code", "UNIMPLEMENTED")]
        )
        #expect(unknown.totalValue == 100)
        // One label value per served method, plus "unknown": clients cannot add any.
        let methods = Set(backend.counters(label: "token_rpc_calls_total").flatMap { counter in
            counter.dimensions.filter { $0.0 == "method" }.map(\.1)
        })
        #expect(methods == [Self.issue, "unknown"])
    }
}
