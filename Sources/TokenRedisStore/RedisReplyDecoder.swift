import NIOCore

/// Decodes RESP replies with hiredis's reader.
///
/// ```
/// +OK\r\n                       -> .status("OK")
/// $5\r\nhello\r\n               -> .bulk("hello")
/// *2\r\n:1\r\n$-1\r\n           -> .array([.integer(1), .null])
/// ```
/// Every received byte is handed to the reader at once; a reply is emitted when complete. A reply
/// holding more than `maxElements` elements (nested ones included) or more than `maxReplyBytes`
/// bytes (its strings and what is buffered of it) is a protocol violation, found before it is built
/// further: the decoder throws and the connection is closed.
public final class RedisReplyDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RedisValue

    /// The most elements a reply may hold by default, nested ones included: a page of 10,000
    /// stream entries holds about 130,000.
    public static let defaultMaxElements = 1 << 18
    /// The largest reply by default (bytes).
    public static let defaultMaxReplyBytes = 64 << 20

    private let reader: RedisReplyReader

    /// Creates a decoder.
    /// - Parameters:
    ///   - maxElements: the most elements a reply may hold, nested ones included.
    ///   - maxReplyBytes: the most bytes a reply may hold: its strings and what is buffered of it.
    /// - Throws: `protocolViolation` when the reader cannot be allocated.
    public init(
        maxElements: Int = RedisReplyDecoder.defaultMaxElements,
        maxReplyBytes: Int = RedisReplyDecoder.defaultMaxReplyBytes
    ) throws(RedisError) {
        reader = try RedisReplyReader(maxElements: maxElements, maxBytes: maxReplyBytes)
    }

    /// Feeds every readable byte to the reader and emits each complete reply.
    /// - Throws: `RedisError.protocolViolation` for bytes that are not RESP or a reply over a limit.
    public func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let reader = self.reader
        if buffer.readableBytes > 0 {
            try buffer.readWithUnsafeReadableBytes { bytes throws(RedisError) -> Int in
                try reader.feed(bytes)
                return bytes.count
            }
        }
        while let reply = try reader.next() {
            context.fireChannelRead(wrapInboundOut(reply))
        }
        return .needMoreData
    }

    /// Decodes what is left at the end of the stream.
    /// - Throws: `RedisError.protocolViolation` when the stream ends in the middle of a reply.
    public func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        _ = try decode(context: context, buffer: &buffer)
        if reader.pendingBytes > 0 {
            throw RedisError.protocolViolation("the connection closed in the middle of a reply")
        }
        return .needMoreData
    }
}

@available(*, unavailable)
extension RedisReplyDecoder: Sendable {}
