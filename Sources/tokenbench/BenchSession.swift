import ArgumentParser
import Foundation
import Logging
import TokenClient
import TokenCore
import TokenRPC
import TokenServer
import TokenWire

/// The scenarios of `tokenbench all` against one in-process service (embedded store in a
/// temporary directory): what each measures and what it is compared with.
final class BenchSession {
    struct Settings {
        let duration: Duration
        let rounds: Int
        let revocations: Int
        let propagations: Int
        /// Emergency rotations `key.propagation` times.
        let keyRotations: Int
        let watchers: Int
        /// A Redis server for the scenarios that need one (`session.redis`, `redis.set`, the RPC
        /// calls on the Redis store); nil leaves them out.
        let redisURL: String?
    }

    static let scenarioNames = [
        "sign.raw", "verify.raw", "mint", "verify.local", "verify.mirror", "verify.warm", "verify.warm.cores",
        "verify.zipf", "verify.pause", "session.redis", "validate.rpc", "issue.rpc", "refresh.rpc", "revoke.rpc",
        "redis.set", "issue.rpc.redis", "refresh.rpc.redis", "revoke.rpc.redis", "propagation", "key.propagation",
        "propagation.redis", "propagation.1000", "validator.ready", "gate.auth", "gate.propagation", "memory",
        "memory.cache",
    ]

    /// The scenarios that need a Redis server.
    static let redisScenarios: Set<String> = [
        "session.redis", "redis.set", "issue.rpc.redis", "refresh.rpc.redis", "revoke.rpc.redis", "propagation.redis",
    ]

    let settings: Settings
    let directory: String
    private let bench: BenchService
    let client: TokenServiceClient
    let endpoint: RPCEndpoint
    let validatorConfiguration: TokenValidatorConfiguration
    let validator: TokenValidator
    private let validatorTask: Task<Void, any Error>
    let raw: RawEVP
    let baselineKey: SigningKey
    let sample: IssueResponse
    let cores = ProcessInfo.processInfo.activeProcessorCount
    /// Raw rates measured by the `sign.raw` and `verify.raw` scenarios (one core).
    private var rawRates: [String: Double] = [:]
    /// Rates of finished scenarios, for the ratios between them.
    private(set) var rates: [String: Double] = [:]
    /// The live tokens of `verify.warm`, once it made them.
    private(set) var warmTokens: [String] = []
    private var revoked = false
    /// The service on the Redis store, started by the first scenario that needs it.
    private var redisService: (bench: BenchService, client: TokenServiceClient)?

    private init(
        settings: Settings, directory: String, bench: BenchService, client: TokenServiceClient, endpoint: RPCEndpoint,
        validatorConfiguration: TokenValidatorConfiguration, validator: TokenValidator,
        validatorTask: Task<Void, any Error>, raw: RawEVP, baselineKey: SigningKey, sample: IssueResponse
    ) {
        self.settings = settings
        self.directory = directory
        self.bench = bench
        self.client = client
        self.endpoint = endpoint
        self.validatorConfiguration = validatorConfiguration
        self.validator = validator
        self.validatorTask = validatorTask
        self.raw = raw
        self.baselineKey = baselineKey
        self.sample = sample
    }

    /// Starts the service, a client and a validator (ready before this returns).
    static func start(settings: Settings) async throws -> BenchSession {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenbench-\(UUID().uuidString)")
            .path
        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let bench = try await BenchService.start(
            configuration: TokenServiceConfiguration(issuer: "https://bench.example"), directory: directory,
            logger: logger)
        let endpoint = RPCEndpoint(host: "127.0.0.1", port: bench.port)
        let client = TokenServiceClient(endpoints: [endpoint], credential: "bench")
        var configuration = TokenValidatorConfiguration(
            endpoints: [endpoint], credential: "bench", issuer: "https://bench.example")
        configuration.audience = "api"
        let sample = try await client.issue(IssueRequest(subject: "bench-user", audience: ["api"], scopes: ["read"]))
        let algorithm = try VerificationKey(spkiDER: (try await client.getKeys()).keys.first?.publicKeyDER ?? [])
            .algorithm
        // The baseline signs and verifies the bytes the service signs, with a key of the same type.
        let baselineKey = try SigningKey.generate(algorithm)
        let raw = try RawEVP(
            pkcs8DER: baselineKey.pkcs8DER(), algorithm: algorithm, message: RawEVP.signingInput(of: sample.accessToken)
        )
        let validator = TokenValidator(configuration: configuration)
        let validatorTask = Task { try await validator.run() }
        try await validator.waitUntil(\.isReady)
        return BenchSession(
            settings: settings, directory: directory, bench: bench, client: client, endpoint: endpoint,
            validatorConfiguration: configuration, validator: validator, validatorTask: validatorTask, raw: raw,
            baselineKey: baselineKey, sample: sample)
    }

    /// Stops the validator, the client and the services, and removes the store.
    func stop() async {
        if let redisService {
            await redisService.client.close()
            try? await redisService.bench.stop()
        }
        validatorTask.cancel()
        _ = await validatorTask.result
        await client.close()
        try? await bench.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs one scenario by name.
    func run(_ name: String) async throws -> ScenarioResult {
        let result = try await measure(name)
        if let rate = result.opsPerSecond {
            rates[name] = rate
        }
        return result
    }

    private func measure(_ name: String) async throws -> ScenarioResult {
        switch name {
        case "sign.raw": return try rawScenario(name, operation: .sign)
        case "verify.raw": return try rawScenario(name, operation: .verify)
        case "mint": return try EngineScenarios(session: self).mint()
        case "verify.local":
            return try await EngineScenarios(session: self).uniqueTokens(
                name, note: "TokenValidator.verify, unique tokens, nothing revoked")
        case "verify.mirror":
            try await ensureRevocations()
            return try await EngineScenarios(session: self).uniqueTokens(
                name, note: "unique tokens, \(validator.state.revocations) revocations mirrored")
        case "verify.warm": return try await EngineScenarios(session: self).warm()
        case "verify.warm.cores": return try await ValidatorScaleScenarios(session: self).warmCores()
        case "verify.zipf": return try await ValidatorScaleScenarios(session: self).zipf()
        case "verify.pause": return try await ValidatorScaleScenarios(session: self).pause()
        case "validate.rpc": return try await RPCScenarios(session: self).validateRPC()
        case "issue.rpc": return try await RPCScenarios(session: self).issueRPC()
        case "refresh.rpc": return try await RPCScenarios(session: self).refreshRPC()
        case "revoke.rpc": return try await RPCScenarios(session: self).revokeRPC()
        case "session.redis": return try await RedisScenarios(session: self).sessionRedis()
        case "redis.set": return try await RedisScenarios(session: self).redisSet()
        case "issue.rpc.redis":
            return try await RPCScenarios(session: self).issueRPC(
                name, client: try await redisClient(), note: "durable, Redis store, 64 callers")
        case "refresh.rpc.redis":
            return try await RPCScenarios(session: self).refreshRPC(
                name, client: try await redisClient(), note: "durable rotation, Redis store, 64 callers")
        case "revoke.rpc.redis":
            let result = try await RPCScenarios(session: self).revokeRPC(
                name, client: try await redisClient(), note: "durable, Redis store, 64 callers")
            return rates["redis.set"].map { result.compared(to: "redis.set", rate: $0) } ?? result
        case "propagation": return try await PropagationScenario(session: self).run(name)
        case "propagation.redis":
            guard let url = settings.redisURL else { throw ValidationError("this scenario needs --redis URL") }
            return try await PropagationScenario(session: self).run(name, redisURL: url)
        case "propagation.1000":
            return try await WatcherFanoutScenario.run(
                directory: directory + "-propagation-1000", watchers: 1_000, revocations: settings.propagations)
        case "validator.ready": return try await ValidatorReadyScenario(session: self).run()
        case "key.propagation": return try await KeyPropagationScenario.run(session: self)
        case "gate.auth": return try await GateScenarios(session: self).auth()
        case "gate.propagation": return try await GateScenarios(session: self).propagation()
        case "memory":
            return try MemoryScenarios.run(
                "memory", structure: "mirror", note: "mirror of 1,000,000 revoked token ids, in a process of its own")
        case "memory.cache":
            return try MemoryScenarios.run(
                "memory.cache", structure: "cache",
                note: "verified-token cache of 1,000,000 tokens, in a process of its own")
        default: throw ValidationError("unknown scenario \(name)")
        }
    }

    // MARK: - What the scenarios share

    /// The raw EVP rate of `sign.raw` or `verify.raw` on one core: the baseline of later scenarios,
    /// measured once a run.
    func rawRate(_ name: String, _ operation: RawEVPRate.Operation) throws -> Double {
        if let rate = rawRates[name] { return rate }
        return try rawScenario(name, operation: operation).opsPerSecond ?? 1
    }

    private func rawScenario(_ name: String, operation: RawEVPRate.Operation) throws -> ScenarioResult {
        let result = try EngineScenarios(session: self).raw(name, operation: operation)
        rawRates[name] = result.opsPerSecond
        return result
    }

    /// The 10,000 live tokens of `verify.warm`, issued by the first scenario that needs them.
    func liveTokens() async throws -> [String] {
        if warmTokens.isEmpty {
            warmTokens = try await issue(10_000).map(\.accessToken)
        }
        return warmTokens
    }

    /// The live tokens, each verified once (so cached), with the revocations mirrored: where the
    /// warm scenarios start.
    func verifiedLiveTokens() async throws -> [String] {
        try await ensureRevocations()
        let tokens = try await liveTokens()
        for token in tokens {
            guard await validator.verify(token).isValid else { throw ValidationError("a live token did not verify") }
        }
        return tokens
    }

    /// A client of a second service, on the Redis store.
    func redisClient() async throws -> TokenServiceClient {
        if let redisService { return redisService.client }
        guard let url = settings.redisURL else { throw ValidationError("this scenario needs --redis URL") }
        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let bench = try await BenchService.start(
            configuration: TokenServiceConfiguration(issuer: "https://bench.example"), directory: "", redisURL: url,
            logger: logger)
        let client = TokenServiceClient(
            endpoints: [RPCEndpoint(host: "127.0.0.1", port: bench.port)], credential: "bench")
        redisService = (bench, client)
        return client
    }

    /// Calls per second and their latencies with `callers` tasks each calling in a loop.
    func closedLoop(
        callers: Int,
        _ call: @escaping @Sendable () async throws -> Void
    ) async throws -> (Double, LatencyRecorder) {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + settings.duration
        let (count, latency) = try await withThrowingTaskGroup(of: (Int, LatencyRecorder).self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var latency = LatencyRecorder()
                    var count = 0
                    while clock.now < deadline {
                        let before = clock.now
                        try await call()
                        latency.record(clock.now - before)
                        count += 1
                    }
                    return (count, latency)
                }
            }
            var total = 0
            var merged = LatencyRecorder()
            for try await (count, latency) in group {
                total += count
                merged.add(latency)
            }
            return (total, merged)
        }
        return (Double(count) / Self.seconds(clock.now - start), latency)
    }

    /// Revokes `settings.revocations` token ids once, 64 calls at a time, and waits until the
    /// validator mirrored them.
    func ensureRevocations() async throws {
        guard !revoked else { return }
        revoked = true
        let client = self.client
        let count = settings.revocations
        let head = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for lane in 0..<64 {
                group.addTask {
                    var last: UInt64 = 0
                    for _ in stride(from: lane, to: count, by: 64) {
                        let id = try TokenID.random().text
                        last = max(last, try await client.revoke(RevokeRequest(target: .tokenID(id))).seq)
                    }
                    return last
                }
            }
            return try await group.reduce(0) { max($0, $1) }
        }
        try await validator.waitUntilApplied(seq: head)
    }

    /// Issues `count` tokens, 64 calls at a time.
    func issue(_ count: Int, refresh: Bool = false, client: TokenServiceClient? = nil) async throws -> [IssueResponse] {
        let client = client ?? self.client
        return try await withThrowingTaskGroup(of: [IssueResponse].self) { group in
            for lane in 0..<64 {
                group.addTask {
                    var issued: [IssueResponse] = []
                    for index in stride(from: lane, to: count, by: 64) {
                        issued.append(
                            try await client.issue(
                                IssueRequest(subject: "bench-\(index)", audience: ["api"], withRefreshToken: refresh)))
                    }
                    return issued
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let (whole, attoseconds) = duration.components
        return Double(whole) + Double(attoseconds) * 1e-18
    }

    /// Operations per second of `body` over `duration`.
    static func rate(for duration: Duration, _ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        while clock.now - start < duration {
            for _ in 0..<50 { try body() }
            count += 50
        }
        return Double(count) / seconds(clock.now - start)
    }

    /// Operations per second of `body` over `duration`, timing each operation.
    static func timedRate(
        for duration: Duration,
        latency: inout LatencyRecorder,
        _ body: () throws -> Void
    ) rethrows -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        while clock.now - start < duration {
            let before = clock.now
            try body()
            latency.record(clock.now - before)
            count += 1
        }
        return Double(count) / seconds(clock.now - start)
    }
}
