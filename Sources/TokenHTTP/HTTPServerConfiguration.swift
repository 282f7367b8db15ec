/// Address, limits and timeouts of an `HTTPServer`.
public struct HTTPServerConfiguration: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port to listen on; 0 picks a free port (see `HTTPServer.listeningAddress()`).
    public var port: Int
    /// Header fields allowed in one request; more are answered 431 and the connection is closed.
    /// (The parser also caps a request's head at 80 KiB.)
    public var maxHeaderCount: Int
    /// Body bytes allowed in one request (no route takes a body); more are answered 413 and the
    /// connection is closed.
    public var maxBodyBytes: Int
    /// A request not complete within this time of its first byte closes the connection.
    public var readTimeout: Duration
    /// A connection with no request for this long is closed.
    public var idleTimeout: Duration
    /// Connections open at once; more are closed as soon as they are accepted.
    public var maxConnections: Int
    /// How long `/readyz` waits for the store before answering 503.
    public var readinessTimeout: Duration

    /// Creates a configuration; every parameter has a default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 7071,
        maxHeaderCount: Int = 64,
        maxBodyBytes: Int = 4_096,
        readTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60),
        maxConnections: Int = 256,
        readinessTimeout: Duration = .seconds(2)
    ) {
        self.host = host
        self.port = port
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.readinessTimeout = readinessTimeout
    }
}
