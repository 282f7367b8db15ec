import Foundation
import NIOPosix
import Synchronization
import Testing
import TokenClient
import TokenRPC
import TokenRedisStore
import TokenTestSupport
import TokenWire

/// `tokend` on a `redis-server` of the test's own, which the test kills and restarts under load.
@Suite("tokend while Redis is down", .enabled(if: RedisTestServer.isRequired))
struct RedisOutageTests {
    /// What the revoking callers saw.
    final class Load: Sendable {
        let running = Atomic<Bool>(true)
        /// Acknowledged revocations: seq → jti.
        let acknowledged = Mutex<[UInt64: String]>([:])
        /// Failed calls by RPC code.
        let failures = Mutex<[UInt32: Int]>([:])

        var acknowledgedCount: Int { acknowledged.withLock { $0.count } }
        func failed(_ code: UInt32) -> Int { failures.withLock { $0[code] ?? 0 } }
    }

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(
        within timeout: Duration,
        _ condition: @Sendable () async -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    private func eventually(
        within timeout: Duration,
        _ condition: @Sendable () async -> Bool
    ) async throws -> Bool {
        try await Self.eventually(within: timeout, condition)
    }

    @Test func writesAreUnavailableWhileDownAndNoAcknowledgedRevocationIsLost() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        let directory = try TemporaryDirectory.make(prefix: "tokend-outage")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let tokend = try TokendProcess(
            dataDirectory: directory + "/unused", callersFile: callers, extraArguments: ["--store", redis.url, "--log-level", "critical"],
            environment: ["TOKEND_MASTER_KEY": String(repeating: "a1", count: 32)])
        let client = TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: tokend.port)], credential: "admin"))

        let live = try await client.issue(IssueRequest(subject: "dave"))
        let revoked = try await client.issue(IssueRequest(subject: "erin"))
        _ = try await client.revoke(RevokeRequest(target: .tokenID(revoked.tokenID)))

        let load = Load()
        let workers = (0..<8).map { worker in
            Task {
                var index = 0
                while load.running.load(ordering: .relaxed) {
                    index += 1
                    let jti = "load-\(worker)-\(index)"
                    do {
                        let answer = try await client.revoke(RevokeRequest(target: .tokenID(jti)))
                        load.acknowledged.withLock { $0[answer.seq] = jti }
                    } catch let error as RPCError {
                        load.failures.withLock { $0[UInt32(error.code.rawValue), default: 0] += 1 }
                        // Failures come back at once while Redis is down: pace the retries.
                        try? await Task.sleep(for: .milliseconds(5))
                    } catch {
                        load.failures.withLock { $0[UInt32.max, default: 0] += 1 }
                    }
                }
            }
        }

        #expect(try await eventually(within: .seconds(10)) { load.acknowledgedCount >= 100 })
        redis.stop(signal: SIGKILL)

        // Down: Health says not serving, writes are UNAVAILABLE, and Validate answers from memory
        // while the instance can still vouch for it (2 s after its last round), then UNAVAILABLE:
        // never a wrong answer.
        #expect(try await eventually(within: .seconds(5)) { (try? await client.health().serving) == false })
        let refused = await #expect(throws: RPCError.self) {
            _ = try await client.revoke(RevokeRequest(target: .tokenID("during-outage")))
        }
        #expect(refused?.code == .unavailable)
        for (token, valid) in [(live.accessToken, true), (revoked.accessToken, false)] {
            do {
                #expect(try await client.validate(ValidateRequest(token: token)).valid == valid)
            } catch let error as RPCError {
                #expect(error.code == .unavailable, "\(error)")
            }
        }
        #expect(
            try await eventually(within: .seconds(5)) { load.failed(UInt32(RPCError.Code.unavailable.rawValue)) > 0 })
        // Past the bound (2 s without following the store), Validate no longer guesses.
        #expect(
            try await eventually(within: .seconds(30)) {
                do {
                    _ = try await client.validate(ValidateRequest(token: live.accessToken))
                    return false
                } catch let error as RPCError {
                    return error.code == .unavailable
                } catch {
                    return false
                }
            })

        // Back: everything resumes without restarting tokend.
        try redis.start()
        let atRestart = load.acknowledgedCount
        #expect(try await eventually(within: .seconds(10)) { (try? await client.health().serving) == true })
        #expect(
            try await eventually(within: .seconds(10)) {
                (try? await client.validate(ValidateRequest(token: revoked.accessToken)))?.reason == .revoked
            })
        #expect(try await eventually(within: .seconds(10)) { load.acknowledgedCount >= atRestart + 100 })
        load.running.store(false, ordering: .relaxed)
        for worker in workers {
            await worker.value
        }

        // Only UNAVAILABLE was answered while down; every acknowledged revocation is stored.
        let failures = load.failures.withLock { $0 }
        #expect(Set(failures.keys).isSubset(of: [UInt32(RPCError.Code.unavailable.rawValue)]), "\(failures)")
        let acknowledged = load.acknowledged.withLock { $0 }
        let connection = try await RedisConnection.connect(
            try RedisConfiguration(url: redis.url), on: MultiThreadedEventLoopGroup.singleton.next())
        defer { connection.close() }
        let exists = try await connection.sendAll(
            acknowledged.values.map { RedisCommand("EXISTS", "tok:v1:revoked:jti:\($0)") })
        #expect(exists.allSatisfy { $0 == .integer(1) })
        let stream = try await connection.send(RedisCommand("XRANGE", "tok:v1:revocations:events", "-", "+"))
        let storedSeqs = Set(
            (stream.array ?? []).compactMap { $0.array?.first?.string }.compactMap { UInt64($0.dropLast(2)) })
        #expect(Set(acknowledged.keys).isSubset(of: storedSeqs))
        await client.close()
    }
}
