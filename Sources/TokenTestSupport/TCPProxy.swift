import NIOCore
import NIOPosix
import Synchronization

/// A TCP proxy on a loopback port in front of a server, for fault tests: it forwards bytes both
/// ways until `partition()`, then holds them where they are (connections stay open and new ones are
/// accepted, but nothing crosses, as in a network partition) until `heal()`.
///
/// Made for small traffic such as Redis commands: what one side sends is forwarded as it is read,
/// without waiting for the other side to take it.
public final class TCPProxy: Sendable {
    private struct Link {
        let index: Int
        let client: any Channel
        let upstream: any Channel
    }

    private struct State {
        var partitioned = false
        /// Connections (by the order they were accepted) a partition spares.
        var spared = 0
        var accepted = 0
        var links: [Int: Link] = [:]
        var closed = false
    }

    /// The connections and the partition, shared with the listener's initializer.
    private final class Registry: Sendable {
        let state = Mutex(State())
    }

    /// The loopback port it listens on.
    public let port: Int
    private let listener: any Channel
    private let registry: Registry

    /// Listens on a free loopback port and forwards each connection to `upstreamHost:upstreamPort`.
    /// - Throws: when it cannot listen.
    public init(upstreamHost: String = "127.0.0.1", upstreamPort: Int) async throws {
        let registry = Registry()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { client in
                ClientBootstrap(group: client.eventLoop)
                    .channelOption(.autoRead, value: false)
                    .connect(host: upstreamHost, port: upstreamPort)
                    .flatMapThrowing { upstream in
                        let (toUpstream, toClient) = GlueHandler.matchedPair()
                        try client.pipeline.syncOperations.addHandler(toUpstream)
                        try upstream.pipeline.syncOperations.addHandler(toClient)
                        Self.register(client: client, upstream: upstream, in: registry)
                    }
            }
        listener = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        guard let port = listener.localAddress?.port else {
            try? await listener.close()
            throw TCPProxyError(message: "the proxy has no local port")
        }
        self.port = port
        self.registry = registry
    }

    /// How many connections it accepted so far.
    public var accepted: Int {
        registry.state.withLock { $0.accepted }
    }

    /// Stops forwarding: bytes stay where they are, on open connections and on those accepted
    /// from now on, except on the first `spared` connections accepted.
    public func partition(sparingFirst spared: Int = 0) {
        let held = registry.state.withLock { state in
            state.partitioned = true
            state.spared = spared
            return state.links.values.filter { $0.index >= spared }
        }
        for link in held {
            Self.forward(link, false)
        }
    }

    /// Forwards again, what was held first.
    public func heal() {
        let links = registry.state.withLock { state in
            state.partitioned = false
            return Array(state.links.values)
        }
        for link in links {
            Self.forward(link, true)
        }
    }

    /// Stops listening and closes every connection.
    public func close() async {
        let links = registry.state.withLock { state in
            state.closed = true
            return Array(state.links.values)
        }
        try? await listener.close()
        for link in links {
            link.client.close(promise: nil)
            link.upstream.close(promise: nil)
        }
    }

    private static func register(client: any Channel, upstream: any Channel, in registry: Registry) {
        let (link, forwarding) = registry.state.withLock { state in
            let link = Link(index: state.accepted, client: client, upstream: upstream)
            state.accepted += 1
            state.links[link.index] = link
            return (link, !state.closed && (!state.partitioned || link.index < state.spared))
        }
        let forget: @Sendable (Result<Void, any Error>) -> Void = { _ in
            _ = registry.state.withLock { $0.links.removeValue(forKey: link.index) }
        }
        client.closeFuture.whenComplete(forget)
        upstream.closeFuture.whenComplete(forget)
        if forwarding {
            forward(link, true)
        }
    }

    /// Turns reading on or off at both ends (NIO reads at once when it is turned on).
    private static func forward(_ link: Link, _ on: Bool) {
        link.client.setOption(.autoRead, value: on).whenFailure { _ in link.client.close(promise: nil) }
        link.upstream.setOption(.autoRead, value: on).whenFailure { _ in link.upstream.close(promise: nil) }
    }
}

/// The proxy could not start.
public struct TCPProxyError: Error, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    public var description: String { message }
}

/// Passes what one channel reads to the other (both on one event loop), and a close on to it.
private final class GlueHandler: ChannelDuplexHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?

    static func matchedPair() -> (GlueHandler, GlueHandler) {
        let first = GlueHandler()
        let second = GlueHandler()
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension GlueHandler: Sendable {}
