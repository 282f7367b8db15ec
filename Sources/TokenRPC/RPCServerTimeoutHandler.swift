import Logging
import NIOCore
import TokenWire

/// The RPC port's timeouts, just above the frame decoder: a frame must be complete within the frame
/// read timeout of its first byte, and a connection with no complete frame in either direction for
/// the idle timeout is closed.
///
/// The frame read timeout runs only while the server asks for bytes: a connection the server has
/// stopped reading (its peer does not read the answers) is not blamed for the frame it cannot finish.
/// Such a connection sends and receives no frame, so the idle timeout closes it.
final class RPCServerTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
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
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        reading = false
        context.fireChannelReadComplete()
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
extension RPCServerTimeoutHandler: Sendable {}
