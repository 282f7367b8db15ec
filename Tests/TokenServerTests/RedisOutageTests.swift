import Foundation
import NIOPosix
import Testing
import TokenClient
import TokenRPC
import TokenRedisStore
import TokenTestSupport
import TokenWire

/// `tokend` on a `redis-server` of the test's own, which the test kills and restarts under load.
@Suite("tokend while Redis is down", .enabled(if: RedisTestServer.isRequired))
struct RedisOutageTests {
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

        let load = RevokingLoad(client: client, prefix: "load")
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
            try await eventually(within: .seconds(5)) { load.failed(.unavailable) > 0 })
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
        let (acknowledged, failures) = await load.stop()

        // Only UNAVAILABLE was answered while down; every acknowledged revocation is stored.
        #expect(Set(failures.keys).isSubset(of: [UInt32(RPCError.Code.unavailable.rawValue)]), "\(failures)")
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
