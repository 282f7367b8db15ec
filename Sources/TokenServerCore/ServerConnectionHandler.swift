import NIOCore

/// What a server does with the connections its `ServerListener` accepts: it builds each one's
/// pipeline, then serves it in a task of its own.
public protocol ServerConnectionHandler: Sendable {
    /// A connection once its pipeline is built, usually a `NIOAsyncChannel`.
    associatedtype Connection: Sendable

    /// Builds the pipeline of a new connection, on the connection's event loop, before it is
    /// active. The listener has put the TLS handler first when the port speaks TLS.
    /// - Parameter channel: the accepted connection.
    /// - Returns: what `serve(_:)` gets.
    /// - Throws: when the pipeline cannot be built; the connection is then closed.
    func setUp(channel: any Channel) throws -> Connection

    /// Serves one connection until it closes. Runs in a task of its own whose executor is the
    /// connection's event loop. Cancelling that task closes the connection (the listener cancels
    /// it when the drain timeout passes, or when it is cancelled itself); a graceful shutdown
    /// reaches it through ServiceLifecycle's `withGracefulShutdownHandler`.
    /// - Parameter connection: what `setUp(channel:)` made.
    func serve(_ connection: Connection) async
}
