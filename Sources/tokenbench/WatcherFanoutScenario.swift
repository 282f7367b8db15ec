import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import TokenClient
import TokenCore
import TokenRPC
import TokenWire

/// `propagation.1000`: a thousand WatchRevocations streams on one server in a process of its own
/// (`tokenbench serve`), read by lightweight readers (`WatchStreamReaders`). It measures the server's
/// resident memory per idle stream, then times each revocation from the Revoke's answer until every
/// stream has its event.
enum WatcherFanoutScenario {
    static func run(directory: String, watchers: Int, revocations: Int) async throws -> ScenarioResult {
        let server = try BenchServerProcess.start(directory: directory)
        let client = TokenServiceClient(
            endpoints: [RPCEndpoint(host: "127.0.0.1", port: server.port)], credential: "bench")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: ProcessInfo.processInfo.activeProcessorCount)
        let readers = WatchStreamReaders()
        do {
            let result = try await measure(
                server: server, client: client, readers: readers, group: group, watchers: watchers,
                revocations: revocations)
            await readers.close()
            await client.close()
            try await group.shutdownGracefully()
            server.stop()
            try? FileManager.default.removeItem(atPath: directory)
            return result
        } catch {
            await readers.close()
            await client.close()
            try? await group.shutdownGracefully()
            server.stop()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    private static func measure(
        server: BenchServerProcess,
        client: TokenServiceClient,
        readers: WatchStreamReaders,
        group: any EventLoopGroup,
        watchers: Int,
        revocations: Int
    ) async throws -> ScenarioResult {
        // What the first stream and revocation allocate once is not counted per watcher.
        let warmUp = WatchStreamReaders()
        try await warmUp.open(16, host: "127.0.0.1", port: server.port, credential: "bench", group: group)
        _ = try await client.revoke(RevokeRequest(target: .tokenID(try TokenID.random().text)))
        try await waitFor("the warm-up streams to be current", readers: warmUp) {
            warmUp.current.load(ordering: .acquiring) == 16
        }
        await warmUp.close()
        try await Task.sleep(for: .milliseconds(500))
        let before = server.residentBytes

        try await readers.open(watchers, host: "127.0.0.1", port: server.port, credential: "bench", group: group)
        try await waitFor("\(watchers) streams to be current", readers: readers) {
            readers.current.load(ordering: .acquiring) == watchers
        }
        // Idle: two heartbeats go by.
        try await Task.sleep(for: .seconds(2))
        let after = server.residentBytes

        var latency = LatencyRecorder()
        let serverCPU = server.cpuSeconds
        let benchCPU = ValidatorScaleScenarios.processCPUSeconds()
        for _ in 0..<revocations {
            let expected = readers.arrivals.load(ordering: .acquiring) + watchers
            _ = try await client.revoke(RevokeRequest(target: .tokenID(try TokenID.random().text)))
            let answered = NIODeadline.now().uptimeNanoseconds
            try await waitFor("every stream to have the revocation", readers: readers) {
                readers.arrivals.load(ordering: .acquiring) >= expected
            }
            let last = readers.lastArrival.load(ordering: .acquiring)
            latency.record(.nanoseconds(Int64(last > answered ? last - answered : 0)))
        }
        let perRevocation = { (seconds: Double) in String(format: "%.1f ms", seconds * 1_000 / Double(revocations)) }
        var result = ScenarioResult(
            name: "propagation.1000", latency: latency,
            note: "Revoke answered → all \(watchers) streams on one server (a process of its own) have the event, "
                + "\(revocations) revocations; lightweight readers; CPU per revocation: server "
                + perRevocation(server.cpuSeconds - serverCPU) + ", readers and client "
                + perRevocation(ValidatorScaleScenarios.processCPUSeconds() - benchCPU))
        result.bytesPerWatcher = Double(after - before) / Double(watchers)
        return result
    }

    /// Waits until `condition` holds, checking every millisecond, for at most 30 s; fails early when
    /// a stream ended.
    static func waitFor(
        _ what: String,
        readers: WatchStreamReaders,
        _ condition: () -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            let failed = readers.failed.load(ordering: .relaxed)
            guard failed == 0 else { throw ValidationError("waiting for \(what): \(failed) streams ended") }
            guard ContinuousClock.now < deadline else { throw ValidationError("waited 30 s for \(what)") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}
