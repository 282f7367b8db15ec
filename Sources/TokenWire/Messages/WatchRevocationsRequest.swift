import CTokenProto

/// Opens the stream of revocations (`token.v1.WatchRevocationsRequest`).
public struct WatchRevocationsRequest: Sendable, Hashable {
    /// Resume after this sequence number; 0 = start from a snapshot.
    public var sinceSeq: UInt64
    /// The log epoch `sinceSeq` belongs to; a resume from another epoch (or 0) gets a snapshot.
    public var epoch: UInt64

    /// Creates a request.
    public init(sinceSeq: UInt64 = 0, epoch: UInt64 = 0) {
        self.sinceSeq = sinceSeq
        self.epoch = epoch
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
        self.init(sinceSeq: c.since_seq, epoch: c.epoch)
    }

    func cMessage(in arena: CArena) -> Token__V1__WatchRevocationsRequest {
        var c = Self.emptyCMessage()
        c.since_seq = sinceSeq
        c.epoch = epoch
        return c
    }
}
