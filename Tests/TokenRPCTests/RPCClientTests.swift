import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import TokenRPC
import TokenTestSupport
import TokenWire

/// A real `RPCClient` against a real `RPCServer` over loopback.
@Suite struct RPCClientTests {
    private func client(
        _ server: RPCTestServer,
        credential: String = "",
        configuration: RPCClientConfiguration = .init()
    )
        -> RPCClient
    {
        RPCClient(
            endpoints: [RPCEndpoint(host: "127.0.0.1", port: server.port)],
            configuration: configuration,
            credential: credential
        )
    }

    @Test func thousandConcurrentCallsOverOneConnection() async throws {
        let server = try await RPCTestServer.start(.init(maxConcurrentCalls: 2_000))
        let client = client(server)
        let results = try await withThrowingTaskGroup(of: (Int, String, String).self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    let echo = try await client.unary(RPCTestServer.echo, RawBytes("call \(index)"), as: RawBytes.self)
                    let id = try await client.unary(RPCTestServer.callIDs, RawBytes([]), as: RawBytes.self)
                    return (index, echo.text, id.text)
                }
            }
            var results: [(Int, String, String)] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(results.count == 1_000)
        for (index, echo, _) in results {
            #expect(echo == "call \(index)")
        }
        // Call ids are numbered per connection from 1: a second connection would repeat ids.
        let ids = Set(results.map(\.2))
        #expect(ids.count == 1_000)
        #expect(!ids.contains("0"))
        await client.close()
        await server.stop()
    }

    @Test func laterCallCompletesFirst() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server)
        let order = Mutex<[String]>([])
        async let slow: RawBytes = {
            let response = try await client.unary(RPCTestServer.wait, RawBytes("gate"), as: RawBytes.self)
            order.withLock { $0.append("slow") }
            return response
        }()
        try await server.gates.wait("waiting gate")
        _ = try await client.unary(RPCTestServer.echo, RawBytes("fast"), as: RawBytes.self)
        order.withLock { $0.append("fast") }
        server.gates.open("gate")
        #expect(try await slow.text == "gate")
        #expect(order.withLock { $0 } == ["fast", "slow"])
        await client.close()
        await server.stop()
    }

    @Test func serverErrorsArriveAsRPCError() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server, credential: "validator-key")
        await #expect(throws: RPCError(code: .permissionDenied, message: "requires role issue")) {
            try await client.unary(RPCTestServer.secure, RawBytes([]), as: RawBytes.self)
        }
        await #expect(throws: RPCError(code: .unimplemented, message: "unknown method")) {
            try await client.unary("/test.Test/Missing", RawBytes([]), as: RawBytes.self)
        }
        await client.close()
        await server.stop()
    }

    @Test func timeoutThrowsDeadlineExceededAndCancelsTheHandler() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server)
        // Connect first. A call's timeout also covers opening the connection; when that takes longer
        // than the timeout (a loaded machine), the call fails before it is sent, so the handler never
        // runs and "hang cancelled" would never open.
        #expect(try await client.unary(RPCTestServer.echo, RawBytes("connect"), as: RawBytes.self).text == "connect")
        await #expect(throws: RPCError.deadlineExceeded()) {
            try await client.unary(RPCTestServer.hang, RawBytes([]), as: RawBytes.self, timeout: .milliseconds(50))
        }
        try await server.gates.wait("hang cancelled")
        #expect(try await client.unary(RPCTestServer.echo, RawBytes("alive"), as: RawBytes.self).text == "alive")
        await client.close()
        await server.stop()
    }

    @Test func timeoutThatEndsBeforeTheCallIsSentThrowsDeadlineExceeded() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server)
        await #expect(throws: RPCError.deadlineExceeded()) {
            try await client.unary(RPCTestServer.hang, RawBytes([]), as: RawBytes.self, timeout: .zero)
        }
        #expect(try await client.unary(RPCTestServer.echo, RawBytes("alive"), as: RawBytes.self).text == "alive")
        await client.close()
        await server.stop()
    }

    @Test func unaryHandlersRunOnAnEventLoopAlsoAfterTheyAwait() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server)
        #expect(try await client.unary(RPCTestServer.executor, RawBytes([]), as: RawBytes.self).text == "event loop, event loop")
        await client.close()
        await server.stop()
    }

    @Test func synchronousMethodsAnswerAndFailLikeOthers() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server)
        #expect(try await client.unary(RPCTestServer.inline, RawBytes("call"), as: RawBytes.self).text == "inline call")
        await #expect(throws: RPCError.notFound("no such thing")) {
            try await client.unary(RPCTestServer.inline, RawBytes("missing"), as: RawBytes.self)
        }
        // Interleaved with asynchronous calls on the same connection, each answer reaches its caller.
        let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<200 {
                group.addTask {
                    let method = index % 2 == 0 ? RPCTestServer.inline : RPCTestServer.echo
                    return (index, try await client.unary(method, RawBytes("\(index)"), as: RawBytes.self).text)
                }
            }
            return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        #expect(answers.count == 200)
        #expect(answers.allSatisfy { $0.value == ($0.key % 2 == 0 ? "inline \($0.key)" : "\($0.key)") })
        await client.close()
        await server.stop()
    }

    @Test func callsBeyondTheClientsLimitWaitForASlot() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server, configuration: .init(maxConcurrentCalls: 1))
        // The one slot is held by a call that waits for the gate "release".
        let holder = Task { try await client.unary(RPCTestServer.wait, RawBytes("release"), as: RawBytes.self) }
        try await server.gates.wait("waiting release")
        // A second call cannot be sent; its deadline passes while it waits for the slot.
        await #expect(throws: RPCError.deadlineExceeded()) {
            try await client.unary(RPCTestServer.echo, RawBytes("late"), as: RawBytes.self, timeout: .milliseconds(20))
        }
        let queued = Task { try await client.unary(RPCTestServer.echo, RawBytes("queued"), as: RawBytes.self) }
        server.gates.open("release")
        _ = try await holder.value
        #expect(try await queued.value.text == "queued")
        await client.close()
        await server.stop()
    }

    @Test func taskCancellationThrowsCancelledAndCancelsTheHandler() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server)
        let call = Task {
            try await client.unary(RPCTestServer.hang, RawBytes([]), as: RawBytes.self)
        }
        try await server.gates.wait("hang started")
        call.cancel()
        await #expect(throws: RPCError.cancelled()) {
            try await call.value
        }
        try await server.gates.wait("hang cancelled")
        await client.close()
        await server.stop()
    }

    @Test func reconnectsAfterServerRestart() async throws {
        let first = try await RPCTestServer.start()
        let port = first.port
        let client = RPCClient(
            endpoints: [RPCEndpoint(host: "127.0.0.1", port: port)],
            configuration: .init(backoff: .init(initial: .milliseconds(10), maximum: .milliseconds(50)))
        )
        #expect(try await client.unary(RPCTestServer.echo, RawBytes("one"), as: RawBytes.self).text == "one")
        await first.stop()
        // Hold the port while the server is down, so that no server of a test running alongside
        // takes it.
        let down = try RefusingPort(port: port)
        await #expect {
            try await client.unary(RPCTestServer.echo, RawBytes("down"), as: RawBytes.self)
        } throws: { error in
            (error as? RPCError)?.code == .unavailable
        }
        down.release()
        let second = try await RPCTestServer.start(port: port)
        #expect(try await client.unary(RPCTestServer.echo, RawBytes("two"), as: RawBytes.self).text == "two")
        await client.close()
        await second.stop()
    }

    @Test func triesTheNextEndpointWhenTheFirstIsDead() async throws {
        let dead = try RefusingPort()
        let server = try await RPCTestServer.start()
        let client = RPCClient(endpoints: [
            RPCEndpoint(host: "127.0.0.1", port: dead.port),
            RPCEndpoint(host: "127.0.0.1", port: server.port),
        ])
        #expect(try await client.unary(RPCTestServer.echo, RawBytes("second"), as: RawBytes.self).text == "second")
        await client.close()
        await server.stop()
        dead.release()
    }

    @Test func noReachableEndpointIsUnavailable() async throws {
        let dead = try RefusingPort()
        let client = RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: dead.port)])
        await #expect {
            try await client.unary(RPCTestServer.echo, RawBytes("x"), as: RawBytes.self)
        } throws: { error in
            (error as? RPCError)?.code == .unavailable
        }
        await client.close()
        dead.release()
    }

    @Test func streamIsAnAsyncSequence() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server, credential: "validator-key")
        var received: [String] = []
        for try await message in client.serverStreaming(RPCTestServer.count, RawBytes("5"), as: RawBytes.self) {
            received.append(message.text)
        }
        #expect(received == ["0", "1", "2", "3", "4"])
        await client.close()
        await server.stop()
    }

    @Test func streamErrorIsThrownFromTheSequence() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server)
        await #expect(throws: RPCError(code: .unauthenticated, message: "missing credential")) {
            for try await _ in client.serverStreaming(RPCTestServer.count, RawBytes("5"), as: RawBytes.self) {}
        }
        await client.close()
        await server.stop()
    }

    @Test func slowStreamConsumerIsCutOffWithResourceExhausted() async throws {
        // The server never cuts a slow stream (its writer waits for the socket), so only the client's
        // limit can end it, however slowly a loaded machine drains the socket.
        let server = try await RPCTestServer.start()
        let client = client(server, configuration: .init(maxBufferedStreamMessages: 4))
        let stream = client.serverStreaming(RPCTestServer.flood, RawBytes([]), as: RawBytes.self)
        // The client cancels the call once its buffer overflows; the server's writer then fails.
        try await server.gates.wait("flood ended CANCELLED")
        var received = 0
        await #expect(throws: RPCError.resourceExhausted("stream consumer cannot keep up")) {
            for try await _ in stream { received += 1 }
        }
        #expect(received == 4)
        #expect(try await client.unary(RPCTestServer.echo, RawBytes("alive"), as: RawBytes.self).text == "alive")
        await client.close()
        await server.stop()
    }

    @Test func connectionLossFailsCallsInFlightWithUnavailable() async throws {
        let server = try await RPCTestServer.start()
        let client = client(server)
        let call = Task {
            try await client.unary(RPCTestServer.wait, RawBytes("never"), as: RawBytes.self)
        }
        try await server.gates.wait("waiting never")
        await server.stop()
        await #expect {
            try await call.value
        } throws: { error in
            (error as? RPCError)?.code == .unavailable
        }
        await client.close()
    }

    @Test func gracefulShutdownDrainsUnaryCallsAndEndsStreams() async throws {
        let gates = Gates()
        let server = RPCServer(
            configuration: .init(host: "127.0.0.1", port: 0),
            methods: RPCTestServer.methods(gates: gates),
            callers: try RPCTestServer.callers(),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let group = ServiceGroup(
            services: [server],
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let running = Task { try await group.run() }
        let port = try await server.listeningAddress().port
        let client = RPCClient(endpoints: [RPCEndpoint(host: "127.0.0.1", port: port)])
        let unary = Task {
            try await client.unary(RPCTestServer.wait, RawBytes("drain"), as: RawBytes.self)
        }
        try await gates.wait("waiting drain")
        var stream = client.serverStreaming(RPCTestServer.forever, RawBytes([]), as: RawBytes.self).makeAsyncIterator()
        #expect(try await stream.next()?.text == "first")

        await group.triggerGracefulShutdown()
        await #expect(throws: RPCError.unavailable("server is shutting down")) {
            _ = try await stream.next()
        }
        gates.open("drain")
        #expect(try await unary.value.text == "drain")
        try await running.value
        await client.close()
    }

    @Test func logsOneLinePerCallWithoutCredentials() async throws {
        let records = LogRecords()
        let server = try await RPCTestServer.start(logger: Logger(label: "test", factory: { _ in records.handler() }))
        let client = client(server, credential: "issuer-key")
        _ = try await client.unary(RPCTestServer.secure, RawBytes("payload-secret"), as: RawBytes.self)
        _ = try? await client.unary(RPCTestServer.fail, RawBytes([]), as: RawBytes.self)
        await client.close()
        await server.stop()
        let calls = records.entries.filter { $0.message == "call finished" }
        let secure = try #require(calls.first { $0.metadata["method"] == RPCTestServer.secure })
        #expect(secure.level == .debug)
        #expect(secure.metadata["caller"] == "issuer")
        #expect(secure.metadata["code"] == "OK")
        #expect(secure.metadata["duration"] != nil)
        let failed = try #require(calls.first { $0.metadata["method"] == RPCTestServer.fail })
        #expect(failed.level == .notice)
        #expect(failed.metadata["code"] == "INTERNAL")
        for entry in records.entries {
            let text = "\(entry.message) \(entry.metadata)"
            #expect(!text.contains("issuer-key"))
            #expect(!text.contains("payload-secret"))
        }
    }
}

/// Collects log entries in memory.
final class LogRecords: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let state = Mutex<[Entry]>([])

    var entries: [Entry] { state.withLock { $0 } }

    func handler() -> some LogHandler {
        RecordingLogHandler(records: self)
    }

    fileprivate func append(_ entry: Entry) {
        state.withLock { $0.append(entry) }
    }
}

private struct RecordingLogHandler: LogHandler {
    let records: LogRecords
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        records.append(
            LogRecords.Entry(
                level: event.level,
                message: "\(event.message)",
                metadata: merged.mapValues { "\($0)" }
            )
        )
    }
}
