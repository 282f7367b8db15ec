import ArgumentParser
import NIOCore
import NIOPosix
import Synchronization
import TokenClient
import TokenCore
import TokenWire

/// The service over loopback: Validate pipelined, and Issue, Refresh and Revoke from 64 callers, each
/// durable (`validate.rpc`, `issue.rpc`, `refresh.rpc`, `revoke.rpc`, and on the Redis store
/// `issue.rpc.redis`, `refresh.rpc.redis`, `revoke.rpc.redis`).
struct RPCScenarios {
    let session: BenchSession

    /// Validate over loopback with pipelined calls (4 connections × 32 in flight), then the latency
    /// of each call at about half that rate: the raw generator with fewer calls in flight.
    func validateRPC() async throws -> ScenarioResult {
        let request = ValidateRequest(token: session.sample.accessToken, audience: "api")
        let expected = ByteBuffer(bytes: try await session.client.validate(request).serializedBytes())
        let load = PipelinedLoad(
            method: TokenServiceMethod.validate, payloads: [request.serializedBytes()], credential: "bench",
            accept: { $0 == expected })
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let full = try await load.measure(
                host: session.endpoint.host, port: session.endpoint.port, connections: 4, depth: 32,
                duration: session.settings.duration, group: group)
            // Closed loops of growing size; the first at or past half the full rate is reported.
            var half = full
            var halfLoad = (connections: 4, depth: 32)
            for (connections, depth) in [(1, 1), (2, 1), (4, 1), (4, 2), (4, 4), (4, 8), (4, 16)] {
                let outcome = try await load.measure(
                    host: session.endpoint.host, port: session.endpoint.port, connections: connections, depth: depth,
                    duration: session.settings.duration, group: group)
                half = outcome
                halfLoad = (connections, depth)
                if outcome.rate >= full.rate / 2 { break }
            }
            try await group.shutdownGracefully()
            return ScenarioResult(
                name: "validate.rpc", opsPerSecond: full.rate, latency: half.latency,
                note: "4 connections × 32 in flight; latencies at "
                    + "\(halfLoad.connections) × \(halfLoad.depth) in flight, \(Int(half.rate))/s"
            ).compared(
                to: "verify.raw × \(session.cores) cores",
                rate: try session.rawRate("verify.raw", .verify) * Double(session.cores))
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    func issueRPC(
        _ name: String = "issue.rpc",
        client: TokenServiceClient? = nil,
        note: String = "durable, embedded store, 64 callers"
    ) async throws -> ScenarioResult {
        let client = client ?? session.client
        let counter = Atomic<Int>(0)
        let (rate, latency) = try await session.closedLoop(callers: 64) {
            let index = counter.add(1, ordering: .relaxed).newValue
            _ = try await client.issue(
                IssueRequest(subject: "bench-\(index % 10_000)", audience: ["api"], withRefreshToken: true))
        }
        return try againstSigning(ScenarioResult(name: name, opsPerSecond: rate, latency: latency, note: note))
    }

    func refreshRPC(
        _ name: String = "refresh.rpc",
        client: TokenServiceClient? = nil,
        note: String = "durable rotation, embedded store, 64 callers"
    ) async throws -> ScenarioResult {
        let client = client ?? session.client
        let chains = Mutex<[String]>(try await session.issue(64, refresh: true, client: client).map(\.refreshToken))
        let (rate, latency) = try await session.closedLoop(callers: 64) {
            guard let token = chains.withLock({ $0.popLast() }) else { throw ValidationError("no refresh token left") }
            let next = try await client.refresh(token)
            chains.withLock { $0.append(next.refreshToken) }
        }
        return try againstSigning(ScenarioResult(name: name, opsPerSecond: rate, latency: latency, note: note))
    }

    func revokeRPC(
        _ name: String = "revoke.rpc",
        client: TokenServiceClient? = nil,
        note: String = "durable, embedded store, 64 callers"
    ) async throws -> ScenarioResult {
        let client = client ?? session.client
        let (rate, latency) = try await session.closedLoop(callers: 64) {
            _ = try await client.revoke(RevokeRequest(target: .tokenID(try TokenID.random().text)))
        }
        return ScenarioResult(name: name, opsPerSecond: rate, latency: latency, note: note)
    }

    /// `result` against signing on every core: what a call that mints a token could reach at most.
    private func againstSigning(_ result: ScenarioResult) throws -> ScenarioResult {
        result.compared(
            to: "sign.raw × \(session.cores) cores", rate: try session.rawRate("sign.raw", .sign) * Double(session.cores))
    }
}
