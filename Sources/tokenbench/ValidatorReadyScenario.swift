import ArgumentParser
import Foundation
import NIOPosix
import TokenClient

/// `validator.ready`: a new validator joins the session's service, which holds `--revocations`
/// revocations (1,000,000 by default): the time from its start until it is ready (keys loaded,
/// snapshot applied), the median of the rounds; and the snapshot's bytes on the wire per revocation,
/// read once by a lightweight reader (`WatchStreamReaders`), which also times the server alone.
struct ValidatorReadyScenario {
    let session: BenchSession

    func run() async throws -> ScenarioResult {
        try await session.ensureRevocations()
        let configuration = session.validatorConfiguration
        guard let endpoint = configuration.endpoints.first else { throw ValidationError("no endpoint") }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let reader = WatchStreamReaders()
        let clock = ContinuousClock()
        let readStart = clock.now
        do {
            try await reader.open(1, host: endpoint.host, port: endpoint.port, credential: "bench", group: group)
            try await WatcherFanoutScenario.waitFor("the snapshot", readers: reader) {
                reader.current.load(ordering: .acquiring) == 1
            }
        } catch {
            await reader.close()
            try? await group.shutdownGracefully()
            throw error
        }
        let readTime = clock.now - readStart
        await reader.close()
        try await group.shutdownGracefully()
        let revocations = reader.snapshotRevocations.load(ordering: .relaxed)

        var latency = LatencyRecorder()
        var rounds: [Duration] = []
        for _ in 0..<session.settings.rounds {
            let validator = TokenValidator(configuration: configuration)
            let start = clock.now
            let task = Task { try await validator.run() }
            try await validator.waitUntil(\.isReady)
            let ready = clock.now - start
            task.cancel()
            _ = await task.result
            guard validator.state.revocations >= revocations else {
                throw ValidationError(
                    "a ready validator holds \(validator.state.revocations) of \(revocations) revocations")
            }
            latency.record(ready)
            rounds.append(ready)
        }
        let median = rounds.sorted()[rounds.count / 2]
        var result = ScenarioResult(
            name: "validator.ready", latency: latency,
            note: "a new validator: start → keys loaded and a snapshot of \(revocations) revocations applied, "
                + "median of \(rounds.count); the snapshot alone, read by a lightweight reader: "
                + String(format: "%.3f s", BenchSession.seconds(readTime)))
        result.seconds = BenchSession.seconds(median)
        result.bytesPerEntry = Double(reader.bytes.load(ordering: .relaxed)) / Double(max(1, revocations))
        return result
    }
}
