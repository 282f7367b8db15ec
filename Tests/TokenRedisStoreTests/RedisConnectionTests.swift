import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import TokenTestSupport

@testable import TokenRedisStore

@Suite("Redis connection against redis-server", .enabled(if: RedisTestServer.isRequired))
struct RedisConnectionTests {
    static let logger = Logger(label: "redis-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    private func configuration() throws -> RedisConfiguration {
        try RedisConfiguration(url: try RedisTestServer.requiredURL())
    }

    private var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.next() }

    @Test func pipelinedCommandsGetTheirOwnRepliesInOrder() async throws {
        let connection = try await RedisConnection.connect(try configuration(), on: eventLoop)
        defer { connection.close() }
        let key = "test:pipeline:\(UUID().uuidString)"
        let commands = (0..<1_000).map { _ in RedisCommand("INCR", [RedisArgument(key)]) }
        let replies = try await connection.sendAll(commands)
        #expect(replies == (1...1_000).map { RedisValue.integer(Int64($0)) })

        // Many callers at once, on one connection: each gets the reply of its own command.
        let results = try await withThrowingTaskGroup(of: (Int, RedisValue).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let echoed = try await connection.send(RedisCommand("ECHO", [RedisArgument("value-\(index)")]))
                    return (index, echoed)
                }
            }
            return try await group.reduce(into: [(Int, RedisValue)]()) { $0.append($1) }
        }
        #expect(results.count == 200)
        for (index, reply) in results {
            #expect(reply.string == "value-\(index)")
        }
        let binary: [UInt8] = [0, 13, 10, 255, 36, 42]
        #expect(try await connection.send(RedisCommand([Array("SET".utf8), Array(key.utf8), binary])) == .status("OK"))
        #expect(try await connection.send(RedisCommand("GET", [RedisArgument(key)])) == .bulk(binary))
        #expect(try await connection.send(RedisCommand("DEL", [RedisArgument(key)])) == .integer(1))
        let error = try await connection.send(RedisCommand("NOSUCHCOMMAND"))
        guard case .error = error else {
            Issue.record("an unknown command did not answer an error: \(error)")
            return
        }
        #expect(try await connection.send(RedisCommand("PING")) == .status("PONG"))
    }

    @Test func aclUserLoginAndDatabaseSelection() async throws {
        var configuration = try configuration()
        let admin = try await RedisConnection.connect(configuration, on: eventLoop)
        defer { admin.close() }
        let user = "test-\(UUID().uuidString)"
        #expect(
            try await admin.send(RedisCommand("ACL", "SETUSER", user, "on", ">right-password", "~*", "+@all"))
                == .status("OK"))

        configuration.user = user
        configuration.password = "right-password"
        configuration.database = 5
        let connection = try await RedisConnection.connect(configuration, on: eventLoop)
        defer { connection.close() }
        #expect(try await connection.send(RedisCommand("ACL", "WHOAMI")).string == user)
        let key = "test:db:\(UUID().uuidString)"
        #expect(try await connection.send(RedisCommand("SET", key, "in-5")) == .status("OK"))
        #expect(try await admin.send(RedisCommand("EXISTS", key)) == .integer(0))
        #expect(
            try await admin.sendAll([RedisCommand("SELECT", "5"), RedisCommand("GET", key)]).last?.string == "in-5")

        configuration.password = "wrong-password"
        let refused = await #expect(throws: RedisError.self) {
            _ = try await RedisConnection.connect(configuration, on: eventLoop)
        }
        #expect(refused?.isAuthenticationFailure == true)
        #expect(refused?.description.contains("wrong-password") == false)
        _ = try await admin.send(RedisCommand("ACL", "DELUSER", user))
    }

    @Test func aTimedOutCommandFailsAloneAndTheConnectionGoesOn() async throws {
        // A server of its own: CLIENT PAUSE holds every client of the server.
        let redis = try RedisServerProcess()
        try redis.start()
        var configuration = try RedisConfiguration(url: redis.url)
        configuration.commandTimeout = .milliseconds(200)
        let connection = try await RedisConnection.connect(configuration, on: eventLoop)
        defer { connection.close() }
        let admin = try await RedisConnection.connect(try RedisConfiguration(url: redis.url), on: eventLoop)
        defer { admin.close() }
        let id = try #require(try await connection.send(RedisCommand("CLIENT", "ID")).int64)

        // No write is answered while the server pauses writes: this one times out after 200 ms, and
        // is carried out once the pause ends.
        #expect(try await admin.send(RedisCommand("CLIENT", "PAUSE", "10000", "WRITE")) == .status("OK"))
        let error = await #expect(throws: RedisError.self) {
            _ = try await connection.send(RedisCommand("SET", "paused", "written"))
        }
        #expect(error == .timeout)
        #expect(try await admin.send(RedisCommand("CLIENT", "UNPAUSE")) == .status("OK"))
        // The late "+OK" is dropped: this GET gets its own reply, on the same connection.
        #expect(try await connection.send(RedisCommand("GET", "paused")).string == "written")
        #expect(try await connection.send(RedisCommand("CLIENT", "ID")).int64 == id)
        #expect(connection.isActive)
    }

    @Test func aConnectionThatAnswersNothingForTheStallTimeoutIsClosed() async throws {
        var configuration = try configuration()
        configuration.commandTimeout = .milliseconds(200)
        configuration.connectionStallTimeout = .milliseconds(600)
        let connection = try await RedisConnection.connect(configuration, on: eventLoop)
        defer { connection.close() }
        // The server holds this connection's BLPOP for 30 s, and what follows it behind it.
        let blocked = await #expect(throws: RedisError.self) {
            _ = try await connection.send(RedisCommand("BLPOP", "test:never:\(UUID().uuidString)", "30"))
        }
        #expect(blocked == .timeout)
        let behind = await #expect(throws: RedisError.self) { _ = try await connection.send(RedisCommand("PING")) }
        #expect(behind?.isConnectionFailure == true)
        let deadline = ContinuousClock.now + .seconds(5)
        while connection.isActive, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(!connection.isActive, "still open 5 s after nothing was answered for 600 ms")
    }

    @Test func anUnreachableServerFailsFastWithAConnectionError() async throws {
        let port = try RefusingPort()
        let configuration = RedisConfiguration(host: "127.0.0.1", port: port.port)
        let error = await #expect(throws: RedisError.self) {
            _ = try await RedisConnection.connect(configuration, on: eventLoop)
        }
        #expect(error?.isConnectionFailure == true)
    }

    @Test func theClientReconnectsAfterTheServerDropsItsConnection() async throws {
        var configuration = try configuration()
        configuration.initialBackoff = .milliseconds(10)
        configuration.maxBackoff = .milliseconds(50)
        let client = RedisClient(configuration: configuration, eventLoop: eventLoop, logger: Self.logger)
        defer { client.close() }
        try await client.connect()
        let id = try #require(try await client.send(RedisCommand("CLIENT", "ID")).int64)
        let admin = try await RedisConnection.connect(configuration, on: eventLoop)
        defer { admin.close() }
        #expect(try await admin.send(RedisCommand("CLIENT", ["KILL", "ID", RedisArgument(id)])) == .integer(1))

        // The next commands may fail while the loss is noticed; within a deadline one succeeds on a
        // new connection.
        let deadline = ContinuousClock.now + .seconds(10)
        var newID: Int64?
        while ContinuousClock.now < deadline {
            if let reply = try? await client.send(RedisCommand("CLIENT", "ID")), let value = reply.int64 {
                newID = value
                break
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let reconnected = try #require(newID)
        #expect(reconnected != id)
    }

    @Test func backoffGrowsToItsCapWithJitter() throws {
        var configuration = try configuration()
        configuration.initialBackoff = .milliseconds(100)
        configuration.maxBackoff = .seconds(1)
        let client = RedisClient(configuration: configuration, eventLoop: eventLoop, logger: Self.logger)
        defer { client.close() }
        for failures in 1...40 {
            let full = min(100_000_000 << min(failures - 1, 30), 1_000_000_000)
            let wait = client.backoff(afterFailures: failures).nanoseconds
            #expect(wait >= Int64(full / 2) && wait <= Int64(full))
        }
    }
}
