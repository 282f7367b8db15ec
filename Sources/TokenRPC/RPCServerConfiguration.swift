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
    /// A frame not complete within this time of its first byte closes the connection (while the
    /// server reads the connection).
    public var frameReadTimeout: Duration
    /// A connection with no complete frame in either direction for this long is closed: an idle
    /// client, and also one that stopped reading, since the server then neither writes nor reads.
    public var idleTimeout: Duration
    /// Calls in flight allowed on one connection, every method counted from its request's arrival
    /// until its answer is handed to the socket; more are answered RESOURCE_EXHAUSTED.
    public var maxConcurrentCalls: Int
    /// The deadline of unary calls that send `timeout_ms` 0.
    public var defaultUnaryTimeout: Duration
    /// Bytes of answers and stream messages a connection keeps while its socket cannot take them:
    /// at this bound the connection reads no further request; stream writers wait at half of it.
    public var maxBufferedOutputBytes: Int
    /// Connections open at once; more are closed as soon as they are accepted.
    public var maxConnections: Int
    /// How long graceful shutdown lets calls in flight finish before closing the connections left.
    public var drainTimeout: Duration
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
        maxBufferedOutputBytes: Int = 64 << 10,
        maxConnections: Int = 4_096,
        drainTimeout: Duration = .seconds(10),
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
        self.maxBufferedOutputBytes = maxBufferedOutputBytes
        self.maxConnections = maxConnections
        self.drainTimeout = drainTimeout
    }
}
