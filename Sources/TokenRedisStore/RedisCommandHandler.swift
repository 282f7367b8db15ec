import NIOCore

/// Matches replies to commands in order (RESP replies come in the order of the commands), and
/// fails every outstanding command when one times out or the connection is lost.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RedisValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<RedisValue>
        var timeout: Scheduled<Void>?
    }

    private let commandTimeout: TimeAmount
    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var failure: RedisError?

    init(commandTimeout: TimeAmount) {
        self.commandTimeout = commandTimeout
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            for reply in request.replies {
                reply.fail(failure)
            }
            promise?.fail(failure)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 * request.commands.count)
        do {
            for command in request.commands {
                try command.encode(into: &buffer)
            }
        } catch {
            for reply in request.replies {
                reply.fail(error)
            }
            promise?.fail(error)
            return
        }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        for reply in request.replies {
            let timeout = context.eventLoop.scheduleTask(in: commandTimeout) {
                bound.value.handler.fail(context: bound.value.context, with: .timeout)
            }
            pending.append(Pending(promise: reply, timeout: timeout))
        }
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let first = pending.popFirst() else {
            fail(context: context, with: .protocolViolation("a reply that no command asked for"))
            return
        }
        first.timeout?.cancel()
        first.promise.succeed(reply)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, with: (error as? RedisError) ?? .connection("\(error)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context: context, with: .connection("the connection was closed"))
        context.fireChannelInactive()
    }

    /// Fails every outstanding command and closes the connection: after a lost reply, later
    /// replies could no longer be matched to their commands.
    private func fail(context: ChannelHandlerContext, with error: RedisError) {
        if failure == nil {
            failure = error
        }
        let failed = pending
        pending.removeAll()
        for entry in failed {
            entry.timeout?.cancel()
            entry.promise.fail(error)
        }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension RedisCommandHandler: Sendable {}

/// Commands written together, with one promise per command for its reply.
struct RedisRequest {
    var commands: [RedisCommand]
    var replies: [EventLoopPromise<RedisValue>]
}
