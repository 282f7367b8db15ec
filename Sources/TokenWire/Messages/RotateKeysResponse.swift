import CTokenProto

/// The result of a key rotation (`token.v1.RotateKeysResponse`).
public struct RotateKeysResponse: Sendable, Hashable {
    /// The key that is ACTIVE now (the former NEXT key).
    public var keyID: String

    /// Creates a response.
    public init(keyID: String = "") {
        self.keyID = keyID
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
        self.init(keyID: try CField.string(c.key_id, in: Self.messageName))
    }

    func cMessage(in arena: CArena) -> Token__V1__RotateKeysResponse {
        var c = Self.emptyCMessage()
        c.key_id = arena.cString(keyID)
        return c
    }
}
