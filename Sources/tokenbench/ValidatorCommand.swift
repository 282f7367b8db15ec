import ArgumentParser
import Foundation
import Logging
import NIOPosix
import ServiceLifecycle
import TokenClient
import TokenCore
import TokenRPC
import TokenServer
import TokenStore
import TokenWire

/// Measures `TokenValidator` against a real service in the same process: verification of unique
/// tokens with nothing and with many revocations mirrored (against raw EVP verification of the same
/// bytes on one core, in the same rounds), warm traffic, revocation propagation to 16 validators,
/// and the mirror's memory per revocation.
struct ValidatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validator",
        abstract: "TokenValidator: local verification, warm cache, propagation and mirror memory."
    )

    @Option(help: "Seconds per measurement in each round.")
    var seconds: Double = 0.5

    @Option(help: "Measurement rounds; the median is reported.")
    var rounds: Int = 5

    @Option(help: "Revocations mirrored for the mirror and warm measurements.")
    var revocations: Int = 1_000_000

    @Option(help: "Validators watching the service in the propagation measurement.")
    var watchers: Int = 16

    @Option(help: "Revocations timed in the propagation measurement.")
    var propagations: Int = 500

    @Flag(help: "A short run that checks every measurement works (10,000 revocations, 1 round).")
    var quick = false

    func validate() throws {
        guard seconds > 0, seconds <= 60 else { throw ValidationError("--seconds must be in (0, 60]") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be in 1...100") }
        guard (1...10_000_000).contains(revocations) else { throw ValidationError("--revocations 1...10000000") }
        guard (1...64).contains(watchers), (1...100_000).contains(propagations) else {
            throw ValidationError("--watchers 1...64, --propagations 1...100000")
        }
    }

    func run() async throws {
        let rounds = quick ? 1 : self.rounds
        let revocations = quick ? 10_000 : self.revocations
        let propagations = quick ? 50 : self.propagations
        let duration = Duration.milliseconds(Int64((quick ? 0.2 : seconds) * 1000))
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("tokenbench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: temporary) }

        var logger = Logger(label: "tokenbench")
        logger.logLevel = .error
        let bench = try await BenchService.start(
            configuration: TokenServiceConfiguration(issuer: "https://bench.example"),
            directory: temporary,
            logger: logger
        )
        defer { bench.cancel() }
        let endpoint = RPCEndpoint(host: "127.0.0.1", port: bench.port)
        let client = TokenServiceClient(endpoints: [endpoint], credential: "bench")
        var configuration = TokenValidatorConfiguration(endpoints: [endpoint], credential: "bench", issuer: "https://bench.example")
        configuration.audience = "api"

        let sample = try await client.issue(IssueRequest(subject: "bench-user", audience: ["api"], scopes: ["read"]))
        let algorithm = try VerificationKey(spkiDER: (try await client.getKeys()).keys.first?.publicKeyDER ?? []).algorithm
        let baselineKey = try SigningKey.generate(algorithm)
        let raw = try RawEVP(
            pkcs8DER: baselineKey.pkcs8DER(), algorithm: algorithm, message: RawEVP.signingInput(of: sample.accessToken))
        print("TokenValidator, \(algorithm.rawValue), one core, median of \(rounds) round\(rounds == 1 ? "" : "s")")

        // Propagation first, while the mirrors are small: 16 validators each load the snapshot.
        let delays = try await propagation(client: client, configuration: configuration, count: propagations)
        print("propagation      \(watchers) validators, \(propagations) revocations: Revoke answered → every mirror applied it:"
            + " p50 \(microseconds(delays, 0.50)) µs, p99 \(microseconds(delays, 0.99)) µs, max \(microseconds(delays, 1)) µs")

        let validator = TokenValidator(configuration: configuration)
        let validatorTask = Task { try await validator.run() }
        defer { validatorTask.cancel() }
        try await validator.waitUntil(\.isReady)

        let perRound = max(200, Int(Double(validatorRateGuess(raw: raw)) * Double(duration / .seconds(1)) * 1.5))
        let local = try await uniqueRounds(rounds, perRound: perRound, raw: raw, validator: validator, client: client, duration: duration)
        report("verify.local", local, note: "unique tokens, nothing revoked")

        let head = try await revokeMany(revocations, client: client)
        try await validator.waitUntil { $0.appliedSeq >= head }
        let mirrored = try await uniqueRounds(rounds, perRound: perRound, raw: raw, validator: validator, client: client, duration: duration)
        report("verify.mirror", mirrored, note: "unique tokens, \(validator.state.revocations) revocations mirrored")

        let warm = try await warmRounds(rounds, validator: validator, client: client, raw: raw, duration: duration)
        let warmMedian = warm.sorted { $0.rate < $1.rate }[warm.count / 2]
        print("verify.warm".padding(16) + "\(Int(warmMedian.rate))".leftPadding(10) + "/s"
            + "   \(String(format: "%.0f", warmMedian.ratio)) × raw verify (\(Int(warmMedian.raw))/s);"
            + " 10,000 live tokens, \(validator.state.revocations) revocations mirrored (goal ≥ 1,000,000/s)")

        let bytes = Self.mirrorBytesPerRevocation(count: 1_000_000)
        print("memory".padding(16) + "\(Int(bytes.rounded()))".leftPadding(10) + " bytes per mirrored revocation (goal ≤ 64)")

        validatorTask.cancel()
        _ = await validatorTask.result
        await client.close()
        try await bench.stop()
    }

    private struct Sample {
        let rate: Double
        let raw: Double
        var ratio: Double { rate / raw }
    }

    /// A first guess of the verification rate, to size each round's set of unique tokens.
    private func validatorRateGuess(raw: RawEVP) -> Int {
        (try? Int(Self.rate(for: .milliseconds(100)) { try raw.verify() })) ?? 10_000
    }

    /// Rounds of raw verification against `validator.verify` over tokens it has never seen.
    private func uniqueRounds(
        _ rounds: Int,
        perRound: Int,
        raw: RawEVP,
        validator: TokenValidator,
        client: TokenServiceClient,
        duration: Duration
    ) async throws -> [Sample] {
        var samples: [Sample] = []
        for _ in 0..<rounds {
            let tokens = try await issue(perRound, client: client).map(\.accessToken)
            let rawRate = try Self.rate(for: duration) { try raw.verify() }
            let clock = ContinuousClock()
            let start = clock.now
            var verified = 0
            for token in tokens {
                guard await validator.verify(token).isValid else { throw ValidationError("a fresh token did not verify") }
                verified += 1
                if clock.now - start >= duration { break }
            }
            samples.append(Sample(rate: Double(verified) / Self.seconds(clock.now - start), raw: rawRate))
        }
        return samples
    }

    /// Rounds of 10,000 live tokens, each presented many times, against raw verification.
    private func warmRounds(
        _ rounds: Int,
        validator: TokenValidator,
        client: TokenServiceClient,
        raw: RawEVP,
        duration: Duration
    ) async throws -> [Sample] {
        let tokens = try await issue(10_000, client: client).map(\.accessToken)
        for token in tokens {
            guard await validator.verify(token).isValid else { throw ValidationError("a live token did not verify") }
        }
        var samples: [Sample] = []
        for _ in 0..<rounds {
            let rawRate = try Self.rate(for: duration) { try raw.verify() }
            let clock = ContinuousClock()
            let start = clock.now
            var count = 0
            var index = 0
            while clock.now - start < duration {
                for _ in 0..<1_000 {
                    guard await validator.verify(tokens[index]).isValid else { throw ValidationError("a warm token failed") }
                    index = index + 1 == tokens.count ? 0 : index + 1
                }
                count += 1_000
            }
            samples.append(Sample(rate: Double(count) / Self.seconds(clock.now - start), raw: rawRate))
        }
        return samples
    }

    /// Times each revocation from the Revoke's answer until every watching validator applied it.
    private func propagation(
        client: TokenServiceClient,
        configuration: TokenValidatorConfiguration,
        count: Int
    ) async throws -> [Duration] {
        let validators = (0..<watchers).map { _ in TokenValidator(configuration: configuration) }
        let tasks = validators.map { validator in Task { try await validator.run() } }
        defer { tasks.forEach { $0.cancel() } }
        for validator in validators {
            try await validator.waitUntil(\.isReady)
        }
        let tokens = try await issue(count, client: client)
        var delays: [Duration] = []
        for token in tokens {
            let seq = try await client.revoke(RevokeRequest(target: .tokenID(token.tokenID))).seq
            let answered = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for validator in validators {
                    group.addTask { try await validator.waitUntilApplied(seq: seq) }
                }
                try await group.waitForAll()
            }
            delays.append(ContinuousClock.now - answered)
            guard await validators[0].verify(token.accessToken).outcome == .invalid(.revoked) else {
                throw ValidationError("a revoked token was not rejected")
            }
        }
        tasks.forEach { $0.cancel() }
        for task in tasks { _ = await task.result }
        return delays
    }

    /// Issues `count` tokens, 64 calls at a time.
    private func issue(_ count: Int, client: TokenServiceClient) async throws -> [IssueResponse] {
        try await withThrowingTaskGroup(of: [IssueResponse].self) { group in
            for lane in 0..<64 {
                group.addTask {
                    var issued: [IssueResponse] = []
                    for index in stride(from: lane, to: count, by: 64) {
                        issued.append(try await client.issue(IssueRequest(subject: "bench-\(index)", audience: ["api"])))
                    }
                    return issued
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    /// Revokes `count` token ids, 64 calls at a time, and returns the last seq.
    private func revokeMany(_ count: Int, client: TokenServiceClient) async throws -> UInt64 {
        try await withThrowingTaskGroup(of: UInt64.self) { group in
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
    }

    /// Bytes per revocation of a mirror holding `count` token revocations: the growth of the
    /// process's resident memory while it is built.
    static func mirrorBytesPerRevocation(count: Int) -> Double {
        // The events exist before the first reading: only the set's own memory is counted.
        let events = (1...count).map { seq in
            RevocationEvent(
                seq: UInt64(seq), kind: .token, value: (try? TokenID.random().text) ?? "\(seq)", revokedAt: 0,
                expiresAt: .max)
        }
        let before = residentBytes()
        var set = RevocationSet()
        for event in events {
            set.apply(event)
        }
        let after = residentBytes()
        return withExtendedLifetime(set) { Double(after - before) / Double(count) }
    }

    /// The process's resident memory, from `/proc/self/statm` (0 where it cannot be read).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private func report(_ label: String, _ samples: [Sample], note: String) {
        let median = samples.sorted { $0.ratio < $1.ratio }[samples.count / 2]
        print(label.padding(16) + "\(Int(median.rate))".leftPadding(10) + "/s   "
            + "\(Int((median.ratio * 100).rounded()))% of raw verify (\(Int(median.raw))/s); \(note) (goal ≥ 90%)")
    }

    private func microseconds(_ delays: [Duration], _ quantile: Double) -> Int {
        let sorted = delays.sorted()
        guard !sorted.isEmpty else { return 0 }
        let index = min(sorted.count - 1, Int(Double(sorted.count) * quantile))
        return Int((sorted[index] / .microseconds(1)).rounded())
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
}
