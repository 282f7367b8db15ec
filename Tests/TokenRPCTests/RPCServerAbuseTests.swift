import Logging
import NIOCore
import Testing
import TokenRPC
import TokenTestSupport
import TokenWire

/// What a client can do to the server and the server's answer: a flood it never reads, more
/// connections than allowed, a hostile method name. Real loopback servers throughout.
@Suite struct RPCServerAbuseTests {
    /// A fresh connection gets an echo answered.
    private static func expectServes(_ server: RPCTestServer) async throws {
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(RpcRequest(callID: 1, method: RPCTestServer.echo, payload: Array("served".utf8)))
        #expect(await connection.next() == RpcResponse(callID: 1, payload: Array("served".utf8), endOfStream: true))
        await connection.close()
    }

    /// Every kind of method: synchronous (like Validate, GetKeys, Health), deferred (like Issue),
    /// in a task (like Refresh), and a stream (like WatchRevocations).
    @Test(arguments: [RPCTestServer.inline, RPCTestServer.deferredEcho, RPCTestServer.echo, RPCTestServer.flood])
    func aClientThatNeverReadsIsNoLongerReadWhileOthersAreServed(method: String) async throws {
        let server = try await RPCTestServer.start()
        // Answers of 4 KiB fill the sockets' buffers in a few thousand calls, even on a slow machine.
        let payload = [UInt8](repeating: 0x46, count: 4_096)
        let flood = try await FloodingClient.start(
            port: server.port,
            frame: FloodingClient.frames(of: RpcRequest(callID: 0, method: method, payload: payload))
        )
        let outcome = try await flood.result()
        #expect(outcome.stalled, "the server kept reading \(method): \(outcome)")
        // What both kernels buffer, and the little the server holds.
        #expect(outcome.bytesAccepted < 48 << 20, "\(method): \(outcome)")
        try await Self.expectServes(server)
        await flood.close()
        try await Self.expectServes(server)
        await server.stop()
    }

    @Test func aStreamWritingAsFastAsItCanDoesNotKeepItsConnectionFromBeingRead() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(RpcRequest(callID: 1, method: RPCTestServer.flood))
        #expect(await connection.next()?.callID == 1)
        // A call and then a cancel on the same connection get through the stream's frames.
        try await connection.send(RpcRequest(callID: 2, method: RPCTestServer.echo, payload: Array("between".utf8)))
        var echoed: RpcResponse?
        while echoed == nil, let response = await connection.next() {
            if response.callID == 2 { echoed = response }
        }
        #expect(echoed == RpcResponse(callID: 2, payload: Array("between".utf8), endOfStream: true))
        try await connection.send(RpcRequest(callID: 1, cancel: true))
        try await server.gates.wait("flood ended CANCELLED")
        await connection.close()
        await server.stop()
    }

    @Test func connectionsOverTheLimitAreClosedWhileTheOthersAreServed() async throws {
        let server = try await RPCTestServer.start(.init(maxConnections: 2))
        let first = try await RawConnection.connect(port: server.port)
        let second = try await RawConnection.connect(port: server.port)
        for (connection, id) in [(first, UInt64(1)), (second, 2)] {
            try await connection.send(RpcRequest(callID: id, method: RPCTestServer.echo, payload: [0x41]))
            #expect(await connection.next()?.callID == id)
        }
        let third = try await RawConnection.connect(port: server.port)
        try? await third.send(RpcRequest(callID: 3, method: RPCTestServer.echo, payload: [0x41]))
        #expect(await third.next() == nil)
        // The connections within the limit go on.
        for (connection, id) in [(first, UInt64(4)), (second, 5)] {
            try await connection.send(RpcRequest(callID: id, method: RPCTestServer.echo, payload: [0x41]))
            #expect(await connection.next()?.callID == id)
        }
        // A closed connection frees its place (once the server has seen it close).
        await first.close()
        var served = false
        for _ in 0..<200 where !served {
            let next = try await RawConnection.connect(port: server.port)
            try? await next.send(RpcRequest(callID: 6, method: RPCTestServer.echo, payload: [0x41]))
            served = await next.next()?.callID == 6
            await next.close()
        }
        #expect(served)
        await second.close()
        await server.stop()
    }

    @Test func aHostileMethodNameIsLoggedOnlyEscapedAndTruncated() async throws {
        let records = LogRecords()
        let server = try await RPCTestServer.start(logger: Logger(label: "test", factory: { _ in records.handler() }))
        let forged = "2026-12-05T14:13:33+0000 notice tokend: caller=root code=OK [TokenRPC] call finished"
        let hostile = "/x\n" + forged + "\r\n" + String(repeating: "A", count: 65_000)
        let connection = try await RawConnection.connect(port: server.port)
        // Refused as an unknown method, and as a request without a call id.
        try await connection.send(RpcRequest(callID: 1, method: hostile))
        #expect(await connection.next()?.code == RPCError.Code.unimplemented.rawValue)
        try await connection.send(RpcRequest(callID: 0, method: hostile))
        #expect(await connection.next()?.code == RPCError.Code.invalidArgument.rawValue)
        await connection.close()
        await server.stop()

        let logged = records.entries.filter { $0.message == "call finished" }.compactMap { $0.metadata["method"] }
        #expect(logged.count == 2)
        for method in logged {
            #expect(method.hasPrefix(#"/x\n2026-12-05T14:13:33+0000 notice"#))
            #expect(method.hasSuffix("...(\(hostile.utf8.count) bytes)"))
            #expect(method.utf8.count < 200)
        }
        for entry in records.entries {
            for value in entry.metadata.values + [entry.message] {
                #expect(!value.contains("\n") && !value.contains("\r"), "\(entry.message): \(value.prefix(100))")
            }
        }
    }
}
