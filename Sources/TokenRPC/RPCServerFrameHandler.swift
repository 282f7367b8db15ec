import Logging
import NIOCore
import TokenWire

/// Just above the frame decoder: passes on the frames of each read together (the connection's reader
/// then takes a read's requests in one step, not one await per frame), and enforces the RPC port's
/// timeouts: a frame must be complete within the frame read timeout of its first byte, and a
/// connection with no complete frame in either direction for the idle timeout is closed.
///
/// The frame read timeout runs only while the server asks for bytes: a connection the server has
/// stopped reading (its peer does not read the answers) is not blamed for the frame it cannot finish.
/// Such a connection sends and receives no frame, so the idle timeout closes it.
final class RPCServerFrameHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = [ByteBuffer]
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let decoder: FrameDecoder
    private let frameReadTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let logger: Logger
    private var lastFrameAt = NIODeadline.uptimeNanoseconds(0)
    private var idleTimer: Scheduled<Void>?
    private var frameTimer: Scheduled<Void>?
    /// The server has asked for bytes since the last read completed.
    private var reading = false
    /// The frames of the read in progress.
    private var frames: [ByteBuffer] = []

    /// - Parameters:
    ///   - decoder: the decoder below this handler, asked whether a frame is incomplete.
    ///   - frameReadTimeout: how long a frame may take from its first byte.
    ///   - idleTimeout: how long a connection may go without a complete frame either way.
    ///   - logger: receives why a connection was closed.
    init(decoder: FrameDecoder, frameReadTimeout: Duration, idleTimeout: Duration, logger: Logger) {
        self.decoder = decoder
        self.frameReadTimeout = TimeAmount(frameReadTimeout)
        self.idleTimeout = TimeAmount(idleTimeout)
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastFrameAt = context.eventLoop.now
        scheduleIdleCheck(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        frameTimer?.cancel()
        frameTimer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastFrameAt = context.eventLoop.now
        frameTimer?.cancel()
        frameTimer = nil
        frames.append(Self.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        passOnFrames(context: context)
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The frames before a bad length prefix are answered before it.
        passOnFrames(context: context)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        passOnFrames(context: context)
        context.fireChannelInactive()
    }

    private func passOnFrames(context: ChannelHandlerContext) {
        guard !frames.isEmpty else { return }
        let read = frames
        frames = []
        context.fireChannelRead(Self.wrapInboundOut(read))
    }

    func read(context: ChannelHandlerContext) {
        reading = true
        if decoder.hasPartialFrame, frameTimer == nil {
            frameTimer = context.eventLoop.assumeIsolated().scheduleTask(in: frameReadTimeout) { [self] in
                frameTimer = nil
                // Stopped reading meanwhile: the timer starts again with the next read.
                guard reading, decoder.hasPartialFrame else { return }
                logger.notice("closing connection: frame not completed in time")
                context.close(promise: nil)
            }
        }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        lastFrameAt = context.eventLoop.now
        context.write(data, promise: promise)
    }

    private func scheduleIdleCheck(context: ChannelHandlerContext) {
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastFrameAt + idleTimeout) { [self] in
            if context.eventLoop.now >= lastFrameAt + idleTimeout {
                logger.debug("closing idle connection")
                context.close(promise: nil)
            } else {
                scheduleIdleCheck(context: context)
            }
        }
    }
}

@available(*, unavailable)
extension RPCServerFrameHandler: Sendable {}
