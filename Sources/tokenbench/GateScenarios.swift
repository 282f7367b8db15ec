import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import TokenClient
import TokenCore
import TokenGate
import TokenHTTP
import TokenPrometheus
import TokenWire

/// tokengate's routes on an HTTP server in this process, in front of the session's validator
/// (1,000,000 revocations mirrored by `ensureRevocations`), recording into a Prometheus registry as
/// the `tokengate` process does: `/auth` under keep-alive load against the gate's own `/healthz`
/// (`gate.auth`), and a revocation's way to `/auth` (`gate.propagation`).
struct GateScenarios {
    let session: BenchSession

    /// Keep-alive connections of the full-rate measurements.
    static let connections = 32

    /// `/auth` with the 10,000 live tokens of `verify.warm`, each verified once before, from 32
    /// keep-alive connections, alternating rounds with `/healthz` from the same generator (the
    /// baseline) and with a path that has no route (a 404: the HTTP server alone, in the note); then
    /// the latency of `/auth` at about half its rate, from the smallest closed loop that reaches it.
    func auth() async throws -> ScenarioResult {
        let tokens = try await session.verifiedLiveTokens()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let result = try await withGate { port in try await measureAuth(port: port, tokens: tokens, group: group) }
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func measureAuth(port: Int, tokens: [String], group: any EventLoopGroup) async throws -> ScenarioResult {
        let auth = HTTPLoad(requests: tokens.map(Self.authRequest), expectedStatus: 200)
        let health = HTTPLoad(requests: [Self.request("/healthz")], expectedStatus: 200)
        // No route at all: what the HTTP server costs alone, reported beside the baseline.
        let nowhere = HTTPLoad(requests: [Self.request("/nowhere")], expectedStatus: 404)
        let duration = session.settings.duration
        var rounds: [(auth: Double, health: Double, nowhere: Double)] = []
        for _ in 0..<session.settings.rounds {
            let healthRate = try await health.measure(
                port: port, connections: Self.connections, duration: duration, group: group
            ).rate
            let authRate = try await auth.measure(
                port: port, connections: Self.connections, duration: duration, group: group
            ).rate
            let nowhereRate = try await nowhere.measure(
                port: port, connections: Self.connections, duration: duration, group: group
            ).rate
            rounds.append((authRate, healthRate, nowhereRate))
        }
        let median = rounds.sorted { $0.auth / $0.health < $1.auth / $1.health }[rounds.count / 2]
        var half = (rate: 0.0, latency: LatencyRecorder(), connections: 0)
        for connections in [1, 2, 4, 8, 16, 32] {
            let outcome = try await auth.measure(port: port, connections: connections, duration: duration, group: group)
            half = (outcome.rate, outcome.latency, connections)
            if outcome.rate >= median.auth / 2 { break }
        }
        return ScenarioResult(
            name: "gate.auth", opsPerSecond: median.auth, latency: half.latency,
            note: "/auth, \(Self.connections) keep-alive connections, 10,000 warm tokens, "
                + "\(session.validator.state.revocations) revocations mirrored; /healthz \(Int(median.health))/s, "
                + "a 404 \(Int(median.nowhere))/s (\(Int((median.auth / median.nowhere * 100).rounded())) %); "
                + "latencies at \(half.connections) connection\(half.connections == 1 ? "" : "s"), \(Int(half.rate))/s"
        ).compared(to: "gate /healthz", rate: median.health)
    }

    /// Times each revocation from the Revoke's answer until `/auth` refuses the token (polled on one
    /// kept-alive connection); each token was accepted, and so cached, just before.
    func propagation() async throws -> ScenarioResult {
        let tokens = try await session.issue(session.settings.propagations)
        return try await withGate { port in
            let probe = try await HTTPProbe.connect(port: port)
            var latency = LatencyRecorder()
            do {
                for token in tokens {
                    let request = Self.authRequest(token.accessToken)
                    guard try await probe.status(of: request) == 200 else {
                        throw ValidationError("a fresh token was not accepted")
                    }
                    _ = try await session.client.revoke(RevokeRequest(target: .tokenID(token.tokenID)))
                    let answered = ContinuousClock.now
                    var status = 200
                    while status == 200 {
                        guard ContinuousClock.now - answered < .seconds(5) else {
                            throw ValidationError("/auth accepted a token revoked 5 s ago")
                        }
                        status = try await probe.status(of: request)
                    }
                    guard status == 401 else { throw ValidationError("/auth answered \(status) for a revoked token") }
                    latency.record(ContinuousClock.now - answered)
                }
            } catch {
                await probe.close()
                throw error
            }
            await probe.close()
            return ScenarioResult(
                name: "gate.propagation", latency: latency,
                note: "Revoke answered → /auth 401, \(tokens.count) revocations, polled on one connection")
        }
    }

    /// `GET path` on a kept-alive connection, with `headers` (each line ending in CRLF).
    static func request(_ path: String, headers: String = "") -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: gate\r\n\(headers)\r\n".utf8)
    }

    static func authRequest(_ token: String) -> [UInt8] {
        request("/auth", headers: "Authorization: Bearer \(token)\r\n")
    }

    /// Runs `body` with a gate on a free loopback port in front of the session's validator, with the
    /// `tokengate` process's limits; the server is stopped before this returns.
    private func withGate<T>(_ body: (Int) async throws -> T) async throws -> T {
        let (registry, factory) = PrometheusBootstrap.makeFactory()
        let routes = GateRoutes(
            validator: session.validator, introspectionKey: nil, metricsText: { registry.emitToString() },
            metricsFactory: factory)
        var configuration = HTTPServerConfiguration.gate
        configuration.port = 0
        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let server = HTTPServer(configuration: configuration, responder: routes, logger: logger)
        let task = Task { try await server.run() }
        do {
            let result = try await body(try await server.listeningAddress().port)
            task.cancel()
            _ = await task.result
            return result
        } catch {
            task.cancel()
            _ = await task.result
            throw error
        }
    }
}
