import Metrics
import Synchronization
import TokenCore
import TokenRPC

extension TokenService {
    /// The HTTP port's routes for this service: the JWK Set that GetKeys answers, readiness (the
    /// store answers a read, a signing key is loaded, a shared store's revocations are followed),
    /// and with `callers` the OAuth endpoints.
    /// - Parameters:
    ///   - readinessTimeout: how long readiness waits for the store.
    ///   - callers: who may call the OAuth endpoints; nil: they are not served.
    ///   - metrics: the Prometheus text of `/metrics`, or nil for no `/metrics`.
    /// - Returns: the routes, a responder for `HTTPServer`.
    public func httpRoutes(
        readinessTimeout: Duration = .seconds(2),
        callers: CallerRegistry? = nil,
        metrics: (@Sendable () -> String)? = nil
    ) -> HTTPRoutes {
        HTTPRoutes(
            keySet: { [keys] in
                let response = keys.snapshot.getKeysResponse
                return (response.jwksJSON, response.cacheMaxAgeSeconds)
            },
            readiness: { [self] in await self.readiness(timeout: readinessTimeout) },
            metrics: metrics,
            oauth: callers.map(oauthRoutes)
        )
    }

    /// Nil when ready; else why not.
    func readiness(timeout: Duration) async -> String? {
        guard !keys.snapshot.getKeysResponse.keys.isEmpty else { return "no signing keys loaded" }
        guard revocations.isCurrent() else { return "the shared store's revocations are not followed" }
        let store = self.store
        // Unstructured, so that a store that never answers cannot hold the probe past its timeout.
        let answer = OnceAnswer()
        return await withCheckedContinuation { continuation in
            answer.set(continuation)
            let timer = Task {
                try? await Task.sleep(for: timeout)
                answer.resume(with: "store did not answer within \(timeout)")
            }
            Task {
                do {
                    _ = try await store.session(id: "readiness-probe")
                    answer.resume(with: nil)
                } catch {
                    answer.resume(with: "store unreachable")
                }
                timer.cancel()
            }
        }
    }
}

/// Resumes a continuation with the first answer only.
private final class OnceAnswer: Sendable {
    private let continuation = Mutex<CheckedContinuation<String?, Never>?>(nil)

    func set(_ continuation: CheckedContinuation<String?, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(with answer: String?) {
        continuation.withLock { $0.take() }?.resume(returning: answer)
    }
}

extension TokenService {
    /// Records the key ring's gauges: `token_signing_keys{state}` (how many keys are in each state)
    /// and `token_signing_key_age_seconds{state}` (the oldest key of each state, since it began
    /// signing or was published). Cheap: call it before each metrics export.
    public func recordKeyMetrics() {
        let now = clock.now()
        let entries = keys.snapshot.ring.entries
        for state in KeyRing.State.allCases {
            let inState = entries.filter { $0.state == state }
            Gauge(label: "token_signing_keys", dimensions: [("state", state.rawValue)]).record(inState.count)
            let age = inState.map { max(0, now - $0.notBefore) }.max() ?? 0
            Gauge(label: "token_signing_key_age_seconds", dimensions: [("state", state.rawValue)]).record(age)
        }
    }
}
