import Logging
import Metrics
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// The listening port of a server, shared by the RPC and HTTP ports: it binds, accepts up to its
/// connection limit, serves each connection in a task of its own and shuts down in one way.
///
/// The connections' tasks are children of one discarding task group, on their connections' event
/// loops. Graceful shutdown (from a `ServiceGroup`) closes the listening socket and lets every
/// connection finish in its own way (the handler's `withGracefulShutdownHandler`); once the drain
/// timeout has passed, the remaining ones are cancelled, which closes them. Cancelling `run()`
/// closes everything at once.
public final class ServerListener<Handler: ServerConnectionHandler>: Sendable {
    /// What the listening socket yields for each accepted connection.
    private enum Accepted: Sendable {
        case served(Handler.Connection, any Channel)
        case refused
    }

    private let configuration: ServerListenerConfiguration
    private let handler: Handler
    private let logger: Logger
    private let group: any EventLoopGroup
    private let address = Mutex(ListeningAddress())
    private let openConnections: OpenConnections
    private let settingOff = SettingOff<Handler.Connection>()
    private let tlsHandshakeFailures: Counter?

    /// Creates a listener.
    /// - Parameters:
    ///   - configuration: address, connection limit, drain timeout, TLS.
    ///   - handler: sets up and serves each connection.
    ///   - logger: receives the listener's events (bound, draining, refused connections at `debug`).
    ///   - eventLoopGroup: the event loops serving the connections.
    ///   - metricsFactory: where `token_<name>_connections_open`, `token_<name>_connections_refused_total` and, with TLS,
    ///     `token_<name>_tls_handshake_failures_total` are counted (the process's backend by default).
    public init(
        configuration: ServerListenerConfiguration,
        handler: Handler,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.configuration = configuration
        self.handler = handler
        self.logger = logger
        self.group = eventLoopGroup
        let name = configuration.name
        self.openConnections = OpenConnections(
            limit: configuration.maxConnections,
            refused: Counter(label: "token_\(name)_connections_refused_total", factory: metricsFactory),
            gauge: Gauge(label: "token_\(name)_connections_open", factory: metricsFactory)
        )
        self.tlsHandshakeFailures = configuration.tls.map { _ in
            Counter(label: "token_\(name)_tls_handshake_failures_total", factory: metricsFactory)
        }
    }

    /// Binds, then serves until graceful shutdown has drained the connections (or the drain timeout
    /// has passed) or until cancelled.
    /// - Parameter prepare: runs before binding (e.g. loading TLS files); its error is the bind's.
    /// - Throws: when `prepare` fails, the address cannot be bound, or accepting fails.
    public func run(beforeBinding prepare: () throws -> Void = {}) async throws {
        let listener: NIOAsyncChannel<Accepted, Never>
        do {
            try prepare()
            listener = try await bind()
        } catch {
            address.withLock { $0.settle(.failure(error)) }
            throw error
        }
        let local = listener.channel.localAddress
        address.withLock { $0.settle(.success((local?.ipAddress ?? configuration.host, local?.port ?? 0))) }
        logger.info(
            "listening",
            metadata: ["port": "\(configuration.name)", "address": "\(local.map { "\($0)" } ?? "?")"]
        )

        let failure: (any Error)? = await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask { await self.serveConnections(of: listener) }
            group.addTask {
                await self.drainTimer()
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        if let failure {
            throw failure
        }
    }

    /// The address the listener listens on, once bound (useful with port 0).
    /// - Returns: the host and the actual port.
    /// - Throws: the bind error when the listener could not listen.
    public func listeningAddress() async throws -> (host: String, port: Int) {
        try await withCheckedThrowingContinuation { waiter in
            address.withLock { $0.wait(waiter) }
        }
    }

    private func bind() async throws -> NIOAsyncChannel<Accepted, Never> {
        let handler = self.handler
        let openConnections = self.openConnections
        let tls = configuration.tls
        let tlsHandshakeFailures = self.tlsHandshakeFailures
        let settingOff = self.settingOff
        let logger = self.logger
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: Int32(clamping: configuration.backlog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard openConnections.open(channel) else {
                        // Counted rather than logged at a visible level: a flood must not flood the log.
                        logger.debug("connection refused: too many connections")
                        channel.close(promise: nil)
                        return Accepted.refused
                    }
                    do {
                        // Each connection keeps the context it started with; a reload affects later ones.
                        if let context = tls?.current, let tlsHandshakeFailures {
                            try channel.pipeline.syncOperations.addHandlers(
                                NIOSSLServerHandler(context: context),
                                TLSHandshakeFailureCounter(counter: tlsHandshakeFailures)
                            )
                        }
                        guard let connection = try settingOff.setUp(channel, with: handler.setUp) else {
                            channel.close(promise: nil)
                            return Accepted.refused
                        }
                        return Accepted.served(connection, channel)
                    } catch {
                        logger.debug(
                            "connection closed: its pipeline could not be built",
                            metadata: ["error": "\(error)"]
                        )
                        channel.close(promise: nil)
                        return Accepted.refused
                    }
                }
            }
    }

    /// Accepts until the listening socket closes, then waits for the open connections.
    /// - Returns: the error that stopped accepting, nil after a graceful shutdown or cancellation.
    private func serveConnections(of listener: NIOAsyncChannel<Accepted, Never>) async -> (any Error)? {
        let handler = self.handler
        let settingOff = self.settingOff
        let logger = self.logger
        let name = configuration.name
        return await withDiscardingTaskGroup(returning: (any Error)?.self) { connections in
            func serve(_ connection: Handler.Connection, on channel: any Channel) {
                let executor = EventLoopTaskExecutor(eventLoop: channel.eventLoop)
                connections.addTask(executorPreference: executor) {
                    await withTaskCancellationHandler {
                        await handler.serve(connection)
                    } onCancel: {
                        channel.close(promise: nil)
                    }
                }
            }
            let failure: (any Error)? = await withGracefulShutdownHandler {
                do {
                    try await listener.executeThenClose { inbound in
                        for try await accepted in inbound {
                            guard case .served(let connection, let channel) = accepted,
                                settingOff.take(channel)
                            else { continue }
                            serve(connection, on: channel)
                        }
                    }
                } catch where !Task.isCancelled && !Task.isShuttingDownGracefully {
                    logger.error("accepting connections failed", metadata: ["port": "\(name)", "error": "\(error)"])
                    connections.cancelAll()
                    return error
                } catch {}
                return nil
            } onGracefulShutdown: {
                listener.channel.close(promise: nil)
            }
            // Set up but not taken by the loop (it stopped first): served like the others, so that
            // each is drained or closed.
            for (connection, channel) in settingOff.stop() {
                serve(connection, on: channel)
            }
            return failure
        }
    }

    /// Returns once graceful shutdown started and the drain timeout has passed since; at once when
    /// cancelled.
    private func drainTimer() async {
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        let openNow = openConnections.count
        logger.info(
            "shutting down: draining connections",
            metadata: ["port": "\(configuration.name)", "open": "\(openNow)"]
        )
        do {
            try await Task.sleep(for: configuration.drainTimeout)
        } catch {
            return
        }
        logger.notice(
            "drain timeout passed: closing the remaining connections",
            metadata: ["port": "\(configuration.name)", "open": "\(openConnections.count)"]
        )
    }
}

/// Counts a listener's open connections against its limit (published in
/// `token_<name>_connections_open`), and the ones refused over it in
/// `token_<name>_connections_refused_total`.
private final class OpenConnections: Sendable {
    private let limit: Int
    private let open = Mutex(0)
    private let refused: Counter
    private let gauge: Gauge

    init(limit: Int, refused: Counter, gauge: Gauge) {
        self.limit = limit
        self.refused = refused
        self.gauge = gauge
    }

    var count: Int { open.withLock { $0 } }

    /// Counts `channel` until it closes.
    /// - Returns: false (and counts a refusal) when `limit` connections are open already.
    func open(_ channel: any Channel) -> Bool {
        let opened: Int? = open.withLock { open in
            guard open < limit else { return nil }
            open += 1
            return open
        }
        guard let opened else {
            refused.increment()
            return false
        }
        gauge.record(opened)
        channel.closeFuture.whenComplete { [self] _ in
            gauge.record(open.withLock { open in
                open -= 1
                return open
            })
        }
        return true
    }
}

/// The connections set up but not yet taken by the accept loop. NIO drops an accepted connection
/// whose setup completes after the listening socket has closed, and a `NIOAsyncChannel` dropped
/// unused traps; so the listener keeps each here until the loop takes it, serves what is left once
/// the loop has stopped, and sets up none after that.
private final class SettingOff<Connection: Sendable>: Sendable {
    private struct State {
        var stopped = false
        var waiting: [ObjectIdentifier: (connection: Connection, channel: any Channel)] = [:]
    }

    private let state = Mutex(State())

    /// Sets `channel` up and keeps it until taken, unless the listener has stopped.
    /// - Returns: the connection, nil when the listener has stopped (nothing was set up).
    /// - Throws: what `setUp` throws.
    func setUp(_ channel: any Channel, with setUp: (any Channel) throws -> Connection) throws -> Connection? {
        try state.withLock { state in
            guard !state.stopped else { return nil }
            let connection = try setUp(channel)
            state.waiting[ObjectIdentifier(channel)] = (connection, channel)
            return connection
        }
    }

    /// The accept loop takes `channel`'s connection.
    /// - Returns: false when it was not waiting here.
    func take(_ channel: any Channel) -> Bool {
        state.withLock { $0.waiting.removeValue(forKey: ObjectIdentifier(channel)) != nil }
    }

    /// No further connection is set up.
    /// - Returns: the connections set up and never taken.
    func stop() -> [(connection: Connection, channel: any Channel)] {
        state.withLock { state in
            state.stopped = true
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
    }
}
