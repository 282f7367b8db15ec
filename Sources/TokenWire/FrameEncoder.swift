import NIOCore

/// Writes messages as frames of the wire contract: a 4-byte unsigned big-endian length, then the
/// message's protobuf bytes (see `FrameDecoder`).
///
/// A value type safe to share: encoding allocates one buffer per frame and touches no shared state,
/// so it can run on any thread, off the event loop.
public struct FrameEncoder: Sendable {
    /// The largest frame body this encoder writes, in bytes.
    public let maxFrameLength: Int

    /// Creates an encoder.
    /// - Parameter maxFrameLength: the largest frame body to write in bytes (at most `UInt32.max`).
    public init(maxFrameLength: Int = 65_536) {
        self.maxFrameLength = min(maxFrameLength, Int(UInt32.max))
    }

    /// Encodes one message as a frame in a new buffer.
    /// - Parameters:
    ///   - message: the message to frame.
    ///   - allocator: the allocator for the buffer (use the channel's).
    /// - Returns: a buffer holding the length prefix and the message bytes.
    /// - Throws: `TokenWireError.frameTooLarge` when the message exceeds `maxFrameLength`.
    public func encode(_ message: some WireMessage, allocator: ByteBufferAllocator) throws(TokenWireError) -> ByteBuffer
    {
        var buffer = allocator.buffer(capacity: 64)
        try encode(message, into: &buffer)
        return buffer
    }

    /// Encodes the frame of a call's successful last answer: an `RpcResponse` with `callID`, code
    /// OK, `message` as its payload and `end_of_stream` set. The envelope is written around the
    /// message's bytes directly, byte for byte what encoding that `RpcResponse` writes, without
    /// building the payload as an array first.
    /// - Parameters:
    ///   - callID: the call's id.
    ///   - message: the method's response.
    ///   - allocator: the allocator for the buffer (use the channel's).
    /// - Returns: a buffer holding the length prefix and the envelope.
    /// - Throws: `TokenWireError.frameTooLarge` when the frame would exceed `maxFrameLength`.
    public func encodeFinalResponse(
        callID: UInt64,
        message: some WireMessage,
        allocator: ByteBufferAllocator
    ) throws(TokenWireError) -> ByteBuffer {
        // The message is packed once, straight into the frame's buffer after room for the longest
        // header; the header is then written right before it and the buffer starts there.
        let headerRoom = 4 + 1 + 10 + 1 + 10  // prefix, call_id and payload length with their keys
        // Room for the largest common answer, Issue's (an access token, a refresh token and their
        // ids, 600 to 700 bytes), so that packing it does not regrow the buffer.
        var buffer = allocator.buffer(capacity: 1_024)
        buffer.writeRepeatingByte(0, count: headerRoom)
        message.serialize(into: &buffer)
        let payloadLength = UInt64(buffer.writerIndex - headerRoom)
        buffer.writeInteger(RpcResponseTag.endOfStream)
        buffer.writeInteger(UInt8(1))
        // Fields in number order, defaults left out, as protobuf encoders write proto3 messages.
        let callIDLength = callID != 0 ? 1 + ByteBuffer.protobufVarintLength(callID) : 0
        let payloadKeyLength = payloadLength > 0 ? 1 + ByteBuffer.protobufVarintLength(payloadLength) : 0
        let start = headerRoom - 4 - callIDLength - payloadKeyLength
        var position = start + 4
        if callID != 0 {
            buffer.setInteger(RpcResponseTag.callID, at: position)
            position += 1 + buffer.setProtobufVarint(callID, at: position + 1)
        }
        if payloadLength > 0 {
            buffer.setInteger(RpcResponseTag.payload, at: position)
            buffer.setProtobufVarint(payloadLength, at: position + 1)
        }
        buffer.moveReaderIndex(to: start)
        try setLengthPrefix(at: start, in: &buffer)
        return buffer.slice()
    }

    /// Appends one message as a frame to a buffer.
    /// - Parameters:
    ///   - message: the message to frame.
    ///   - buffer: the buffer to append to; unchanged when this throws.
    /// - Throws: `TokenWireError.frameTooLarge` when the message exceeds `maxFrameLength`.
    public func encode(_ message: some WireMessage, into buffer: inout ByteBuffer) throws(TokenWireError) {
        let prefixIndex = buffer.writerIndex
        buffer.writeInteger(UInt32(0), endianness: .big)
        message.serialize(into: &buffer)
        try setLengthPrefix(at: prefixIndex, in: &buffer)
    }

    /// Fills in the length prefix at `prefixIndex` of the frame that ends at the writer index.
    /// - Throws: `TokenWireError.frameTooLarge` over `maxFrameLength`; the frame is then removed.
    private func setLengthPrefix(at prefixIndex: Int, in buffer: inout ByteBuffer) throws(TokenWireError) {
        let length = buffer.writerIndex - prefixIndex - 4
        guard length <= maxFrameLength, let prefix = UInt32(exactly: length) else {
            buffer.moveWriterIndex(to: prefixIndex)
            throw TokenWireError.frameTooLarge(length: length, limit: maxFrameLength)
        }
        buffer.setInteger(prefix, at: prefixIndex, endianness: .big)
    }
}

/// The key bytes (field number and wire type) of the `RpcResponse` fields a final answer carries.
private enum RpcResponseTag {
    static let callID: UInt8 = 1 << 3 | 0  // varint
    static let payload: UInt8 = 4 << 3 | 2  // length-delimited
    static let endOfStream: UInt8 = 5 << 3 | 0  // varint
}
