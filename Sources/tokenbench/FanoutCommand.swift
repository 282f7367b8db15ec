import ArgumentParser
import Foundation
import Logging
import TokenClient
import TokenRPC
import TokenServer
import TokenWire

/// Measures how long a revocation on one instance takes to reach a watcher of another instance
/// sharing the same Redis.
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "Revoke on instance A, time until a watcher on instance B has the event (Redis store)."
    )

    @Option(help: "The Redis store both instances share, redis://HOST:PORT[/DB].")
    var store: String

    @Option(help: "Revocations to time, one at a time.")
    var count: Int = 2_000

    func validate() throws {
        guard (10...1_000_000).contains(count) else { throw ValidationError("--count must be in 10...1000000") }
    }

    func run() async throws {
        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let configuration = TokenServiceConfiguration(issuer: "https://bench.example")
        let a = try await BenchService.start(configuration: configuration, directory: "", redisURL: store, logger: logger)
        defer { a.cancel() }
        let b = try await BenchService.start(configuration: configuration, directory: "", redisURL: store, logger: logger)
        defer { b.cancel() }
        let onA = TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: a.port)], credential: "bench"))
        let onB = TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: b.port)], credential: "bench"))

        _ = try await onA.revoke(RevokeRequest(target: .tokenID("fanout-start")))
        // A snapshot first: the timed revocations come after it completes.
        var batches = onB.watchRevocations(WatchRevocationsRequest()).makeAsyncIterator()
        while let batch = try await batches.next(), batch.snapshot {}
        var latencies: [Duration] = []
        latencies.reserveCapacity(count)
        for index in 0..<count {
            let started = ContinuousClock.now
            let seq = try await onA.revoke(RevokeRequest(target: .tokenID("fanout-\(index)"))).seq
            var seen = false
            while !seen {
                guard let batch = try await batches.next() else { throw ValidationError("the watch ended") }
                seen = batch.events.contains { $0.seq >= seq }
            }
            latencies.append(ContinuousClock.now - started)
        }
        latencies.sort()
        func percentile(_ share: Double) -> String {
            let index = min(latencies.count - 1, Int(Double(latencies.count) * share))
            let micros = latencies[index].components.attoseconds / 1_000_000_000_000
                + latencies[index].components.seconds * 1_000_000
            return String(format: "%.2f ms", Double(micros) / 1_000)
        }
        print("revoke on A until a watcher on B has it, \(count) revocations one at a time:")
        print("p50 \(percentile(0.5))   p90 \(percentile(0.9))   p99 \(percentile(0.99))   max \(percentile(1.0))")
        await onA.close()
        await onB.close()
    }
}
