import Foundation
import NIOCore
import NIOEmbedded
import NIOTestUtils
import Testing
import TokenWire

@Suite struct FrameDecoderTests {
    private func makeChannel(maxFrameLength: Int = 65_536) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(FrameDecoder(maxFrameLength: maxFrameLength))
        )
        return channel
    }

    private func frame(_ body: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(body.count), endianness: .big)
        buffer.writeBytes(body)
        return buffer
    }

    @Test func decodesOneFrame() throws {
        let channel = try makeChannel()
        let request = RpcRequest(callID: 9, method: "/token.v1.TokenService/Health", credential: "k")
        #expect(try channel.writeInbound(frame(request.serializedBytes())).isFull)
        let body = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(try RpcRequest(serializedBytes: body) == request)
        #expect(try channel.finish().isClean)
    }

    @Test func decodesBackToBackFramesInOneRead() throws {
        let channel = try makeChannel()
        var input = frame([1, 2, 3])
        var second = frame([4])
        input.writeBuffer(&second)
        try channel.writeInbound(input)
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [1, 2, 3]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: [4]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect(try channel.finish().isClean)
    }

    @Test func reassemblesFragmentedInput() throws {
        let channel = try makeChannel()
        let body = Array(0..<200).map { UInt8($0) }
        let input = frame(body)
        for index in 0..<input.readableBytes {
            let slice = try #require(input.getSlice(at: index, length: 1))
            try channel.writeInbound(slice)
            if index < input.readableBytes - 1 {
                #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
            }
        }
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: body))
        #expect(try channel.finish().isClean)
    }

    @Test func zeroLengthFrameIsAnEmptyRequest() throws {
        let channel = try makeChannel()
        try channel.writeInbound(frame([]))
        let body = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(body.readableBytes == 0)
        #expect(try RpcRequest(serializedBytes: body) == RpcRequest(callID: 0))
        #expect(try channel.finish().isClean)
    }

    @Test func leftoverBytesAreReportedAtEnd() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 5, 1, 2]))
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        #expect {
            try channel.finish()
        } throws: { error in
            guard case .leftoverDataWhenDone = error as? ByteToMessageDecoderError else { return false }
            return true
        }
    }

    @Test func maliciousLengthIsRejectedBeforeBuffering() throws {
        let channel = try makeChannel()
        #expect(throws: TokenWireError.frameTooLarge(length: Int(UInt32.max), limit: 65_536)) {
            try channel.writeInbound(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF]))
        }
        _ = try? channel.finish()
    }

    @Test func lengthOneOverTheLimitIsRejected() throws {
        let channel = try makeChannel(maxFrameLength: 100)
        #expect(throws: TokenWireError.frameTooLarge(length: 101, limit: 100)) {
            try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 101]))
        }
        _ = try? channel.finish()
    }

    @Test func lengthAtTheLimitIsAccepted() throws {
        let channel = try makeChannel(maxFrameLength: 100)
        let body = [UInt8](repeating: 7, count: 100)
        try channel.writeInbound(frame(body))
        #expect(try channel.readInbound(as: ByteBuffer.self) == ByteBuffer(bytes: body))
        #expect(try channel.finish().isClean)
    }

    @Test func reportsPartialFrames() throws {
        let decoder = FrameDecoder()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
        #expect(!decoder.hasPartialFrame)
        try channel.writeInbound(ByteBuffer(bytes: [0, 0]))
        #expect(decoder.hasPartialFrame)
        try channel.writeInbound(ByteBuffer(bytes: [0, 1, 42]))
        #expect(!decoder.hasPartialFrame)
        try channel.writeInbound(ByteBuffer(bytes: [0, 0, 0, 1, 1, 0]))
        #expect(decoder.hasPartialFrame)
        _ = try? channel.finish()
    }

    @Test func satisfiesTheDecoderVerifier() throws {
        let pairs: [(ByteBuffer, [ByteBuffer])] = [
            (frame([1, 2, 3]), [ByteBuffer(bytes: [1, 2, 3])]),
            (frame([]), [ByteBuffer()]),
            (frame(Array(repeating: 0xAB, count: 300)), [ByteBuffer(bytes: Array(repeating: 0xAB, count: 300))]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: pairs) { FrameDecoder() }
    }

    @Test func encoderWritesTheContractFraming() throws {
        let request = RpcRequest(callID: 3, method: "/m", payload: [9, 9])
        let buffer = try FrameEncoder().encode(request, allocator: ByteBufferAllocator())
        let body = request.serializedBytes()
        #expect(buffer == frame(body))
    }

    @Test func encoderRejectsOversizedMessagesAndLeavesTheBufferAlone() throws {
        let encoder = FrameEncoder(maxFrameLength: 8)
        var buffer = ByteBuffer(bytes: [1])
        let request = RpcRequest(callID: 1, payload: Array(repeating: 1, count: 32))
        #expect(throws: TokenWireError.frameTooLarge(length: request.serializedSize, limit: 8)) {
            try encoder.encode(request, into: &buffer)
        }
        #expect(buffer == ByteBuffer(bytes: [1]))
    }

    /// Random, mutated and valid frames through the decoder and the envelope parser: nothing crashes,
    /// valid frames round-trip and every failure is one of the expected errors.
    @Test func survivesRandomizedInput() throws {
        let seed = ProcessInfo.processInfo.environment["TOKEN_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_F4A3
        var random = SplitMix64(seed: seed)
        let maxFrameLength = 512
        var decodedRequests = 0
        for iteration in 0..<10_000 {
            let original = RpcRequest(
                callID: random.next(),
                method: random.string(maxLength: 40),
                payload: random.bytes(maxLength: 200),
                credential: random.string(maxLength: 40),
                timeoutMilliseconds: UInt32(truncatingIfNeeded: random.next()),
                cancel: random.next() % 2 == 0
            )
            var input = try FrameEncoder(maxFrameLength: 4096).encode(original, allocator: ByteBufferAllocator())
            let mode = iteration % 4
            switch mode {
            case 0: break  // valid frame
            case 1:  // flip bytes of the body
                for _ in 0...(random.next() % 4) where input.readableBytes > 4 {
                    let index = 4 + Int(random.next() % UInt64(input.readableBytes - 4))
                    input.setInteger(UInt8(truncatingIfNeeded: random.next()), at: index)
                }
            case 2:  // random length prefix
                input.setInteger(UInt32(truncatingIfNeeded: random.next() % 1024), at: 0, endianness: .big)
            default:  // random bytes
                input = ByteBuffer(bytes: random.bytes(maxLength: 600))
            }
            let channel = try makeChannel(maxFrameLength: maxFrameLength)
            var frames: [ByteBuffer] = []
            var rejected = false
            while input.readableBytes > 0, !rejected {
                let chunk =
                    input.readSlice(length: 1 + Int(random.next() % UInt64(input.readableBytes))) ?? ByteBuffer()
                do {
                    try channel.writeInbound(chunk)
                } catch let error as TokenWireError where error.isFrameTooLarge {
                    rejected = true
                }
                while let frame = try channel.readInbound(as: ByteBuffer.self) {
                    frames.append(frame)
                }
            }
            for frame in frames {
                do {
                    let request = try RpcRequest(serializedBytes: frame)
                    decodedRequests += 1
                    if mode == 0 {
                        #expect(request == original, "seed \(seed), iteration \(iteration)")
                    }
                } catch {
                    #expect(
                        error == .invalidMessage("token.v1.RpcRequest") || error == .invalidUTF8("token.v1.RpcRequest")
                            || error == .nulInString("token.v1.RpcRequest")
                    )
                    #expect(mode != 0, "seed \(seed), iteration \(iteration)")
                }
            }
            if mode == 0 {
                #expect(frames.count == 1 && !rejected, "seed \(seed), iteration \(iteration)")
            }
            _ = try? channel.finish()
        }
        #expect(decodedRequests >= 2_500)
    }
}

/// A small seeded generator (SplitMix64), so a failing run can be replayed with its seed.
private struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(maxLength: Int) -> [UInt8] {
        let count = Int(next() % UInt64(maxLength + 1))
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    mutating func string(maxLength: Int) -> String {
        let count = Int(next() % UInt64(maxLength + 1))
        return String((0..<count).map { _ in Character(Unicode.Scalar(UInt8(32 + next() % 95))) })
    }
}
