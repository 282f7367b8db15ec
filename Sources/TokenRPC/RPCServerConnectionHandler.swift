import Logging
import NIOCore
import NIOSSL
import TokenCore
import TokenWire

/// Serves the calls of one connection: checks each request in the contract's order, runs its handler
/// in a task, writes responses in completion order, and enforces the connection's timeouts and limits.
///
/// Confined to the channel's event loop. Unary handler tasks prefer that loop as their executor,
/// so they answer from it directly; stream handlers run elsewhere and come back through `NIOLoopBound`.
final class RPCServerConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct InFlightCall {
        let serial: UInt64
        let method: String
        let caller: String?
        let isStream: Bool
        let start: ContinuousClock.Instant
        var task: Task<Void, Never>?
    }

    private let shared: RPCServerShared
    private let decoder: FrameDecoder
    private var context: ChannelHandlerContext?
    private var calls: [UInt64: InFlightCall] = [:]
    private var nextSerial: UInt64 = 0
    private var flushPending = false
    private var backlogBytes = 0
    /// Streams waiting for the socket to take their backlog, by call id.
    private var writabilityWaiters: [UInt64: EventLoopPromise<Void>] = [:]
    private var draining = false
    private var closing = false
    private var deadlines = DeadlineQueue()
    private var deadlineTimer: (task: Scheduled<Void>, at: NIODeadline)?
    private var frameTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private var lastFrameAt = NIODeadline.now()
    private var cachedCredential = ""
    private var cachedCaller: Caller?
    private var taskExecutor: EventLoopTaskExecutor?

    /// - Parameters:
    ///   - shared: the server's shared state.
    ///   - decoder: the decoder in front of this handler, asked whether a frame is incomplete.
    init(shared: RPCServerShared, decoder: FrameDecoder) {
        self.shared = shared
        self.decoder = decoder
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        taskExecutor = EventLoopTaskExecutor(eventLoop: context.eventLoop)
        lastFrameAt = .now()
        scheduleIdleCheck()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        endAllCalls(reason: "connection closed")
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        endAllCalls(reason: "connection closed")
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = Self.unwrapInboundIn(data)
        lastFrameAt = .now()
        frameTimer?.cancel()
        frameTimer = nil
        guard !closing else { return }
        let request: RpcRequest
        do {
            request = try RpcRequest(serializedBytes: frame)
        } catch {
            reject(callID: Self.peekCallID(frame) ?? 0, method: "", caller: nil, .invalidArgument("\(error)"))
            return
        }
        guard request.callID != 0 else {
            reject(callID: 0, method: request.method, caller: nil, .invalidArgument("call_id must not be 0"))
            return
        }
        if request.cancel {
            cancelCall(request.callID)
        } else {
            startCall(request, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if decoder.hasPartialFrame, frameTimer == nil, !closing {
            frameTimer = context.eventLoop.assumeIsolated().scheduleTask(
                in: TimeAmount(shared.configuration.frameReadTimeout)
            ) { [self] in
                shared.logger.notice("closing connection: frame not completed in time")
                close()
            }
        }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            backlogBytes = 0
            let waiters = writabilityWaiters
            writabilityWaiters.removeAll()
            for waiter in waiters.values {
                waiter.succeed()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .handshakeFailed = error as? NIOSSLError {
            shared.metrics.tlsHandshakeFailures.increment()
        }
        guard !closing else { return }
        if let error = error as? TokenWireError, error.isFrameTooLarge {
            let limit = shared.configuration.maxFrameBytes
            shared.logger.notice("closing connection: frame too large", metadata: ["limit": "\(limit)"])
            write(
                shared.frame(callID: 0, error: RPCError.resourceExhausted("frame exceeds max_frame_bytes (\(limit))"))
            )
        } else {
            shared.logger.debug("closing connection", metadata: ["error": "\(error)"])
        }
        closeAfterPendingWrites()
    }

    // MARK: - Calls

    private func startCall(_ request: RpcRequest, context: ChannelHandlerContext) {
        let callID = request.callID
        guard calls[callID] == nil else {
            reject(
                callID: callID,
                method: request.method,
                caller: nil,
                .invalidArgument("call_id \(callID) is already in flight")
            )
            return
        }
        let limit = shared.configuration.maxConcurrentCalls
        guard calls.count < limit else {
            reject(
                callID: callID,
                method: request.method,
                caller: nil,
                .resourceExhausted("more than \(limit) calls in flight")
            )
            return
        }
        guard !draining else {
            reject(callID: callID, method: request.method, caller: nil, .unavailable("server is shutting down"))
            return
        }
        guard let method = shared.methods[request.method] else {
            reject(callID: callID, method: request.method, caller: nil, .unimplemented("unknown method"))
            return
        }
        let caller = authenticate(request.credential)
        guard request.credential.isEmpty || caller != nil else {
            reject(callID: callID, method: method.fullName, caller: nil, .unauthenticated("unknown credential"))
            return
        }
        if let role = method.role {
            guard let caller else {
                reject(callID: callID, method: method.fullName, caller: nil, .unauthenticated("missing credential"))
                return
            }
            guard caller.has(role) else {
                reject(
                    callID: callID,
                    method: method.fullName,
                    caller: caller.name,
                    .permissionDenied("requires role \(role)")
                )
                return
            }
        }

        let isStream: Bool
        if case .serverStreaming = method.handler { isStream = true } else { isStream = false }
        let timeout: Duration? =
            request.timeoutMilliseconds > 0
            ? .milliseconds(Int64(request.timeoutMilliseconds))
            : (isStream ? nil : shared.configuration.defaultUnaryTimeout)
        let start = ContinuousClock.now
        nextSerial &+= 1
        let serial = nextSerial
        let rpcContext = RPCContext(
            callID: callID,
            method: method.fullName,
            caller: caller,
            deadline: timeout.map { start + $0 },
            logger: shared.logger,
            eventLoop: context.eventLoop
        )
        let loop = NIOLoopBound(self, eventLoop: context.eventLoop)
        let call = InFlightCall(
            serial: serial,
            method: method.fullName,
            caller: caller?.name,
            isStream: isStream,
            start: start,
            task: nil
        )
        let task: Task<Void, Never>
        switch method.handler {
        case .synchronousUnary(let handler):
            let (frame, code) = Self.finalFrame(rpcContext, shared: shared) { try handler(request.payload, rpcContext) }
            write(frame)
            shared.logFinished(callID: callID, method: method.fullName, caller: caller?.name, code: code, since: start)
            return
        case .deferredUnary(let handler):
            // Registered first: the handler may answer before it returns.
            register(call, callID: callID, timeout: timeout)
            let reply = Self.reply(rpcContext, serial: serial, loop: loop, shared: shared)
            do {
                try handler(request.payload, rpcContext, reply)
            } catch {
                reply(.failure(error))
            }
            return
        case .unary(let handler):
            task = Self.runUnary(
                handler, request.payload, rpcContext, serial: serial, loop: loop, shared: shared, executor: taskExecutor)
        case .serverStreaming(let handler):
            task = Self.runStream(handler, request.payload, rpcContext, serial: serial, loop: loop, shared: shared)
        }
        var running = call
        running.task = task
        register(running, callID: callID, timeout: timeout)
    }

    private func register(_ call: InFlightCall, callID: UInt64, timeout: Duration?) {
        calls[callID] = call
        if let timeout {
            addDeadline(DeadlineQueue.Entry(deadline: .now() + TimeAmount(timeout), callID: callID, serial: call.serial))
        }
    }

    /// Completes a unary call from any thread: frames its answer on the event loop and writes it,
    /// unless the call has ended meanwhile.
    private static func reply(
        _ rpcContext: RPCContext,
        serial: UInt64,
        loop: NIOLoopBound<RPCServerConnectionHandler>,
        shared: RPCServerShared
    ) -> @Sendable (Result<any WireMessage, any Error>) -> Void {
        { result in
            // On the loop (the usual case) the answer goes out at once, without a closure to allocate.
            if loop.eventLoop.inEventLoop {
                answer(result, rpcContext, serial: serial, loop: loop, shared: shared)
            } else {
                loop.eventLoop.execute { answer(result, rpcContext, serial: serial, loop: loop, shared: shared) }
            }
        }
    }

    /// Frames a unary call's answer and writes it (on the connection's event loop).
    private static func answer(
        _ result: Result<any WireMessage, any Error>,
        _ rpcContext: RPCContext,
        serial: UInt64,
        loop: NIOLoopBound<RPCServerConnectionHandler>,
        shared: RPCServerShared
    ) {
        let (frame, code) = finalFrame(rpcContext, shared: shared) { try result.get() }
        loop.value.completeCall(rpcContext.callID, serial: serial, frame: frame, code: code)
    }

    private func addDeadline(_ entry: DeadlineQueue.Entry) {
        if deadlines.count > 2 * calls.count + 64 {
            deadlines.prune { calls[$0.callID]?.serial == $0.serial }
        }
        deadlines.push(entry)
        if let timer = deadlineTimer, timer.at <= entry.deadline { return }
        armDeadlineTimer()
    }

    /// Schedules the connection's one deadline timer at the earliest deadline.
    private func armDeadlineTimer() {
        deadlineTimer?.task.cancel()
        deadlineTimer = nil
        guard let context, let earliest = deadlines.earliest else { return }
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: earliest) { [self] in
            deadlineTimer = nil
            let now = NIODeadline.now()
            while let due = deadlines.popDue(now: now) {
                endCall(due.callID, serial: due.serial, with: .deadlineExceeded())
            }
            armDeadlineTimer()
        }
        deadlineTimer = (task, earliest)
    }

    private static func runUnary(
        _ handler: @escaping @Sendable ([UInt8], RPCContext) async throws -> any WireMessage,
        _ payload: [UInt8],
        _ rpcContext: RPCContext,
        serial: UInt64,
        loop: NIOLoopBound<RPCServerConnectionHandler>,
        shared: RPCServerShared,
        executor: EventLoopTaskExecutor?
    ) -> Task<Void, Never> {
        let reply = Self.reply(rpcContext, serial: serial, loop: loop, shared: shared)
        return Task(executorPreference: executor) {
            do {
                reply(.success(try await handler(payload, rpcContext)))
            } catch {
                reply(.failure(error))
            }
        }
    }

    private static func runStream(
        _ handler: @escaping @Sendable ([UInt8], RPCContext, @escaping RPCStreamSend) async throws -> Void,
        _ payload: [UInt8],
        _ rpcContext: RPCContext,
        serial: UInt64,
        loop: NIOLoopBound<RPCServerConnectionHandler>,
        shared: RPCServerShared
    ) -> Task<Void, Never> {
        let callID = rpcContext.callID
        let send: RPCStreamSend = { bytes throws(RPCError) in
            let frame = shared.frame(RpcResponse(callID: callID, payload: bytes, endOfStream: false))
            let outcome: StreamWrite
            do {
                outcome = try await loop.eventLoop.submit {
                    loop.value.writeStreamMessage(callID, serial: serial, frame: frame)
                }.get()
            } catch {
                throw .unavailable("connection closed")
            }
            switch outcome {
            case .queued:
                return
            case .ended(let error):
                throw error
            case .waitForSocket(let writable):
                do {
                    try await writable.get()
                } catch {
                    throw .cancelled("stream ended")
                }
            }
        }
        return Task {
            let status: RPCError
            do {
                try await handler(payload, rpcContext, send)
                status = RPCError(code: .ok, message: "")
            } catch {
                status = rpcError(error, context: rpcContext)
            }
            let frame = shared.frame(callID: callID, error: status)
            loop.eventLoop.execute {
                loop.value.completeCall(callID, serial: serial, frame: frame, code: status.code)
            }
        }
    }

    /// The caller presenting `credential`; the last one is cached per connection (a client keeps
    /// presenting the same key), so the hash and comparisons run once per connection and key.
    private func authenticate(_ credential: String) -> Caller? {
        guard !credential.isEmpty else { return nil }
        // Constant time: another caller's key may be the cached one when a proxy shares the connection.
        if let cachedCaller, constantTimeEquals(credential, cachedCredential) {
            return cachedCaller
        }
        let caller = shared.callers.authenticate(credential: credential)
        if let caller {
            cachedCredential = credential
            cachedCaller = caller
        }
        return caller
    }

    /// Answers a request that never started.
    private func reject(callID: UInt64, method: String, caller: String?, _ error: RPCError) {
        write(shared.frame(callID: callID, error: error))
        shared.logFinished(callID: callID, method: method, caller: caller, code: error.code, since: .now)
    }

    /// A handler task finished: write its last frame unless the call already ended.
    private func completeCall(_ callID: UInt64, serial: UInt64, frame: ByteBuffer, code: RPCError.Code) {
        guard let call = removeCall(callID, serial: serial) else { return }
        write(frame)
        shared.logFinished(callID: callID, method: call.method, caller: call.caller, code: code, since: call.start)
        closeIfDrained()
    }

    /// The server ends a call (deadline, slow reader, shutdown): cancel its task, answer `error`.
    private func endCall(_ callID: UInt64, serial: UInt64, with error: RPCError) {
        guard let call = removeCall(callID, serial: serial) else { return }
        call.task?.cancel()
        write(shared.frame(callID: callID, error: error))
        shared.logFinished(
            callID: callID,
            method: call.method,
            caller: call.caller,
            code: error.code,
            since: call.start
        )
        closeIfDrained()
    }

    /// The client cancels a call: cancel its task; no reply.
    private func cancelCall(_ callID: UInt64) {
        guard let call = calls.removeValue(forKey: callID) else { return }
        writabilityWaiters.removeValue(forKey: callID)?.fail(RPCError.cancelled("stream ended"))
        call.task?.cancel()
        shared.logFinished(
            callID: callID,
            method: call.method,
            caller: call.caller,
            code: .cancelled,
            since: call.start
        )
        closeIfDrained()
    }

    private func removeCall(_ callID: UInt64, serial: UInt64) -> InFlightCall? {
        guard let call = calls[callID], call.serial == serial else { return nil }
        calls[callID] = nil
        writabilityWaiters.removeValue(forKey: callID)?.fail(RPCError.cancelled("stream ended"))
        return call
    }

    private func endAllCalls(reason: String) {
        frameTimer?.cancel()
        frameTimer = nil
        idleTimer?.cancel()
        idleTimer = nil
        deadlineTimer?.task.cancel()
        deadlineTimer = nil
        let ended = calls
        calls.removeAll()
        let waiters = writabilityWaiters
        writabilityWaiters.removeAll()
        for waiter in waiters.values {
            waiter.fail(RPCError.unavailable("connection closed"))
        }
        for (callID, call) in ended {
            call.task?.cancel()
            shared.logFinished(
                callID: callID,
                method: call.method,
                caller: call.caller,
                code: .cancelled,
                since: call.start
            )
        }
    }

    /// What became of one message of a stream.
    enum StreamWrite: Sendable {
        case queued
        /// Queued, and the connection holds more than `maxStreamBacklogBytes` for a reader that is
        /// not keeping up: the stream waits for the socket before its next message.
        case waitForSocket(EventLoopFuture<Void>)
        /// The stream had ended.
        case ended(RPCError)
    }

    /// Queues one message of a stream, unless the stream ended.
    private func writeStreamMessage(_ callID: UInt64, serial: UInt64, frame: ByteBuffer) -> StreamWrite {
        guard let call = calls[callID], call.serial == serial, let context else {
            return .ended(.cancelled("stream ended"))
        }
        write(frame)
        guard !context.channel.isWritable else { return .queued }
        backlogBytes += frame.readableBytes
        guard backlogBytes > shared.configuration.maxStreamBacklogBytes else { return .queued }
        let waiter = writabilityWaiters[callID] ?? context.eventLoop.makePromise(of: Void.self)
        writabilityWaiters[callID] = waiter
        return .waitForSocket(waiter.futureResult)
    }

    /// The final frame of a unary call whose handler returned `body`'s answer or threw, and its code.
    private static func finalFrame(
        _ rpcContext: RPCContext,
        shared: RPCServerShared,
        _ body: () throws -> any WireMessage
    ) -> (ByteBuffer, RPCError.Code) {
        do {
            return (shared.frame(callID: rpcContext.callID, answer: try body()), .ok)
        } catch {
            let failure = rpcError(error, context: rpcContext)
            return (shared.frame(callID: rpcContext.callID, error: failure), failure.code)
        }
    }

    private static func rpcError(_ error: any Error, context: RPCContext) -> RPCError {
        if let error = error as? RPCError {
            return error
        }
        if error is CancellationError {
            return .cancelled()
        }
        context.logger.error(
            "handler failed",
            metadata: ["method": "\(context.method)", "call_id": "\(context.callID)", "error": "\(error)"]
        )
        return .internalError()
    }

    /// The call id of a frame that is not a valid `RpcRequest`, when its first field is a readable
    /// `call_id` (field 1, varint).
    static func peekCallID(_ frame: ByteBuffer) -> UInt64? {
        var frame = frame
        guard frame.readInteger(as: UInt8.self) == 0x08, let value = frame.readProtobufVarint(), value != 0 else {
            return nil
        }
        return value
    }

    // MARK: - Shutdown

    /// Graceful shutdown: refuse new calls, end streams with UNAVAILABLE, let unary calls finish,
    /// then close.
    func beginDrain() {
        guard !draining else { return }
        draining = true
        for (callID, call) in calls where call.isStream {
            endCall(callID, serial: call.serial, with: .unavailable("server is shutting down"))
        }
        closeIfDrained()
    }

    private func closeIfDrained() {
        if draining, calls.isEmpty {
            closeAfterPendingWrites()
        }
    }

    // MARK: - Writing and closing

    private func write(_ frame: ByteBuffer) {
        guard let context, !closing else { return }
        context.write(Self.wrapOutboundOut(frame), promise: nil)
        lastFrameAt = .now()
        if !flushPending {
            flushPending = true
            context.eventLoop.assumeIsolated().execute { [self] in
                flushPending = false
                self.context?.flush()
            }
        }
    }

    private func closeAfterPendingWrites() {
        guard let context, !closing else { return }
        closing = true
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer()), promise: done)
        done.futureResult.assumeIsolated().whenComplete { [self] _ in
            self.context?.close(promise: nil)
        }
    }

    private func close() {
        closing = true
        context?.close(promise: nil)
    }

    private func scheduleIdleCheck() {
        guard let context else { return }
        let idleTimeout = TimeAmount(shared.configuration.idleTimeout)
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastFrameAt + idleTimeout) { [self] in
            if NIODeadline.now() >= lastFrameAt + idleTimeout {
                shared.logger.debug("closing idle connection")
                close()
            } else {
                scheduleIdleCheck()
            }
        }
    }
}

@available(*, unavailable)
extension RPCServerConnectionHandler: Sendable {}
