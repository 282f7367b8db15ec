import CTokenProto

/// Asks for the published public keys (`token.v1.GetKeysRequest`, no fields).
public struct GetKeysRequest: Sendable, Hashable {
    /// Creates the request.
    public init() {}
}

extension GetKeysRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.GetKeysRequest" }
    static func emptyCMessage() -> Token__V1__GetKeysRequest {
        var c = Token__V1__GetKeysRequest()
        token__v1__get_keys_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__GetKeysRequest) throws(TokenWireError) {
        self.init()
    }

    func cMessage(in arena: CArena) -> Token__V1__GetKeysRequest {
        Self.emptyCMessage()
    }
}
