import CTokenProto

/// The result of a revocation (`token.v1.RevokeResponse`).
public struct RevokeResponse: Sendable, Hashable {
    /// Sequence number of the revocation event (as WatchRevocations streams it).
    public var seq: UInt64
    /// Number of live sessions this revocation ended.
    public var sessionsRevoked: UInt32

    /// Creates a response.
    public init(seq: UInt64 = 0, sessionsRevoked: UInt32 = 0) {
        self.seq = seq
        self.sessionsRevoked = sessionsRevoked
    }
}

extension RevokeResponse: ProtobufCBridged {
    static var messageName: String { "token.v1.RevokeResponse" }
    static func emptyCMessage() -> Token__V1__RevokeResponse {
        var c = Token__V1__RevokeResponse()
        token__v1__revoke_response__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RevokeResponse) throws(TokenWireError) {
        self.init(seq: c.seq, sessionsRevoked: c.sessions_revoked)
    }

    func cMessage(in arena: CArena) -> Token__V1__RevokeResponse {
        var c = Self.emptyCMessage()
        c.seq = seq
        c.sessions_revoked = sessionsRevoked
        return c
    }
}
