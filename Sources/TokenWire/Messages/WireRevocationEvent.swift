import CTokenProto

/// One revocation as the wire carries it (`token.v1.RevocationEvent`).
public struct WireRevocationEvent: Sendable, Hashable {
    /// Sequence number, increasing by one per event.
    public var seq: UInt64
    /// What kind of target `value` names.
    public var kind: RevocationKind
    /// The `jti`, `sid` or `sub`.
    public var value: String
    /// When it was revoked (Unix seconds).
    public var revokedAt: Int64
    /// After this no token it covers can still be valid: the entry may be dropped (Unix seconds).
    public var expiresAt: Int64
    /// For `.keyRing`: every published key after the change.
    public var keys: [WirePublicKey]

    /// Creates an event.
    public init(
        seq: UInt64 = 0,
        kind: RevocationKind = .unspecified,
        value: String = "",
        revokedAt: Int64 = 0,
        expiresAt: Int64 = 0,
        keys: [WirePublicKey] = []
    ) {
        self.seq = seq
        self.kind = kind
        self.value = value
        self.revokedAt = revokedAt
        self.expiresAt = expiresAt
        self.keys = keys
    }
}

extension WireRevocationEvent: ProtobufCBridged {
    static var messageName: String { "token.v1.RevocationEvent" }
    static func emptyCMessage() -> Token__V1__RevocationEvent {
        var c = Token__V1__RevocationEvent()
        token__v1__revocation_event__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RevocationEvent) throws(TokenWireError) {
        self.init(
            seq: c.seq,
            kind: RevocationKind(rawValue: CField.enumValue(c.kind)),
            value: try CField.string(c.value, in: Self.messageName),
            revokedAt: c.revoked_at,
            expiresAt: c.expires_at,
            keys: try CField.messages(c.keys, count: c.n_keys, as: WirePublicKey.self)
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__RevocationEvent {
        var c = Self.emptyCMessage()
        c.seq = seq
        c.kind = Token__V1__RevocationKind(rawValue: .init(truncatingIfNeeded: kind.rawValue))
        c.value = arena.cString(value)
        c.revoked_at = revokedAt
        c.expires_at = expiresAt
        c.n_keys = keys.count
        c.keys = arena.messages(keys)
        return c
    }
}
