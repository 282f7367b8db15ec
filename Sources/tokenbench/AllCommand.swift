import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import TokenClient
import TokenCore
import TokenRPC
import TokenServer
import TokenWire

/// Runs every scenario in order against one in-process service and reports each figure with the
/// baseline it is compared with, measured in the same run.
struct AllCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all",
        abstract: "Every scenario, in order: raw limits, minting, the validator, RPC calls, propagation, memory.",
        discussion: """
            Scenarios: \(BenchSession.scenarioNames.joined(separator: ", ")). Each figure is a ratio to a \
            baseline measured in the same run (raw EVP rates on one core, or times the cores for RPC).
            """
    )

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 1

    @Option(help: "Measurement rounds of the ratio scenarios; the median is reported.")
    var rounds: Int = 3

    @Option(help: "Revocations mirrored for verify.mirror and verify.warm.")
    var revocations: Int = 1_000_000

    @Option(name: .customLong("scenario"), help: "Run only these scenarios (repeatable); the raw baselines always run.")
    var selected: [String] = []

    @Flag(help: "A short smoke run: every scenario works end to end (10,000 revocations, 1 round, short windows).")
    var quick = false

    @Option(
        help: """
            A Redis server, redis://HOST:PORT[/DB], for session.redis, redis.set and the RPC calls on the \
            Redis store (without it they are left out).
            """)
    var redis: String?

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Write results.json and latency.svg (a percentile plot) into this directory.")
    var report: String?

    func validate() throws {
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be in 1...100") }
        guard (1...10_000_000).contains(revocations) else { throw ValidationError("--revocations 1...10000000") }
        for name in selected where !BenchSession.scenarioNames.contains(name) {
            throw ValidationError("unknown scenario \(name); known: \(BenchSession.scenarioNames.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let settings = BenchSession.Settings(
            duration: .milliseconds(Int64((quick ? 0.2 : seconds) * 1000)),
            rounds: quick ? 1 : rounds,
            revocations: quick ? 10_000 : revocations,
            propagations: quick ? 50 : 500,
            keyRotations: quick ? 20 : 200,
            watchers: 16,
            redisURL: redis
        )
        let session = try await BenchSession.start(settings: settings)
        let names = (selected.isEmpty ? BenchSession.scenarioNames : BenchSession.scenarioNames.filter(selected.contains))
            .filter { redis != nil || !BenchSession.redisScenarios.contains($0) }
        let progress = Progress(total: names.count)
        var results: [ScenarioResult] = []
        do {
            for (index, name) in names.enumerated() {
                progress.started(name, index: index)
                let result = try await session.run(name)
                progress.finished(result)
                results.append(result)
            }
        } catch {
            await session.stop()
            throw error
        }
        await session.stop()
        let report = BenchReport(machine: .current, scenarios: results)
        print("\(report.machine.cores) cores, \(report.machine.cpuModel), \(report.machine.openSSL)")
        if let json {
            try report.json().write(to: URL(fileURLWithPath: json))
        }
        if let directory = self.report {
            try report.write(to: directory)
        }
    }
}

/// A progress line on a terminal (rewritten in place), plain lines otherwise.
struct Progress {
    let total: Int
    private let terminal = isatty(STDOUT_FILENO) == 1

    init(total: Int) {
        self.total = total
    }

    func started(_ name: String, index: Int) {
        guard terminal else { return }
        print("\r\u{1B}[K[\(index + 1)/\(total)] \(name) …", terminator: "")
        fflush(nil)
    }

    func finished(_ result: ScenarioResult) {
        if terminal {
            print("\r\u{1B}[K", terminator: "")
        }
        print(result.line)
        fflush(nil)
    }
}
