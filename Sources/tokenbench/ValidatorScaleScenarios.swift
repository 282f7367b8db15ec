import ArgumentParser
import Foundation
import Synchronization
@_spi(Benchmarks) import TokenClient
import TokenCore
import TokenTestSupport
import TokenWire

/// The validator at fleet scale, on the session's service: every core verifying at once
/// (`verify.warm.cores`), a working set of a million tokens with Zipf popularity (`verify.zipf`), and
/// warm verifications while the mirror swaps in a large snapshot and prunes (`verify.pause`).
struct ValidatorScaleScenarios {
    let session: BenchSession

    private var settings: BenchSession.Settings {
        session.settings
    }

    /// One task per core running the `verify.warm` loop over the same 10,000 live tokens, each task
    /// from its own offset; rounds alternate with the loop on one task, whose median is the baseline.
    func warmCores() async throws -> ScenarioResult {
        let tokens = try await session.verifiedLiveTokens()
        let validator = session.validator
        let cores = session.cores
        let lanes = (0..<cores).map { task in
            VerifyLane(tokens: tokens, order: Self.rotation(count: tokens.count, by: task * tokens.count / cores))
        }
        var single: [(rate: Double, perCPUSecond: Double)] = []
        var all: [(rate: Double, perCPUSecond: Double)] = []
        for _ in 0..<settings.rounds {
            single.append(try await Self.measuredRate(validator, lanes: [lanes[0]], duration: settings.duration))
            all.append(try await Self.measuredRate(validator, lanes: lanes, duration: settings.duration))
        }
        let latency = try await Self.latency(validator, lanes: lanes, duration: settings.duration)
        let baseline = Self.median(single.map(\.rate))
        // Calls per second of the process's CPU time: what contention between the cores would lower,
        // and what other processes on a shared machine do not.
        let perCPU = (Self.median(single.map(\.perCPUSecond)), Self.median(all.map(\.perCPUSecond)))
        return ScenarioResult(
            name: "verify.warm.cores", opsPerSecond: Self.median(all.map(\.rate)), latency: latency,
            note: "\(cores) tasks, 10,000 live tokens each, \(validator.state.revocations) revocations mirrored; "
                + "baseline: the verify.warm loop on one task in alternating rounds, \(Int(baseline))/s; "
                + "per CPU-second \(Int(perCPU.0)) on one task, \(Int(perCPU.1)) on \(cores)"
        ).compared(to: "verify.warm", rate: baseline)
    }

    /// 1,000,000 live tokens (20,000 with `--quick`) presented with Zipf (s = 1) popularity by one task
    /// per core, to a validator of its own with the default cache and 1,000,000 revocations mirrored
    /// (`--revocations`). The tokens are minted here with the service's signing key (as the service
    /// would mint them, faster than a million Issue calls) and each verified once before the
    /// measurement.
    func zipf() async throws -> ScenarioResult {
        let count = settings.revocations >= 1_000_000 ? 1_000_000 : 20_000
        let tokens = try await mintTokens(count)
        let validator = try await playedValidator(revocations: settings.revocations)
        let cores = session.cores
        // Warm: every token verified once (a signature check each), on every core.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<cores {
                group.addTask {
                    for index in stride(from: lane, to: tokens.count, by: cores) {
                        guard await validator.verify(tokens[index]).isValid else {
                            throw ValidationError("a minted token did not verify")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        // The popularity ranks are shuffled over the tokens, so that popularity has nothing to do with
        // the order the cache took them in.
        let sampler = ZipfSampler(count: count)
        var random = SeededRandom(seed: 2_026)
        let lanes = (0..<cores).map { _ in
            VerifyLane(tokens: tokens, order: (0..<(1 << 20)).map { _ in Int32(sampler.sample(&random)) })
        }
        let before = validator.state
        var rates: [Double] = []
        for _ in 0..<settings.rounds {
            rates.append(try await Self.rate(validator, lanes: lanes, duration: settings.duration).rate)
        }
        let latency = try await Self.latency(validator, lanes: lanes, duration: settings.duration)
        let after = validator.state
        let hits = Double(after.cacheHits - before.cacheHits)
        let misses = Double(after.cacheMisses - before.cacheMisses)
        // What reaching a token in this benchmark's million strings and digesting it costs alone: a
        // service gets each token fresh from its request instead.
        let digestOnly = Self.digestNanoseconds(lanes[0], duration: settings.duration)
        var result = ScenarioResult(
            name: "verify.zipf", opsPerSecond: Self.median(rates), latency: latency,
            note: "\(count) live tokens, Zipf s = 1, \(after.revocations) revocations mirrored, \(cores) tasks, "
                + "cache of \(session.validatorConfiguration.cacheCapacity) holding \(after.cacheEntries); "
                + "reaching and digesting a token alone: \(Int(digestOnly)) ns")
        result.hitRate = hits / max(1, hits + misses)
        return session.rates["verify.warm.cores"].map { result.compared(to: "verify.warm.cores", rate: $0) } ?? result
    }

    /// Warm verifications on every core but one while the last applies a snapshot of 1,000,000
    /// revocations (100,000 with `--quick`), half of them expired, swaps it in and prunes the expired
    /// half: every call is timed.
    func pause() async throws -> ScenarioResult {
        let size = settings.revocations >= 1_000_000 ? 1_000_000 : 100_000
        let tokens = try await session.liveTokens()
        let validator = try await playedValidator(revocations: 0)
        for token in tokens {
            guard await validator.verify(token).isValid else { throw ValidationError("a live token did not verify") }
        }
        let now = SystemClock().now()
        var batches: [RevocationBatch] = []
        var events: [WireRevocationEvent] = []
        for index in 0..<size {
            events.append(
                WireRevocationEvent(
                    seq: UInt64(index + 1), kind: .token, value: try TokenID.random().text, revokedAt: now - 7_200,
                    expiresAt: index % 2 == 0 ? now - 3_600 : now + 3_600))
            if events.count == 1_000 {
                batches.append(RevocationBatch(events: events, headSeq: UInt64(size), snapshot: true))
                events = []
            }
        }
        if !events.isEmpty {
            batches.append(RevocationBatch(events: events, headSeq: UInt64(size), snapshot: true))
        }
        batches.append(RevocationBatch(events: [], headSeq: UInt64(size), snapshot: false))

        let verifiers = max(1, session.cores - 1)
        let lanes = (0..<verifiers).map { task in
            VerifyLane(tokens: tokens, order: Self.rotation(count: tokens.count, by: task * tokens.count / verifiers))
        }
        // The same loop without the writer first: what this machine's scheduling alone costs.
        let control = try await Self.latency(validator, lanes: lanes, duration: settings.duration)
        let writing = WritingFlag()
        let clock = ContinuousClock()
        let start = clock.now
        async let verified = Self.timedWhile(validator, lanes: lanes) { writing.isOn }
        let margin = BenchSession.seconds(settings.duration) / 4
        // The writer runs on a thread of its own, as the stream's task would on another core.
        let (applied, pruned) = await withCheckedContinuation { continuation in
            Thread.detachNewThread { [batches] in
                let clock = ContinuousClock()
                // Verifications run alone for a moment first.
                Thread.sleep(forTimeInterval: margin)
                let applyStart = clock.now
                for batch in batches {
                    validator.applyForBenchmark(batch)
                }
                let applied = clock.now - applyStart
                let pruneStart = clock.now
                validator.pruneForBenchmark(now: SystemClock().now())
                let pruned = clock.now - pruneStart
                Thread.sleep(forTimeInterval: margin)
                writing.turnOff()
                continuation.resume(returning: (applied, pruned))
            }
        }
        let (calls, latency) = try await verified
        let elapsed = clock.now - start
        let state = validator.state
        guard state.revocations == size / 2 else {
            throw ValidationError("after the prune the mirror holds \(state.revocations) of \(size / 2) revocations")
        }
        return ScenarioResult(
            name: "verify.pause", opsPerSecond: Double(calls) / BenchSession.seconds(elapsed), latency: latency,
            note: "\(verifiers) task(s) verifying 10,000 warm tokens while a \(size)-entry snapshot is applied "
                + "(\(Self.milliseconds(applied)) ms) and \(size / 2) expired entries pruned "
                + "(\(Self.milliseconds(pruned)) ms); the same loop alone: p99.9 "
                + String(format: "%.2f µs, max %.0f µs", control.microseconds(at: 99.9), control.maximumMicroseconds))
    }

    /// A validator of its own whose revocation stream the benchmark plays (the service's stream
    /// would send the same batches): keys from the service, a snapshot of `revocations` random token
    /// ids that expire in an hour, and fresh for longer than the run.
    private func playedValidator(revocations: Int) async throws -> TokenValidator {
        var configuration = session.validatorConfiguration
        configuration.staleAfter = .seconds(3_600)
        let validator = TokenValidator(configuration: configuration)
        await validator.refreshKeys()
        let now = SystemClock().now()
        var events: [WireRevocationEvent] = []
        for index in 0..<revocations {
            events.append(
                WireRevocationEvent(
                    seq: UInt64(index + 1), kind: .token, value: try TokenID.random().text, revokedAt: now,
                    expiresAt: now + 3_600))
            if events.count == 1_000 {
                validator.applyForBenchmark(
                    RevocationBatch(events: events, headSeq: UInt64(revocations), snapshot: true))
                events = []
            }
        }
        validator.applyForBenchmark(RevocationBatch(events: events, headSeq: UInt64(revocations), snapshot: true))
        validator.applyForBenchmark(RevocationBatch(events: [], headSeq: UInt64(revocations), snapshot: false))
        guard validator.state.isReady, validator.state.revocations == revocations else {
            throw ValidationError("the played validator is not ready")
        }
        return validator
    }

    /// Mints `count` tokens as the service would, with its active signing key (from the embedded
    /// store's key file), on every core.
    private func mintTokens(_ count: Int) async throws -> [String] {
        let path = session.directory + "/keys/\(session.sample.keyID).der"
        guard let der = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the service's signing key")
        }
        let key = try SigningKey(pkcs8DER: Array(der))
        let keyID = session.sample.keyID
        let now = SystemClock().now()
        let cores = session.cores
        return try await withThrowingTaskGroup(of: [String].self) { group in
            for lane in 0..<cores {
                group.addTask {
                    let minter = TokenMinter()
                    var tokens: [String] = []
                    for index in stride(from: lane, to: count, by: cores) {
                        let claims = Claims(
                            issuer: "https://bench.example", subject: "zipf-\(index)", audience: ["api"],
                            scopes: ["read"], tokenID: try TokenID.random().text,
                            sessionID: try TokenID.timeOrdered(unixMilliseconds: now * 1_000).text, issuedAt: now,
                            expiresAt: now + 3_600, notBefore: now)
                        tokens.append(try minter.mint(claims: claims, key: key, keyID: keyID))
                    }
                    return tokens
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    // MARK: - Loops

    /// Calls per second of one task per lane, each verifying its tokens in its order for `duration`,
    /// added up over the lanes; each lane times only its calls, not the arrival of their tokens (see
    /// `VerifyLane.arrivals`).
    private static func rate(_ validator: TokenValidator, lanes: [VerifyLane], duration: Duration) async throws
        -> (rate: Double, calls: Int)
    {
        let clock = ContinuousClock()
        let deadline = clock.now + duration
        return try await withThrowingTaskGroup(of: (rate: Double, calls: Int).self) { group in
            for lane in lanes {
                group.addTask {
                    var calls = 0
                    var timed = Duration.zero
                    var position = 0
                    while clock.now < deadline {
                        let requests = lane.arrivals(from: position)
                        let start = clock.now
                        for request in requests {
                            guard await validator.verify(request).isValid else {
                                throw ValidationError("a live token failed")
                            }
                        }
                        timed += clock.now - start
                        calls += requests.count
                        position = (position + requests.count) % lane.order.count
                    }
                    return (Double(calls) / BenchSession.seconds(timed), calls)
                }
            }
            return try await group.reduce((0, 0)) { ($0.rate + $1.rate, $0.calls + $1.calls) }
        }
    }

    /// `rate`, and the calls per second of the process's CPU time in the same window.
    private static func measuredRate(
        _ validator: TokenValidator,
        lanes: [VerifyLane],
        duration: Duration
    ) async throws -> (rate: Double, perCPUSecond: Double) {
        let cpuBefore = processCPUSeconds()
        let (rate, calls) = try await rate(validator, lanes: lanes, duration: duration)
        return (rate, Double(calls) / max(1e-9, processCPUSeconds() - cpuBefore))
    }

    /// Nanoseconds per token of reaching the lane's tokens in its order and digesting each, on one task.
    private static func digestNanoseconds(_ lane: VerifyLane, duration: Duration) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        var position = 0
        var sink: UInt64 = 0
        while clock.now - start < duration {
            for _ in 0..<1_000 {
                sink ^= SHA256Digest(of: lane.tokens[Int(lane.order[position])]).words.0
                position = position + 1 == lane.order.count ? 0 : position + 1
            }
            count += 1_000
        }
        // The digests feed a value the caller sees, so the loop cannot be left out.
        return BenchSession.seconds(clock.now - start) * 1e9 / Double(count) + Double(sink & 1) * 1e-9
    }

    /// The CPU time this process has used, in seconds.
    static func processCPUSeconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }

    /// Latencies of each call of the same loops, for `duration`.
    private static func latency(
        _ validator: TokenValidator,
        lanes: [VerifyLane],
        duration: Duration
    ) async throws -> LatencyRecorder {
        let deadline = ContinuousClock.now + duration
        return try await timedWhile(validator, lanes: lanes) { ContinuousClock.now < deadline }.latency
    }

    /// One task per lane verifying its tokens in its order while `running` says so, timing each call.
    private static func timedWhile(
        _ validator: TokenValidator,
        lanes: [VerifyLane],
        running: @escaping @Sendable () -> Bool
    ) async throws -> (calls: Int, latency: LatencyRecorder) {
        try await withThrowingTaskGroup(of: (Int, LatencyRecorder).self) { group in
            for lane in lanes {
                group.addTask {
                    let clock = ContinuousClock()
                    var latency = LatencyRecorder()
                    var position = 0
                    var calls = 0
                    while running() {
                        for request in lane.arrivals(from: position) {
                            let before = clock.now
                            guard await validator.verify(request).isValid else {
                                throw ValidationError("a live token failed")
                            }
                            latency.record(clock.now - before)
                        }
                        calls += VerifyLane.arrivalsPerRound
                        position = (position + VerifyLane.arrivalsPerRound) % lane.order.count
                    }
                    return (calls, latency)
                }
            }
            var calls = 0
            var merged = LatencyRecorder()
            for try await (count, latency) in group {
                calls += count
                merged.add(latency)
            }
            return (calls, merged)
        }
    }

    // MARK: - Helpers

    /// 0..<count starting at `offset`.
    private static func rotation(count: Int, by offset: Int) -> [Int32] {
        (0..<count).map { Int32(($0 + offset) % count) }
    }

    private static func median(_ values: [Double]) -> Double {
        values.sorted()[values.count / 2]
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        Int((BenchSession.seconds(duration) * 1_000).rounded())
    }
}

/// What one verifying task presents: its own copy of the tokens (as each request brings its own
/// string), in its own order of indices.
struct VerifyLane: Sendable {
    let tokens: [String]
    let order: [Int32]

    /// The calls whose tokens arrive together (`arrivals`).
    static let arrivalsPerRound = 100

    init(tokens: [String], order: [Int32]) {
        self.tokens = tokens.map { String(decoding: Array($0.utf8), as: UTF8.self) }
        self.order = order
    }

    /// The tokens of the next `arrivalsPerRound` calls from `position` in the lane's order, as fresh
    /// copies: what a service verifies is a token it has just read from a request, in the processor's
    /// cache, not one of a million strings far away in memory. The loops time the calls, not this.
    func arrivals(from position: Int) -> [String] {
        (0..<Self.arrivalsPerRound).map { offset in
            let token = tokens[Int(order[(position + offset) % order.count])]
            return String(unsafeUninitializedCapacity: token.utf8.count) { buffer in
                buffer.initialize(fromContentsOf: token.utf8)
            }
        }
    }
}

/// Whether the writer of `verify.pause` is still at work.
final class WritingFlag: Sendable {
    private let on = Atomic(true)

    var isOn: Bool {
        on.load(ordering: .acquiring)
    }

    func turnOff() {
        on.store(false, ordering: .releasing)
    }
}

/// Ranks drawn with Zipf popularity (s = 1): rank k with probability proportional to 1 / k, each rank
/// mapped to a token by a fixed shuffle.
struct ZipfSampler {
    /// The cumulative probability of ranks 1...k at index k − 1.
    private let cumulative: [Double]
    /// The token of each rank.
    private let tokenOfRank: [Int32]

    init(count: Int) {
        var cumulative: [Double] = []
        cumulative.reserveCapacity(count)
        var total = 0.0
        for rank in 1...count {
            total += 1 / Double(rank)
            cumulative.append(total)
        }
        self.cumulative = cumulative.map { $0 / total }
        var random = SeededRandom(seed: 7)
        var tokens = (0..<count).map { Int32($0) }
        tokens.shuffle(using: &random)
        tokenOfRank = tokens
    }

    /// A token index.
    func sample(_ random: inout SeededRandom) -> Int {
        let draw = Double(random.next() >> 11) / Double(1 << 53)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < draw { low = middle + 1 } else { high = middle }
        }
        return Int(tokenOfRank[low])
    }
}
