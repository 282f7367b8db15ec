import Foundation
import NIOPosix
import Testing
import TokenClient
import TokenRPC
import TokenRedisStore
import TokenTestSupport
import TokenWire

/// Several real `tokend` processes on one Redis (`TOKEN_REDIS_URL`). Each test uses a database of its
/// own, emptied first, so tests running at once do not share keys.
@Suite("tokend instances on one Redis", .enabled(if: RedisTestServer.isRequired))
struct RedisInstancesTests {
    static let masterKey = String(repeating: "3f", count: 32)

    /// The test server's URL with `database` selected, emptied.
    private func store(database: Int) async throws -> String {
        var configuration = try RedisConfiguration(url: try RedisTestServer.requiredURL())
        configuration.database = database
        let connection = try await RedisConnection.connect(
            configuration, on: MultiThreadedEventLoopGroup.singleton.next())
        defer { connection.close() }
        #expect(try await connection.send(RedisCommand("FLUSHDB")) == .status("OK"))
        return "redis://\(configuration.host):\(configuration.port)/\(database)"
    }

    private func start(_ store: String, in directory: String, callers: String) throws -> TokendProcess {
        try TokendProcess(
            dataDirectory: directory + "/unused", callersFile: callers, extraArguments: ["--store", store],
            environment: ["TOKEND_MASTER_KEY": Self.masterKey])
    }

    private func client(_ process: TokendProcess, _ credential: String = "admin") -> TokenServiceClient {
        TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: process.port)], credential: credential)
        )
    }

    @Test func aRevocationOnOneInstanceReachesValidateAndWatchersOfTheOther() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-redis")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let store = try await store(database: 11)
        let a = try start(store, in: directory, callers: callers)
        let b = try start(store, in: directory, callers: callers)
        let onA = client(a)
        let onB = client(b)

        #expect(try await onA.health().store == "redis")
        #expect(try await onB.health().serving)
        // Both publish the same key ring.
        #expect(try await onA.getKeys().keys.map(\.keyID) == (try await onB.getKeys().keys.map(\.keyID)))

        let issued = try await onA.issue(
            IssueRequest(subject: "alice", audience: ["api"], scopes: ["read"], withRefreshToken: true))
        let refreshed = try await onB.refresh(RefreshRequest(refreshToken: issued.refreshToken))
        #expect(refreshed.sessionID == issued.sessionID)
        #expect(try await onB.validate(ValidateRequest(token: refreshed.accessToken)).valid)

        var batches = onB.watchRevocations(WatchRevocationsRequest(sinceSeq: 0)).makeAsyncIterator()
        // The watcher's first batches bring it up to date (a snapshot, then a heartbeat).
        let first = try #require(try await batches.next())
        #expect(first.snapshot)

        let revoked = try await onA.revoke(RevokeRequest(target: .sessionID(issued.sessionID)))
        #expect(revoked.sessionsRevoked == 1)

        var received: WireRevocationEvent?
        while received == nil, let batch = try await batches.next() {
            received = batch.events.first { $0.value == issued.sessionID }
        }
        #expect(received?.seq == revoked.seq)
        #expect(received?.kind == .session)
        // B applied the event before handing it to its watchers: Validate there says REVOKED now.
        let answer = try await onB.validate(ValidateRequest(token: refreshed.accessToken))
        #expect(!answer.valid)
        #expect(answer.reason == .revoked)
        await onA.close()
        await onB.close()
    }

    @Test func aRefreshRaceSpreadOverTwoInstancesMintsOnce() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-redis")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let store = try await store(database: 12)
        let a = try start(store, in: directory, callers: callers)
        let b = try start(store, in: directory, callers: callers)
        let clients = [client(a), client(b)]

        let issued = try await clients[0].issue(
            IssueRequest(subject: "bob", audience: ["api"], scopes: ["read"], withRefreshToken: true))
        let answers = await withTaskGroup(of: String?.self) { group in
            for index in 0..<64 {
                group.addTask {
                    try? await clients[index % 2].refresh(RefreshRequest(refreshToken: issued.refreshToken))
                        .refreshToken
                }
            }
            return await group.reduce(into: [String?]()) { $0.append($1) }
        }
        let minted = Set(answers.compactMap { $0 })
        // Losers within the reuse grace get the winner's answer again: one successor, never two.
        #expect(minted.count == 1)
        let successor = try #require(minted.first)
        #expect(try await clients[1].refresh(RefreshRequest(refreshToken: successor)).sessionID == issued.sessionID)
        for client in clients {
            await client.close()
        }
    }

    @Test func aKeyRotationOnOneInstanceIsPublishedByTheOther() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-redis")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let store = try await store(database: 13)
        let a = try start(store, in: directory, callers: callers)
        let b = try start(store, in: directory, callers: callers)
        let onA = client(a)
        let onB = client(b)

        let rotated = try await onA.rotateKeys().keyID
        let started = ContinuousClock.now
        var published: [String] = []
        // B polls the ring every second; the bound only keeps a broken build from waiting forever.
        while ContinuousClock.now - started < .seconds(20) {
            published = try await onB.getKeys().keys.filter { $0.state == .active }.map(\.keyID)
            if published == [rotated] { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(published == [rotated])
        print("key rotation on A published by B after \(ContinuousClock.now - started)")
        // A token signed on A with the new key verifies on B.
        let issued = try await onA.issue(IssueRequest(subject: "carol"))
        #expect(try await onB.validate(ValidateRequest(token: issued.accessToken)).valid)
        await onA.close()
        await onB.close()
    }

    @Test(
        arguments: [
            (nil, "redis", "TOKEND_MASTER_KEY is not set"),
            ("abc", "redis", "TOKEND_MASTER_KEY must be 64 hex characters"),
            (RedisInstancesTests.masterKey, "refusing", "cannot connect"),
            (RedisInstancesTests.masterKey, "wrong-password", "WRONGPASS"),
        ] as [(String?, String, String)])
    func startingWithoutWhatItNeedsFailsWithOneLine(masterKey: String?, target: String, expected: String) async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-redis")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let server = try RedisConfiguration(url: try RedisTestServer.requiredURL())
        let refusing = try RefusingPort()
        let store =
            switch target {
            case "refusing": "redis://127.0.0.1:\(refusing.port)"
            case "wrong-password": "redis://nobody-\(UUID().uuidString):secret-pw@\(server.host):\(server.port)"
            default: "redis://\(server.host):\(server.port)/14"
            }
        let (status, output) = try TokendProcess.runUntilExit(
            arguments: [
                "--listen", "127.0.0.1:0", "--callers", callers, "--issuer", "https://tokens.test", "--store", store,
            ],
            // Empty is as good as unset to tokend, whatever this process's environment holds.
            environment: ["TOKEND_MASTER_KEY": masterKey ?? ""])
        #expect(status != 0)
        let lines = output.split(separator: "\n")
        #expect(lines.count == 1, "\(output)")
        #expect(output.contains(expected), "\(output)")
        #expect(!output.contains("secret-pw"))
    }
}
