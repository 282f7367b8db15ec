import CTokenProto

/// Asks to promote the NEXT key to ACTIVE and publish a fresh NEXT key (`token.v1.RotateKeysRequest`, no fields).
public struct RotateKeysRequest: Sendable, Hashable {
    /// Creates the request.
    public init() {}
}

extension RotateKeysRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.RotateKeysRequest" }
    static func emptyCMessage() -> Token__V1__RotateKeysRequest {
        var c = Token__V1__RotateKeysRequest()
        token__v1__rotate_keys_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RotateKeysRequest) throws(TokenWireError) {
        self.init()
    }

    func cMessage(in arena: CArena) -> Token__V1__RotateKeysRequest {
        Self.emptyCMessage()
    }
}
