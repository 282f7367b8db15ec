import NIOCore

/// Matches replies to commands in order (RESP replies come in the order of the commands).
///
/// A command that gets no reply within `commandTimeout` fails alone with `timeout`. Its slot stays
/// in the queue: the reply still comes, later, and is read and dropped, so the replies behind it
/// keep their commands. The connection is taken as broken, and every command on it failed, only
/// when a command has waited `stallTimeout` with no reply at all coming meanwhile, when the server
/// sends what is not RESP, or when the connection is lost.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RedisValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        /// The number of the command on this connection (consecutive, so the queue's first entry
        /// tells where any other is).
        var number: UInt64
        /// Nil once the command timed out: its reply is dropped.
        var promise: EventLoopPromise<RedisValue>?
        var timeout: Scheduled<Void>?
        var sentAt: NIODeadline
    }

    private let commandTimeout: TimeAmount
    private let stallTimeout: TimeAmount
    private let maxPendingCommands: Int
    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var nextNumber: UInt64 = 0
    private var lastReplyAt = NIODeadline.uptimeNanoseconds(0)
    private var stallCheck: Scheduled<Void>?
    private var failure: RedisError?

    /// - Parameters:
    ///   - commandTimeout: how long one command waits for its reply before it fails alone.
    ///   - stallTimeout: how long the oldest command may wait, nothing answered, before the
    ///     connection is closed (at least `commandTimeout`).
    ///   - maxPendingCommands: the most commands waiting for replies (timed out ones included);
    ///     more are refused at once.
    init(commandTimeout: TimeAmount, stallTimeout: TimeAmount, maxPendingCommands: Int) {
        self.commandTimeout = commandTimeout
        self.stallTimeout = max(stallTimeout, commandTimeout)
        self.maxPendingCommands = maxPendingCommands
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        var refusal = failure
        if refusal == nil, pending.count + request.commands.count > maxPendingCommands {
            refusal = .connection("more than \(maxPendingCommands) commands wait for replies")
        }
        if let refusal {
            refuse(request, promise: promise, with: refusal)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 64 * request.commands.count)
        do {
            for command in request.commands {
                try command.encode(into: &buffer)
            }
        } catch {
            refuse(request, promise: promise, with: error)
            return
        }
        let now = context.eventLoop.now
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        for reply in request.replies {
            let number = nextNumber
            nextNumber += 1
            let timeout = context.eventLoop.scheduleTask(in: commandTimeout) {
                bound.value.handler.timeOut(number)
            }
            pending.append(Pending(number: number, promise: reply, timeout: timeout, sentAt: now))
        }
        scheduleStallCheck(context: context)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        guard let first = pending.popFirst() else {
            fail(context: context, with: .protocolViolation("a reply that no command asked for"))
            return
        }
        lastReplyAt = context.eventLoop.now
        first.timeout?.cancel()
        first.promise?.succeed(reply)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(context: context, with: (error as? RedisError) ?? .connection("\(error)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(context: context, with: .connection("the connection was closed"))
        context.fireChannelInactive()
    }

    private func refuse(_ request: RedisRequest, promise: EventLoopPromise<Void>?, with error: RedisError) {
        for reply in request.replies {
            reply.fail(error)
        }
        promise?.fail(error)
    }

    /// Fails the command numbered `number`, keeping its slot for its late reply.
    private func timeOut(_ number: UInt64) {
        guard let first = pending.first, number >= first.number else { return }
        let index = pending.index(pending.startIndex, offsetBy: Int(number - first.number))
        guard index < pending.endIndex, let promise = pending[index].promise else { return }
        pending[index].promise = nil
        pending[index].timeout = nil
        promise.fail(RedisError.timeout)
    }

    /// When the connection counts as stalled: `stallTimeout` after the oldest command was sent or
    /// the last reply came, whichever is later; nil when no command waits.
    private var stallDeadline: NIODeadline? {
        pending.first.map { max($0.sentAt, lastReplyAt) + stallTimeout }
    }

    /// Closes the connection once a command has waited `stallTimeout` with nothing answered.
    private func scheduleStallCheck(context: ChannelHandlerContext) {
        guard stallCheck == nil, let deadline = stallDeadline else { return }
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        stallCheck = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.stallCheck = nil
            guard let deadline = handler.stallDeadline else { return }
            if deadline <= context.eventLoop.now {
                let milliseconds = handler.stallTimeout.nanoseconds / 1_000_000
                handler.fail(context: context, with: .connection("no reply for \(milliseconds) ms"))
            } else {
                handler.scheduleStallCheck(context: context)
            }
        }
    }

    /// Fails every outstanding command and closes the connection: its replies can no longer be
    /// matched to their commands, or will not come.
    private func fail(context: ChannelHandlerContext, with error: RedisError) {
        if failure == nil {
            failure = error
        }
        stallCheck?.cancel()
        stallCheck = nil
        let failed = pending
        pending.removeAll()
        for entry in failed {
            entry.timeout?.cancel()
            entry.promise?.fail(error)
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
