import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A Redis client that keeps one pipelined connection open and reopens it when it is lost.
///
/// After a failed attempt the client waits before the next one (the `initialBackoff` doubling up
/// to `maxBackoff`, each wait drawn between half and all of it): commands sent meanwhile fail at
/// once with a `connection` error instead of piling up. An error reply does not count as a failure.
public final class RedisClient: Sendable {
    private struct State {
        var connection: RedisConnection?
        var connecting: EventLoopFuture<RedisConnection>?
        var failures = 0
        var retryAfter = NIODeadline.uptimeNanoseconds(0)
        var lastError: RedisError?
        var closed = false
        /// Whether a connection was ever open: a failure to start is the caller's to report.
        var everConnected = false
    }

    /// The server and the limits.
    public let configuration: RedisConfiguration
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates a client; it connects on the first command (or `connect()`).
    /// - Parameters:
    ///   - configuration: the server and the limits.
    ///   - eventLoop: the loop its connections run on.
    ///   - logger: where it logs connection changes (never credentials).
    public init(configuration: RedisConfiguration, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.logger = logger
    }

    /// Connects now, without waiting for a backoff: to fail at start with the real reason.
    /// - Throws: `connection` or `authentication` errors.
    public func connect() async throws(RedisError) {
        state.withLock { $0.retryAfter = .uptimeNanoseconds(0) }
        do {
            _ = try await connection().get()
        } catch {
            throw (error as? RedisError) ?? .connection("\(error)")
        }
    }

    /// True while a connection is open.
    public var isConnected: Bool {
        state.withLock { $0.connection?.isActive ?? false }
    }

    /// The open connection, or a new one (unless the client is backing off or closed).
    public func connection() -> EventLoopFuture<RedisConnection> {
        enum Next {
            case ready(EventLoopFuture<RedisConnection>)
            case connect(EventLoopPromise<RedisConnection>)
        }
        let now = NIODeadline.now()
        let next: Next = state.withLock { state in
            if state.closed {
                return .ready(eventLoop.makeFailedFuture(RedisError.connection("the client is closed")))
            }
            if let connection = state.connection, connection.isActive {
                return .ready(eventLoop.makeSucceededFuture(connection))
            }
            if let connecting = state.connecting {
                return .ready(connecting)
            }
            if now < state.retryAfter {
                let reason = state.lastError.map { "\($0)" } ?? "a failed attempt"
                return .ready(eventLoop.makeFailedFuture(RedisError.connection("backing off after \(reason)")))
            }
            let promise = eventLoop.makePromise(of: RedisConnection.self)
            state.connecting = promise.futureResult
            return .connect(promise)
        }
        switch next {
        case .ready(let future):
            return future
        case .connect(let promise):
            let configuration = self.configuration
            let eventLoop = self.eventLoop
            promise.completeWithTask {
                try await RedisConnection.connect(configuration, on: eventLoop)
            }
            promise.futureResult.whenComplete { result in
                self.connected(result)
            }
            return promise.futureResult
        }
    }

    private func connected(_ result: Result<RedisConnection, any Error>) {
        let (stale, failures): (RedisConnection?, Int) = state.withLock { state in
            state.connecting = nil
            switch result {
            case .success(let connection):
                if state.closed {
                    return (connection, 0)
                }
                state.connection = connection
                state.everConnected = true
                let failures = state.failures
                state.failures = 0
                state.lastError = nil
                return (nil, -failures)
            case .failure(let error):
                state.failures += 1
                state.lastError = (error as? RedisError) ?? .connection("\(error)")
                state.retryAfter = .now() + backoff(afterFailures: state.failures)
                return (nil, state.everConnected ? state.failures : 0)
            }
        }
        stale?.close()
        if failures > 0 {
            if failures == 1 {
                logger.warning("redis unreachable", metadata: ["redis": "\(configuration)", "error": "\(result)"])
            }
        } else if failures < 0 {
            logger.info("redis connection restored", metadata: ["redis": "\(configuration)"])
        }
    }

    /// The wait after `failures` failed attempts: exponential, capped, with jitter.
    func backoff(afterFailures failures: Int) -> TimeAmount {
        let base = configuration.initialBackoff.nanoseconds
        let cap = max(configuration.maxBackoff.nanoseconds, base)
        let exponent = min(max(failures - 1, 0), 30)
        let full = min(base.multipliedReportingOverflow(by: 1 << exponent).partialValue, cap)
        let wait = full <= 1 ? full : Int64.random(in: (full / 2)...full)
        return .nanoseconds(wait)
    }

    /// Sends commands in one write over the open connection and returns their replies in order.
    /// - Parameter commands: the commands.
    /// - Returns: one reply per command (an error reply is a reply).
    /// - Throws: `connection`, `timeout` or `protocolViolation` when the replies did not all come.
    public func sendAll(_ commands: [RedisCommand]) async throws(RedisError) -> [RedisValue] {
        do {
            return try await sendAll(commands).get()
        } catch {
            throw (error as? RedisError) ?? .connection("\(error)")
        }
    }

    /// Sends commands in one write; see `sendAll(_:) async`.
    public func sendAll(_ commands: [RedisCommand]) -> EventLoopFuture<[RedisValue]> {
        connection().flatMap { $0.sendAll(commands) }
    }

    /// Sends one command and returns its reply.
    /// - Parameter command: the command.
    /// - Returns: the reply; an error reply is a reply.
    /// - Throws: `connection`, `timeout` or `protocolViolation` when no reply came.
    public func send(_ command: RedisCommand) async throws(RedisError) -> RedisValue {
        let replies = try await sendAll([command])
        guard let reply = replies.first else { throw .protocolViolation("no reply") }
        return reply
    }

    /// Drops the open connection (the next command opens a new one): after the server said it is
    /// no longer the master, for instance.
    public func reconnect() {
        let connection = state.withLock { state in
            defer { state.connection = nil }
            return state.connection
        }
        connection?.close()
    }

    /// Closes the connection; later commands fail.
    public func close() {
        let connection = state.withLock { state in
            state.closed = true
            defer { state.connection = nil }
            return state.connection
        }
        connection?.close()
    }
}
