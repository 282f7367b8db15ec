import CTokenProto

/// Asks to promote the NEXT key to ACTIVE and publish a fresh NEXT key (`token.v1.RotateKeysRequest`).
public struct RotateKeysRequest: Sendable, Hashable {
    /// True: revoke the former ACTIVE key instead of retiring it (a key that leaked).
    public var revokePrevious: Bool

    /// Creates the request.
    public init(revokePrevious: Bool = false) {
        self.revokePrevious = revokePrevious
    }
}

extension RotateKeysRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.RotateKeysRequest" }
    static func emptyCMessage() -> Token__V1__RotateKeysRequest {
        var c = Token__V1__RotateKeysRequest()
        token__v1__rotate_keys_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__RotateKeysRequest) throws(TokenWireError) {
        self.init(revokePrevious: c.revoke_previous != 0)
    }

    func cMessage(in arena: CArena) -> Token__V1__RotateKeysRequest {
        var c = Self.emptyCMessage()
        c.revoke_previous = revokePrevious ? 1 : 0
        return c
    }
}
