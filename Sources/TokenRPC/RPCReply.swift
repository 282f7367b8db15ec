import TokenWire

/// The answer a `RPCMethod.deferredUnary` handler owes its call: complete it once, from any
/// thread. A later completion is ignored, and so is one after the call ended (its deadline passed,
/// the client cancelled it or went away).
public struct RPCReply<Response: WireMessage>: Sendable {
    private let complete: @Sendable (Result<any WireMessage, any Error>) -> Void

    init(complete: @escaping @Sendable (Result<any WireMessage, any Error>) -> Void) {
        self.complete = complete
    }

    /// Answers the call with `response`.
    public func succeed(_ response: Response) {
        complete(.success(response))
    }

    /// Answers the call with `error`: an `RPCError` answers its code, any other error INTERNAL.
    public func fail(_ error: any Error) {
        complete(.failure(error))
    }
}
