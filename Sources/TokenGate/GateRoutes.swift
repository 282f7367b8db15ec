import Metrics
import NIOHTTP1
import TokenClient
import TokenHTTP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `tokengate` serves, as a responder for `HTTPServer`: forward auth (`/auth`, any method),
/// RFC 7662 introspection (`POST /introspect`, when given an introspection key), the
/// validator's state (`/healthz`) and the metrics (`/metrics`). Every answer comes from one
/// `TokenValidator`: no request reaches `tokend` unless the validator needs to ask it.
public struct GateRoutes: HTTPResponder {
    let validator: TokenValidator
    /// The key callers of `POST /introspect` present; nil: the route is not served (404).
    let introspectionKey: String?
    let metricsText: (@Sendable () -> String)?
    private let metrics: GateMetrics

    /// Creates the routes.
    /// - Parameters:
    ///   - validator: decides every token; run it (it is a `Service`) beside the server.
    ///   - introspectionKey: the key callers of `POST /introspect` present (Basic password or bearer
    ///     token); nil: the route is not served (404).
    ///   - metricsText: the Prometheus text of `/metrics`; nil: `/metrics` is 404.
    ///   - metricsFactory: where the request metrics are recorded (the process's backend by default).
    public init(
        validator: TokenValidator,
        introspectionKey: String?,
        metricsText: (@Sendable () -> String)? = nil,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.validator = validator
        self.introspectionKey = introspectionKey
        self.metricsText = metricsText
        self.metrics = GateMetrics(factory: metricsFactory)
    }

    /// Answers one request and records it in the metrics.
    /// - Parameter request: the request.
    /// - Returns: the route's answer, 404 or 405.
    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        let started = ContinuousClock.now
        let (response, outcome) = await answer(request)
        metrics.record(outcome, duration: ContinuousClock.now - started)
        return response
    }

    private func answer(_ request: HTTPRequest) async -> (HTTPResponse, GateOutcome) {
        switch request.path {
        case "/auth":
            return await forwardAuth(request)
        case "/introspect" where introspectionKey != nil:
            guard request.method == .POST else { return Self.methodNotAllowed(allow: "POST") }
            return await introspect(request)
        case "/healthz":
            guard request.method == .GET || request.method == .HEAD else { return Self.methodNotAllowed() }
            return health()
        case "/metrics" where metricsText != nil:
            guard request.method == .GET || request.method == .HEAD, let metricsText else {
                return Self.methodNotAllowed()
            }
            return (
                HTTPResponse(status: .ok, headers: ["content-type": "text/plain; version=0.0.4"], body: metricsText()),
                .metrics
            )
        default:
            return (HTTPResponse(status: .notFound, body: "not found\n"), .notFound)
        }
    }

    /// 200 with the validator's state as JSON while it can answer on its own (keys loaded, mirror
    /// fresh), else 503 with the same body.
    private func health() -> (HTTPResponse, GateOutcome) {
        let state = validator.state
        let body = (try? JSONEncoder().encode(state)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return (
            HTTPResponse(
                status: state.isReady ? .ok : .serviceUnavailable,
                headers: ["content-type": "application/json", "cache-control": "no-store"],
                body: body + "\n"
            ),
            state.isReady ? .healthReady : .healthNotReady
        )
    }

    static func methodNotAllowed(allow: String = "GET, HEAD") -> (HTTPResponse, GateOutcome) {
        (
            HTTPResponse(status: .methodNotAllowed, headers: ["allow": allow], body: "method not allowed\n"),
            .methodNotAllowed
        )
    }
}
