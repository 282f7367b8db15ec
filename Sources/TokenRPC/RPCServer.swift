import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TokenServerCore

/// Serves `RPCMethod`s over TCP with the framing and envelope of the wire contract.
///
/// Run it in a `ServiceGroup`: graceful shutdown (e.g. on SIGTERM) stops accepting, ends streams
/// with UNAVAILABLE, lets unary calls in flight finish, then closes every connection; connections
/// still open after `drainTimeout` are closed. Cancelling `run()` closes everything at once.
public actor RPCServer: Service {
    private let configuration: RPCServerConfiguration
    private let shared: RPCServerShared
    private let tlsContext: TLSContextHolder
    private let listener: ServerListener<RPCServerConnectionHandler>

    /// Creates a server.
    /// - Parameters:
    ///   - configuration: address, limits and timeouts.
    ///   - methods: the methods served (a later method with the same name replaces an earlier one).
    ///   - callers: the callers allowed to authenticate.
    ///   - logger: receives one line per finished call and connection events; never credentials or
    ///     payloads, and text from clients only escaped and truncated.
    ///   - eventLoopGroup: the event loops serving the connections.
    public init(
        configuration: RPCServerConfiguration = .init(),
        methods: [RPCMethod],
        callers: CallerRegistry,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        let shared = RPCServerShared(configuration: configuration, methods: methods, callers: callers, logger: logger)
        self.shared = shared
        let tlsContext = TLSContextHolder()
        self.tlsContext = tlsContext
        self.listener = ServerListener(
            configuration: ServerListenerConfiguration(
                host: configuration.host,
                port: configuration.port,
                maxConnections: configuration.maxConnections,
                drainTimeout: configuration.drainTimeout,
                name: "rpc",
                tls: tlsContext
            ),
            handler: RPCServerConnectionHandler(shared: shared),
            logger: logger,
            eventLoopGroup: eventLoopGroup
        )
    }

    /// Listens and serves until graceful shutdown or cancellation.
    /// - Throws: when the TLS files are not usable or the address cannot be bound.
    public func run() async throws {
        let tls = configuration.tls
        let tlsContext = self.tlsContext
        try await listener.run {
            if let tls {
                tlsContext.current = try tls.makeContext()
            }
        }
    }

    /// Reads the TLS certificate, key and client CA files again: connections accepted from now on use
    /// them, connections already open keep what they started with.
    /// - Returns: false when the server does not use TLS (nothing to reload).
    /// - Throws: `RPCConfigurationError` when the files are not usable; the server then keeps the
    ///   previous certificates.
    @discardableResult
    public func reloadTLS() throws(RPCConfigurationError) -> Bool {
        guard let tls = configuration.tls else { return false }
        let context = try tls.makeContext()
        tlsContext.current = context
        shared.logger.notice("tls certificates reloaded")
        return true
    }

    /// The address the server listens on, once bound (useful with port 0).
    /// - Returns: the host and the actual port.
    /// - Throws: the bind error when the server could not listen.
    public func listeningAddress() async throws -> (host: String, port: Int) {
        try await listener.listeningAddress()
    }
}
