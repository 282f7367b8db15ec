import TokenWire

/// Sends the messages of a server-streaming call.
///
/// `write` returns once the message is queued on the connection, and waits (suspends) while the
/// connection cannot take more: the socket's buffer is full and the frames waiting in the connection
/// have reached half of `RPCServerConfiguration.maxBufferedOutputBytes`. A stream thus goes at its reader's
/// pace, however slow, and holds at most one message of its own in memory while it waits. A reader
/// that stops reading altogether is closed by the connection's idle timeout (no complete frame in
/// either direction for `idleTimeout`); `write` then throws UNAVAILABLE.
public struct RPCStreamWriter<Message: WireMessage>: Sendable {
    private let send: RPCStreamSend

    /// Creates a writer that hands each serialized message to `send` (the server creates writers;
    /// tests may create their own).
    /// - Parameter send: queues one serialized message, waiting for room, or throws when the stream
    ///   has ended.
    public init(send: @escaping @Sendable ([UInt8]) async throws(RPCError) -> Void) {
        self.send = send
    }

    /// Sends one message of the stream, waiting while the connection cannot take more.
    /// - Parameter message: the message.
    /// - Throws: `RPCError` when the stream has ended: cancelled by the client (CANCELLED), its
    ///   deadline passed, the server is shutting down or the connection closed (UNAVAILABLE).
    public func write(_ message: Message) async throws {
        try await send(message.serializedBytes())
    }
}
