import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import TokenWire

/// A client of an `RPCServer`: one connection carries all concurrent calls.
///
/// The connection is opened by the first call, trying the endpoints in turn. When it is lost, the
/// calls in flight fail with UNAVAILABLE and the next call reconnects; after a round in which every
/// endpoint failed, the next round waits for a capped exponential backoff. Task cancellation and
/// timeouts end a call locally and tell the server to cancel it.
public final class RPCClient: Sendable {
    private enum ConnectStep {
        case ready(RPCClientConnection)
        case wait(EventLoopFuture<RPCClientConnection>)
        case backoff(until: ContinuousClock.Instant)
        case connect(EventLoopPromise<RPCClientConnection>)
    }

    private struct State {
        var connection: RPCClientConnection?
        var connecting: EventLoopFuture<RPCClientConnection>?
        var nextBackoff: Duration?
        var retryAt: ContinuousClock.Instant?
        var closed = false
    }

    private let endpoints: [RPCEndpoint]
    private let configuration: RPCClientConfiguration
    private let credential: String
    private let group: any EventLoopGroup
    private let logger: Logger
    private let encoder: FrameEncoder
    private let permits: CallPermits
    private let tlsContext: Result<NIOSSLContext, RPCConfigurationError>?
    private let state = Mutex(State())

    /// Creates a client; it connects on the first call.
    /// - Parameters:
    ///   - endpoints: the servers to try, in order.
    ///   - configuration: limits, timeouts and backoff.
    ///   - credential: the API key sent with every call (empty for methods open to all).
    ///   - eventLoopGroup: the event loops for the connection.
    ///   - logger: receives connection events; never credentials or payloads.
    public init(
        endpoints: [RPCEndpoint],
        configuration: RPCClientConfiguration = .init(),
        credential: String = "",
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "token.rpc.client", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.endpoints = endpoints
        self.configuration = configuration
        self.credential = credential
        self.group = eventLoopGroup
        self.logger = logger
        self.encoder = FrameEncoder(maxFrameLength: configuration.maxFrameBytes)
        self.permits = CallPermits(limit: configuration.maxConcurrentCalls)
        self.tlsContext = configuration.tls.map { tls in
            Result { () throws(RPCConfigurationError) in try tls.makeContext() }
        }
    }

    deinit {
        state.withLock { $0.connection }?.channel.close(promise: nil)
    }

    /// Makes a unary call.
    /// - Parameters:
    ///   - method: the full method name, e.g. `/token.v1.TokenService/Validate`.
    ///   - request: the request message.
    ///   - as: the response message type.
    ///   - timeout: the call's timeout (sent to the server and enforced locally); nil uses the
    ///     configuration's default.
    /// - Returns: the response.
    /// - Throws: `RPCError`: the server's code, DEADLINE_EXCEEDED on timeout, CANCELLED when the task
    ///   is cancelled, UNAVAILABLE when no connection could be made or it was lost.
    public func unary<Request: WireMessage, Response: WireMessage>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        timeout: Duration? = nil
    ) async throws -> Response {
        let deadline = (timeout ?? configuration.defaultTimeout).map { ContinuousClock.now + $0 }
        try await permits.acquire(deadline: deadline)
        defer { permits.release() }
        let connection = try await connection(deadline: deadline)
        let callID = connection.makeCallID()
        let frame = try requestFrame(callID, method, request, deadline: deadline)
        let response = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RpcResponse, any Error>) in
                if let error = connection.start(callID, .unary(continuation), frame: frame, deadline: deadline) {
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            connection.abandon(callID, with: .cancelled())
        }
        guard response.code == 0 else {
            throw RPCError(code: .init(rawValue: response.code), message: response.message)
        }
        do {
            return try Response(serializedBytes: response.payload)
        } catch {
            throw RPCError.internalError("response payload: \(error)")
        }
    }

    /// Makes a server-streaming call. The call starts at once; cancelling the consuming task (or
    /// dropping the sequence) cancels it on the server.
    /// - Parameters:
    ///   - method: the full method name, e.g. `/token.v1.TokenService/WatchRevocations`.
    ///   - request: the request message.
    ///   - as: the type of the stream's messages.
    ///   - timeout: a deadline for the whole stream; nil uses the configuration's default.
    /// - Returns: the stream's messages; it finishes when the server ends the stream with OK and
    ///   throws `RPCError` otherwise (RESOURCE_EXHAUSTED when the consumer falls more than
    ///   `maxBufferedStreamMessages` behind).
    public func serverStreaming<Request: WireMessage, Response: WireMessage>(
        _ method: String,
        _ request: Request,
        as: Response.Type = Response.self,
        timeout: Duration? = nil
    ) -> AsyncThrowingStream<Response, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: Response.self,
            throwing: (any Error).self,
            bufferingPolicy: .bufferingOldest(max(1, configuration.maxBufferedStreamMessages))
        )
        let deadline = (timeout ?? configuration.defaultTimeout).map { ContinuousClock.now + $0 }
        let task = Task {
            do {
                try await permits.acquire(deadline: deadline)
                defer { permits.release() }
                let connection = try await connection(deadline: deadline)
                let callID = connection.makeCallID()
                let frame = try requestFrame(callID, method, request, deadline: deadline)
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (ended: CheckedContinuation<Void, Never>) in
                        let deliver: @Sendable (RpcResponse) -> RPCError? = { response in
                            guard let message = try? Response(serializedBytes: response.payload) else {
                                return .internalError("stream message is not a valid \(Response.self)")
                            }
                            if case .dropped = continuation.yield(message) {
                                return .resourceExhausted("stream consumer cannot keep up")
                            }
                            return nil
                        }
                        let finish: @Sendable (RPCError?) -> Void = { error in
                            continuation.finish(throwing: error)
                            ended.resume()
                        }
                        let pending = RPCClientCalls.Pending.stream(deliver: deliver, finish: finish)
                        if let error = connection.start(callID, pending, frame: frame, deadline: deadline) {
                            finish(error)
                        }
                    }
                } onCancel: {
                    connection.abandon(callID, with: .cancelled())
                }
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { termination in
            if case .cancelled = termination {
                task.cancel()
            }
        }
        return stream
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE and later calls are refused.
    public func close() async {
        let connection = state.withLock { state in
            state.closed = true
            defer { state.connection = nil }
            return state.connection
        }
        guard let connection else { return }
        connection.channel.close(promise: nil)
        try? await connection.channel.closeFuture.get()
    }

    // MARK: - Connecting

    private func requestFrame(
        _ callID: UInt64,
        _ method: String,
        _ request: some WireMessage,
        deadline: ContinuousClock.Instant?
    ) throws(RPCError) -> ByteBuffer {
        var timeoutMilliseconds: UInt32 = 0
        if let deadline {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw .deadlineExceeded() }
            let milliseconds = (remaining / .milliseconds(1)).rounded(.up)
            timeoutMilliseconds = milliseconds >= Double(UInt32.max) ? .max : UInt32(max(1, milliseconds))
        }
        let envelope = RpcRequest(
            callID: callID,
            method: method,
            payload: request.serializedBytes(),
            credential: credential,
            timeoutMilliseconds: timeoutMilliseconds
        )
        do {
            return try encoder.encode(envelope, allocator: ByteBufferAllocator())
        } catch {
            throw .resourceExhausted("request exceeds the frame limit of \(configuration.maxFrameBytes) bytes")
        }
    }

    private func connection(deadline: ContinuousClock.Instant?) async throws(RPCError) -> RPCClientConnection {
        while true {
            let step = try state.withLock { state throws(RPCError) -> ConnectStep in
                guard !state.closed else { throw .unavailable("client is closed") }
                if let connection = state.connection, connection.isUsable {
                    return .ready(connection)
                }
                if let connecting = state.connecting {
                    return .wait(connecting)
                }
                if let retryAt = state.retryAt, retryAt > .now {
                    return .backoff(until: retryAt)
                }
                let promise = group.next().makePromise(of: RPCClientConnection.self)
                state.connecting = promise.futureResult
                return .connect(promise)
            }
            switch step {
            case .ready(let connection):
                return connection
            case .wait(let attempt):
                return try await Self.wait(for: attempt, deadline: deadline)
            case .backoff(let retryAt):
                if let deadline, retryAt > deadline {
                    throw .unavailable("no endpoint reachable; next attempt after the call's deadline")
                }
                do {
                    try await Task.sleep(until: retryAt)
                } catch {
                    throw .cancelled()
                }
            case .connect(let promise):
                // The attempt runs on its own: a caller whose deadline passes, or whose task is
                // cancelled, stops waiting without ending the attempt the other callers wait for.
                Task { await self.connect(completing: promise) }
                return try await Self.wait(for: promise.futureResult, deadline: deadline)
            }
        }
    }

    /// Connects to the first endpoint that answers, records the outcome (and the next backoff after
    /// a failure), and completes `promise` with it.
    private func connect(completing promise: EventLoopPromise<RPCClientConnection>) async {
        let result = await connectToAnyEndpoint()
        state.withLock { state in
            state.connecting = nil
            switch result {
            case .success(let connection):
                state.connection = connection
                state.retryAt = nil
                state.nextBackoff = nil
                if state.closed {
                    connection.channel.close(promise: nil)
                }
            case .failure:
                let backoff = state.nextBackoff ?? configuration.backoff.initial
                state.retryAt = .now + backoff
                state.nextBackoff = min(backoff * configuration.backoff.multiplier, configuration.backoff.maximum)
            }
        }
        promise.completeWith(result.mapError { $0 as any Error })
    }

    /// Waits for a connection attempt until `deadline` at most; DEADLINE_EXCEEDED after it, CANCELLED
    /// when the task is cancelled.
    private static func wait(
        for attempt: EventLoopFuture<RPCClientConnection>,
        deadline: ContinuousClock.Instant?
    ) async throws(RPCError) -> RPCClientConnection {
        let waiter = attempt.eventLoop.makePromise(of: RPCClientConnection.self)
        attempt.cascade(to: waiter)
        let timer = deadline.map { deadline in
            attempt.eventLoop.scheduleTask(in: TimeAmount(deadline - .now)) {
                waiter.fail(RPCError.deadlineExceeded())
            }
        }
        defer { timer?.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await waiter.futureResult.get()
            } onCancel: {
                waiter.fail(RPCError.cancelled())
            }
        } catch {
            throw error as? RPCError ?? .unavailable("\(error)")
        }
    }

    private func connectToAnyEndpoint() async -> Result<RPCClientConnection, RPCError> {
        var failures: [String] = []
        for endpoint in endpoints {
            do {
                let connection = try await connect(to: endpoint)
                logger.debug("connected", metadata: ["endpoint": "\(endpoint)"])
                return .success(connection)
            } catch {
                logger.debug("cannot connect", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
                failures.append("\(endpoint): \(error)")
            }
        }
        let reason = failures.isEmpty ? "no endpoints configured" : failures.joined(separator: "; ")
        return .failure(.unavailable("cannot connect: \(reason)"))
    }

    private func connect(to endpoint: RPCEndpoint) async throws -> RPCClientConnection {
        let calls = RPCClientCalls()
        let logger = self.logger
        let maxFrameBytes = configuration.maxFrameBytes
        let tls: (context: NIOSSLContext, serverName: String?)? =
            if let tlsContext, let configuration = configuration.tls {
                (try tlsContext.get(), configuration.expectedServerName(host: endpoint.host))
            } else {
                nil
            }
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName)
                        )
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(FrameDecoder(maxFrameLength: maxFrameBytes))
                    )
                    try channel.pipeline.syncOperations.addHandler(
                        RPCClientConnectionHandler(calls: calls, logger: logger)
                    )
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
            .get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: RPCClientConnectionHandler.self),
                eventLoop: channel.eventLoop
            )
        }.get()
        return RPCClientConnection(channel: channel, calls: calls, handler: handler)
    }
}
