import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import TokenWire

/// Serves `RPCMethod`s over TCP with the framing and envelope of the wire contract.
///
/// Run it in a `ServiceGroup`: graceful shutdown (e.g. on SIGTERM) stops accepting, ends streams
/// with UNAVAILABLE, lets unary calls in flight finish, then closes every connection. Cancelling
/// `run()` closes everything at once.
public actor RPCServer: Service {
    private let configuration: RPCServerConfiguration
    private let shared: RPCServerShared
    private let group: any EventLoopGroup
    private let connections = RPCServerConnections()
    private let tlsContext = TLSContextHolder()
    private var address = ListeningAddress()

    /// Creates a server.
    /// - Parameters:
    ///   - configuration: address, limits and timeouts.
    ///   - methods: the methods served (a later method with the same name replaces an earlier one).
    ///   - callers: the callers allowed to authenticate.
    ///   - logger: receives one line per finished call and connection events; never credentials or payloads.
    ///   - eventLoopGroup: the event loops serving the connections.
    public init(
        configuration: RPCServerConfiguration = .init(),
        methods: [RPCMethod],
        callers: CallerRegistry,
        logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.shared = RPCServerShared(configuration: configuration, methods: methods, callers: callers, logger: logger)
        self.group = eventLoopGroup
    }

    /// Listens and serves until graceful shutdown or cancellation.
    /// - Throws: when the address cannot be bound.
    public func run() async throws {
        let shared = self.shared
        let connections = self.connections
        let tlsContext = self.tlsContext
        if let tls = configuration.tls {
            do {
                let context = try tls.makeContext()
                tlsContext.current = context
            } catch {
                address.settle(.failure(error))
                throw error
            }
        }
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Each connection keeps the context it started with; a reload affects later ones.
                    if let context = tlsContext.current {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    }
                    let decoder = FrameDecoder(maxFrameLength: shared.configuration.maxFrameBytes)
                    let handler = RPCServerConnectionHandler(shared: shared, decoder: decoder)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
                    try channel.pipeline.syncOperations.addHandler(handler)
                    connections.add(channel, handler: handler)
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
        shared.logger.info("listening", metadata: ["address": "\(listener.localAddress.map { "\($0)" } ?? "?")"])

        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                try? await listener.closeFuture.get()
            } onCancel: {
                listener.close(promise: nil)
            }
        } onGracefulShutdown: {
            listener.close(promise: nil)
        }

        if Task.isCancelled {
            connections.closeAll()
        } else {
            shared.logger.info("shutting down: draining connections")
            try? await connections.drainAll(on: group.next()).get()
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
        try await withCheckedThrowingContinuation { address.wait($0) }
    }
}

/// The TLS context new connections use, replaced on reload.
final class TLSContextHolder: Sendable {
    private let context = Mutex<NIOSSLContext?>(nil)

    var current: NIOSSLContext? {
        get { context.withLock { $0 } }
        set { context.withLock { $0 = newValue } }
    }
}
