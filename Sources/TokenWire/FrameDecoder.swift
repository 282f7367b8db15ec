import NIOCore

/// Splits a byte stream into the frames of the wire contract.
///
/// Every frame is a 4-byte unsigned big-endian length `N`, then `N` bytes of one message:
///
/// ```
/// +----------------+----------------------+
/// | N (UInt32, BE) | N bytes of a message |
/// +----------------+----------------------+
/// ```
///
/// Each decoded frame is passed on as a `ByteBuffer` holding the `N` message bytes (possibly empty).
/// A length above `maxFrameLength` throws `TokenWireError.frameTooLarge` as soon as the prefix is
/// read, before any of the frame's bytes are buffered. Bytes of an incomplete frame left at the end of
/// the stream throw `ByteToMessageDecoderError.leftoverDataWhenDone`.
public final class FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    private enum DecoderReadState {
        case waitingForHeader
        case waitingForFrame(length: Int)
    }

    /// The largest accepted frame body, in bytes.
    public let maxFrameLength: Int

    private var state: DecoderReadState = .waitingForHeader

    /// True while the bytes of an incomplete frame (or of its length prefix) are buffered.
    ///
    /// Read it on the channel's event loop after a read, e.g. to time out frames that never complete.
    public private(set) var hasPartialFrame = false

    /// Creates a decoder.
    /// - Parameter maxFrameLength: the largest accepted frame body in bytes (at most `UInt32.max`).
    public init(maxFrameLength: Int = 65_536) {
        self.maxFrameLength = maxFrameLength
    }

    public func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try readFrame(from: &buffer) else {
            hasPartialFrame = buffer.readableBytes > 0
            return .needMoreData
        }
        hasPartialFrame = buffer.readableBytes > 0
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        let decodingState = try decode(context: context, buffer: &buffer)
        if case .needMoreData = decodingState, buffer.readableBytes > 0 {
            throw ByteToMessageDecoderError.leftoverDataWhenDone(buffer)
        }
        return decodingState
    }

    /// Reads one complete frame body, or nil when more bytes are needed.
    private func readFrame(from buffer: inout ByteBuffer) throws(TokenWireError) -> ByteBuffer? {
        if case .waitingForHeader = state {
            guard let prefix = buffer.readInteger(endianness: .big, as: UInt32.self) else {
                return nil
            }
            guard let length = Int(exactly: prefix), length <= maxFrameLength else {
                throw TokenWireError.frameTooLarge(length: Int(clamping: prefix), limit: maxFrameLength)
            }
            state = .waitingForFrame(length: length)
        }
        guard case .waitingForFrame(let length) = state, let frame = buffer.readSlice(length: length) else {
            return nil
        }
        state = .waitingForHeader
        return frame
    }
}

@available(*, unavailable)
extension FrameDecoder: Sendable {}
