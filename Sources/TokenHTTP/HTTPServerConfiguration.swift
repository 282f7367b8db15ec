/// Address, limits and timeouts of an `HTTPServer`.
public struct HTTPServerConfiguration: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port to listen on; 0 picks a free port (see `HTTPServer.listeningAddress()`).
    public var port: Int
    /// Header fields allowed in one request; more are answered 431 and the connection is closed.
    /// (The parser also caps a request's head at 80 KiB.)
    public var maxHeaderCount: Int
    /// Body bytes allowed in one request, all handed to the responder; more are answered 413 and
    /// the connection is closed.
    public var maxBodyBytes: Int
    /// A request not complete within this time of its first byte closes the connection.
    public var readTimeout: Duration
    /// A connection with no request for this long is closed, and so is one whose peer takes no byte
    /// of an answer for this long.
    public var idleTimeout: Duration
    /// Connections open at once; more are closed as soon as they are accepted.
    public var maxConnections: Int
    /// How long graceful shutdown lets the requests being answered finish before closing the
    /// connections left.
    public var drainTimeout: Duration

    /// Creates a configuration; every parameter has a default.
    public init(
        host: String = "127.0.0.1",
        port: Int = 7071,
        maxHeaderCount: Int = 64,
        maxBodyBytes: Int = 4_096,
        readTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60),
        maxConnections: Int = 256,
        drainTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.drainTimeout = drainTimeout
    }
}
