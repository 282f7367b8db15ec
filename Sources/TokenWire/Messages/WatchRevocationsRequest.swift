import CTokenProto

/// Opens the stream of revocations (`token.v1.WatchRevocationsRequest`).
public struct WatchRevocationsRequest: Sendable, Hashable {
    /// Resume after this sequence number; 0 = start from a snapshot.
    public var sinceSeq: UInt64

    /// Creates a request.
    public init(sinceSeq: UInt64 = 0) {
        self.sinceSeq = sinceSeq
    }
}

extension WatchRevocationsRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.WatchRevocationsRequest" }
    static func emptyCMessage() -> Token__V1__WatchRevocationsRequest {
        var c = Token__V1__WatchRevocationsRequest()
        token__v1__watch_revocations_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__WatchRevocationsRequest) throws(TokenWireError) {
        self.init(sinceSeq: c.since_seq)
    }

    func cMessage(in arena: CArena) -> Token__V1__WatchRevocationsRequest {
        var c = Self.emptyCMessage()
        c.since_seq = sinceSeq
        return c
    }
}
