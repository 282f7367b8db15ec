import NIOCore
import Testing
import TokenRPC
import TokenWire

/// The server end to end over loopback, with a raw client sending crafted bytes: every row of the
/// contract's bad-input table, and after each the server still serves a new connection.
@Suite struct RPCServerTests {
    private func call(
        _ id: UInt64,
        _ method: String,
        _ payload: String = "",
        credential: String = "",
        timeoutMs: UInt32 = 0
    )
        -> RpcRequest
    {
        RpcRequest(
            callID: id,
            method: method,
            payload: Array(payload.utf8),
            credential: credential,
            timeoutMilliseconds: timeoutMs
        )
    }

    /// A fresh connection gets an echo answered.
    private func expectServes(_ server: RPCTestServer) async throws {
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(1, RPCTestServer.echo, "still serving"))
        let response = try #require(await connection.next())
        #expect(response == RpcResponse(callID: 1, payload: Array("still serving".utf8), endOfStream: true))
        await connection.close()
    }

    @Test func answersAUnaryCall() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(5, RPCTestServer.echo, "hello"))
        #expect(await connection.next() == RpcResponse(callID: 5, payload: Array("hello".utf8), endOfStream: true))
        await connection.close()
        await server.stop()
    }

    @Test func oversizedLengthPrefixIsAnsweredThenClosed() async throws {
        let server = try await RPCTestServer.start(.init(maxFrameBytes: 1_024))
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(bytes: [0, 0, 0x04, 0x01])  // 1025
        let response = try #require(await connection.next())
        #expect(response.callID == 0)
        #expect(response.code == RPCError.Code.resourceExhausted.rawValue)
        #expect(response.endOfStream)
        #expect(await connection.next() == nil)
        try await expectServes(server)
        await server.stop()
    }

    @Test func maximalLengthPrefixIsAnsweredThenClosed() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(await connection.next()?.code == RPCError.Code.resourceExhausted.rawValue)
        #expect(await connection.next() == nil)
        try await expectServes(server)
        await server.stop()
    }

    @Test func zeroLengthFrameIsInvalidAndTheConnectionStaysOpen() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(bytes: [0, 0, 0, 0])
        let response = try #require(await connection.next())
        #expect(response.callID == 0)
        #expect(response.code == RPCError.Code.invalidArgument.rawValue)
        try await connection.send(call(2, RPCTestServer.echo, "after"))
        #expect(await connection.next() == RpcResponse(callID: 2, payload: Array("after".utf8), endOfStream: true))
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func garbageFrameIsInvalidArgument() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(frameBody: [0xFF, 0xFF, 0xFF, 0x00, 0x13])
        let response = try #require(await connection.next())
        #expect(response.callID == 0)
        #expect(response.code == RPCError.Code.invalidArgument.rawValue)
        // A readable call_id (field 1 = 5) before the garbage is echoed.
        try await connection.send(frameBody: [0x08, 0x05, 0xFF, 0xFF, 0xFF])
        let withID = try #require(await connection.next())
        #expect(withID.callID == 5)
        #expect(withID.code == RPCError.Code.invalidArgument.rawValue)
        try await connection.send(call(6, RPCTestServer.echo, "ok"))
        #expect(await connection.next()?.callID == 6)
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func truncatedFrameThenCloseLeavesTheServerServing() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(bytes: [0, 0, 0, 20, 0x08, 0x01])
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func callIDZeroIsInvalidArgument() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(0, RPCTestServer.echo, "x"))
        let response = try #require(await connection.next())
        #expect(response.callID == 0)
        #expect(response.code == RPCError.Code.invalidArgument.rawValue)
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func duplicateInFlightCallIDIsInvalidArgument() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(7, RPCTestServer.wait, "dup"))
        try await server.gates.wait("waiting dup")
        try await connection.send(call(7, RPCTestServer.echo, "again"))
        let rejected = try #require(await connection.next())
        #expect(rejected.callID == 7)
        #expect(rejected.code == RPCError.Code.invalidArgument.rawValue)
        server.gates.open("dup")
        #expect(await connection.next() == RpcResponse(callID: 7, payload: Array("dup".utf8), endOfStream: true))
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func responsesArriveInCompletionOrder() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(1, RPCTestServer.wait, "gate"))
        try await server.gates.wait("waiting gate")
        try await connection.send(call(2, RPCTestServer.echo, "later"))
        #expect(await connection.next()?.callID == 2)
        server.gates.open("gate")
        #expect(await connection.next()?.callID == 1)
        await connection.close()
        await server.stop()
    }

    @Test func unknownMethodIsUnimplemented() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(3, "/test.Test/Nope"))
        let response = try #require(await connection.next())
        #expect(response.callID == 3)
        #expect(response.code == RPCError.Code.unimplemented.rawValue)
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func badPayloadIsInvalidArgument() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(RpcRequest(callID: 4, method: RPCTestServer.typed, payload: [0xFF, 0xFF, 0xFF]))
        let response = try #require(await connection.next())
        #expect(response.callID == 4)
        #expect(response.code == RPCError.Code.invalidArgument.rawValue)
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func missingOrWrongCredentialIsUnauthenticated() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(1, RPCTestServer.secure))
        #expect(await connection.next()?.code == RPCError.Code.unauthenticated.rawValue)
        try await connection.send(call(2, RPCTestServer.secure, credential: "issuer-kex"))
        #expect(await connection.next()?.code == RPCError.Code.unauthenticated.rawValue)
        try await connection.send(call(3, RPCTestServer.secure, credential: "issuer-key"))
        #expect(await connection.next() == RpcResponse(callID: 3, payload: Array("issuer".utf8), endOfStream: true))
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func aCredentialWithANULByteIsInvalidArgumentNotItsPrefix() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        // Built by hand: packing the envelope from a C string would drop everything after the NUL.
        func envelope(callID: UInt8, credential: [UInt8]) -> [UInt8] {
            let method = Array(RPCTestServer.secure.utf8)
            return [0x08, callID, 0x12, UInt8(method.count)] + method + [0x22, UInt8(credential.count)] + credential
        }
        try await connection.send(frameBody: envelope(callID: 7, credential: Array("issuer-key".utf8) + [0x00, 0x78]))
        let rejected = try #require(await connection.next())
        #expect(rejected.callID == 7)
        #expect(rejected.code == RPCError.Code.invalidArgument.rawValue)
        try await connection.send(frameBody: envelope(callID: 8, credential: Array("issuer-key".utf8)))
        #expect(await connection.next() == RpcResponse(callID: 8, payload: Array("issuer".utf8), endOfStream: true))
        await connection.close()
        await server.stop()
    }

    @Test func missingRoleIsPermissionDeniedAndAdminImpliesEveryRole() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(1, RPCTestServer.secure, credential: "validator-key"))
        let denied = try #require(await connection.next())
        #expect(denied.callID == 1)
        #expect(denied.code == RPCError.Code.permissionDenied.rawValue)
        try await connection.send(call(2, RPCTestServer.secure, credential: "admin-key"))
        #expect(await connection.next() == RpcResponse(callID: 2, payload: Array("root".utf8), endOfStream: true))
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func tooManyCallsInFlightIsResourceExhausted() async throws {
        let server = try await RPCTestServer.start(.init(maxConcurrentCalls: 4))
        let connection = try await RawConnection.connect(port: server.port)
        for id in 1...4 {
            try await connection.send(call(UInt64(id), RPCTestServer.wait, "g\(id)"))
            try await server.gates.wait("waiting g\(id)")
        }
        try await connection.send(call(5, RPCTestServer.echo, "one too many"))
        let rejected = try #require(await connection.next())
        #expect(rejected.callID == 5)
        #expect(rejected.code == RPCError.Code.resourceExhausted.rawValue)
        server.gates.open("g1")
        #expect(await connection.next()?.callID == 1)
        try await connection.send(call(6, RPCTestServer.echo, "room again"))
        #expect(await connection.next()?.callID == 6)
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func aDeferredCallIsAnsweredOnceFromAnotherThread() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(3, RPCTestServer.later, "a"))
        try await server.gates.wait("later started a")
        server.gates.open("answer a")
        #expect(await connection.next() == RpcResponse(callID: 3, payload: Array("later a".utf8), endOfStream: true))
        try await server.gates.wait("replied a")
        // The second reply wrote nothing: the next frame answers the next call.
        try await connection.send(call(4, RPCTestServer.echo, "next"))
        #expect(await connection.next() == RpcResponse(callID: 4, payload: Array("next".utf8), endOfStream: true))
        await connection.close()
        await server.stop()
    }

    @Test func aDeferredHandlerThatThrowsIsAnsweredAtOnce() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(5, RPCTestServer.later, "throw"))
        let response = try #require(await connection.next())
        #expect(response.callID == 5 && response.code == RPCError.Code.notFound.rawValue)
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func aDeferredCallPastItsDeadlineIgnoresItsLateReply() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(6, RPCTestServer.later, "b", timeoutMs: 1))
        let expired = try #require(await connection.next())
        #expect(expired.callID == 6 && expired.code == RPCError.Code.deadlineExceeded.rawValue)
        server.gates.open("answer b")
        try await server.gates.wait("replied b")
        try await connection.send(call(7, RPCTestServer.echo, "after"))
        #expect(await connection.next() == RpcResponse(callID: 7, payload: Array("after".utf8), endOfStream: true))
        await connection.close()
        await server.stop()
    }

    @Test func expiredDeadlineIsDeadlineExceededAndCancelsTheHandler() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(9, RPCTestServer.hang, timeoutMs: 1))
        let response = try #require(await connection.next())
        #expect(response.callID == 9)
        #expect(response.code == RPCError.Code.deadlineExceeded.rawValue)
        try await server.gates.wait("hang cancelled")
        await connection.close()
        try await expectServes(server)
        await server.stop()
    }

    @Test func cancelStopsTheHandlerWithoutAReply() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(11, RPCTestServer.hang))
        try await server.gates.wait("hang started")
        try await connection.send(RpcRequest(callID: 11, cancel: true))
        try await server.gates.wait("hang cancelled")
        try await connection.send(call(12, RPCTestServer.echo, "next"))
        // The cancelled call got no reply: the next frame answers call 12.
        #expect(await connection.next()?.callID == 12)
        await connection.close()
        await server.stop()
    }

    @Test func cancelOfAnUnknownCallIsIgnored() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(RpcRequest(callID: 99, cancel: true))
        try await connection.send(call(100, RPCTestServer.echo, "next"))
        #expect(await connection.next()?.callID == 100)
        await connection.close()
        await server.stop()
    }

    @Test func aResponseOverTheLimitIsAnsweredResourceExhaustedAndTheConnectionStaysUsable() async throws {
        var configuration = RPCServerConfiguration()
        configuration.maxResponseFrameBytes = 1_024
        let server = try await RPCTestServer.start(configuration)
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(1, RPCTestServer.echo, String(repeating: "x", count: 2_000)))
        let response = try #require(await connection.next())
        #expect(response.callID == 1)
        #expect(response.code == RPCError.Code.resourceExhausted.rawValue)
        #expect(response.message == "response exceeds max_response_frame_bytes (1024)")
        #expect(response.payload.isEmpty)
        try await connection.send(call(2, RPCTestServer.echo, "small"))
        #expect(await connection.next()?.payload == Array("small".utf8))
        await connection.close()
        await server.stop()
    }

    @Test func nonRPCErrorIsInternal() async throws {
        let server = try await RPCTestServer.start()
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(call(1, RPCTestServer.fail))
        let response = try #require(await connection.next())
        #expect(response.code == RPCError.Code.internalError.rawValue)
        #expect(response.message == "internal error")
        await connection.close()
        await server.stop()
    }

    @Test func incompleteFrameIsClosedAfterTheFrameReadTimeout() async throws {
        let server = try await RPCTestServer.start(.init(frameReadTimeout: .milliseconds(100)))
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(bytes: [0])
        await connection.waitUntilClosed()
        try await expectServes(server)
        await server.stop()
    }

    @Test func idleConnectionIsClosed() async throws {
        // No serving check on this server: with so short an idle timeout, a loaded machine may
        // close the checking connection too before it sends its request.
        let server = try await RPCTestServer.start(.init(idleTimeout: .milliseconds(100)))
        let connection = try await RawConnection.connect(port: server.port)
        await connection.waitUntilClosed()
        await server.stop()
    }

    /// Also written from the connection's event loop: each message is queued at once while the
    /// connection has room and waits for room when it has none, so they keep their order.
    @Test(arguments: [RPCTestServer.bulk, RPCTestServer.bulkOnLoop])
    func aSlowStreamReaderIsServedCompletelyWithoutSlowingOthers(method: String) async throws {
        let server = try await RPCTestServer.start()
        // 8 MiB, far beyond what the sockets buffer, read a little at a time.
        let slow = try await RawConnection.connect(port: server.port, autoRead: false, receiveBufferSize: 16_384)
        try await slow.send(call(1, method, "512"))
        var responses: [RpcResponse] = []
        while responses.isEmpty, let round = await slow.readOneRound() {
            responses += round
        }
        #expect(responses.first?.callID == 1 && responses.first?.endOfStream == false)
        // Another client is answered while the slow one has most of its stream still to read.
        try await expectServes(server)
        while responses.last?.endOfStream != true, let round = await slow.readOneRound() {
            responses += round
        }
        let messages = responses.filter { !$0.endOfStream }
        #expect(messages.count == 512)
        // In order and whole: each message carries its number.
        let numbers = messages.map { $0.payload.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
        #expect(numbers == (0..<512).map(UInt64.init))
        #expect(messages.allSatisfy { $0.payload.count == 16_384 })
        #expect(responses.last?.endOfStream == true && responses.last?.code == RPCError.Code.ok.rawValue)
        await slow.close()
        await server.stop()
    }
}
