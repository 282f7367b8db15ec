import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import TokenClient
import TokenCore
import TokenRPC
import TokenRedisStore
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
    private let endpoint: RPCEndpoint
    let validatorConfiguration: TokenValidatorConfiguration
    let validator: TokenValidator
    private let validatorTask: Task<Void, any Error>
    private let raw: RawEVP
    private let baselineKey: SigningKey
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
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tokenbench-\(UUID().uuidString)").path
        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let bench = try await BenchService.start(
            configuration: TokenServiceConfiguration(issuer: "https://bench.example"), directory: directory, logger: logger)
        let endpoint = RPCEndpoint(host: "127.0.0.1", port: bench.port)
        let client = TokenServiceClient(endpoints: [endpoint], credential: "bench")
        var configuration = TokenValidatorConfiguration(endpoints: [endpoint], credential: "bench", issuer: "https://bench.example")
        configuration.audience = "api"
        let sample = try await client.issue(IssueRequest(subject: "bench-user", audience: ["api"], scopes: ["read"]))
        let algorithm = try VerificationKey(spkiDER: (try await client.getKeys()).keys.first?.publicKeyDER ?? []).algorithm
        // The baseline signs and verifies the bytes the service signs, with a key of the same type.
        let baselineKey = try SigningKey.generate(algorithm)
        let raw = try RawEVP(pkcs8DER: baselineKey.pkcs8DER(), algorithm: algorithm, message: RawEVP.signingInput(of: sample.accessToken))
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
        case "mint": return try mint()
        case "verify.local": return try await uniqueTokens(name, note: "TokenValidator.verify, unique tokens, nothing revoked")
        case "verify.mirror":
            try await ensureRevocations()
            return try await uniqueTokens(
                name, note: "unique tokens, \(validator.state.revocations) revocations mirrored")
        case "verify.warm": return try await warm()
        case "verify.warm.cores": return try await ValidatorScaleScenarios(session: self).warmCores()
        case "verify.zipf": return try await ValidatorScaleScenarios(session: self).zipf()
        case "verify.pause": return try await ValidatorScaleScenarios(session: self).pause()
        case "validate.rpc": return try await validateRPC()
        case "issue.rpc": return try await issueRPC()
        case "refresh.rpc": return try await refreshRPC()
        case "revoke.rpc": return try await revokeRPC()
        case "session.redis": return try await sessionRedis()
        case "redis.set": return try await redisSet()
        case "issue.rpc.redis":
            return try await issueRPC(name, client: try await redisClient(), note: "durable, Redis store, 64 callers")
        case "refresh.rpc.redis":
            return try await refreshRPC(name, client: try await redisClient(), note: "durable rotation, Redis store, 64 callers")
        case "revoke.rpc.redis":
            let result = try await revokeRPC(name, client: try await redisClient(), note: "durable, Redis store, 64 callers")
            return rates["redis.set"].map { result.compared(to: "redis.set", rate: $0) } ?? result
        case "propagation": return try await PropagationScenario(session: self).run(name)
        case "propagation.redis":
            guard let url = settings.redisURL else { throw ValidationError("this scenario needs --redis URL") }
            return try await PropagationScenario(session: self).run(name, redisURL: url)
        case "propagation.1000":
            return try await WatcherFanoutScenario.run(
                directory: directory + "-propagation-1000", watchers: 1_000, revocations: settings.propagations)
        case "validator.ready": return try await ValidatorReadyScenario(session: self).run()
        case "key.propagation":
            let rig = try await PropagationRig.start(
                directory: directory + "-key-propagation", watchers: settings.watchers,
                validator: validatorConfiguration)
            do {
                let result = try await KeyPropagationScenario.run(on: rig, rotations: settings.keyRotations)
                await rig.stop()
                return result
            } catch {
                await rig.stop()
                throw error
            }
        case "gate.auth": return try await GateScenarios(session: self).auth()
        case "gate.propagation": return try await GateScenarios(session: self).propagation()
        case "memory":
            return try memory(
                "memory", structure: "mirror", note: "mirror of 1,000,000 revoked token ids, in a process of its own")
        case "memory.cache":
            return try memory(
                "memory.cache", structure: "cache",
                note: "verified-token cache of 1,000,000 tokens, in a process of its own")
        default: throw ValidationError("unknown scenario \(name)")
        }
    }

    // MARK: - Raw limits and minting

    private func rawScenario(_ name: String, operation: RawEVPRate.Operation) throws -> ScenarioResult {
        var latency = LatencyRecorder()
        let rate = try Self.timedRate(for: settings.duration, latency: &latency) {
            switch operation {
            case .sign: try raw.sign()
            case .verify: try raw.verify()
            }
        }
        rawRates[name] = rate
        return ScenarioResult(name: name, opsPerSecond: rate, latency: latency, note: "EVP on one core: the limit")
    }

    private func mint() throws -> ScenarioResult {
        let claims = Claims(
            issuer: "https://bench.example", subject: "user-123456", audience: ["api"], scopes: ["read"],
            tokenID: try TokenID.random().text, sessionID: try TokenID.random().text, issuedAt: 1_800_000_000,
            expiresAt: 1_800_000_900, notBefore: 1_800_000_000)
        let minter = TokenMinter()
        let keyID = baselineKey.publicKey.thumbprint
        var latency = LatencyRecorder()
        let rate = try Self.timedRate(for: settings.duration, latency: &latency) {
            _ = try minter.mint(claims: claims, key: baselineKey, keyID: keyID)
        }
        return ScenarioResult(name: "mint", opsPerSecond: rate, latency: latency, note: "a whole access token, one core")
            .compared(to: "sign.raw", rate: try rawRate("sign.raw", .sign))
    }

    private func rawRate(_ name: String, _ operation: RawEVPRate.Operation) throws -> Double {
        if let rate = rawRates[name] { return rate }
        return try rawScenario(name, operation: operation).opsPerSecond ?? 1
    }

    // MARK: - The validator

    /// Rounds of raw verification alternating with `verify` over tokens the validator never saw;
    /// the median ratio is reported with that round's figures.
    private func uniqueTokens(_ name: String, note: String) async throws -> ScenarioResult {
        var rounds: [(rate: Double, raw: Double, latency: LatencyRecorder)] = []
        let perRound = max(200, Int((try rawRate("verify.raw", .verify)) * Self.seconds(settings.duration) * 1.5))
        for _ in 0..<settings.rounds {
            let tokens = try await issue(perRound).map(\.accessToken)
            let rawRate = try Self.rate(for: settings.duration) { try raw.verify() }
            var latency = LatencyRecorder()
            let clock = ContinuousClock()
            let start = clock.now
            var verified = 0
            for token in tokens {
                let before = clock.now
                guard await validator.verify(token).isValid else { throw ValidationError("a fresh token did not verify") }
                latency.record(clock.now - before)
                verified += 1
                if clock.now - start >= settings.duration { break }
            }
            rounds.append((Double(verified) / Self.seconds(clock.now - start), rawRate, latency))
        }
        let median = rounds.sorted { $0.rate / $0.raw < $1.rate / $1.raw }[rounds.count / 2]
        return ScenarioResult(name: name, opsPerSecond: median.rate, latency: median.latency, note: note)
            .compared(to: "verify.raw", rate: median.raw)
    }

    /// 10,000 live tokens each presented many times, with the revocations mirrored: throughput on
    /// one core, then a pass that times each call.
    private func warm() async throws -> ScenarioResult {
        let tokens = try await verifiedLiveTokens()
        let clock = ContinuousClock()
        var index = 0
        var rates: [Double] = []
        for _ in 0..<settings.rounds {
            let start = clock.now
            var count = 0
            while clock.now - start < settings.duration {
                for _ in 0..<1_000 {
                    guard await validator.verify(tokens[index]).isValid else { throw ValidationError("a warm token failed") }
                    index = index + 1 == tokens.count ? 0 : index + 1
                }
                count += 1_000
            }
            rates.append(Double(count) / Self.seconds(clock.now - start))
        }
        var latency = LatencyRecorder()
        for round in 0..<10 {
            for token in tokens {
                let before = clock.now
                _ = await validator.verify(token)
                if round > 0 { latency.record(clock.now - before) }
            }
        }
        return ScenarioResult(
            name: "verify.warm", opsPerSecond: rates.sorted()[rates.count / 2], latency: latency,
            note: "10,000 live tokens, \(validator.state.revocations) revocations mirrored, one core"
        ).compared(to: "verify.raw", rate: try rawRate("verify.raw", .verify))
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

    // MARK: - RPC

    /// Validate over loopback with pipelined calls (4 connections × 32 in flight), then the latency
    /// of each call at about half that rate: the raw generator with fewer calls in flight.
    private func validateRPC() async throws -> ScenarioResult {
        let request = ValidateRequest(token: sample.accessToken, audience: "api")
        let expected = ByteBuffer(bytes: try await client.validate(request).serializedBytes())
        let load = PipelinedLoad(
            method: TokenServiceMethod.validate, payloads: [request.serializedBytes()], credential: "bench",
            accept: { $0 == expected })
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let full = try await load.measure(
                host: endpoint.host, port: endpoint.port, connections: 4, depth: 32, duration: settings.duration,
                group: group)
            // Closed loops of growing size; the first at or past half the full rate is reported.
            var half = full
            var halfLoad = (connections: 4, depth: 32)
            for (connections, depth) in [(1, 1), (2, 1), (4, 1), (4, 2), (4, 4), (4, 8), (4, 16)] {
                let outcome = try await load.measure(
                    host: endpoint.host, port: endpoint.port, connections: connections, depth: depth,
                    duration: settings.duration, group: group)
                half = outcome
                halfLoad = (connections, depth)
                if outcome.rate >= full.rate / 2 { break }
            }
            try await group.shutdownGracefully()
            return ScenarioResult(
                name: "validate.rpc", opsPerSecond: full.rate, latency: half.latency,
                note: "4 connections × 32 in flight; latencies at \(halfLoad.connections) × \(halfLoad.depth) in flight, "
                    + "\(Int(half.rate))/s"
            ).compared(to: "verify.raw × \(cores) cores", rate: try rawRate("verify.raw", .verify) * Double(cores))
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func issueRPC(
        _ name: String = "issue.rpc",
        client: TokenServiceClient? = nil,
        note: String = "durable, embedded store, 64 callers"
    ) async throws -> ScenarioResult {
        let client = client ?? self.client
        let counter = Atomic<Int>(0)
        let (rate, latency) = try await closedLoop(callers: 64) {
            let index = counter.add(1, ordering: .relaxed).newValue
            _ = try await client.issue(IssueRequest(subject: "bench-\(index % 10_000)", audience: ["api"], withRefreshToken: true))
        }
        return ScenarioResult(name: name, opsPerSecond: rate, latency: latency, note: note)
            .compared(to: "sign.raw × \(cores) cores", rate: try rawRate("sign.raw", .sign) * Double(cores))
    }

    private func refreshRPC(
        _ name: String = "refresh.rpc",
        client: TokenServiceClient? = nil,
        note: String = "durable rotation, embedded store, 64 callers"
    ) async throws -> ScenarioResult {
        let client = client ?? self.client
        let chains = Mutex<[String]>(try await issue(64, refresh: true, client: client).map(\.refreshToken))
        let (rate, latency) = try await closedLoop(callers: 64) {
            guard let token = chains.withLock({ $0.popLast() }) else { throw ValidationError("no refresh token left") }
            let next = try await client.refresh(token)
            chains.withLock { $0.append(next.refreshToken) }
        }
        return ScenarioResult(name: name, opsPerSecond: rate, latency: latency, note: note)
            .compared(to: "sign.raw × \(cores) cores", rate: try rawRate("sign.raw", .sign) * Double(cores))
    }

    private func revokeRPC(
        _ name: String = "revoke.rpc",
        client: TokenServiceClient? = nil,
        note: String = "durable, embedded store, 64 callers"
    ) async throws -> ScenarioResult {
        let client = client ?? self.client
        let (rate, latency) = try await closedLoop(callers: 64) {
            _ = try await client.revoke(RevokeRequest(target: .tokenID(try TokenID.random().text)))
        }
        return ScenarioResult(name: name, opsPerSecond: rate, latency: latency, note: note)
    }

    // MARK: - Redis

    /// The seed's Redis-session design: one `GET session:<id>` per request, from one caller in a
    /// loop (as `verify.warm` runs), over 10,000 stored sessions.
    private func sessionRedis() async throws -> ScenarioResult {
        let connection = try await redisConnection()
        defer { connection.close() }
        let session = String(repeating: "x", count: 200)
        _ = try await connection.sendAll((0..<10_000).map { RedisCommand("SET", "bench:session:\($0)", session) })
        var latency = LatencyRecorder()
        var rounds: [Double] = []
        let clock = ContinuousClock()
        var index = 0
        for _ in 0..<settings.rounds {
            let start = clock.now
            var count = 0
            while clock.now - start < settings.duration {
                let before = clock.now
                guard try await connection.send(RedisCommand("GET", "bench:session:\(index)")).bytes != nil else {
                    throw ValidationError("a session was missing")
                }
                latency.record(clock.now - before)
                index = index + 1 == 10_000 ? 0 : index + 1
                count += 1
            }
            rounds.append(Double(count) / Self.seconds(clock.now - start))
        }
        let result = ScenarioResult(
            name: "session.redis", opsPerSecond: rounds.sorted()[rounds.count / 2], latency: latency,
            note: "GET session:<id> on redis-server, one caller, 10,000 sessions")
        return rates["verify.warm"].map { result.compared(to: "verify.warm", rate: $0) } ?? result
    }

    /// `SET` from 64 callers on one pipelined connection: what a durable write costs Redis itself
    /// (`appendfsync always` when the server is configured so, as `tools/test`'s is).
    private func redisSet() async throws -> ScenarioResult {
        let connection = try await redisConnection()
        defer { connection.close() }
        let counter = Atomic<Int>(0)
        let (rate, latency) = try await closedLoop(callers: 64) {
            let index = counter.add(1, ordering: .relaxed).newValue
            _ = try await connection.send(RedisCommand("SET", "bench:set:\(index)", "1"))
        }
        return ScenarioResult(
            name: "redis.set", opsPerSecond: rate, latency: latency,
            note: "SET on redis-server, 64 callers on one connection")
    }

    private func redisConnection() async throws -> RedisConnection {
        guard let url = settings.redisURL else { throw ValidationError("this scenario needs --redis URL") }
        return try await RedisConnection.connect(try RedisConfiguration(url: url), on: MultiThreadedEventLoopGroup.singleton.next())
    }

    /// A client of a second service, on the Redis store.
    private func redisClient() async throws -> TokenServiceClient {
        if let redisService { return redisService.client }
        guard let url = settings.redisURL else { throw ValidationError("this scenario needs --redis URL") }
        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let bench = try await BenchService.start(
            configuration: TokenServiceConfiguration(issuer: "https://bench.example"), directory: "", redisURL: url,
            logger: logger)
        let client = TokenServiceClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: bench.port)], credential: "bench")
        redisService = (bench, client)
        return client
    }

    /// Calls per second and their latencies with `callers` tasks each calling in a loop.
    private func closedLoop(
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

    // MARK: - Propagation and memory

    /// Bytes per entry of one of the validator's structures holding 1,000,000 entries, measured in a
    /// process of its own (`tokenbench memory --structure …`): the revocation mirror (the server
    /// keeps its revocations in the same shards' `RevocationSet`), or the verified-token cache.
    private func memory(_ name: String, structure: String, note: String) throws -> ScenarioResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["memory", "--structure", structure, "--count", "1000000"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, let bytes = Double(text) else {
            throw ValidationError("tokenbench memory failed: \(text)")
        }
        var result = ScenarioResult(name: name, note: note)
        result.bytesPerEntry = bytes
        return result
    }

    // MARK: - Helpers

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
