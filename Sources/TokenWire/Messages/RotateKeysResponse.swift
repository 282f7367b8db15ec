import CTokenProto

/// The result of a key rotation (`token.v1.RotateKeysResponse`).
public struct RotateKeysResponse: Sendable, Hashable {
    /// The key that is ACTIVE now (the former NEXT key).
    public var keyID: String
    /// The seq of the `KEY_RING` event the rotation logged: a watcher that applied it has the new ring.
    public var seq: UInt64
    /// The key the rotation revoked (with `revokePrevious`); empty otherwise.
    public var revokedKeyID: String

    /// Creates a response.
    public init(keyID: String = "", seq: UInt64 = 0, revokedKeyID: String = "") {
        self.keyID = keyID
        self.seq = seq
        self.revokedKeyID = revokedKeyID
    }
}

extension RotateKeysResponse: ProtobufCBridged {
    static var messageName: String { "token.v1.RotateKeysResponse" }
    static func emptyCMessage() -> Token__V1__RotateKeysResponse {
        var c = Token__V1__RotateKeysResponse()
        token__v1__rotate_keys_response__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RotateKeysResponse) throws(TokenWireError) {
        self.init(
            keyID: try CField.string(c.key_id, in: Self.messageName),
            seq: c.seq,
            revokedKeyID: try CField.string(c.revoked_key_id, in: Self.messageName)
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__RotateKeysResponse {
        var c = Self.emptyCMessage()
        c.key_id = arena.cString(keyID)
        c.seq = seq
        c.revoked_key_id = arena.cString(revokedKeyID)
        return c
    }
}
