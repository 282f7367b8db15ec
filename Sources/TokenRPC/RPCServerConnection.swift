import Logging
import NIOCore
import TokenCore
import TokenServerCore
import TokenWire

/// One connection of an `RPCServer`: a reader that takes requests and starts their calls, a writer
/// that hands the waiting frames to the socket, and the call handlers between them, all following
/// the connection's `RPCConnectionStateMachine`.
///
/// Confined to the connection's event loop. The reader, the writer and the unary handlers' tasks run
/// there (their executor is the loop); stream handlers run on the global executor, and what comes
/// from other threads hops there first.
///
/// The reader takes the next request only while the frames waiting to be written are below their
/// bound, and the writer waits for the socket (`NIOAsyncChannelOutboundWriter`): a peer that does
/// not read stops being read. The writer takes every frame waiting at once, so the answers of the
/// requests read in one go, or completed in one store batch, leave in one flush.
final class RPCServerConnection {
    /// A stream message waiting for room, and its writer's continuation (resumed with nil once queued,
    /// or with why the stream ended).
    private struct StreamWaiter {
        let callID: UInt64
        let serial: UInt64
        let frame: ByteBuffer
        let continuation: UnsafeContinuation<RPCError?, Never>
    }

    private let shared: RPCServerShared
    private let channel: any Channel
    private let eventLoop: any EventLoop
    private let executor: EventLoopTaskExecutor
    private var machine: RPCConnectionStateMachine
    private var deadlineTimer: Scheduled<Void>?
    private var writerWaiter: UnsafeContinuation<Void, Never>?
    private var readerWaiter: UnsafeContinuation<Void, Never>?
    private var streamWaiters = CircularBuffer<StreamWaiter>()
    private var cachedCredential = ""
    private var cachedCaller: Caller?

    init(shared: RPCServerShared, channel: any Channel) {
        self.shared = shared
        self.channel = channel
        self.eventLoop = channel.eventLoop
        self.executor = EventLoopTaskExecutor(eventLoop: channel.eventLoop)
        self.machine = RPCConnectionStateMachine(
            limits: .init(
                maxCalls: shared.configuration.maxConcurrentCalls,
                maxBufferedOutputBytes: shared.configuration.maxBufferedOutputBytes
            )
        )
    }

    // MARK: - Reading

    /// Reads requests, the frames of one socket read at a time, and starts their calls until the
    /// connection closes or is to close.
    func readRequests(from inbound: NIOAsyncChannelInboundStream<[ByteBuffer]>) async {
        do {
            reading: for try await frames in inbound {
                for frame in frames {
                    while !machine.canRead, !machine.isClosing {
                        await withUnsafeContinuation { readerWaiter = $0 }
                    }
                    guard !machine.isClosing else { break reading }
                    receive(frame)
                }
            }
        } catch {
            failed(error)
        }
    }

    private func receive(_ frame: ByteBuffer) {
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
            startCall(request)
        }
    }

    /// The inbound side failed: answer a frame over the limit, and close once the frames waiting are
    /// written.
    private func failed(_ error: any Error) {
        guard !machine.isClosing else { return }
        if let error = error as? TokenWireError, error.isFrameTooLarge {
            let limit = shared.configuration.maxFrameBytes
            shared.logger.notice("closing connection: frame too large", metadata: ["limit": "\(limit)"])
            let answer = RPCError.resourceExhausted("frame exceeds max_frame_bytes (\(limit))")
            machine.queue(shared.frame(callID: 0, error: answer), isAnswer: false)
        } else {
            shared.logger.debug("closing connection", metadata: ["error": "\(LogText.escaped("\(error)"))"])
        }
        machine.closeAfterOutput()
        wakeWriter()
    }

    // MARK: - Calls

    private func startCall(_ request: RpcRequest) {
        let callID = request.callID
        if case .reject(let error) = machine.admit(callID: callID) {
            reject(callID: callID, method: request.method, caller: nil, error)
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
                let denied = RPCError.permissionDenied("requires role \(role)")
                reject(callID: callID, method: method.fullName, caller: caller.name, denied)
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
        let rpcContext = RPCContext(
            callID: callID,
            method: method.fullName,
            caller: caller,
            deadline: timeout.map { start + $0 },
            logger: shared.logger,
            eventLoop: eventLoop
        )
        if case .synchronousUnary(let handler) = method.handler {
            let (frame, code) = Self.finalFrame(rpcContext, shared: shared) { try handler(request.payload, rpcContext) }
            machine.queue(frame, isAnswer: true)
            wakeWriter()
            shared.logFinished(callID: callID, method: method.fullName, caller: caller?.name, code: code, since: start)
            return
        }
        // Registered first: a deferred handler may answer before it returns.
        let (serial, armTimer) = machine.start(
            callID: callID,
            method: method.fullName,
            caller: caller?.name,
            isStream: isStream,
            start: start,
            deadline: timeout.map { .now() + TimeAmount($0) }
        )
        if let armTimer {
            armDeadlineTimer(at: armTimer)
        }
        let loop = NIOLoopBound(self, eventLoop: eventLoop)
        let task: Task<Void, Never>
        switch method.handler {
        case .synchronousUnary:
            return
        case .deferredUnary(let handler):
            let reply = Self.reply(rpcContext, serial: serial, loop: loop, shared: shared)
            do {
                try handler(request.payload, rpcContext, reply)
            } catch {
                reply(.failure(error))
            }
            return
        case .unary(let handler):
            let reply = Self.reply(rpcContext, serial: serial, loop: loop, shared: shared)
            let payload = request.payload
            task = Task(executorPreference: executor) {
                do {
                    reply(.success(try await handler(payload, rpcContext)))
                } catch {
                    reply(.failure(error))
                }
            }
        case .serverStreaming(let handler):
            task = Self.runStream(handler, request.payload, rpcContext, serial: serial, loop: loop, shared: shared)
        }
        if !machine.attach(task, callID: callID, serial: serial) {
            task.cancel()
        }
    }

    /// Completes a unary call from any thread: frames its answer on the event loop and queues it,
    /// unless the call has ended meanwhile.
    private static func reply(
        _ rpcContext: RPCContext,
        serial: UInt64,
        loop: NIOLoopBound<RPCServerConnection>,
        shared: RPCServerShared
    ) -> @Sendable (Result<any WireMessage, any Error>) -> Void {
        { result in
            // On the loop (the usual case) the answer is queued at once, without a closure to allocate.
            if loop.eventLoop.inEventLoop {
                answer(result, rpcContext, serial: serial, loop: loop, shared: shared)
            } else {
                loop.eventLoop.execute { answer(result, rpcContext, serial: serial, loop: loop, shared: shared) }
            }
        }
    }

    private static func answer(
        _ result: Result<any WireMessage, any Error>,
        _ rpcContext: RPCContext,
        serial: UInt64,
        loop: NIOLoopBound<RPCServerConnection>,
        shared: RPCServerShared
    ) {
        let (frame, code) = finalFrame(rpcContext, shared: shared) { try result.get() }
        loop.value.complete(rpcContext.callID, serial: serial, frame: frame, code: code)
    }

    private static func runStream(
        _ handler: @escaping @Sendable ([UInt8], RPCContext, @escaping RPCStreamSend) async throws -> Void,
        _ payload: [UInt8],
        _ rpcContext: RPCContext,
        serial: UInt64,
        loop: NIOLoopBound<RPCServerConnection>,
        shared: RPCServerShared
    ) -> Task<Void, Never> {
        let callID = rpcContext.callID
        let send: RPCStreamSend = { bytes throws(RPCError) in
            let frame = shared.frame(RpcResponse(callID: callID, payload: bytes, endOfStream: false))
            if loop.eventLoop.inEventLoop {
                switch loop.value.queueStreamMessage(callID, serial: serial, frame: frame) {
                case .queued: return
                case .ended(let error): throw error
                case .full: break
                }
            }
            // The connection cannot take more now (or this writer runs elsewhere): wait for room.
            let outcome: RPCError? = await withUnsafeContinuation { continuation in
                let waiter = StreamWaiter(callID: callID, serial: serial, frame: frame, continuation: continuation)
                if loop.eventLoop.inEventLoop {
                    loop.value.park(waiter)
                } else {
                    loop.eventLoop.execute { loop.value.park(waiter) }
                }
            }
            if let outcome {
                throw outcome
            }
        }
        // Not on the event loop: NIO runs the jobs queued on a loop until none is left before it polls
        // its sockets again, so a stream resumed there after each write, as fast as its socket takes
        // them, would keep every other connection of the loop waiting.
        return Task {
            let status: RPCError
            do {
                try await handler(payload, rpcContext, send)
                status = RPCError(code: .ok, message: "")
            } catch {
                status = rpcError(error, context: rpcContext)
            }
            let frame = shared.frame(callID: callID, error: status)
            if loop.eventLoop.inEventLoop {
                loop.value.complete(callID, serial: serial, frame: frame, code: status.code)
            } else {
                loop.eventLoop.execute { loop.value.complete(callID, serial: serial, frame: frame, code: status.code) }
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

    /// Answers a request that never started. `method` is the client's text: it is logged escaped
    /// and truncated unless it names a method the server serves.
    private func reject(callID: UInt64, method: String, caller: String?, _ error: RPCError) {
        machine.queue(shared.frame(callID: callID, error: error), isAnswer: false)
        wakeWriter()
        let logged = shared.methods[method] != nil ? method : LogText.escaped(method)
        shared.logFinished(callID: callID, method: logged, caller: caller, code: error.code, since: .now)
    }

    /// A handler answered: queue its last frame unless the call already ended.
    private func complete(_ callID: UInt64, serial: UInt64, frame: ByteBuffer, code: RPCError.Code) {
        guard let call = machine.finish(callID: callID, serial: serial, frame: frame) else { return }
        wakeWriter()
        shared.logFinished(callID: callID, method: call.method, caller: call.caller, code: code, since: call.start)
    }

    /// The client cancels a call: cancel its task; no reply.
    private func cancelCall(_ callID: UInt64) {
        guard let call = machine.cancel(callID: callID) else { return }
        call.task?.cancel()
        failStreamWaiter(callID, serial: call.serial, with: .cancelled("stream ended"))
        shared.logFinished(
            callID: callID,
            method: call.method,
            caller: call.caller,
            code: .cancelled,
            since: call.start
        )
        wakeWriter()
    }

    /// The server ended a call (deadline, shutdown): cancel its task, answer its error.
    private func end(_ ended: RPCConnectionStateMachine.EndedCall) {
        ended.call.task?.cancel()
        failStreamWaiter(ended.callID, serial: ended.call.serial, with: ended.error)
        machine.queue(shared.frame(callID: ended.callID, error: ended.error), isAnswer: true)
        shared.logFinished(
            callID: ended.callID,
            method: ended.call.method,
            caller: ended.call.caller,
            code: ended.error.code,
            since: ended.call.start
        )
    }

    private func armDeadlineTimer(at deadline: NIODeadline) {
        deadlineTimer?.cancel()
        deadlineTimer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            deadlineTimer = nil
            let (ended, next) = machine.deadlineTimerFired(now: .now())
            for call in ended {
                end(call)
            }
            if let next {
                armDeadlineTimer(at: next)
            }
            wakeWriter()
        }
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

    // MARK: - Streams

    private func queueStreamMessage(
        _ callID: UInt64,
        serial: UInt64,
        frame: ByteBuffer
    ) -> RPCConnectionStateMachine.OnStreamMessage {
        // Behind earlier waiters, so that streams take turns.
        guard streamWaiters.isEmpty else { return .full }
        let outcome = machine.queueStreamMessage(callID: callID, serial: serial, frame: frame)
        if case .queued = outcome {
            wakeWriter()
        }
        return outcome
    }

    private func park(_ waiter: StreamWaiter) {
        switch queueStreamMessage(waiter.callID, serial: waiter.serial, frame: waiter.frame) {
        case .queued: waiter.continuation.resume(returning: nil)
        case .ended(let error): waiter.continuation.resume(returning: error)
        case .full: streamWaiters.append(waiter)
        }
    }

    /// Ends the wait of the stream message of a call that ended.
    private func failStreamWaiter(_ callID: UInt64, serial: UInt64, with error: RPCError) {
        guard let index = streamWaiters.firstIndex(where: { $0.callID == callID && $0.serial == serial }) else {
            return
        }
        streamWaiters.remove(at: index).continuation.resume(returning: error)
    }

    /// Room again: the waiting stream messages go first, in turn, then the reader.
    private func admitWaiters() {
        waiting: while let waiter = streamWaiters.first {
            switch machine.queueStreamMessage(callID: waiter.callID, serial: waiter.serial, frame: waiter.frame) {
            case .full:
                break waiting
            case .queued:
                streamWaiters.removeFirst()
                waiter.continuation.resume(returning: nil)
            case .ended(let error):
                streamWaiters.removeFirst()
                waiter.continuation.resume(returning: error)
            }
        }
        if machine.canRead || machine.isClosing, let reader = readerWaiter {
            readerWaiter = nil
            reader.resume()
        }
    }

    // MARK: - Writing

    /// Hands the frames waiting to the socket, waiting while it cannot take more, until the connection
    /// closes; once the connection is to close and everything is written, closes it.
    func writeAnswers(to outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) async {
        while !machine.isClosed {
            let frames = machine.takeOutput()
            if frames.isEmpty {
                if machine.isClosing {
                    await closeOnceWritten()
                    return
                }
                await withUnsafeContinuation { writerWaiter = $0 }
                continue
            }
            admitWaiters()
            do {
                try await outbound.write(contentsOf: frames)
            } catch {
                return
            }
        }
    }

    private func wakeWriter() {
        if let writer = writerWaiter {
            writerWaiter = nil
            writer.resume()
        }
    }

    /// Closes the connection once everything handed to the socket has been written.
    private func closeOnceWritten() async {
        // An empty write completes after every write before it.
        try? await channel.writeAndFlush(ByteBuffer()).get()
        try? await channel.close()
    }

    // MARK: - Shutdown

    /// Graceful shutdown: refuse new calls, end streams with UNAVAILABLE, let unary calls finish,
    /// then close.
    func beginDrain() {
        for ended in machine.startDrain() {
            end(ended)
        }
        admitWaiters()
        wakeWriter()
    }

    /// The connection closed: every call ends, every wait ends.
    func connectionClosed() {
        deadlineTimer?.cancel()
        deadlineTimer = nil
        for ended in machine.closed() {
            ended.call.task?.cancel()
            shared.logFinished(
                callID: ended.callID,
                method: ended.call.method,
                caller: ended.call.caller,
                code: .cancelled,
                since: ended.call.start
            )
        }
        while let waiter = streamWaiters.popFirst() {
            waiter.continuation.resume(returning: .unavailable("connection closed"))
        }
        wakeWriter()
        readerWaiter?.resume()
        readerWaiter = nil
    }
}

@available(*, unavailable)
extension RPCServerConnection: Sendable {}
