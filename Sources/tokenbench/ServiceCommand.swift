import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import TokenClient
import TokenCore
import TokenRPC
import TokenServer
import TokenStore
import TokenWire

/// Measures a real token service on loopback (embedded store in a temporary directory) against
/// raw libcrypto rates on every core, measured in the same run.
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Validate, Issue and Revoke over the wire against raw EVP rates on all cores."
    )

    @Option(help: "Seconds per measurement.")
    var seconds: Double = 3

    @Option(help: "Client connections.")
    var connections: Int = 4

    @Option(help: "Calls kept in flight per connection (pipelining).")
    var depth: Int = 32

    @Option(help: "Load generator for Validate and Issue: raw (pre-encoded pipelined frames) or typed (the TokenClient stub).")
    var client: LoadGenerator = .raw

    enum LoadGenerator: String, CaseIterable, ExpressibleByArgument {
        case raw, typed
    }

    @Option(help: "Distinct subjects the Issue load logs in, in turn (a gateway serves many users).")
    var subjects: Int = 1

    @Option(help: "Concurrent callers for the Revoke measurement.")
    var revokers: Int = 64

    @Option(help: "Algorithm of the service's keys (EdDSA, ES256).")
    var algorithm: String = "EdDSA"

    @Option(help: "Directory for the store (default: a fresh temporary directory, removed afterwards).")
    var dataDir: String?

    @Option(help: "Measure on the Redis store at this redis:// URL instead of the embedded store.")
    var store: String?

    @Option(help: "Measurement rounds; the median is reported.")
    var rounds: Int = 3

    @Option(
        name: .customLong("measure"),
        help: "What to measure: validate, issue, revoke, health (repeatable; default all).")
    var selected: [Operation] = Operation.allCases

    enum Operation: String, CaseIterable, ExpressibleByArgument {
        case validate, issue, revoke, health
    }

    private var operations: Set<Operation> { Set(selected) }

    func validate() throws {
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be in 1...100") }
        guard (1...64).contains(connections), (1...256).contains(depth), (1...1024).contains(revokers) else {
            throw ValidationError("--connections 1...64, --depth 1...256, --revokers 1...1024")
        }
        guard (1...1_000_000).contains(subjects) else { throw ValidationError("--subjects must be in 1...1000000") }
        guard TokenAlgorithm(rawValue: algorithm) != nil else { throw ValidationError("unknown algorithm \(algorithm)") }
    }

    func run() async throws {
        let algorithm = TokenAlgorithm(rawValue: self.algorithm) ?? .edDSA
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let duration = Duration.milliseconds(Int64(seconds * 1000))
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("tokenbench-\(UUID().uuidString)").path
        let directory = dataDir ?? temporary
        defer { try? FileManager.default.removeItem(atPath: temporary) }

        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        var configuration = TokenServiceConfiguration(issuer: "https://bench.example")
        configuration.algorithm = algorithm
        let bench = try await BenchService.start(
            configuration: configuration, directory: directory, redisURL: store, logger: logger)
        defer { bench.cancel() }
        let port = bench.port
        // The load runs on an event loop of its own, as a client process would; its CPU time still
        // comes out of the same cores.
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let clients = (0..<connections).map { _ in
            TokenServiceClient(wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: port)], credential: "bench", eventLoopGroup: clientGroup))
        }

        let sample = try await clients[0].issue(IssueRequest(subject: "bench-user", audience: ["api"], scopes: ["read"]))
        let key = try SigningKey.generate(algorithm)
        // The baseline signs and verifies the bytes the service signs: a token's signing input.
        let signingInput = RawEVP.signingInput(of: sample.accessToken)
        let validateRequest = ValidateRequest(token: sample.accessToken, audience: "api")
        let issueRequests = (0..<subjects).map { index in
            IssueRequest(
                subject: subjects == 1 ? "bench-user" : "bench-user-\(index)", audience: ["api"], scopes: ["read"],
                withRefreshToken: true)
        }
        let expectedValidation = try await clients[0].validate(validateRequest)
        guard expectedValidation.valid else { throw ValidationError("the benchmark token did not validate") }
        // Every Validate answer for the one token is the same message, byte for byte.
        let expectedValidationBytes = ByteBuffer(bytes: expectedValidation.serializedBytes())
        let rawValidate = PipelinedLoad(
            method: TokenServiceMethod.validate, payloads: [validateRequest.serializedBytes()], credential: "bench",
            accept: { $0 == expectedValidationBytes })
        let rawIssue = PipelinedLoad(
            method: TokenServiceMethod.issue, payloads: issueRequests.map { $0.serializedBytes() }, credential: "bench",
            accept: { $0.readableBytes > 0 })
        // Health does no cryptography and touches no store: its rate is the RPC layer's own cost.
        let expectedHealthBytes = ByteBuffer(bytes: try await clients[0].health().serializedBytes())
        let rawHealth = PipelinedLoad(
            method: TokenServiceMethod.health, payloads: [HealthRequest().serializedBytes()], credential: "bench",
            accept: { $0 == expectedHealthBytes })
        let counter = Atomic<UInt64>(0)

        /// Calls per second of one operation with the chosen load generator.
        func wireRate(
            _ load: PipelinedLoad,
            typed call: @escaping @Sendable (TokenServiceClient) async throws -> Void
        ) async throws -> PipelinedLoad.Outcome {
            switch client {
            case .raw:
                try await load.measure(
                    host: "127.0.0.1", port: port, connections: connections, depth: depth, duration: duration,
                    group: clientGroup)
            case .typed:
                PipelinedLoad.Outcome(
                    rate: try await measure(clients: clients, perClient: depth, duration: duration, call), calls: 0,
                    cpu: nil)
            }
        }

        // Raw and wire runs alternate within each round, so a change in machine load affects both
        // sides of a ratio alike; the median over the rounds is reported.
        var validates: [Sample] = []
        var issues: [Sample] = []
        var revokes: [Double] = []
        var healths: [Double] = []
        for _ in 0..<rounds {
            if operations.contains(.validate) {
                let raw = try RawEVPRate.measure(
                    threads: cores, duration: duration, key: key, message: signingInput, operation: .verify)
                let wire = try await wireRate(rawValidate) { client in
                    let answer = try await client.validate(validateRequest)
                    guard answer.valid else { throw ValidationError("the benchmark token did not validate") }
                }
                validates.append(Sample(wire: wire, raw: raw))
            }
            if operations.contains(.issue) {
                let raw = try RawEVPRate.measure(
                    threads: cores, duration: duration, key: key, message: signingInput, operation: .sign)
                let wire = try await wireRate(rawIssue) { client in
                    let index = counter.add(1, ordering: .relaxed).newValue
                    _ = try await client.issue(issueRequests[Int(index % UInt64(issueRequests.count))])
                }
                issues.append(Sample(wire: wire, raw: raw))
            }
            if operations.contains(.health) {
                healths.append(try await wireRate(rawHealth) { client in _ = try await client.health() }.rate)
            }
            if operations.contains(.revoke) {
                revokes.append(
                    try await measure(clients: clients, perClient: max(1, revokers / connections), duration: duration) { client in
                        let index = counter.add(1, ordering: .relaxed).newValue
                        _ = try await client.revoke(RevokeRequest(target: .tokenID("bench-\(index)")))
                    }
                )
            }
        }
        print(
            "\(algorithm.rawValue) on \(cores) cores, \(client.rawValue) client, \(connections) connections × \(depth) calls in flight, \(subjects) subject\(subjects == 1 ? "" : "s"), median of \(rounds) rounds"
        )
        print("operation                     rate/s   raw EVP/s (all cores)   ratio")
        report("Validate (wire)", validates, rawLabel: "verify", target: 0.70, cores: cores)
        report("Issue (durable)", issues, rawLabel: "sign", target: 0.50, cores: cores)
        if !revokes.isEmpty {
            let median = revokes.sorted()[revokes.count / 2]
            print("Revoke (durable, \(revokers) callers)".padding(28) + "\(Int(median))".leftPadding(9)
                + "   (target ≥ 2000/s: \(median >= 2000 ? "ok" : "BELOW"))")
        }
        if !healths.isEmpty {
            let median = healths.sorted()[healths.count / 2]
            let microseconds = Double(cores) / median * 1e6
            print("Health (wire, no crypto)".padding(28) + "\(Int(median))".leftPadding(9)
                + "   (\(Int(microseconds.rounded())) µs of CPU per call on \(cores) cores: the RPC layer's floor)")
        }

        for client in clients {
            await client.rpc.close()
        }
        try await clientGroup.shutdownGracefully()
        // Stop before the process exits and the temporary directory goes.
        try await bench.stop()
    }

    /// Calls per second with `perClient` callers on each client looping over `call` for `duration`.
    private func measure(
        clients: [TokenServiceClient],
        perClient: Int,
        duration: Duration,
        _ call: @escaping @Sendable (TokenServiceClient) async throws -> Void
    ) async throws -> Double {
        let clock = ContinuousClock()
        let deadline = clock.now + duration
        let start = clock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for client in clients {
                for _ in 0..<perClient {
                    group.addTask {
                        var count = 0
                        while clock.now < deadline {
                            try await call(client)
                            count += 1
                        }
                        return count
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = clock.now - start
        let (wholeSeconds, attoseconds) = elapsed.components
        return Double(total) / (Double(wholeSeconds) + Double(attoseconds) * 1e-18)
    }

    private struct Sample {
        let wire: PipelinedLoad.Outcome
        let raw: Double
        var rate: Double { wire.rate }
        var ratio: Double { rate / raw }
    }

    /// Prints the median round, judged against `target`, and the spread of the rounds' ratios.
    private func report(_ label: String, _ samples: [Sample], rawLabel: String, target: Double, cores: Int) {
        let sorted = samples.sorted { $0.ratio < $1.ratio }
        guard let lowest = sorted.first, let highest = sorted.last else { return }
        let median = sorted[sorted.count / 2]
        func percent(_ ratio: Double) -> String { "\(Int((ratio * 100).rounded()))%" }
        print(
            label.padding(28) + "\(Int(median.rate))".leftPadding(9) + "\(Int(median.raw)) \(rawLabel)".leftPadding(20)
                + percent(median.ratio).leftPadding(10)
                + "  (target ≥ \(percent(target)): \(median.ratio >= target ? "ok" : "BELOW"); rounds \(percent(lowest.ratio))–\(percent(highest.ratio)))"
        )
        if let cpu = median.wire.cpu, median.wire.calls > 0 {
            func perCall(_ seconds: Double) -> String {
                "\(Int((seconds * 1e6 / Double(median.wire.calls)).rounded()))"
            }
            let roles = ProcessCPU.Role.allCases.compactMap { role in
                cpu.seconds[role].map { "\(role.rawValue) \(perCall($0))" }
            }
            let rawMicroseconds = Int((Double(cores) / median.raw * 1e6).rounded())
            print(
                "    CPU per call: \(perCall(cpu.seconds.values.reduce(0, +))) µs"
                    + " (one raw \(rawLabel): \(rawMicroseconds) µs) = "
                    + roles.joined(separator: " + ") + "; cores idle \(percent(cpu.idleShare))"
            )
        }
    }
}

/// Raw libcrypto rates with one thread per core, each with its own parsed key and context.
enum RawEVPRate {
    enum Operation: Sendable {
        case sign, verify
    }

    /// Operations per second over all threads, each signing or verifying `message`.
    static func measure(
        threads: Int,
        duration: Duration,
        key: SigningKey,
        message: [UInt8],
        operation: Operation
    ) throws -> Double {
        let der = try key.pkcs8DER()
        let algorithm = key.algorithm
        let counts = Mutex<[Int]>([])
        let finished = DispatchSemaphore(value: 0)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + duration
        let workers = (0..<threads).map { _ in
            Thread {
                var count = 0
                if let raw = try? RawEVP(pkcs8DER: der, algorithm: algorithm, message: message) {
                    while clock.now < deadline {
                        for _ in 0..<20 {
                            switch operation {
                            case .sign: try? raw.sign()
                            case .verify: try? raw.verify()
                            }
                        }
                        count += 20
                    }
                }
                counts.withLock { $0.append(count) }
                finished.signal()
            }
        }
        workers.forEach { $0.start() }
        for _ in 0..<threads {
            finished.wait()
        }
        let elapsed = clock.now - start
        let (wholeSeconds, attoseconds) = elapsed.components
        return Double(counts.withLock { $0.reduce(0, +) }) / (Double(wholeSeconds) + Double(attoseconds) * 1e-18)
    }
}
