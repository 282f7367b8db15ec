import NIOCore
import Testing
import TokenWire

@Suite struct ProtobufVarintTests {
    @Test(arguments: [UInt64(1), 127, 128, 300, 16_383, 16_384, UInt64(UInt32.max), .max])
    func writtenVarintsMatchTheProtobufEncodingAndReadBack(_ value: UInt64) throws {
        var buffer = ByteBuffer()
        buffer.writeProtobufVarint(value)
        // protobuf-c's own packing of the same number as `call_id` (field 1), after its tag byte.
        let packed = RpcRequest(callID: value).serializedBytes()
        #expect(Array(buffer.readableBytesView) == Array(packed.dropFirst()))
        #expect(buffer.readProtobufVarint() == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test func zeroIsOneByte() {
        var buffer = ByteBuffer()
        buffer.writeProtobufVarint(0)
        #expect(Array(buffer.readableBytesView) == [0x00])
        #expect(buffer.readProtobufVarint() == 0)
    }

    @Test func truncatedAndOverlongVarintsAreRejected() {
        var truncated = ByteBuffer(bytes: [0x80, 0x80])
        #expect(truncated.readProtobufVarint() == nil)
        var overlong = ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 10) + [0x01])
        #expect(overlong.readProtobufVarint() == nil)
    }
}
