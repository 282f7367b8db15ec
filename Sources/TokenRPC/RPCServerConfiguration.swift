/// Limits and timeouts of an `RPCServer`.
public struct RPCServerConfiguration: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port to listen on; 0 picks a free port (see `RPCServer.listeningAddress()`).
    public var port: Int
    /// The largest request frame accepted; a larger length prefix is answered RESOURCE_EXHAUSTED and
    /// the connection is closed.
    public var maxFrameBytes: Int
    /// The largest response frame the server writes; a larger response is answered RESOURCE_EXHAUSTED.
    public var maxResponseFrameBytes: Int
    /// A frame not complete within this time of its first byte closes the connection.
    public var frameReadTimeout: Duration
    /// A connection with no complete frame in either direction for this long is closed.
    public var idleTimeout: Duration
    /// Calls in flight allowed on one connection; more are answered RESOURCE_EXHAUSTED.
    public var maxConcurrentCalls: Int
    /// The deadline of unary calls that send `timeout_ms` 0.
    public var defaultUnaryTimeout: Duration
    /// Bytes of stream messages a connection may queue while its reader is not keeping up; past it,
    /// each stream waits for the socket before it queues another message.
    public var maxStreamBacklogBytes: Int
    /// TLS on the port; nil for plain TCP.
    public var tls: RPCServerTLSConfiguration?

    /// Creates a configuration; every parameter has the contract's default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 7070,
        maxFrameBytes: Int = 65_536,
        maxResponseFrameBytes: Int = 4 << 20,
        frameReadTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(120),
        maxConcurrentCalls: Int = 256,
        defaultUnaryTimeout: Duration = .seconds(30),
        maxStreamBacklogBytes: Int = 1 << 20,
        tls: RPCServerTLSConfiguration? = nil
    ) {
        self.tls = tls
        self.host = host
        self.port = port
        self.maxFrameBytes = maxFrameBytes
        self.maxResponseFrameBytes = maxResponseFrameBytes
        self.frameReadTimeout = frameReadTimeout
        self.idleTimeout = idleTimeout
        self.maxConcurrentCalls = maxConcurrentCalls
        self.defaultUnaryTimeout = defaultUnaryTimeout
        self.maxStreamBacklogBytes = maxStreamBacklogBytes
    }
}
