import Foundation
import NIOCore
import Testing
import TokenClient
import TokenRPC
import TokenTestSupport
import TokenWire

/// The real `tokend` binary against clients that flood it and never read: its memory stays bounded,
/// others are answered, and SIGTERM still ends it within its drain timeout. One flood at a time.
@Suite(.serialized) struct TokendAbuseTests {
    /// How long the memory test floods, in seconds: `$TOKEN_FLOOD_SECONDS`, 3 by default (60 for the
    /// figure in docs/performance.md).
    static var floodSeconds: Int64 {
        ProcessInfo.processInfo.environment["TOKEN_FLOOD_SECONDS"].flatMap { Int64($0) } ?? 3
    }

    /// One flooding connection per method: GetKeys and Health (no credential), Validate and
    /// WatchRevocations (as the caller `validator`), each request with a call id of its own.
    static func flood(
        port: Int,
        token: String,
        giveUpAfter: Duration = .seconds(30)
    ) async throws -> [(method: String, client: FloodingClient)] {
        let requests: [(String, [UInt8], String)] = [
            (TokenServiceMethod.getKeys, GetKeysRequest().serializedBytes(), ""),
            (TokenServiceMethod.health, HealthRequest().serializedBytes(), ""),
            (
                TokenServiceMethod.validate, ValidateRequest(token: token, audience: "api").serializedBytes(),
                "validator"
            ),
            (TokenServiceMethod.watchRevocations, WatchRevocationsRequest().serializedBytes(), "validator"),
        ]
        var floods: [(String, FloodingClient)] = []
        for (method, payload, credential) in requests {
            let request = RpcRequest(callID: 0, method: method, payload: payload, credential: credential)
            let frames = FloodingClient.frames(of: request)
            floods.append((method, try await FloodingClient.start(port: port, giveUpAfter: giveUpAfter, frame: frames)))
        }
        return floods
    }

    static func client(port: Int, _ caller: String) -> TokenServiceClient {
        TokenServiceClient(
            wrapping: RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: port)], credential: caller)
        )
    }

    @Test func floodingEveryMethodWithoutReadingKeepsMemoryBoundedAndOthersAreAnswered() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-flood")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let tokend = try TokendProcess(dataDirectory: directory + "/data", callersFile: callers)
        let issuer = Self.client(port: tokend.port, "issuer")
        let validator = Self.client(port: tokend.port, "validator")
        let token = try await issuer.issue(IssueRequest(subject: "flood", audience: ["api"])).accessToken
        // Every method once, so that what they allocate for good is counted before the flood.
        _ = try await validator.validate(ValidateRequest(token: token, audience: "api"))
        _ = try await validator.getKeys()
        _ = try await validator.health()
        let before = try tokend.residentBytes()

        let floods = try await Self.flood(port: tokend.port, token: token)
        for (method, flood) in floods {
            let outcome = try await flood.result()
            #expect(outcome.stalled, "tokend kept reading \(method): \(outcome)")
        }
        // The floods go on; a client that reads is answered all along.
        let end = ContinuousClock.now + .seconds(Self.floodSeconds)
        var answered = 0
        while ContinuousClock.now < end {
            #expect(try await validator.validate(ValidateRequest(token: token, audience: "api")).valid)
            answered += 1
        }
        let growth = try tokend.residentBytes() - before
        print(
            "tokend flood: 4 connections for \(Self.floodSeconds) s, RSS grew by \(growth / 1_024) KiB;",
            "\(answered) Validate answered meanwhile"
        )
        #expect(answered > 0)
        #expect(growth < 64 << 20, "tokend grew by \(growth) bytes")
        for (_, flood) in floods {
            await flood.close()
        }
        await issuer.rpc.close()
        await validator.rpc.close()
        #expect(tokend.stop(signal: SIGTERM) == 0)
    }

    @Test func sigtermEndsTokendWithinItsDrainTimeoutWhileClientsFloodIt() async throws {
        let directory = try TemporaryDirectory.make(prefix: "tokend-sigterm")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let callers = try TokendProcess.writeCallersFile(in: directory)
        let tokend = try TokendProcess(
            dataDirectory: directory + "/data",
            callersFile: callers,
            extraArguments: ["--drain-timeout", "2"]
        )
        let issuer = Self.client(port: tokend.port, "issuer")
        let token = try await issuer.issue(IssueRequest(subject: "flood", audience: ["api"])).accessToken
        // Flooding for a few seconds, stalled or still sending (that they stall is the other test's).
        let floods = try await Self.flood(port: tokend.port, token: token, giveUpAfter: .seconds(3))
        for (_, flood) in floods {
            _ = try await flood.result()
        }
        // A well-behaved client keeps calling, and a watcher keeps its stream open. (Its snapshot may
        // wait: the flooding watchers hold the snapshot permits while their writers wait.)
        let validator = Self.client(port: tokend.port, "validator")
        let watching = Task {
            var watch = validator.watchRevocations(WatchRevocationsRequest()).makeAsyncIterator()
            while !Task.isCancelled, (try? await watch.next()) != nil {}
        }
        let validate = ValidateRequest(token: token, audience: "api")
        let calling = Task {
            while !Task.isCancelled, (try? await validator.validate(validate)) != nil {}
        }

        let pid = tokend.process.processIdentifier
        let start = ContinuousClock.now
        // Killed if it has not exited long after its drain timeout, so that a hang fails the test.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(30))
            kill(pid, SIGKILL)
        }
        let status = tokend.stop(signal: SIGTERM)
        let elapsed = ContinuousClock.now - start
        watchdog.cancel()
        #expect(status == 0)
        #expect(elapsed < .seconds(2 + 5), "tokend took \(elapsed) to exit")
        // Its port may serve another test by now: the clients stop here rather than at their first failure.
        calling.cancel()
        watching.cancel()
        await calling.value
        await watching.value
        for (_, flood) in floods {
            await flood.close()
        }
        await issuer.rpc.close()
        await validator.rpc.close()
    }
}
