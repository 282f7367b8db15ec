import NIOCore

/// The HTTP port's timeouts, below the HTTP codec: a connection waiting for a request closes after
/// the idle timeout, a request must arrive whole within the read timeout of its first byte.
///
/// The request handler above reports a complete request and a sent response through outbound user
/// events (`HTTPConnectionEvent`).
final class HTTPDeadlineHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case waitingForRequest
        case readingRequest
        case responding
    }

    private let readTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var state = State.waitingForRequest
    private var timer: Scheduled<Void>?

    init(readTimeout: Duration, idleTimeout: Duration) {
        self.readTimeout = TimeAmount(readTimeout)
        self.idleTimeout = TimeAmount(idleTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(idleTimeout, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .waitingForRequest = state {
            state = .readingRequest
            arm(readTimeout, context: context)
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        switch event as? HTTPConnectionEvent {
        case .requestComplete:
            state = .responding
            timer?.cancel()
            timer = nil
            promise?.succeed()
        case .responseSent:
            state = .waitingForRequest
            arm(idleTimeout, context: context)
            promise?.succeed()
        case nil:
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension HTTPDeadlineHandler: Sendable {}

/// What the request handler tells `HTTPDeadlineHandler`.
enum HTTPConnectionEvent {
    /// A whole request has arrived: no timeout runs while it is answered.
    case requestComplete
    /// Its response has been written: the connection waits for the next request.
    case responseSent
}
