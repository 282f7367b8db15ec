import Testing
import TokenWire

@Suite struct EnvelopeTests {
    @Test func requestRoundTrips() throws {
        let request = RpcRequest(
            callID: 42,
            method: "/token.v1.TokenService/Health",
            payload: [1, 2, 3],
            credential: "key",
            timeoutMilliseconds: 250,
            cancel: true
        )
        let decoded = try RpcRequest(serializedBytes: request.serializedBytes())
        #expect(decoded == request)
    }

    @Test func responseRoundTrips() throws {
        let response = RpcResponse(callID: 7, code: 5, message: "not found", payload: [], endOfStream: true)
        #expect(try RpcResponse(serializedBytes: response.serializedBytes()) == response)
    }

    @Test func emptyRequestDecodesToDefaults() throws {
        let decoded = try RpcRequest(serializedBytes: [UInt8]())
        #expect(decoded == RpcRequest(callID: 0))
    }

    @Test func garbageIsRejected() {
        #expect(throws: TokenWireError.invalidMessage("token.v1.RpcRequest")) {
            try RpcRequest(serializedBytes: [0xFF, 0xFF, 0xFF])
        }
    }

    @Test func invalidUTF8IsRejected() {
        // field 2 (method), length 2, bytes C3 28 (invalid UTF-8)
        #expect(throws: TokenWireError.invalidUTF8("token.v1.RpcRequest")) {
            try RpcRequest(serializedBytes: [0x12, 0x02, 0xC3, 0x28])
        }
    }
}
