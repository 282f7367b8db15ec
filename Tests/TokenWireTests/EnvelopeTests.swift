import Testing
import NIOCore
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

    /// Unpacking carves the message's memory from a stack buffer and takes the rest from malloc:
    /// requests that fit, that just fit and that overflow it all read back whole, and one cut short
    /// part-way through (memory taken from both) is rejected as usual.
    @Test(arguments: [0, 100, 700, 900, 1_024, 1_100, 5_000, 60_000])
    func requestsSmallerAndLargerThanTheUnpackBufferRoundTrip(size: Int) throws {
        let request = RpcRequest(
            callID: 9,
            method: "/token.v1.TokenService/" + String(repeating: "m", count: size / 4),
            payload: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) },
            credential: "k" + String(repeating: "é", count: size / 8)
        )
        let bytes = request.serializedBytes()
        for _ in 0..<2 {
            #expect(try RpcRequest(serializedBytes: bytes) == request)
        }
        #expect(throws: TokenWireError.invalidMessage("token.v1.RpcRequest")) {
            try RpcRequest(serializedBytes: Array(bytes.dropLast()))
        }
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

@Suite struct FinalResponseFrameTests {
    private let encoder = FrameEncoder(maxFrameLength: 65_536)

    /// The frame `FrameEncoder.encode` writes for the same answer through a full `RpcResponse`.
    private func envelopeFrame(callID: UInt64, _ message: some WireMessage) throws -> ByteBuffer {
        let response = RpcResponse(callID: callID, payload: message.serializedBytes(), endOfStream: true)
        return try encoder.encode(response, allocator: ByteBufferAllocator())
    }

    @Test(arguments: [UInt64(1), 0, 300, .max])
    func matchesTheEnvelopeByteForByte(callID: UInt64) throws {
        let messages: [any WireMessage] = [
            MessageSamples.issueResponse, MessageSamples.validateResponse, MessageSamples.getKeysResponse,
            MessageSamples.listSessionsResponse, HealthResponse(), RevokeResponse(),
            // A payload length of three varint bytes.
            ValidateResponse(valid: true, claims: WireClaims(subject: String(repeating: "s", count: 20_000))),
        ]
        for message in messages {
            let direct = try encoder.encodeFinalResponse(callID: callID, message: message, allocator: ByteBufferAllocator())
            #expect(direct == (try envelopeFrame(callID: callID, message)))
            let decoded = try RpcResponse(serializedBytes: direct.getSlice(at: 4, length: direct.readableBytes - 4) ?? ByteBuffer())
            #expect(decoded.callID == callID && decoded.code == 0 && decoded.endOfStream)
            #expect(decoded.payload == message.serializedBytes())
        }
    }

    @Test func refusesAnAnswerOverTheLimit() throws {
        let small = FrameEncoder(maxFrameLength: 64)
        let answer = ValidateResponse(valid: true, claims: WireClaims(subject: String(repeating: "s", count: 64)))
        #expect(throws: TokenWireError.self) {
            try small.encodeFinalResponse(callID: 1, message: answer, allocator: ByteBufferAllocator())
        }
        // The envelope's own bytes count too: an empty answer fits a limit of 4 (call id, end of stream).
        #expect(try FrameEncoder(maxFrameLength: 4).encodeFinalResponse(
            callID: 1, message: HealthResponse(), allocator: ByteBufferAllocator()).readableBytes == 8)
    }
}
