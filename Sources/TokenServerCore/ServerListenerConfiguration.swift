/// Address, connection limit and drain timeout of a `ServerListener`.
public struct ServerListenerConfiguration: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port to listen on; 0 picks a free port (see `ServerListener.listeningAddress()`).
    public var port: Int
    /// Connections open at once; a connection accepted beyond them is closed at once and counted
    /// in `token_<name>_connections_refused_total`.
    public var maxConnections: Int
    /// How long the open connections have to finish once graceful shutdown starts; the remaining
    /// ones are then closed.
    public var drainTimeout: Duration
    /// The port's name in its metrics and log lines, e.g. `rpc` or `http`.
    public var name: String
    /// The TLS context of new connections; nil (or a holder without a context) for plain TCP. With a
    /// holder, failed handshakes are counted in `token_<name>_tls_handshake_failures_total`.
    public var tls: TLSContextHolder?
    /// Connections the kernel queues before they are accepted.
    public var backlog: Int

    /// Creates a configuration.
    /// - Parameters:
    ///   - host: the address to listen on.
    ///   - port: the port (0: a free one).
    ///   - maxConnections: connections open at once.
    ///   - drainTimeout: how long graceful shutdown waits for the open connections.
    ///   - name: the port's name in metrics and logs.
    ///   - tls: the TLS context holder, or nil for plain TCP.
    ///   - backlog: the kernel's accept queue.
    public init(
        host: String,
        port: Int,
        maxConnections: Int,
        drainTimeout: Duration,
        name: String,
        tls: TLSContextHolder? = nil,
        backlog: Int = 256
    ) {
        self.host = host
        self.port = port
        self.maxConnections = maxConnections
        self.drainTimeout = drainTimeout
        self.name = name
        self.tls = tls
        self.backlog = backlog
    }
}
