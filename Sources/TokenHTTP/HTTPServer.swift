import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import TokenRPC

/// The HTTP/1.1 port: the JWK Set for JOSE libraries and gateways, liveness and readiness probes,
/// and metrics (see `HTTPRoutes`).
///
/// Run it in a `ServiceGroup`: graceful shutdown stops accepting and closes its connections.
public actor HTTPServer: Service {
    private let configuration: HTTPServerConfiguration
    private let routes: HTTPRoutes
    private let logger: Logger
    private let group: any EventLoopGroup
    private let connections = HTTPServerConnections()
    private var address = ListeningAddress()

    /// Creates a server.
    /// - Parameters:
    ///   - configuration: address, limits and timeouts.
    ///   - routes: what the routes answer.
    ///   - logger: receives connection events; never request contents.
    ///   - eventLoopGroup: the event loops serving the connections.
    public init(
        configuration: HTTPServerConfiguration,
        routes: HTTPRoutes,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.routes = routes
        self.logger = logger
        self.group = eventLoopGroup
    }

    /// Listens and serves until graceful shutdown or cancellation.
    /// - Throws: when the address cannot be bound.
    public func run() async throws {
        let configuration = self.configuration
        let routes = self.routes
        let connections = self.connections
        let logger = self.logger
        let refusedConnections = Counter(label: "token_http_connections_refused_total")
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard connections.add(channel, limit: configuration.maxConnections) else {
                    // Counted rather than logged at a visible level: a flood must not flood the log.
                    refusedConnections.increment()
                    logger.debug("http connection refused: too many connections")
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // A client that sends requests without reading the answers stops being read.
                    try sync.addHandler(BackPressureHandler())
                    try sync.addHandler(
                        HTTPDeadlineHandler(
                            readTimeout: configuration.readTimeout,
                            idleTimeout: configuration.idleTimeout
                        )
                    )
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(HTTPRequestHandler(routes: routes, configuration: configuration))
                }
            }
        let listener: any Channel
        do {
            listener = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            address.settle(.failure(error))
            throw error
        }
        let bound = (host: listener.localAddress?.ipAddress ?? configuration.host, port: listener.localAddress?.port ?? 0)
        address.settle(.success(bound))
        logger.info("http listening", metadata: ["address": "\(listener.localAddress.map { "\($0)" } ?? "?")"])

        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await listener.closeFuture.get()
            } onCancel: {
                listener.close(promise: nil)
            }
        } onGracefulShutdown: {
            listener.close(promise: nil)
        }
        connections.closeAll()
    }

    /// The address the server listens on, once bound (useful with port 0).
    /// - Returns: the host and the actual port.
    /// - Throws: the bind error when the server could not listen.
    public func listeningAddress() async throws -> (host: String, port: Int) {
        try await withCheckedThrowingContinuation { address.wait($0) }
    }
}

/// The open connections of an `HTTPServer`, counted against its limit.
final class HTTPServerConnections: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    /// Tracks a new connection until it closes.
    /// - Returns: false when `limit` connections are open already or the server has stopped.
    func add(_ channel: any Channel, limit: Int) -> Bool {
        let key = ObjectIdentifier(channel)
        let added = state.withLock { state in
            guard !state.closed, state.channels.count < limit else { return false }
            state.channels[key] = channel
            return true
        }
        if added {
            channel.closeFuture.whenComplete { [self] _ in
                _ = state.withLock { $0.channels.removeValue(forKey: key) }
            }
        }
        return added
    }

    /// Closes every connection and refuses new ones.
    func closeAll() {
        let channels = state.withLock { state in
            state.closed = true
            return Array(state.channels.values)
        }
        for channel in channels {
            channel.close(promise: nil)
        }
    }
}
