import Foundation
import NIOPosix
import Testing
import TokenClient
import TokenRPC
import TokenRedisStore
import TokenTestSupport
import TokenWire

/// `tokend` behind three sentinels watching a master and a replica; the master is killed under a
/// steady stream of revocations.
@Suite("tokend on Redis Sentinel", .enabled(if: RedisTestServer.isRequired))
struct RedisSentinelFailoverTests {
    static let masterName = "tokens"

    private func connect(_ port: Int) async throws -> RedisConnection {
        try await RedisConnection.connect(
            RedisConfiguration(host: "127.0.0.1", port: port), on: MultiThreadedEventLoopGroup.singleton.next())
    }

    /// The port of the master `sentinel` names, or nil.
    private func masterPort(askedOf sentinel: Int) async -> Int? {
        guard let connection = try? await connect(sentinel) else { return nil }
        defer { connection.close() }
        let reply = try? await connection.send(
            RedisCommand("SENTINEL", "get-master-addr-by-name", Self.masterName))
        return reply?.array.flatMap { $0.count == 2 ? $0[1].string.flatMap { Int($0) } : nil }
    }

    /// How many other sentinels `sentinel` knows.
    private func otherSentinels(of sentinel: Int) async -> Int {
        guard let connection = try? await connect(sentinel) else { return 0 }
        defer { connection.close() }
        guard let fields = try? await connection.send(RedisCommand("SENTINEL", "master", Self.masterName)).array,
            let index = fields.firstIndex(where: { $0.string == "num-other-sentinels" }), index + 1 < fields.count
        else { return 0 }
        return Int(fields[index + 1].int64 ?? 0)
    }

    @Test func aFailoverUnderLoadLosesNoAcknowledgedRevocation() async throws {
        let master = try RedisServerProcess()
        try master.start()
        let replica = try RedisServerProcess(replicaOf: master.port)
        try replica.start()
        let sentinels = try (0..<3).map { _ in
            try RedisServerProcess(sentinelOf: master.port, masterName: Self.masterName)
        }
        for sentinel in sentinels {
            try sentinel.start()
        }
        let replicaPort = replica.port
        #expect(
            try await eventually(within: .seconds(20)) {
                guard let connection = try? await connect(replicaPort) else { return false }
                defer { connection.close() }
                let info = try? await connection.send(RedisCommand("INFO", "replication"))
                return info?.string?.contains("master_link_status:up") == true
            })
        for sentinel in sentinels {
            let port = sentinel.port
            #expect(try await eventually(within: .seconds(30)) { await otherSentinels(of: port) == 2 })
        }

        let directory = try TemporaryDirectory.make(prefix: "tokend-sentinel")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let addresses = sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",")
        let tokend = try TokendProcess(
            dataDirectory: directory + "/unused", callersFile: callers,
            extraArguments: [
                "--store", "redis-sentinel://\(addresses)/\(Self.masterName)", "--log-level", "critical",
            ],
            environment: ["TOKEND_MASTER_KEY": String(repeating: "b2", count: 32)])
        let client = TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: tokend.port)], credential: "admin"))
        #expect(try await client.health().serving)

        let load = RevokingLoad(client: client, prefix: "failover")
        #expect(try await eventually(within: .seconds(10)) { load.acknowledgedCount >= 100 })

        master.stop(signal: SIGKILL)
        let firstSentinel = sentinels[0].port
        #expect(try await eventually(within: .seconds(30)) { await masterPort(askedOf: firstSentinel) == replicaPort })
        let atFailover = load.acknowledgedCount
        #expect(try await eventually(within: .seconds(30)) { load.acknowledgedCount >= atFailover + 100 })
        let (acknowledged, failures) = await load.stop()
        // Serving again once it follows the promoted master's revocations too.
        #expect(try await eventually(within: .seconds(10)) { (try? await client.health().serving) == true })

        #expect(Set(failures.keys).isSubset(of: [UInt32(RPCError.Code.unavailable.rawValue)]), "\(failures)")
        let promoted = try await connect(replicaPort)
        defer { promoted.close() }
        let exists = try await promoted.sendAll(
            acknowledged.values.map { RedisCommand("EXISTS", "tok:v1:revoked:jti:\($0)") })
        let missing = zip(acknowledged.values, exists).filter { $0.1 != .integer(1) }.map(\.0)
        #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(10))")
        await client.close()
    }
}
