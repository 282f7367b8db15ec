import NIOCore

/// The HTTP port's timeouts, below the HTTP codec: a connection waiting for a request closes after
/// the idle timeout, a request must arrive whole within the read timeout of its first byte, and a
/// peer that takes no byte of an answer for the idle timeout is closed. Graceful shutdown closes a
/// connection waiting for a request at once, and one answering once its answer is sent.
///
/// The connection's task reports a complete request, a sent response and the start of graceful
/// shutdown through outbound user events (`HTTPConnectionEvent`).
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
    private var draining = false
    private var timer: Scheduled<Void>?
    /// Runs while bytes of an answer wait for the socket; re-armed whenever the socket takes some.
    private var writeTimer: Scheduled<Void>?
    /// Writes not yet taken whole by the socket.
    private var pendingWrites = 0

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
        writeTimer?.cancel()
        writeTimer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .waitingForRequest = state {
            state = .readingRequest
            arm(readTimeout, context: context)
        }
        context.fireChannelRead(data)
    }

    /// Every write is watched until the socket has taken it: a peer that takes no byte of an answer,
    /// however small, for the idle timeout is closed.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let written = promise ?? context.eventLoop.makePromise()
        pendingWrites += 1
        if writeTimer == nil {
            armWriteTimer(context: context)
        }
        written.futureResult.assumeIsolated().whenComplete { [self] _ in
            pendingWrites -= 1
            writeTimer?.cancel()
            writeTimer = nil
            if pendingWrites > 0 {
                armWriteTimer(context: context)
            }
        }
        context.write(data, promise: written)
    }

    private func armWriteTimer(context: ChannelHandlerContext) {
        writeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) {
            context.close(promise: nil)
        }
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
            promise?.succeed()
            if draining {
                context.close(promise: nil)
            } else {
                arm(idleTimeout, context: context)
            }
        case .drain:
            draining = true
            promise?.succeed()
            if case .waitingForRequest = state {
                context.close(promise: nil)
            }
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

/// What the connection's task tells `HTTPDeadlineHandler`.
enum HTTPConnectionEvent {
    /// A whole request has arrived: no timeout runs while it is answered.
    case requestComplete
    /// Its response has been written: the connection waits for the next request.
    case responseSent
    /// Graceful shutdown: close once no request is being answered.
    case drain
}
