import Logging
import NIOCore
import TokenWire

/// The client end of one connection: writes request frames (one flush per event loop tick) and
/// routes response frames to their calls by call id.
final class RPCClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let calls: RPCClientCalls
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var flushPending = false

    init(calls: RPCClientCalls, logger: Logger) {
        self.calls = calls
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        calls.failAll(.unavailable("connection closed"))
        self.context = nil
    }

    /// Queues a request frame; frames queued in one event loop tick share one flush.
    func send(_ frame: ByteBuffer) {
        guard let context else { return }
        context.write(Self.wrapOutboundOut(frame), promise: nil)
        if !flushPending {
            flushPending = true
            context.eventLoop.assumeIsolated().execute { [self] in
                flushPending = false
                self.context?.flush()
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let response: RpcResponse
        do {
            response = try RpcResponse(serializedBytes: Self.unwrapInboundIn(data))
        } catch {
            logger.notice("closing connection: invalid response frame", metadata: ["error": "\(error)"])
            calls.failAll(.unavailable("server sent an invalid response"))
            context.close(promise: nil)
            return
        }
        guard response.callID != 0 else {
            // A connection-level error: the server closes the connection after it.
            let code = RPCError.Code(rawValue: response.code)
            logger.notice("server reported a connection error", metadata: ["code": "\(code)"])
            calls.failAll(.unavailable("connection failed: \(code): \(response.message)"))
            return
        }
        guard let (pending, isLast) = calls.route(response) else { return }
        switch pending {
        case .unary(let continuation):
            continuation.resume(returning: response)
        case .stream(let deliver, let finish):
            if isLast {
                finish(
                    response.code == 0 ? nil : RPCError(code: .init(rawValue: response.code), message: response.message)
                )
            } else if response.code != 0 {
                _ = calls.remove(response.callID)
                finish(RPCError(code: .init(rawValue: response.code), message: response.message))
            } else if let error = deliver(response) {
                _ = calls.remove(response.callID)
                send(RPCClientConnection.cancelFrame(response.callID))
                finish(error)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        calls.failAll(.unavailable("connection lost"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.notice("closing connection", metadata: ["error": "\(error)"])
        calls.failAll(.unavailable("connection failed: \(error)"))
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension RPCClientConnectionHandler: Sendable {}
