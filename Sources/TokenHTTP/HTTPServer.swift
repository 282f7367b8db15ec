import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TokenServerCore

/// An HTTP/1.1 server: each request, body included, goes to a responder, one request of a
/// connection at a time.
///
/// A connection is read only while its answers are taken: the next request is read once the
/// previous answer has been written to the socket. Run it in a `ServiceGroup`: graceful shutdown
/// stops accepting, closes idle connections, closes the others once their answer is sent, and
/// closes whatever is left after `drainTimeout`.
public actor HTTPServer: Service {
    private let listener: ServerListener<HTTPServerConnectionHandler>

    /// Creates a server.
    /// - Parameters:
    ///   - configuration: address, limits and timeouts.
    ///   - responder: answers the requests.
    ///   - logger: receives connection events; never request contents.
    ///   - eventLoopGroup: the event loops serving the connections.
    public init(
        configuration: HTTPServerConfiguration,
        responder: any HTTPResponder,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        listener = ServerListener(
            configuration: ServerListenerConfiguration(
                host: configuration.host,
                port: configuration.port,
                maxConnections: configuration.maxConnections,
                drainTimeout: configuration.drainTimeout,
                name: "http"
            ),
            handler: HTTPServerConnectionHandler(configuration: configuration, responder: responder),
            logger: logger,
            eventLoopGroup: eventLoopGroup
        )
    }

    /// Listens and serves until graceful shutdown or cancellation.
    /// - Throws: when the address cannot be bound.
    public func run() async throws {
        try await listener.run()
    }

    /// The address the server listens on, once bound (useful with port 0).
    /// - Returns: the host and the actual port.
    /// - Throws: the bind error when the server could not listen.
    public func listeningAddress() async throws -> (host: String, port: Int) {
        try await listener.listeningAddress()
    }
}
