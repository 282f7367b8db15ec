import Foundation
import NIOPosix
import Synchronization
import Testing
import TokenClient
import TokenCore
import TokenRPC
import TokenRedisStore
import TokenStore
import TokenTestSupport
import TokenWire

/// The revocation log's promise under faults, with real processes: `tokend` instances on a
/// `redis-server` of the test's own, some behind a TCP proxy that partitions them from it.
@Suite("Revocations under faults", .enabled(if: RedisTestServer.isRequired))
struct RevocationFaultTests {
    static let masterKey = String(repeating: "c3", count: 32)

    /// A directory with a callers file, removed when the value goes away.
    final class Workspace {
        let directory: String
        let callers: String

        init() throws {
            directory = try TemporaryDirectory.make(prefix: "revocation-faults")
            callers = try TokendProcess.writeCallersFile(in: directory)
        }

        /// Starts `tokend` on the Redis at `redisPort` (directly, or through a proxy's port).
        func tokend(
            redisPort: Int,
            listenPort: Int = 0,
            extraArguments: [String] = [],
            waitUntilListening: Bool = true
        ) throws -> TokendProcess {
            try TokendProcess(
                dataDirectory: directory + "/unused", callersFile: callers, listenPort: listenPort,
                extraArguments: ["--store", "redis://127.0.0.1:\(redisPort)"] + extraArguments,
                environment: ["TOKEND_MASTER_KEY": RevocationFaultTests.masterKey],
                waitUntilListening: waitUntilListening)
        }

        deinit {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    static func client(_ port: Int, _ credential: String = "admin") -> TokenServiceClient {
        TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: port)], credential: credential))
    }

    /// Fail-closed validators fed by the instances on `ports` (one each), ready, while `body` runs.
    static func withValidators<T>(
        on ports: [Int],
        _ body: ([TokenValidator]) async throws -> T
    ) async throws -> T {
        let validators = ports.map { port in
            TokenValidator(
                configuration: ValidatorHarness.configuration(port: port, staleAfter: .seconds(2)) {
                    $0.initialReconnectDelay = .milliseconds(50)
                    $0.maximumReconnectDelay = .milliseconds(500)
                })
        }
        let tasks = validators.map { validator in Task { try await validator.run() } }
        defer {
            for task in tasks {
                task.cancel()
            }
        }
        for validator in validators {
            try await within(.seconds(20), "a validator to become ready") {
                try await validator.waitUntil(\.isReady)
            }
        }
        return try await body(validators)
    }

    /// Waits (at most `limit`) until `validator` says `outcome` for `token`, the mirror fresh.
    static func expectVerdict(
        _ validator: TokenValidator,
        _ token: String,
        _ outcome: TokenValidation.Outcome,
        _ what: String,
        within limit: Duration = .seconds(20)
    ) async throws {
        let reached = try await eventually(within: limit) {
            guard validator.state.mirrorFresh else { return false }
            return await validator.verify(token).outcome == outcome
        }
        let last = await validator.verify(token).outcome
        #expect(reached, "\(what): the validator answers \(last), fresh: \(validator.state.mirrorFresh)")
    }

    @Test(.timeLimit(.minutes(2)))
    func aPartitionedInstanceStopsVouchingAndItsValidatorsFollowTheirPolicy() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        let proxy = try await TCPProxy(upstreamPort: redis.port)
        let workspace = try Workspace()
        let a = try workspace.tokend(redisPort: redis.port)
        let b = try workspace.tokend(redisPort: proxy.port, extraArguments: ["--http-listen", "127.0.0.1:0"])
        let httpB = try b.httpPort()
        let onA = Self.client(a.port)
        let onB = Self.client(b.port)
        let token = try await onA.issue(IssueRequest(subject: "alice"))

        try await Self.withValidators(on: [b.port]) { validators in
            let validator = validators[0]
            #expect(await validator.verify(token.accessToken).outcome == .valid)

            proxy.partition()
            let partitioned = ContinuousClock.now
            let turnedStale = Task {
                try await validator.waitUntil { !$0.mirrorFresh }
                return ContinuousClock.now - partitioned
            }
            // Revoked on A, which B cannot hear of while the partition lasts.
            let revoked = try await onA.revoke(RevokeRequest(target: .tokenID(token.tokenID)))

            #expect(try await eventually(within: .seconds(10)) {
                (try? await onB.health().serving) == false
            })
            let unserving = ContinuousClock.now - partitioned
            // The bound is 2 s after B's last round, which came before the partition; the margin is
            // for a loaded machine (the design before certification took 5 s, and fails this).
            #expect(unserving < .milliseconds(4_500), "B still said serving \(unserving) after the partition")
            #expect(try await RawHTTP.get(port: httpB, "/readyz").status == 503)
            let refused = await #expect(throws: RPCError.self) {
                _ = try await onB.validate(ValidateRequest(token: token.accessToken))
            }
            #expect(refused?.code == .unavailable)

            let stale = try await within(.seconds(10), "the validator fed by B to turn stale") {
                try await turnedStale.value
            }
            print(
                "partition → stale at a validator (staleAfter 2 s): \(stale); B stopped vouching after \(unserving)")
            #expect(stale < .seconds(8), "the validator was still fresh \(stale) after the partition")
            // Fail-closed: B cannot confirm, so the token A revoked is not accepted.
            let verdict = await validator.verify(token.accessToken)
            #expect(verdict.outcome == .unknown, "a validator fed by a partitioned instance answered \(verdict)")

            proxy.heal()
            try await within(.seconds(20), "the validator to apply the revocation made during the partition") {
                try await validator.waitUntilApplied(seq: revoked.seq)
            }
            try await Self.expectVerdict(validator, token.accessToken, .invalid(.revoked), "after the heal")
            #expect(try await eventually(within: .seconds(10)) {
                (try? await onB.health().serving) == true
            })
            #expect(try await RawHTTP.get(port: httpB, "/readyz").status == 200)
        }
        await onA.close()
        await onB.close()
        await proxy.close()
    }

    @Test(.timeLimit(.minutes(2)))
    func aRedisRestartedFromAnOlderSnapshotGetsANewEpochAndLosesNoAcknowledgedRevocation() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        let proxyA = try await TCPProxy(upstreamPort: redis.port)
        let proxyB = try await TCPProxy(upstreamPort: redis.port)
        let workspace = try Workspace()
        let a = try workspace.tokend(redisPort: proxyA.port)
        let b = try workspace.tokend(redisPort: proxyB.port)
        let onA = Self.client(a.port)
        var tokens: [IssueResponse] = []
        for subject in ["t0", "t1", "t2", "t3"] {
            tokens.append(try await onA.issue(IssueRequest(subject: subject)))
        }
        var batches = Self.client(a.port, "validator").watchRevocations(WatchRevocationsRequest()).makeAsyncIterator()
        let firstEpoch = try #require(try await batches.next()).epoch

        try await Self.withValidators(on: [a.port, b.port]) { validators in
            let saved = try await onA.revoke(RevokeRequest(target: .tokenID(tokens[0].tokenID)))
            // The snapshot Redis comes back from holds t0's revocation only.
            let redisConnection = try await RedisConnection.connect(
                try RedisConfiguration(url: redis.url), on: MultiThreadedEventLoopGroup.singleton.next())
            #expect(try await redisConnection.send(RedisCommand("SAVE")) == .status("OK"))
            redisConnection.close()
            let snapshot = workspace.directory + "/older.rdb"
            try FileManager.default.copyItem(atPath: redis.directory + "/dump.rdb", toPath: snapshot)
            let lost = [
                try await onA.revoke(RevokeRequest(target: .tokenID(tokens[1].tokenID))),
                try await onA.revoke(RevokeRequest(target: .tokenID(tokens[2].tokenID))),
            ]
            for validator in validators {
                try await validator.waitUntilApplied(seq: lost[1].seq)
            }

            // A and B cannot reach Redis while it restarts without the last two revocations.
            proxyA.partition()
            proxyB.partition()
            try redis.restart(fromSnapshot: snapshot)
            // C, started now, sees only the restored log, and hands out t1's seq again for t3.
            let c = try workspace.tokend(redisPort: redis.port)
            let onC = Self.client(c.port)
            let reused = try await onC.revoke(RevokeRequest(target: .tokenID(tokens[3].tokenID)))
            #expect(reused.seq == saved.seq + 1)
            #expect(reused.seq == lost[0].seq, "t3's revocation got seq \(reused.seq), not t1's \(lost[0].seq)")
            proxyA.heal()
            proxyB.heal()

            try await Self.withValidators(on: [c.port]) { fedByC in
                // Every validator refuses every revoked token: t3's (whose seq A's and B's
                // validators had applied already, for t1) and those Redis lost.
                for (name, validator) in zip(["A", "B", "C"], validators + fedByC) {
                    for (index, token) in tokens.enumerated() {
                        try await Self.expectVerdict(
                            validator, token.accessToken, .invalid(.revoked),
                            "t\(index) at the validator fed by \(name)")
                    }
                }
            }
            // A new epoch began, and what Redis lost is stored again: an instance started now knows it.
            var after = Self.client(a.port, "validator").watchRevocations(WatchRevocationsRequest()).makeAsyncIterator()
            let epoch = try #require(try await after.next()).epoch
            #expect(epoch != firstEpoch)
            let d = try workspace.tokend(redisPort: redis.port)
            let onD = Self.client(d.port)
            for (index, token) in tokens.enumerated() {
                let answer = try await onD.validate(ValidateRequest(token: token.accessToken))
                #expect(answer.reason == .revoked, "t\(index) at an instance started after the loss: \(answer.reason)")
            }
            await onC.close()
            await onD.close()
        }
        await onA.close()
        await proxyA.close()
        await proxyB.close()
    }

    @Test(.timeLimit(.minutes(2)))
    func aWatcherReadingAt256KiBPerSecondGetsTheWholeSnapshot() async throws {
        let workspace = try Workspace()
        let data = workspace.directory + "/data"
        let count = 30_000
        // Stored before tokend starts, as many revocations as quickly as the store takes them.
        let store = try await EmbeddedTokenStore(directory: data, logger: .init(label: "test"))
        let now = Int64(Date().timeIntervalSince1970)
        for start in stride(from: 0, to: count, by: 500) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in start..<start + 500 {
                    group.addTask {
                        let request = RevocationRequest(
                            kind: .token, value: try TokenID.random().text, revokedAt: now, expiresAt: now + 3_600,
                            reason: "test")
                        _ = try await store.revoke(request)
                    }
                }
                try await group.waitForAll()
            }
        }
        await store.close()
        let tokend = try TokendProcess(dataDirectory: data, callersFile: workspace.callers)
        let before = try tokend.residentBytes()

        // Two watchers on slow links at once; tokend's memory is sampled while they read.
        let watcher = SlowWatcher(port: tokend.port, credential: "validator", bytesPerSecond: 256 * 1_024)
        let peak = Mutex(before)
        let sampler = Task {
            while !Task.isCancelled {
                let resident = (try? tokend.residentBytes()) ?? 0
                peak.withLock { $0 = max($0, resident) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        async let first = watcher.readSnapshot()
        async let second = watcher.readSnapshot()
        let snapshots = try await [first, second]
        sampler.cancel()
        _ = await sampler.value
        let grown = peak.withLock { $0 } - before
        for snapshot in snapshots {
            #expect(snapshot.events == count + 1, "the revocations and the key ring's event")
        }
        // A copy of the set costs a RevocationEvent and its 22-byte value (48 bytes of heap) per
        // revocation. Each connection may also hold 1 MiB of answers before its stream waits.
        let copy = count * (MemoryLayout<RevocationEvent>.stride + 48)
        #expect(
            grown < 2 * copy,
            "tokend grew by \(grown) bytes serving two snapshots, as if it held a copy of the set (\(copy)) per watcher")
        let snapshot = snapshots[0]
        print(
            "a \(count)-revocation snapshot (\(snapshot.bytes) bytes, \(snapshot.bytes / count) per revocation)"
                + " read at 256 KiB/s took \(snapshot.duration); tokend grew by \(grown / 1_024) KiB serving two")
    }

    @Test(.timeLimit(.minutes(2)))
    func tokendSaysItIsListeningOnlyOnceItFollowsTheRevocationLog() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        let proxy = try await TCPProxy(upstreamPort: redis.port)
        // The store opens on the first connection; the follower's are held.
        proxy.partition(sparingFirst: 1)
        let workspace = try Workspace()
        let reserved = try RefusingPort()
        let port = reserved.port
        reserved.release()
        let tokend = try workspace.tokend(redisPort: proxy.port, listenPort: port, waitUntilListening: false)
        let onTokend = Self.client(port)

        // Bound, the store open and the follower connecting, but not following: not ready.
        #expect(try await eventually(within: .seconds(30)) {
            guard proxy.accepted >= 2 else { return false }
            return (try? await onTokend.health()) != nil
        })
        #expect(try await onTokend.health().serving == false)
        #expect(
            !tokend.lines.contains { $0.hasPrefix("tokend listening on") },
            "tokend announced itself before it followed the revocation log: \(tokend.lines)")
        let refused = await #expect(throws: RPCError.self) {
            _ = try await onTokend.validate(ValidateRequest(token: "x"))
        }
        #expect(refused?.code == .unavailable)

        proxy.heal()
        let line = try tokend.waitForLine(startingWith: "tokend listening on ", within: .seconds(30))
        #expect(line == "tokend listening on 127.0.0.1:\(port)")
        #expect(try await onTokend.health().serving)
        await onTokend.close()
        await proxy.close()
    }
}
