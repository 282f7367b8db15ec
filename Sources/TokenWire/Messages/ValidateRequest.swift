import CTokenProto

/// Asks whether an access token is valid (`token.v1.ValidateRequest`).
public struct ValidateRequest: Sendable, Hashable {
    /// The access token to check.
    public var token: String
    /// The audience the caller expects to find in `aud` ("" for no check).
    public var audience: String

    /// Creates a request.
    public init(token: String = "", audience: String = "") {
        self.token = token
        self.audience = audience
    }
}

extension ValidateRequest: ProtobufCBridged {
    static var messageName: String { "token.v1.ValidateRequest" }
    static func emptyCMessage() -> Token__V1__ValidateRequest {
        var c = Token__V1__ValidateRequest()
        token__v1__validate_request__init(&c)
        return c
    }

    init(cMessage c: borrowing Token__V1__ValidateRequest) throws(TokenWireError) {
        self.init(
            token: try CField.string(c.token, in: Self.messageName),
            audience: try CField.string(c.audience, in: Self.messageName)
        )
    }

    func cMessage(in arena: CArena) -> Token__V1__ValidateRequest {
        var c = Self.emptyCMessage()
        c.token = arena.cString(token)
        c.audience = arena.cString(audience)
        return c
    }
}
