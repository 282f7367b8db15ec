import CTokenProto

/// One item of the WatchRevocations stream: events, a heartbeat, or part of a snapshot
/// (`token.v1.RevocationBatch`).
public struct RevocationBatch: Sendable, Hashable {
    /// Events in seq order (none for a heartbeat).
    public var events: [WireRevocationEvent]
    /// The newest seq the client holds once it applied the batch (of a snapshot: once it is complete).
    public var headSeq: UInt64
    /// True for the batches of a snapshot (the client clears its mirror at the first of them).
    public var snapshot: Bool
    /// The log epoch the batch's seqs belong to (0 from servers that predate epochs).
    public var epoch: UInt64

    /// Creates a batch.
    public init(events: [WireRevocationEvent] = [], headSeq: UInt64 = 0, snapshot: Bool = false, epoch: UInt64 = 0) {
        self.events = events
        self.headSeq = headSeq
        self.snapshot = snapshot
        self.epoch = epoch
    }
}

extension RevocationBatch: ProtobufCBridged {
    static var messageName: String { "token.v1.RevocationBatch" }
    static func emptyCMessage() -> Token__V1__RevocationBatch {
        var c = Token__V1__RevocationBatch()
        token__v1__revocation_batch__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RevocationBatch) throws(TokenWireError) {
        self.init(
            events: try CField.messages(c.events, count: c.n_events, as: WireRevocationEvent.self),
            headSeq: c.head_seq,
            snapshot: c.snapshot != 0,
            epoch: c.epoch
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__RevocationBatch {
        var c = Self.emptyCMessage()
        c.n_events = events.count
        c.events = arena.messages(events)
        c.head_seq = headSeq
        c.snapshot = snapshot ? 1 : 0
        c.epoch = epoch
        return c
    }
}
