import TokenWire

/// Sends the messages of a server-streaming call.
///
/// `write` returns once the message is queued on the connection; it never waits for a slow reader.
/// When the reader falls too far behind, the server ends the stream with RESOURCE_EXHAUSTED and
/// `write` throws.
public struct RPCStreamWriter<Message: WireMessage>: Sendable {
    private let send: RPCStreamSend

    /// Creates a writer that hands each serialized message to `send` (the server creates writers;
    /// tests may create their own).
    /// - Parameter send: queues one serialized message, or throws when the stream has ended.
    public init(send: @escaping @Sendable ([UInt8]) async throws(RPCError) -> Void) {
        self.send = send
    }

    /// Sends one message of the stream.
    /// - Parameter message: the message.
    /// - Throws: `RPCError` when the stream has ended: cancelled by the client, its deadline passed,
    ///   the reader could not keep up (RESOURCE_EXHAUSTED), the server is shutting down or the
    ///   connection closed.
    public func write(_ message: Message) async throws {
        try await send(message.serializedBytes())
    }
}
